"""A till without its server: the member cache (found and shown as on the server, replaced in one step), the sales
queue (durable, receipt numbers unique, nothing paid from stored value or on credit), and the replay when the
server is back -- in order, each sale once, a sale the server already has recognised, a refusal kept with its
reason, and a server that goes away again leaving the rest for next time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.db import Database
from crmdesk.errors import Conflict, InvalidInput
from crmdesk.models import MemberStatus, Purchase
from crmdesk.services import members, offline, purchases, search
from crmdesk.services.members import MemberInput
from crmdesk.services.purchases import LineInput
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template  # noqa: F401 - fast fixtures

CARD = "2900000000018"


@pytest.fixture
def shop(db, cashier) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        zhang = members.register(session, cashier, MemberInput(name="张三", phone="13800138000"), card_number=CARD).id
        li = members.register(session, cashier, MemberInput(name="李四", phone="13900139000")).id
    return {"张三": zhang, "李四": li}


@pytest.fixture
def here(tmp_path: Path) -> Path:
    folder = tmp_path / "till"
    folder.mkdir()
    return folder


@pytest.fixture
def cache(db, shop, here) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    info = offline.refresh_cache(db, here)
    assert info.members == 2 and info.path.exists()
    cached = offline.open_cache(here)
    assert cached is not None
    yield cached
    cached.dispose()


def test_members_are_found_and_shown_from_the_cache(cache: Database, shop) -> None:  # type: ignore[no-untyped-def]
    with read_session(cache) as session:
        assert search.lookup(session, CARD).member.name == "张三"  # type: ignore[union-attr]
        assert search.lookup(session, "13900139000").member.id == shop["李四"]  # type: ignore[union-attr]
        assert [hit.member.name for hit in search.search(session, "zs")] == ["张三"]
        profile = members.profile(session, shop["张三"], recent_visits=5)
        assert profile.name == "张三" and profile.active_card is not None and profile.active_card.number == CARD


def test_a_failed_refresh_leaves_the_last_cache(db, shop, here, cache: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cache.dispose()
    before = offline.cache_path(here).read_bytes()

    def cut(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise OSError("the network went away mid-copy")

    monkeypatch.setattr(offline, "_cache_tables", cut)
    with pytest.raises(OSError):
        offline.refresh_cache(db, here)
    assert offline.cache_path(here).read_bytes() == before


def test_nothing_that_could_overspend_is_taken_offline(cashier, shop, here) -> None:  # type: ignore[no-untyped-def]
    for paid in ({"wallet_fen": 500}, {"credit_fen": 500}):
        with pytest.raises(InvalidInput) as refused:
            offline.queue_sale(cashier, shop["张三"], "张三", till="01", amount_fen=1_000, folder=here, **paid)
        assert "cannot be reached" in refused.value.message
    with pytest.raises(InvalidInput):
        offline.queue_sale(cashier, shop["张三"], "张三", till="01", amount_fen=0, folder=here)
    assert offline.queued_sales(here) == []


def test_queued_sales_get_their_own_receipt_numbers_and_the_same_one_twice_is_one_sale(cashier, shop, here) -> None:  # type: ignore[no-untyped-def]
    first = offline.queue_sale(cashier, shop["张三"], "张三", till="01", amount_fen=1_000, folder=here)
    second = offline.queue_sale(cashier, shop["李四"], "李四", till="01", amount_fen=2_000, folder=here)
    assert first.receipt_no.startswith("OFF") and first.receipt_no != second.receipt_no
    typed = offline.queue_sale(cashier, shop["张三"], "张三", till="01", amount_fen=3_000, receipt_no="R9", folder=here)
    again = offline.queue_sale(cashier, shop["张三"], "张三", till="01", amount_fen=3_000, receipt_no="R9", folder=here)
    assert again.number == typed.number
    with pytest.raises(Conflict):
        offline.queue_sale(cashier, shop["李四"], "李四", till="01", amount_fen=3_000, receipt_no="R9", folder=here)
    assert [s.receipt_no for s in offline.queued_sales(here)] == [first.receipt_no, second.receipt_no, "R9"]


def test_the_queue_is_sent_in_order_once_and_refusals_are_kept(db, owner, cashier, shop, here) -> None:  # type: ignore[no-untyped-def]
    taken = datetime.now(UTC) - timedelta(minutes=30)
    lines = (LineInput(item_code="6901", name="牛奶", category="乳制品", quantity_milli=2000, unit_price_fen=500,
                       amount_fen=1_000),)
    a = offline.queue_sale(cashier, shop["张三"], "张三", till="01", amount_fen=1_000, lines=lines, occurred_at=taken,
                           payment_method="cash", folder=here)
    b = offline.queue_sale(cashier, shop["李四"], "李四", till="01", amount_fen=2_000, folder=here)
    c = offline.queue_sale(cashier, shop["张三"], "张三", till="01", amount_fen=4_000, folder=here)
    with unit_of_work(db) as session:  # b reached the server just before the connection broke
        purchases.record_purchase(session, cashier, shop["李四"], till="01", receipt_no=b.receipt_no, amount_fen=2_000)
    with unit_of_work(db) as session:  # and 张三 was frozen at another till meanwhile
        members.set_status(session, owner, shop["张三"], MemberStatus.FROZEN, reason="卡片争议")
    result = offline.replay(db, here)
    assert (result.recorded, result.already, result.left) == (0, 1, 0)
    assert [s.receipt_no for s in result.refused] == [a.receipt_no, c.receipt_no]
    assert all(s.message for s in result.refused)
    assert offline.queued_sales(here) == [] and len(offline.queued_sales(here, state="refused")) == 2
    with unit_of_work(db) as session:
        members.set_status(session, owner, shop["张三"], MemberStatus.ACTIVE, reason="已解决")
    d = offline.queue_sale(cashier, shop["张三"], "张三", till="01", amount_fen=5_000, occurred_at=taken, folder=here)
    assert offline.replay(db, here).recorded == 1
    assert offline.replay(db, here).recorded == 0  # sent once
    with read_session(db) as session:
        sent = session.execute(sa.select(Purchase.receipt_no, Purchase.occurred_at, Purchase.cashier_id)
                               .where(Purchase.receipt_no == d.receipt_no)).one()
    assert sent.occurred_at == taken and sent.cashier_id == cashier.staff_id  # when and by whom it was taken


def test_a_sale_the_server_committed_as_the_connection_broke_is_not_counted_twice(db, cashier, shop, here) -> None:  # type: ignore[no-untyped-def]
    """No receipt number typed: the server gave the sale its own number, the answer was lost, the cashier kept the
    sale on the till (an OFF number). The till's request id, sent both times, tells the server it is the same sale."""
    with unit_of_work(db) as session:
        purchases.record_purchase(session, cashier, shop["张三"], till="01", amount_fen=3_000, request_id="sale-1")
    kept = offline.queue_sale(cashier, shop["张三"], "张三", till="01", amount_fen=3_000, request_id="sale-1", folder=here)
    assert kept.receipt_no.startswith("OFF")
    result = offline.replay(db, here)
    assert (result.recorded, result.already, result.refused) == (0, 1, ())
    assert offline.queued_sales(here) == []
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase)) == 1


