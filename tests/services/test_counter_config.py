"""The counter keeps the rules, tiers and offers it read until the rules stamp says they changed: whoever changes
them -- this program, another till's process, a statement typed by hand -- the next sale earns by the new ones."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from crmdesk.models import LoyaltyRules, Member, RulesStamp, Tier
from crmdesk.services import loyalty, members, purchases
from crmdesk.services.members import MemberInput
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=timezone(timedelta(hours=8)))  # a Wednesday, no bonus day


@pytest.fixture
def member_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        loyalty.set_rules(session, owner, loyalty.Rules())  # the rules' row, as the owner's first save writes it
        return members.register(session, owner, MemberInput(name="张三", phone="13812345678")).id


def sale(db, actor, member_id, receipt, amount_fen=10_000):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return purchases.record_purchase(session, actor, member_id, receipt_no=receipt, till="01", amount_fen=amount_fen,
                                         occurred_at=NOW, now=NOW)


def token(db) -> int:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return session.scalar(sa.select(RulesStamp.token))


def test_each_change_of_the_watched_tables_gives_a_new_token(db, owner, member_id) -> None:  # type: ignore[no-untyped-def]
    seen = [token(db)]
    statements = (sa.update(LoyaltyRules).values(points_per_yuan=3),
                  sa.text("INSERT INTO category_rule (category, multiplier_pct) VALUES ('烟草', 0)"),
                  sa.text("DELETE FROM category_rule"),
                  sa.update(Tier).where(Tier.rank == 3).values(points_multiplier_pct=300))
    for statement in statements:
        with unit_of_work(db) as session:
            session.execute(statement)
        seen.append(token(db))
    assert len(set(seen)) == len(statements) + 1, seen


def test_a_change_made_by_another_process_counts_at_the_next_sale(db, db_path, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    assert sale(db, cashier, member_id, "R1").points == 100  # 1 point per yuan; the rules are now kept in memory
    other = sqlite3.connect(db_path)  # another till's process, or a fix typed by hand: not through this program
    with other:
        other.execute("UPDATE loyalty_rules SET points_per_yuan = 2")
    other.close()
    assert sale(db, cashier, member_id, "R2").points == 200
    with read_session(db) as session:
        assert loyalty.counter_config(session, token(db)).rules.points_per_yuan == 2


def test_a_change_rolled_back_leaves_no_stale_rules_behind(db, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    class Undo(Exception):
        pass

    with pytest.raises(Undo), unit_of_work(db) as session:  # the new rules are read in the transaction, then undone
        session.execute(sa.update(LoyaltyRules).values(points_per_yuan=5))
        assert purchases.record_purchase(session, cashier, member_id, receipt_no="X", till="01", amount_fen=10_000,
                                         occurred_at=NOW, now=NOW).points == 500
        raise Undo
    assert sale(db, cashier, member_id, "R1").points == 100
    with unit_of_work(db) as session:  # another change, committed this time
        session.execute(sa.update(LoyaltyRules).values(points_per_yuan=4))
    assert sale(db, cashier, member_id, "R2").points == 400


def test_a_tier_changed_elsewhere_earns_with_its_new_multiplier(db, owner, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    assert sale(db, cashier, member_id, "R1").points == 100
    with unit_of_work(db) as session:
        entry = session.scalar(sa.select(Tier.id).where(Tier.rank == 0))
        session.execute(sa.update(Tier).where(Tier.id == entry).values(points_multiplier_pct=150))
        session.execute(sa.update(Member).where(Member.id == member_id).values(tier_id=entry))
    assert sale(db, cashier, member_id, "R2").points == 150
