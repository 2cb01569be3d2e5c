"""The check every database test ends with: cached balances against their ledgers (tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from crmdesk.models import Member
from crmdesk.services import credit, ledgers, loyalty, members, wallet
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

NOW = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)


def test_the_books_agree_after_money_moves_and_each_tampered_figure_is_named(db, owner, cashier) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        zhang = members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000")).id
        li = members.register(session, cashier, members.MemberInput(name="李四", phone="13900139000")).id
    with unit_of_work(db) as session:
        wallet.top_up(session, cashier, zhang, 20_000, payment_method="cash", now=NOW)
        credit.set_limit(session, owner, li, 50_000)
        loyalty.adjust(session, owner, li, 120, reason="开业赠送")
    with read_session(db) as session:
        assert ledgers.disagreements(session) == []

    # A figure changed behind the ledger's back (as a hand edit of the file would).
    with db.engine.begin() as connection:
        connection.execute(sa.update(Member).where(Member.id == zhang).values(wallet_bonus_fen=500))
        connection.execute(sa.update(Member).where(Member.id == li).values(points_balance=100, credit_owed_fen=7))
    with read_session(db) as session:
        found = ledgers.disagreements(session)
    assert sorted((d.member_id, d.figure, d.cached, d.ledger) for d in found) == sorted(
        [(zhang, "wallet bonus", 500, 0), (li, "points", 100, 120), (li, "credit owed", 7, 0)])

    # Put right, so the conftest check after this test finds the books agreeing again.
    with db.engine.begin() as connection:
        connection.execute(sa.update(Member).where(Member.id == zhang).values(wallet_bonus_fen=0))
        connection.execute(sa.update(Member).where(Member.id == li).values(points_balance=120, credit_owed_fen=0))
