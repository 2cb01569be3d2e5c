"""The owner's points rules can be changed again and again; the last save counts."""

from __future__ import annotations

from dataclasses import replace

from crmdesk.services import loyalty
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures


def test_rules_saved_twice_keep_the_second(db, owner) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        first = loyalty.set_rules(session, owner, loyalty.Rules(redeem_points_per_yuan=50))
    with unit_of_work(db) as session:
        second = loyalty.set_rules(session, owner, replace(first, redeem_points_per_yuan=80, points_per_yuan=2))
    with read_session(db) as session:
        assert loyalty.get_rules(session) == second
    assert (second.redeem_points_per_yuan, second.points_per_yuan) == (80, 2)
