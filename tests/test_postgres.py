"""The same schema and services on PostgreSQL, the way several tills share one database.

Runs when CRMDESK_TEST_POSTGRES_URL names a scratch database (CI starts one);
everything in that database is dropped first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from crmdesk.db import Database, head_revision, open_database
from crmdesk.errors import AuthenticationFailed, PermissionDenied
from crmdesk.models import Role, Tier
from crmdesk.services import auth, staff, store
from crmdesk.services.uow import read_session, unit_of_work

URL = os.environ.get("CRMDESK_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not URL, reason="set CRMDESK_TEST_POSTGRES_URL to a scratch PostgreSQL database"),
]


@pytest.fixture
def pg() -> Iterator[Database]:
    engine = sa.create_engine(URL)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    database = open_database(sa.make_url(URL))
    yield database
    database.dispose()


def test_migrations_and_core_services_work_on_postgresql(pg: Database) -> None:
    with pg.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
    with unit_of_work(pg) as session:
        owner = store.initialise(session, owner_name="王店长", owner_password="pg-owner-pass", store_name="好邻居超市")
    with unit_of_work(pg) as session:
        cashier = staff.add_staff(session, owner, "收银员小李", Role.CASHIER, pin="1234")
    actor = auth.authenticate(pg, "收银员小李", "1234")
    assert actor.staff_id == cashier.id
    with pytest.raises(AuthenticationFailed):
        auth.authenticate(pg, "收银员小李", "0000")
    with pytest.raises(PermissionDenied):
        with unit_of_work(pg) as session:
            store.update_store(session, actor, store_name="x", address="", phone="")
    with read_session(pg) as session:
        assert store.get_store(session).store_name == "好邻居超市"
        assert [tier.name for tier in session.scalars(sa.select(Tier).order_by(Tier.rank))] == ["普通", "银卡", "金卡", "钻石"]


def test_demo_store_fills_postgresql(pg: Database) -> None:
    from crmdesk.services import demo

    with unit_of_work(pg) as session:
        summary = demo.fill_demo_store(session, members=60, seed=3, today=date(2026, 11, 22))
    from crmdesk.models import InsightCount, MemberInsight, Purchase, PurchaseKind, ShopDay
    from crmdesk.services import insight, insight_figures

    with read_session(pg) as session:
        owner = staff.actor_for(session)
    done = insight.refresh(pg, owner, as_of=date(2026, 11, 22))  # the set-based refresh in PostgreSQL's SQL
    with read_session(pg) as session:
        sales = session.scalar(sa.select(sa.func.sum(Purchase.amount_fen)).where(Purchase.kind == PurchaseKind.SALE))
        assert session.scalar(sa.select(sa.func.sum(ShopDay.sales_fen))) == sales
        assert session.scalar(sa.select(sa.func.count()).select_from(MemberInsight)) == done.members > 0
        assert sum(c.members for c in session.scalars(sa.select(InsightCount).where(InsightCount.kind == "segment"))) == done.members
        board = insight_figures.dashboard(session, owner, date(2026, 11, 1), date(2026, 11, 22), "week")
    assert summary.members == 60 and board.totals is not None and board.totals.receipts > 0
    # The next rows a till writes continue after the demo's own ids.
    from crmdesk.services import members, purchases
    from crmdesk.services.members import MemberInput

    with read_session(pg) as session:
        owner = staff.actor_for(session)
    with unit_of_work(pg) as session:
        member = members.register(session, owner, MemberInput(name="新会员", phone="13912340000"))
        purchases.record_purchase(session, owner, member.id, receipt_no="PG-AFTER-DEMO", till="09", amount_fen=1_000)
    assert member.id == 61


def test_purchases_points_and_offers_on_postgresql(pg: Database) -> None:
    from datetime import timedelta

    from crmdesk.services import loyalty, members, offers, purchases

    with unit_of_work(pg) as session:
        owner = store.initialise(session, owner_name="王店长", owner_password="pg-owner-pass")
    with unit_of_work(pg) as session:
        member = members.register(session, owner, members.MemberInput(name="张三", phone="13812345678"))
    with unit_of_work(pg) as session:
        result = purchases.record_purchase(session, owner, member.id, receipt_no="R1", till="01", amount_fen=250_000)
    assert result.points == 2500 and result.new_tier == "银卡"
    with unit_of_work(pg) as session:
        assert loyalty.redeem(session, owner, member.id, 500) == 2000
    with unit_of_work(pg) as session:
        purchases.refund(session, owner, original_till="01", original_receipt="R1", refund_receipt="RF1", amount_fen=50_000)
    with unit_of_work(pg) as session:
        offer = offers.create_offer(session, owner, offers.OfferInput(
            name="满100减10", kind=offers.OfferKind.AMOUNT_OFF, threshold_fen=10_000, reduction_fen=1_000,
            starts_on=date.today() - timedelta(days=1)))
        statuses = offers.eligibility(session, member.id, today=date.today(), basket_fen=12_000)
    assert [s.reason for s in statuses if s.offer.id == offer.id] == [None]
    with read_session(pg) as session:
        assert purchases.totals(session, member.id).spend_fen == 200_000


def test_complaints_and_surveys_on_postgresql(pg: Database) -> None:
    from datetime import timedelta, timezone

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crmdesk.models import Base, Remedy
    from crmdesk.services import complaint_figures, complaints, members, surveys

    with pg.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    now = datetime(2026, 11, 18, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    with unit_of_work(pg) as session:
        owner = store.initialise(session, owner_name="王店长", owner_password="pg-owner-pass")
    with unit_of_work(pg) as session:
        member = members.register(session, owner, members.MemberInput(name="张三", phone="13812345678"))
        logged = complaints.log_complaint(session, owner, complaints.ComplaintInput(
            channel="counter", category="expired", description="酸奶过期", member_id=member.id, received_at=now,
            attachments=(complaints.AttachmentInput("票.png", b"\x89PNG\r\n\x1a\n\x00\xff"),)), now=now)
    with read_session(pg) as session:
        assert complaints.overdue_count(session, logged.resolution_due - timedelta(seconds=1)) == 1  # no first response
        detail = complaints.get_complaint(session, logged.id)
        assert complaints.attachment_data(session, detail.attachments[0].id)[1] == b"\x89PNG\r\n\x1a\n\x00\xff"
    with unit_of_work(pg) as session:
        complaints.resolve(session, owner, logged.id, complaints.RemedyInput((Remedy.APOLOGY,), goodwill_points=100), now=now)
        surveys.add_response(session, owner, surveys.SurveyInput(scores=(("attitude", 5), ("price", 3))), now=now)
    with read_session(pg) as session:
        assert complaints.goodwill_given(session, logged.id) == 100
        assert members.profile(session, member.id).points_balance == 100
        figures = complaint_figures.monthly_figures(session, "2026-11", now=now)
        assert (figures.received, figures.median_resolution, figures.resolved_on_time.numerator) == (1, timedelta(0), 1)
        assert surveys.monthly_summary(session, "2026-11").satisfaction_rate.numerator == 1


def test_two_tills_generating_receipt_numbers_at_once_on_postgresql(pg: Database) -> None:
    """Two connections record sales without receipt numbers on one till at the same time (for different members,
    so no member lock orders them): every sale gets its own number, the loser of a race takes the next one."""
    import threading

    from crmdesk.models import Purchase
    from crmdesk.services import members, purchases

    with unit_of_work(pg) as session:
        owner = store.initialise(session, owner_name="王店长", owner_password="pg-owner-pass")
    with unit_of_work(pg) as session:
        ids = [members.register(session, owner, members.MemberInput(name=name, phone=phone)).id
               for name, phone in (("张三", "13812345678"), ("李四", "13912345678"))]
    each, errors, start = 25, [], threading.Barrier(2)

    def till(member_id: int) -> None:
        try:
            start.wait()
            for _ in range(each):
                with unit_of_work(pg) as session:
                    purchases.record_purchase(session, owner, member_id, till="01", amount_fen=100)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=till, args=(member_id,)) for member_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    with read_session(pg) as session:
        numbers = session.scalars(sa.select(Purchase.receipt_no).where(Purchase.till == "01")).all()
    assert len(numbers) == 2 * each and len(set(numbers)) == 2 * each
    assert sorted(int(n.split("-")[1]) for n in numbers) == list(range(1, 2 * each + 1))


def test_two_tills_refunding_one_sale_at_once_never_give_back_more_than_was_paid(pg: Database) -> None:
    """The sale is locked before what was refunded already is added up: of two full refunds of it at
    once, one is recorded and the other is refused, on every round."""
    import threading

    from crmdesk.errors import InvalidInput
    from crmdesk.models import Purchase
    from crmdesk.services import members, purchases

    with unit_of_work(pg) as session:
        owner = store.initialise(session, owner_name="王店长", owner_password="pg-owner-pass")
    with unit_of_work(pg) as session:
        member_id = members.register(session, owner, members.MemberInput(name="张三", phone="13812345678")).id
    rounds = 8
    for round_no in range(rounds):
        with unit_of_work(pg) as session:
            purchases.record_purchase(session, owner, member_id, till="01", receipt_no=f"S{round_no}", amount_fen=1_000)
        outcomes: list[str] = []
        start = threading.Barrier(2)

        def refund(till_name: str, receipt: str = f"S{round_no}") -> None:
            start.wait()
            try:
                with unit_of_work(pg) as session:
                    purchases.refund(session, owner, original_till="01", original_receipt=receipt, amount_fen=1_000,
                                     refund_receipt=f"{receipt}-{till_name}")
                outcomes.append("refunded")
            except InvalidInput:
                outcomes.append("refused")

        threads = [threading.Thread(target=refund, args=(name,)) for name in ("A", "B")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(outcomes) == ["refunded", "refused"], round_no
    with read_session(pg) as session:
        refunded = session.scalar(sa.select(sa.func.sum(Purchase.amount_fen)).where(Purchase.refund_of_id.is_not(None)))
    assert refunded == rounds * 1_000


def test_backup_with_pg_dump_and_the_data_check_on_postgresql(pg: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from crmdesk.services import backups, data_check, members

    with unit_of_work(pg) as session:
        owner = store.initialise(session, owner_name="王店长", owner_password="pg-owner-pass", store_name="好邻居超市")
        members.register(session, owner, members.MemberInput(name="张三", phone="13800138000"))
    report = data_check.run(pg)
    assert report.sound and report.checked_members == 1
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed here")
    info = backups.take_backup(pg, "manual", to=tmp_path)
    assert info.path.suffix == ".pgdump" and info.members == 1 and info.size > 0
    assert info.path.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert backups.list_backups(tmp_path) == [info]


def test_both_imports_on_postgresql(pg: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The imports' PostgreSQL paths (ids returned by the inserts, member numbers set after them) and the check that
    a plan still holds, with a till's sale to a member of the file in between."""
    from crmdesk.services import imports, purchase_imports, purchases
    from crmdesk.models import Member

    with unit_of_work(pg) as session:
        owner = store.initialise(session, owner_name="王店长", owner_password="pg-owner-pass", store_name="好邻居超市")
    members_csv = tmp_path / "members.csv"
    members_csv.write_text("姓名,手机,卡号,会员编号,积分\n张三,13812345678,A0001,,100\n李四,13912345678,A0002,M00000001,0\n",
                           encoding="utf-8")
    with read_session(pg) as session:
        plan = imports.plan_import(session, members_csv)
    with unit_of_work(pg) as session:
        assert imports.apply_import(session, owner, plan).new == 2
    with read_session(pg) as session:
        numbers = dict(session.execute(sa.select(Member.name, Member.member_no)).all())
        zhang = session.scalar(sa.select(Member.id).where(Member.name == "张三"))
    assert numbers["李四"] == "M00000001" and numbers["张三"].startswith("M0000000") and numbers["张三"] != "M00000001"
    purchases_csv = tmp_path / "purchases.csv"
    purchases_csv.write_text("小票号,卡号,时间,金额\nR1,A0001,2026-11-17 09:30,100\nR2,A0002,2026-11-17 09:40,50\n",
                             encoding="utf-8")
    with read_session(pg) as session:
        plan = purchase_imports.plan_purchase_import(session, purchases_csv)
    with unit_of_work(pg) as session:  # a till sells to 张三 before the import is written
        purchases.record_purchase(session, owner, zhang, receipt_no="T1", till="09", amount_fen=2_000)
    with unit_of_work(pg) as session:
        result = purchase_imports.apply_purchase_import(session, owner, plan)
    assert (result.new, result.points_earned) == (2, 150)
    with read_session(pg) as session:
        assert session.execute(sa.select(Member.points_balance, Member.visit_count).where(Member.id == zhang)).one() == (
            100 + 20 + 100, 2)
    with read_session(pg) as session:
        again = purchase_imports.plan_purchase_import(session, purchases_csv)
    assert (again.counts.new, again.counts.unchanged) == (0, 2)
