"""Statements handed to the driver (services/driver_sql.py) -- a large import's rows (DriverRows) and the counter's
sale (DriverStatement) -- store and read values exactly as SQLAlchemy would: times compare and sort with those the
rest of the program writes, kinds are their values, defaults are made as SQLAlchemy makes them."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from crmdesk.db import sqlite_driver_execute
from crmdesk.models import PurchaseKind
from crmdesk.models.base import UtcDateTime, str_enum, utcnow
from crmdesk.services import driver_sql
from crmdesk.services.driver_sql import DriverRows, DriverStatement, _sqlite_utc_text, bind_processor

TIMES = [datetime(2026, 11, 17, 9, 30, tzinfo=timezone(timedelta(hours=8))),
         datetime(2026, 11, 17, 1, 30, 0, 7, tzinfo=timezone.utc),
         datetime(999, 1, 2, 3, 4, 5, 600_000, tzinfo=timezone.utc),
         datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=-5)))]


def test_times_are_the_text_sqlalchemy_stores() -> None:
    engine = sa.create_engine("sqlite://")
    generic = UtcDateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
    for moment in TIMES:
        assert _sqlite_utc_text(moment) == generic(moment)
    with pytest.raises(ValueError, match="naive"):
        _sqlite_utc_text(datetime(2026, 1, 1))


def test_dates_and_kinds_are_bound_as_sqlalchemy_binds_them() -> None:
    dialect = sa.create_engine("sqlite://").dialect
    kind, day = str_enum(PurchaseKind), sa.Date()
    for type_, values in ((kind, [*PurchaseKind, "refund"]), (day, [date(2026, 12, 7), date(999, 1, 2), date(1, 1, 1)])):
        generic = type_.dialect_impl(dialect).bind_processor(dialect)
        ours = bind_processor(type_, dialect)
        assert [ours(value) for value in values] == [generic(value) for value in values]
    with pytest.raises(LookupError):
        bind_processor(kind, dialect)("not a kind")  # type: ignore[misc]


def test_rows_written_by_the_driver_read_back_as_written() -> None:
    engine = sa.create_engine("sqlite://")
    table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", UtcDateTime))
    table.create(engine)
    with engine.begin() as connection:
        DriverRows.inserting(table, ("id", "at")).execute(connection, [(i, moment) for i, moment in enumerate(TIMES)])
        connection.execute(sa.insert(table), [{"id": 10 + i, "at": moment} for i, moment in enumerate(TIMES)])
    with engine.connect() as connection:
        driver = connection.execute(sa.select(table.c.at).where(table.c.id < 10).order_by(table.c.id)).scalars().all()
        core = connection.execute(sa.select(table.c.at).where(table.c.id >= 10).order_by(table.c.id)).scalars().all()
        texts = connection.exec_driver_sql("SELECT count(DISTINCT at) FROM t").scalar()
    assert driver == core == [moment.astimezone(timezone.utc) for moment in TIMES]
    assert texts == len(TIMES)  # the same text for the same moment


def test_the_moment_made_once_is_only_given_for_that_very_time() -> None:
    now = datetime(2026, 12, 6, 18, 0, tzinfo=timezone.utc)
    other = now + timedelta(microseconds=1)
    assert [_sqlite_utc_text(t) for t in (now, now, other, now, other)] == [
        "2026-12-06 18:00:00.000000", "2026-12-06 18:00:00.000000", "2026-12-06 18:00:00.000001",
        "2026-12-06 18:00:00.000000", "2026-12-06 18:00:00.000001"]
    # Past the texts kept (they are forgotten and made again), and times made and dropped one after another (a
    # new time may live where a dropped one did): each still gets its own text.
    many = [now + timedelta(seconds=i) for i in range(driver_sql._TEXTS_KEPT + 10)]
    assert [_sqlite_utc_text(t) for t in many[::-1]] == [t.strftime("%Y-%m-%d %H:%M:%S.%f") for t in many[::-1]]
    for i in range(2_000):
        moment = now + timedelta(days=i, hours=8)
        assert _sqlite_utc_text(moment.astimezone(timezone(timedelta(hours=8)))) == moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _receipts() -> sa.Table:
    return sa.Table("receipt", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("kind", str_enum(PurchaseKind), nullable=False), sa.Column("at", UtcDateTime, nullable=False),
                    sa.Column("day", sa.Date), sa.Column("amount", sa.Integer, nullable=False),
                    sa.Column("note", sa.String(20), nullable=False, default="none"),
                    sa.Column("created_at", UtcDateTime, nullable=False, default=utcnow),
                    sa.Column("updated_at", UtcDateTime, nullable=False, default=utcnow, onupdate=utcnow),
                    sa.UniqueConstraint("amount"))


def test_a_statement_run_by_the_driver_writes_and_reads_what_sqlalchemy_does() -> None:
    engine = sa.create_engine("sqlite://")
    table = _receipts()
    table.metadata.create_all(engine)
    insert = DriverStatement(sa.insert(table).returning(table.c.id, table.c.kind, table.c.at))
    moment = TIMES[0]
    with engine.begin() as connection:
        row = insert.first(connection, {"id": 1, "kind": PurchaseKind.REFUND, "at": moment, "day": moment.date(), "amount": 5})
        connection.execute(sa.insert(table), {"id": 2, "kind": PurchaseKind.REFUND, "at": moment, "day": moment.date(),
                                              "amount": 6})
    assert row == (1, PurchaseKind.REFUND, moment.astimezone(timezone.utc))  # typed as a Core result is
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_rest: seen.append(sql))
    with engine.begin() as connection:
        insert.first(connection, {"id": 3, "kind": PurchaseKind.SALE, "at": moment, "day": None, "amount": 7})
    assert any(sql.startswith("INSERT INTO receipt") for sql in seen)  # the engine's listeners still see it
    with engine.connect() as connection:
        texts = connection.exec_driver_sql("SELECT kind, at, day, note, length(created_at), length(updated_at) "
                                           "FROM receipt ORDER BY id").all()
    assert texts[0] == texts[1] == ("refund", "2026-11-17 01:30:00.000000", "2026-11-17", "none", 26, 26)


def test_an_update_keeps_the_columns_sqlalchemy_keeps_and_says_how_many_rows_it_changed() -> None:
    engine = sa.create_engine("sqlite://")
    table = _receipts()
    table.metadata.create_all(engine)
    old = datetime(2020, 1, 1, tzinfo=timezone.utc)
    with engine.begin() as connection:
        connection.execute(sa.insert(table), [{"id": i, "kind": PurchaseKind.SALE, "at": old, "amount": i, "created_at": old,
                                               "updated_at": old} for i in (1, 2)])
    add = DriverStatement(sa.update(table).where(table.c.id == sa.bindparam("key")).values(
        amount=table.c.amount + sa.bindparam("more"), note="changed"))
    with engine.begin() as connection:
        assert add.run(connection, {"key": 1, "more": 10}) == 1
        assert add.run(connection, {"key": 99, "more": 10}) == 0
    with engine.connect() as connection:
        changed, kept = connection.execute(sa.select(table.c.amount, table.c.note, table.c.updated_at).order_by(table.c.id)).all()
    assert changed.amount == 11 and changed.note == "changed" and changed.updated_at > old  # onupdate made, as by Core
    assert tuple(kept) == (2, "none", old)


def test_a_driver_statement_refuses_to_run_outside_a_transaction_or_without_its_values() -> None:
    engine = sa.create_engine("sqlite://")
    table = _receipts()
    table.metadata.create_all(engine)
    insert = DriverStatement(sa.insert(table))
    values = {"id": 1, "kind": PurchaseKind.SALE, "at": TIMES[1], "amount": 1}
    with engine.connect() as connection:
        connection.commit()  # ends the transaction the first statement would begin
        with pytest.raises(RuntimeError, match="transaction"):  # it would commit on its own
            insert.run(connection, values)
    by_key = DriverStatement(sa.select(table.c.id).where(table.c.amount == sa.bindparam("amount")))
    many = DriverStatement(sa.select(table.c.id).where(table.c.amount.in_(sa.bindparam("amounts", expanding=True))))
    with engine.begin() as connection:
        with pytest.raises(ValueError, match="amount"):
            by_key.first(connection, {})
        with pytest.raises(ValueError, match="list of values"):
            many.first(connection, {"amounts": [1, 2]})
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def test_the_driver_fails_as_sqlalchemy_would(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A broken constraint is sa.exc.IntegrityError and a locked database sa.exc.OperationalError, without the
    values: what the counter's and the failure messages' code expects of any statement."""
    path = tmp_path / "t.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    table = _receipts()
    table.metadata.create_all(engine)
    insert = DriverStatement(sa.insert(table))
    values = {"id": 1, "kind": PurchaseKind.SALE, "at": TIMES[1], "amount": 4321}
    with engine.begin() as connection:
        insert.run(connection, values)
        with pytest.raises(sa.exc.IntegrityError) as raised:
            insert.run(connection, {**values, "id": 2})  # the same amount, which is unique
    assert "4321" not in str(raised.value)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with engine.connect() as connection, pytest.raises(sa.exc.OperationalError, match="locked"):
            sqlite_driver_execute(connection, "BEGIN IMMEDIATE")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    engine.dispose()
