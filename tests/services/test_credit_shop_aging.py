"""credit.shop_aging: the shop's aging summed by the database gives the figures open_charges gives, charge by charge."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.models import CreditEntry, CreditKind
from crmdesk.services import credit, demo
from crmdesk.services.uow import read_session, unit_of_work

TODAY = date(2026, 11, 22)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = open_database(sqlite_url(tmp_path_factory.mktemp("aging") / "demo.sqlite"))
    with unit_of_work(database) as session:
        demo.fill_demo_store(session, members=400, seed=5, today=TODAY)
    yield database
    database.dispose()


def by_charge(session, as_of: date) -> credit.Aging:  # type: ignore[no-untyped-def]
    result = credit.Aging(as_of)
    charges = credit.open_charges(session, None, as_of)
    for rows in charges.values():
        for row in rows:
            result.buckets[row.bucket] += row.outstanding_fen
    result.members = len(charges)
    return result


def test_the_same_figures_on_every_day(store: Database) -> None:
    with read_session(store) as session:
        dues = sorted(set(session.scalars(sa.select(CreditEntry.due_on).where(CreditEntry.due_on.is_not(None)))))
        days = {TODAY, TODAY - timedelta(days=200), TODAY + timedelta(days=45), TODAY + timedelta(days=400)}
        # Each bucket's edges: due that day, the day after, and 30, 31, 60, 61, 90, 91 days later.
        days |= {due + timedelta(days=n) for due in dues[::7] for n in (0, 1, 30, 31, 60, 61, 90, 91)}
        for day in sorted(days):
            fast, slow = credit.shop_aging(session, as_of=day), by_charge(session, day)
            assert (fast.buckets, fast.members) == (slow.buckets, slow.members), day
        assert credit.aging(session, as_of=TODAY) == credit.shop_aging(session, as_of=TODAY)
        assert credit.shop_aging(session, as_of=TODAY).overdue_fen > 0


def test_a_charge_without_a_due_day_counts_from_its_own_day(store: Database) -> None:
    with unit_of_work(store) as session:
        charge = session.scalars(sa.select(CreditEntry).where(CreditEntry.kind == CreditKind.CHARGE)
                                 .order_by(CreditEntry.id.desc())).first()
        original = charge.due_on
        charge.due_on = None
    try:
        with read_session(store) as session:
            for day in (TODAY, TODAY + timedelta(days=40), TODAY + timedelta(days=100)):
                fast, slow = credit.shop_aging(session, as_of=day), by_charge(session, day)
                assert (fast.buckets, fast.members) == (slow.buckets, slow.members), day
    finally:
        with unit_of_work(store) as session:
            session.get(CreditEntry, charge.id).due_on = original


def test_one_members_open_charges_are_read_from_their_own_settlements(store: Database) -> None:
    """open_charges for some members reads only what settled their charges: the same rows as for the whole shop."""
    with read_session(store) as session:
        debtors = sorted(set(session.scalars(sa.select(CreditEntry.member_id))))
        for day in (TODAY - timedelta(days=120), TODAY, TODAY + timedelta(days=35)):
            everyone = credit.open_charges(session, None, day)
            for member_id in debtors:
                assert credit.open_charges(session, [member_id], day).get(member_id, []) == everyone.get(member_id, []), member_id
            assert credit.open_charges(session, debtors[:5], day) == {m: everyone[m] for m in debtors[:5] if m in everyone}
