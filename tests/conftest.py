"""Shared fixtures: every test gets its own data directory and SQLite file."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from crmdesk.db import Database, open_database, sqlite_url  # noqa: E402
from crmdesk.models import Role  # noqa: E402
from crmdesk.services import ledgers  # noqa: E402
from crmdesk.services import staff as staff_service  # noqa: E402
from crmdesk.services import store  # noqa: E402
from crmdesk.services.uow import Actor, unit_of_work  # noqa: E402

OWNER_NAME = "王店长"


def pytest_configure(config: pytest.Config) -> None:
    """Tests run in several processes at once (pytest-xdist, `make test`): each process gets its own scratch
    PostgreSQL database beside the one CRMDESK_TEST_POSTGRES_URL names, made empty here, so the PostgreSQL tests of
    one process never see another's tables. Set before the test modules are read: they take the URL at import."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("CRMDESK_TEST_POSTGRES_URL")
    if not worker or not url:
        return
    base = sa.make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{own.database}"')
    except sa.exc.DBAPIError as exc:  # the PostgreSQL tests then fail on the URL as given, saying why
        config.issue_config_time_warning(pytest.PytestWarning(f"no database of its own for {worker}: {exc.orig}"), stacklevel=2)
        return
    finally:
        engine.dispose()
    os.environ["CRMDESK_TEST_POSTGRES_URL"] = own.render_as_string(hide_password=False)
OWNER_PASSWORD = "owner-secret-1"


@pytest.fixture(autouse=True, scope="session")
def cheap_secret_hashing() -> Iterator[None]:
    """argon2 is slow on purpose (~0.1 s a secret) and the tests set staff up thousands of times: in the test
    process secrets are hashed with argon2's least costs -- the same algorithm, stored and checked the same way
    (a hash carries its own costs). The program run as a command by the tests keeps its real costs."""
    from argon2 import PasswordHasher

    from crmdesk.services import auth, wallet

    with pytest.MonkeyPatch.context() as patch:
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        patch.setattr(auth, "_hasher", cheap)
        patch.setattr(wallet, "_hasher", cheap)
        yield


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test away from the real per-user data directory and settings."""
    data = tmp_path / "data"
    monkeypatch.setenv("CRMDESK_DATA_DIR", str(data))
    monkeypatch.delenv("CRMDESK_DB", raising=False)
    monkeypatch.delenv("CRMDESK_DATABASE_URL", raising=False)
    return data


@pytest.fixture
def db_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "store.sqlite"
    yield path
    assert_books_agree(path)


def assert_books_agree(path: Path) -> None:
    """After every test on the shop's database: each cached balance is its ledger's sum."""
    if not path.exists():
        return
    engine = sa.create_engine(sqlite_url(path))
    try:
        if not sa.inspect(engine).has_table("credit_entry"):
            return  # an old or foreign file some test left behind on purpose
        with Session(engine) as session:
            assert ledgers.disagreements(session) == []
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty store built by the migrations once per run. Each test's ``db`` starts as a copy of it: running the
    migrations takes 0.4-0.7 s, a copy a few milliseconds, and a thousand tests want a store. The tests of creating
    and upgrading a database build their own from ``db_path``."""
    path = tmp_path_factory.mktemp("migrated") / "store.sqlite"
    open_database(sqlite_url(path)).dispose()
    assert not path.with_name(path.name + "-wal").exists(), "the store's last changes are still in its WAL file"
    return path


@pytest.fixture
def db(db_path: Path, migrated_store: Path) -> Iterator[Database]:
    shutil.copyfile(migrated_store, db_path)
    database = open_database(sqlite_url(db_path))
    yield database
    database.dispose()


@pytest.fixture
def owner(db: Database) -> Actor:
    with unit_of_work(db) as session:
        return store.initialise(session, owner_name=OWNER_NAME, owner_password=OWNER_PASSWORD, store_name="好邻居超市")


@pytest.fixture
def cashier(db: Database, owner: Actor) -> Actor:
    with unit_of_work(db) as session:
        info = staff_service.add_staff(session, owner, "收银员小李", Role.CASHIER, pin="1234")
    return Actor(info.id, info.name, info.role)


@pytest.fixture
def supervisor(db: Database, owner: Actor) -> Actor:
    with unit_of_work(db) as session:
        info = staff_service.add_staff(session, owner, "值班经理", Role.SUPERVISOR, pin="2468", password="super-secret-1")
    return Actor(info.id, info.name, info.role)
