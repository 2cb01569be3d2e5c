"""GUI fixtures: an application state signed in as someone, and clean translators."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.i18n import Translators
from crmdesk.models import Member, MemberStatus
from crmdesk.services import demo, members, staff
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.state import AppState


@pytest.fixture
def translators(qapp) -> Iterator[Translators]:  # type: ignore[no-untyped-def]
    installed = Translators()
    yield installed
    installed.install("en")  # leave the shared QApplication untranslated for the next test


@pytest.fixture
def owner_state(qapp, db, owner) -> AppState:  # type: ignore[no-untyped-def]
    return AppState(db, owner, "en")


@pytest.fixture
def cashier_state(qapp, db, cashier) -> AppState:  # type: ignore[no-untyped-def]
    return AppState(db, cashier, "en")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A small demo store: members with history, offers, complaints, surveys on every screen."""
    database = open_database(sqlite_url(Path(tmp_path_factory.mktemp("demo")) / "demo.sqlite"))
    with unit_of_work(database) as session:
        demo.fill_demo_store(session, members=80, seed=5, today=date(2026, 11, 20))
    with unit_of_work(database) as session:  # a frozen member too: the purchase dialog asks for a supervisor then
        quiet = session.scalar(sa.select(Member.id).order_by(Member.visit_count, Member.id).limit(1))
        members.set_status(session, staff.actor_for(session), quiet, MemberStatus.FROZEN, reason="核实身份")
    yield database
    database.dispose()


@pytest.fixture
def demo_state(qapp, demo_db: Database) -> AppState:  # type: ignore[no-untyped-def]
    """The demo store with its owner signed in."""
    with read_session(demo_db) as session:
        return AppState(demo_db, staff.actor_for(session), "zh_CN")


def busy_member(db: Database) -> int:
    """The member with the most visits: the screens at their fullest."""
    with read_session(db) as session:
        return int(session.scalar(sa.select(Member.id).order_by(Member.visit_count.desc()).limit(1)) or 0)
