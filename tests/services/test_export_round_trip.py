"""A member list crmdesk exported imports into another crmdesk store as it is (moving to a new PC)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa

from crmdesk.db import open_database, sqlite_url
from crmdesk.models import Member
from crmdesk.services import demo, exports, imports, store
from crmdesk.services.member_query import MemberFilter
from crmdesk.services.staff import actor_for
from crmdesk.services.uow import read_session, unit_of_work


def test_an_export_imports_without_a_refused_row(tmp_path: Path) -> None:
    source = open_database(sqlite_url(tmp_path / "old.sqlite"))
    target = open_database(sqlite_url(tmp_path / "new.sqlite"))
    try:
        with unit_of_work(source) as session:
            demo.fill_demo_store(session, members=60, seed=11, today=date(2026, 11, 20))
        listing = tmp_path / "members.csv"
        with read_session(source) as session:
            written = exports.export_members(session, MemberFilter(), "member_no", False, listing, actor=actor_for(session))
        with unit_of_work(target) as session:
            store.initialise(session, owner_name="店主", owner_password="owner-secret-1", store_name="新店")
        with read_session(target) as session:
            plan = imports.plan_import(session, listing, today=date(2026, 11, 20))
        problems = [p.reason() for row in plan.invalid_rows for p in row.errors]
        assert not problems, problems[:5]
        assert plan.counts.new == written
        # The money comes along: each member's whole stored value as their opening principal (the export shows the
        # total; principal and bonus are not kept apart), each debt as an opening debt due 30 days after the import.
        with read_session(source) as session:
            held, owed = session.execute(sa.select(sa.func.sum(Member.wallet_principal_fen + Member.wallet_bonus_fen),
                                                   sa.func.sum(Member.credit_owed_fen))).one()
        assert held > 0 and owed > 0
        assert (plan.money.principal_fen, plan.money.bonus_fen, plan.money.debt_fen) == (held, 0, owed)
    finally:
        source.dispose()
        target.dispose()