def test_a_queue_written_before_request_ids_is_still_sent(db, cashier, shop, here) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    old = sqlite3.connect(offline.queue_path(here))
    old.execute(
        "CREATE TABLE sale (number INTEGER PRIMARY KEY, till TEXT NOT NULL, receipt_no TEXT NOT NULL, "
        "member_id INTEGER NOT NULL, member_name TEXT NOT NULL, amount_fen INTEGER NOT NULL, occurred_at TEXT NOT NULL, "
        "payment_method TEXT NOT NULL, lines TEXT NOT NULL, cashier_id INTEGER NOT NULL, cashier_name TEXT NOT NULL, "
        "cashier_role TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued', message TEXT NOT NULL DEFAULT '', "
        "UNIQUE (till, receipt_no))")
    old.execute("INSERT INTO sale (till, receipt_no, member_id, member_name, amount_fen, occurred_at, payment_method, lines, "
                "cashier_id, cashier_name, cashier_role) VALUES ('01', 'OLD-1', ?, '张三', 1200, ?, 'cash', '[]', ?, ?, ?)",
                (shop["张三"], datetime.now(UTC).isoformat(), cashier.staff_id, cashier.name, cashier.role.value))
    old.commit()
    old.close()
    (waiting,) = offline.queued_sales(here)
    assert waiting.receipt_no == "OLD-1" and waiting.request_id == ""
    assert offline.replay(db, here).recorded == 1


def test_a_server_gone_again_leaves_the_rest_for_next_time(db, cashier, shop, here, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for amount in (1_000, 2_000, 3_000):
        offline.queue_sale(cashier, shop["张三"], "张三", till="01", amount_fen=amount, folder=here)
    real = purchases.record_purchase
    calls = []

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        return real(*args, **kwargs)

    monkeypatch.setattr(purchases, "record_purchase", flaky)
    result = offline.replay(db, here)
    assert (result.recorded, result.left) == (1, 2)
    assert len(offline.queued_sales(here)) == 2
    monkeypatch.setattr(purchases, "record_purchase", real)
    assert offline.replay(db, here).recorded == 2
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase)) == 3


def test_the_cache_keeps_every_reference_and_no_secret(db, owner, shop, here) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.models import Member, Staff
    from crmdesk.services import credit, wallet

    with unit_of_work(db) as session:
        credit.set_limit(session, owner, shop["张三"], 30_000)  # granted by a staff member: a reference to keep
        wallet.set_pin(session, owner, shop["张三"], "2580")  # the member's payment PIN stays on the server
    offline.refresh_cache(db, here)
    cached = offline.open_cache(here)
    assert cached is not None
    try:
        with read_session(cached) as session:
            staff = session.execute(sa.select(Staff.name, Staff.password_hash, Staff.pin_hash)).all()
            profile = members.profile(session, shop["张三"])
        assert staff and all(password is None and pin is None for _name, password, pin in staff)
        assert session.scalar(sa.select(sa.func.count()).select_from(Member).where(Member.pay_pin_hash.is_not(None))) == 0
        assert profile.credit_limit_fen == 30_000
    finally:
        cached.dispose()
