"""Member profiles: registering, validating, history, statuses, duplicates and merging."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import Conflict, InvalidInput, PermissionDenied
from crmdesk.models import (
    AuditEvent, Card, CardStatus, Complaint, Gender, MarketingConsent, Member, MemberChange, MemberStatus, MemberTag,
    PointsEntry, PointsKind, Purchase, PurchaseKind, Role,
)
from crmdesk.services import members
from crmdesk.services import staff as staff_service
from crmdesk.services import store
from crmdesk.services.members import DuplicateMember, MemberInput
from crmdesk.services.uow import Actor, read_session, unit_of_work
from tests.conftest import OWNER_NAME, OWNER_PASSWORD

# --------------------------------------------------------------------------- fast fixtures
#
# Setting up a store hashes three secrets (cheaply in tests: conftest.py) and migrates. These
# fixtures do it once per module and give every test its own copy of the file;
# they override the conftest fixtures of the same names. test_search.py,
# test_card_service.py, tests/views/test_counter.py and tests/cli/test_member_cli.py
# import them from here. (They could move to tests/conftest.py.)


@pytest.fixture(scope="module")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Actor]]:
    path = tmp_path_factory.mktemp("template") / "store.sqlite"
    database = open_database(sqlite_url(path))
    with unit_of_work(database) as session:
        owner_actor = store.initialise(session, owner_name=OWNER_NAME, owner_password=OWNER_PASSWORD, store_name="好邻居超市")
    actors = {"owner": owner_actor}
    with unit_of_work(database) as session:
        for key, name, role, secret in (("cashier", "收银员小李", Role.CASHIER, "1234"), ("supervisor", "值班经理", Role.SUPERVISOR, "2468")):
            info = staff_service.add_staff(session, owner_actor, name, role, pin=secret)
            actors[key] = Actor(info.id, info.name, info.role)
    database.dispose()  # the last connection checkpoints the WAL into the file
    return path, actors


@pytest.fixture
def db(store_template: tuple[Path, dict[str, Actor]], db_path: Path) -> Iterator[Database]:
    template, _ = store_template
    for suffix in ("", "-wal"):
        source = Path(str(template) + suffix)
        if source.exists():
            shutil.copyfile(source, Path(str(db_path) + suffix))
    database = open_database(sqlite_url(db_path))
    yield database
    database.dispose()


@pytest.fixture
def owner(db: Database, store_template: tuple[Path, dict[str, Actor]]) -> Actor:
    return store_template[1]["owner"]


@pytest.fixture
def cashier(db: Database, store_template: tuple[Path, dict[str, Actor]]) -> Actor:
    return store_template[1]["cashier"]


@pytest.fixture
def supervisor(db: Database, store_template: tuple[Path, dict[str, Actor]]) -> Actor:
    return store_template[1]["supervisor"]


# --------------------------------------------------------------------------- helpers

TODAY = date(2024, 6, 15)


def add(db: Database, actor: Actor, name: str, phone: str = "", **fields: object) -> members.MemberProfile:
    with unit_of_work(db) as session:
        return members.register(session, actor, MemberInput(name=name, phone=phone, **fields), today=TODAY)  # type: ignore[arg-type]


def snapshot(db: Database) -> tuple:  # type: ignore[type-arg]
    """Every row a refused member operation must leave as it was."""
    with read_session(db) as session:
        return tuple(
            session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            for table in (Member.__table__, Card.__table__, MemberTag.__table__, MemberChange.__table__,
                          AuditEvent.__table__, Purchase.__table__, PointsEntry.__table__, Complaint.__table__)
        )


def refused(db: Database, operation, error: type[Exception], match: str | None = None) -> Exception:  # type: ignore[no-untyped-def]
    before = snapshot(db)
    with pytest.raises(error, match=match) as caught:
        with unit_of_work(db) as session:
            operation(session)
    assert snapshot(db) == before
    return caught.value


# --------------------------------------------------------------------------- registering


def test_register_with_every_field(db, cashier) -> None:
    consent_at = datetime(2024, 6, 1, 9, 30, tzinfo=timezone.utc)
    created = add(
        db, cashier, "  张  三 ", "138 0013 8000",
        gender=Gender.MALE, birthday=date(1985, 6, 2), address=" 幸福路 8 号 ", email="zs@example.com",
        tags=("老顾客，宝妈", "老顾客", " 宝妈 "), notes="喜欢有机蔬菜", company="好邻居", marketing_consent=MarketingConsent.SMS,
        consent_at=consent_at, joined_on=date(2020, 1, 5), source="counter",
    )
    assert created.member_no == "M00000001"
    assert (created.name, created.phone, created.gender, created.birthday) == ("张 三", "+8613800138000", Gender.MALE, date(1985, 6, 2))
    assert (created.address, created.email, created.notes, created.company) == ("幸福路 8 号", "zs@example.com", "喜欢有机蔬菜", "好邻居")
    assert created.tags == ("宝妈", "老顾客")  # deduplicated, stored one row each, listed in order
    assert (created.marketing_consent, created.consent_at) == (MarketingConsent.SMS, consent_at)
    assert (created.joined_on, created.source, created.status) == (date(2020, 1, 5), "counter", MemberStatus.ACTIVE)
    assert (created.points_balance, created.visit_count, created.total_spend_fen, created.cards) == (0, 0, 0, ())
    with read_session(db) as session:
        row = session.get(Member, created.id)
        assert (row.name_pinyin, row.name_initials, row.phone_last4, row.birth_month) == ("zhangsan", "zs", "8000", 6)
        assert [(c.field, c.staff_name, c.new_value) for c in members.history(session, created.id)] == [
            ("created", "收银员小李", "M00000001")
        ]
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "member.add")).one()
        assert (event.entity_id, event.staff_name) == (created.id, "收银员小李")


def test_register_with_phone_and_name_only_dates_joining_today(db, cashier) -> None:
    created = add(db, cashier, "李四", "13912345678")
    assert (created.joined_on, created.gender, created.birthday, created.marketing_consent) == (
        TODAY, Gender.UNKNOWN, None, MarketingConsent.NONE)
    assert created.tags == () and created.consent_at is None


def test_consent_without_a_date_is_dated_now(db, cashier) -> None:
    created = add(db, cashier, "李四", "13912345678", marketing_consent=MarketingConsent.EMAIL, email="l4@example.com")
    assert created.consent_at is not None and created.consent_at.tzinfo is not None


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),  # full-width digits from a Chinese input method
        ("138－0013－8000", "+8613800138000"),  # full-width dashes
        ("+86 138 0013 8000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("+852 9123 4567", "+85291234567"),  # Hong Kong
        ("  ", None),
    ],
)
def test_phone_spellings_are_normalized(raw: str, stored: str | None) -> None:
    assert members.normalize_phone(raw) == stored


def test_display_phone() -> None:
    assert members.display_phone("+8613800138000") == "138 0013 8000"
    assert members.display_phone("+85291234567") == "+852 9123 4567"
    assert members.display_phone(None) == ""


def test_nine_digits_are_refused_naming_the_digits(db, cashier) -> None:
    error = refused(db, lambda s: members.register(s, cashier, MemberInput(name="王五", phone="138001380")), InvalidInput)
    assert error.field == "phone"  # type: ignore[attr-defined]
    assert "'138001380'" in str(error) and "9 digits given" in str(error)


@pytest.mark.parametrize("landline", ["010-8555-1234", "01085551234", "+86 21 6234 5678"])
def test_a_landline_is_refused(db, cashier, landline: str) -> None:
    error = refused(db, lambda s: members.register(s, cashier, MemberInput(name="王五", phone=landline)), InvalidInput, "landline")
    assert error.field == "phone"  # type: ignore[attr-defined]


def test_bad_values_name_the_field(db, cashier) -> None:
    cases = [
        (MemberInput(name="   "), "name", "Enter the member's name"),
        (MemberInput(name="王五", birthday=date(1899, 12, 31)), "birthday", "1899-12-31"),
        (MemberInput(name="王五", birthday=TODAY + timedelta(days=1)), "birthday", "impossible"),
        (MemberInput(name="王五", email="not-an-address"), "email", "not-an-address"),
        (MemberInput(name="王五", tags=("x" * 41,)), "tags", "too long"),
        (MemberInput(name="王五", joined_on=TODAY + timedelta(days=1)), "joined_on", "future"),
    ]
    for data, field, text in cases:
        error = refused(db, lambda s, data=data: members.register(s, cashier, data, today=TODAY), InvalidInput)
        assert error.field == field and text in str(error), (data, error)  # type: ignore[attr-defined]


def test_a_too_long_text_names_the_limit(db, cashier) -> None:
    error = refused(db, lambda s: members.register(s, cashier, MemberInput(name="王" * 101)), InvalidInput)
    assert error.field == "name" and "100" in str(error)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- duplicates


def test_a_phone_is_unique_among_open_members(db, owner, cashier) -> None:
    first = add(db, cashier, "张三", "13800138000")
    error = refused(db, lambda s: members.register(s, cashier, MemberInput(name="别人", phone="138-0013-8000")), DuplicateMember)
    assert error.blocking and [m.id for m in error.existing] == [first.id]  # type: ignore[attr-defined]
    assert "138 0013 8000" in str(error) and "M00000001" in str(error)
    # A frozen member still holds the number.
    with unit_of_work(db) as session:
        members.set_status(session, owner, first.id, MemberStatus.FROZEN, reason="卡片纠纷")
    refused(db, lambda s: members.register(s, cashier, MemberInput(name="别人", phone="13800138000")), DuplicateMember)


def test_a_closed_members_phone_may_be_reused_and_reopening_then_clashes(db, owner, cashier) -> None:
    first = add(db, cashier, "张三", "13800138000")
    with unit_of_work(db) as session:
        members.set_status(session, owner, first.id, MemberStatus.CLOSED, reason="搬家")
    second = add(db, cashier, "新号主", "13800138000")
    assert second.phone == first.phone
    error = refused(db, lambda s: members.set_status(s, owner, first.id, MemberStatus.ACTIVE), DuplicateMember, "now belongs to")
    assert [m.id for m in error.existing] == [second.id]  # type: ignore[attr-defined]
    # Changing another member's phone to a taken one is refused the same way.
    third = add(db, cashier, "王五", "13900000001")
    refused(db, lambda s: members.update(s, cashier, third.id, phone="13800138000"), DuplicateMember)


def test_a_similar_name_with_the_same_birthday_warns_until_confirmed(db, cashier) -> None:
    first = add(db, cashier, "张三", "13800138000", birthday=date(1985, 6, 2))
    # 章三 sounds the same (zhangsan); another phone, the same birthday.
    error = refused(
        db, lambda s: members.register(s, cashier, MemberInput(name="章三", phone="13900000001", birthday=date(1985, 6, 2))),
        DuplicateMember, "may already be a member",
    )
    assert not error.blocking and [m.member_no for m in error.existing] == [first.member_no]  # type: ignore[attr-defined]
    # Another birthday: no warning.
    add(db, cashier, "张三", "13900000002", birthday=date(1990, 1, 1))
    with unit_of_work(db) as session:
        confirmed = members.register(
            session, cashier, MemberInput(name="章三", phone="13900000001", birthday=date(1985, 6, 2)), confirm_similar=True
        )
    assert confirmed.name == "章三"


# --------------------------------------------------------------------------- changing


def test_updates_keep_history_rows_with_who_what_old_and_new(db, cashier, supervisor) -> None:
    member = add(db, cashier, "张三", "13800138000", tags=("老顾客",))
    with unit_of_work(db) as session:
        changed = members.update(session, supervisor, member.id, name="张叁", phone="13900000001", tags=("老顾客", "宝妈"),
                                 address="幸福路 8 号", birthday=date(1985, 6, 2))
    assert (changed.name, changed.phone) == ("张叁", "+8613900000001")
    with read_session(db) as session:
        assert members.profile(session, member.id).tags == ("宝妈", "老顾客")
        rows = {c.field: c for c in members.history(session, member.id)}
        row = session.get(Member, member.id)
        assert (row.phone_last4, row.birth_month, row.name_pinyin) == ("0001", 6, "zhangsan")
    assert set(rows) == {"created", "name", "phone", "tags", "address", "birthday"}
    assert (rows["name"].staff_name, rows["name"].old_value, rows["name"].new_value) == ("值班经理", "张三", "张叁")
    assert (rows["phone"].old_value, rows["phone"].new_value) == ("+8613800138000", "+8613900000001")
    assert (rows["tags"].old_value, rows["tags"].new_value) == ("老顾客", "老顾客, 宝妈")
    assert (rows["birthday"].old_value, rows["birthday"].new_value) == ("", "1985-06-02")
    # Saving the same values again records nothing.
    with unit_of_work(db) as session:
        members.update(session, cashier, member.id, name="张叁", phone="139 0000 0001")
    with read_session(db) as session:
        assert len(members.history(session, member.id)) == len(rows)


def test_update_returns_the_new_tags(db, cashier) -> None:
    member = add(db, cashier, "张三", "13800138000", tags=("老顾客",))
    with unit_of_work(db) as session:
        assert members.update(session, cashier, member.id, tags=("老顾客", "宝妈")).tags == ("宝妈", "老顾客")


def test_tags_given_as_one_text_are_split(db, cashier) -> None:
    member = add(db, cashier, "张三", "13800138000")
    with unit_of_work(db) as session:
        assert members.update(session, cashier, member.id, tags="老顾客，宝妈").tags == ("宝妈", "老顾客")


def test_nothing_merges_into_a_closed_member(db, owner, cashier) -> None:
    keep = add(db, cashier, "张三", "13800138000")
    other = add(db, cashier, "张叁", "13900139000")
    with unit_of_work(db) as session:
        members.set_status(session, owner, keep.id, MemberStatus.CLOSED, reason="moved")
    refused(db, lambda s: members.merge(s, owner, keep.id, other.id), Conflict, "is closed")


def test_an_unused_mobile_prefix_is_named(db, cashier) -> None:
    error = refused(db, lambda s: members.register(s, cashier, MemberInput(name="张三", phone="12345678901")), InvalidInput)
    assert "first digits" in str(error)


def test_only_editable_fields_change(db, cashier) -> None:
    member = add(db, cashier, "张三", "13800138000")
    refused(db, lambda s: members.update(s, cashier, member.id, points_balance=1000), InvalidInput, "points_balance")
    refused(db, lambda s: members.update(s, cashier, member.id, phone="12345"), InvalidInput)


def test_set_status_needs_a_supervisor_and_keeps_history(db, cashier, supervisor) -> None:
    member = add(db, cashier, "张三", "13800138000")
    refused(db, lambda s: members.set_status(s, cashier, member.id, MemberStatus.FROZEN), PermissionDenied, "may not freeze")
    with unit_of_work(db) as session:
        frozen = members.set_status(session, supervisor, member.id, MemberStatus.FROZEN, reason="  争议处理中 ")
    assert frozen.status is MemberStatus.FROZEN
    with read_session(db) as session:
        rows = [(c.field, c.staff_name, c.old_value, c.new_value) for c in members.history(session, member.id)][:2]
        audit_row = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "member.status")).one()
        assert (audit_row.staff_name, audit_row.details["old"], audit_row.details["new"]) == ("值班经理", "active", "frozen")
    assert sorted(rows) == [("status", "值班经理", "active", "frozen"), ("status_reason", "值班经理", "", "争议处理中")]


def test_closing_a_member_stops_their_card(db, cashier, supervisor) -> None:
    member = add(db, cashier, "张三", "13800138000")
    with unit_of_work(db) as session:
        from crmdesk.services import cards

        number = cards.issue(session, cashier, member.id)
    with unit_of_work(db) as session:
        closed = members.set_status(session, supervisor, member.id, MemberStatus.CLOSED, reason="本人要求")
    assert closed.active_card is None
    assert [(c.number, c.status) for c in closed.cards] == [(number, CardStatus.CLOSED)]
    assert closed.cards[0].ended_at is not None


# --------------------------------------------------------------------------- merging


def _merge_fixture(db: Database, cashier: Actor) -> tuple[int, int]:
    """Two records of one person: the kept one with a card, the other with its own card, purchases,
    points, a complaint and tags."""
    from crmdesk.services import cards

    keep = add(db, cashier, "张三", "13800138000", tags=("老顾客",), joined_on=date(2022, 3, 1))
    gone = add(db, cashier, "张三", "13900000001", tags=("宝妈", "老顾客"), joined_on=date(2019, 5, 1))
    at = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    with unit_of_work(db) as session:
        cards.issue(session, cashier, keep.id, "2900000000018")
        cards.issue(session, cashier, gone.id, "2900000000025")
        keep_sale = Purchase(member_id=keep.id, till="1", receipt_no="K1", occurred_at=at, amount_fen=5000)
        gone_sale = Purchase(member_id=gone.id, till="1", receipt_no="G1", occurred_at=at + timedelta(days=1), amount_fen=12345)
        gone_big = Purchase(member_id=gone.id, till="2", receipt_no="G2", occurred_at=at + timedelta(days=2), amount_fen=20000)
        session.add_all([keep_sale, gone_sale, gone_big])
        session.flush()
        refund = Purchase(member_id=gone.id, till="2", receipt_no="G2R", occurred_at=at + timedelta(days=3), amount_fen=5000,
                          kind=PurchaseKind.REFUND, refund_of_id=gone_big.id)
        session.add(refund)
        session.add_all([
            PointsEntry(member_id=keep.id, kind=PointsKind.EARN, points=50, purchase_id=keep_sale.id),
            PointsEntry(member_id=gone.id, kind=PointsKind.EARN, points=123, purchase_id=gone_sale.id),
            PointsEntry(member_id=gone.id, kind=PointsKind.EARN, points=200, purchase_id=gone_big.id),
            PointsEntry(member_id=gone.id, kind=PointsKind.REFUND_REVERSAL, points=-50, purchase_id=gone_big.id),
            Complaint(member_id=gone.id, received_at=at, channel="counter", category="quality", description="牛奶过期"),
        ])
        session.execute(sa.update(Member).where(Member.id == keep.id).values(points_balance=50))
        session.execute(sa.update(Member).where(Member.id == gone.id).values(points_balance=273))
        members.refresh_member_totals(session, [keep.id, gone.id])
    return keep.id, gone.id


def test_merge_moves_everything_and_closes_the_merged_member(db, cashier, supervisor) -> None:
    keep_id, gone_id = _merge_fixture(db, cashier)
    with unit_of_work(db) as session:
        merged = members.merge(session, supervisor, keep_id, gone_id)
    assert merged.points_balance == 50 + 123 + 200 - 50
    assert (merged.visit_count, merged.total_spend_fen) == (3, 5000 + 12345 + 20000 - 5000)
    assert merged.open_complaints == 1 and merged.joined_on == date(2019, 5, 1)
    assert merged.tags == ("宝妈", "老顾客")
    assert {(c.number, c.status) for c in merged.cards} == {("2900000000018", CardStatus.ACTIVE), ("2900000000025", CardStatus.REPLACED)}
    with read_session(db) as session:
        for model in (Card, Purchase, PointsEntry, Complaint, MemberTag):
            assert session.scalar(sa.select(sa.func.count()).select_from(model).where(model.member_id == gone_id)) == 0, model
        gone = members.profile(session, gone_id)
        assert (gone.status, gone.points_balance, gone.visit_count, gone.total_spend_fen) == (MemberStatus.CLOSED, 0, 0, 0)
        assert gone.last_visit_at is None
        assert merged.points_balance == session.scalar(
            sa.select(sa.func.sum(PointsEntry.points)).where(PointsEntry.member_id == keep_id))
        kept_history = [(c.field, c.staff_name, c.new_value) for c in members.history(session, keep_id)]
        assert ("merged_from", "值班经理", "M00000002 张三") in kept_history
        assert ("merged_into", "值班经理", "M00000001 张三") in [(c.field, c.staff_name, c.new_value) for c in members.history(session, gone_id)]
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "member.merge")).one()
        assert (event.entity_id, event.staff_name, event.details["merged"]) == (keep_id, "值班经理", "M00000002")
    # The merged member's phone is free for the kept one now.
    with unit_of_work(db) as session:
        assert members.update(session, supervisor, keep_id, phone="13900000001").phone == "+8613900000001"


def test_merge_keeps_the_merged_members_card_when_the_kept_one_has_none(db, cashier, supervisor) -> None:
    keep = add(db, cashier, "张三", "13800138000")
    gone = add(db, cashier, "张三", "13900000001")
    with unit_of_work(db) as session:
        from crmdesk.services import cards

        cards.issue(session, cashier, gone.id, "2900000000025")
        merged = members.merge(session, supervisor, keep.id, gone.id)
    assert merged.active_card is not None and merged.active_card.number == "2900000000025"


def test_merge_is_refused_for_a_cashier_and_for_the_same_member(db, cashier, supervisor) -> None:
    keep_id, gone_id = _merge_fixture(db, cashier)
    refused(db, lambda s: members.merge(s, cashier, keep_id, gone_id), PermissionDenied, "may not merge")
    refused(db, lambda s: members.merge(s, supervisor, keep_id, keep_id), InvalidInput, "two different members")


@pytest.mark.parametrize(
    "typed", ["1985-06-02", "1985/6/2", "1985.6.2", "19850602", "1985年6月2日", "1985年6月2号", " 1985 / 06 / 02 ",
              "１９８５年６月２日", "１９８５－０６－０２", "1985-06-02 00:00:00"],
)
def test_the_one_birthday_parser_reads_what_people_type(typed: str) -> None:
    assert members.parse_birthday(typed, date(2026, 12, 4)) == date(1985, 6, 2)


def test_the_birthday_parser_refuses_impossible_and_future_days_with_a_reason() -> None:
    today = date(2026, 12, 4)
    assert members.parse_birthday("", today) is None and members.parse_birthday("  ", today) is None
    for typed, words in (("1985-02-29", "'1985-02-29' is not a real date"), ("1985/13/1", "not a real date"),
                         ("2026-12-05", "must lie between 1900 and today"), ("1899-12-31", "between 1900 and today"),
                         ("02/06/1985", "write it like 1985-06-02"), ("85-6-2", "write it like 1985-06-02"),
                         ("昨天", "write it like 1985-06-02")):
        with pytest.raises(InvalidInput, match=words) as caught:
            members.parse_birthday(typed, today)
        assert caught.value.field == "birthday"
    assert members.parse_birthday("2026-12-04", today) == today
