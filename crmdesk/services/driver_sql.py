"""Statements handed to the database driver without SQLAlchemy's per-execution work, for the two places where that
work is most of the cost: a large import's rows under the write lock (DriverRows) and the counter's sale
(DriverStatement).

A Core statement is still the one definition of what is written: it is compiled once per database kind, and its
values are bound by the columns' own types (UTC times as UtcDateTime stores them, kinds as their values), so a row
written here is the row SQLAlchemy would have written (tests/services/test_driver_sql.py compares them). Only
SQLite goes to the driver directly; on PostgreSQL a DriverStatement is an ordinary Core execution, whose cost
beside the network round trip is small.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa

from crmdesk.db import sqlite_driver_execute
from crmdesk.models.base import UtcDateTime

Processor = Callable[[Any], Any]


class DriverRows:
    """One SQL statement run by the driver's executemany, its parameters bound by the columns' own types: the rows
    of a large import without SQLAlchemy's statement work for every row. SQLite only (qmark parameters), where the
    import holds the only write lock."""

    def __init__(self, sql: str, columns: Sequence[sa.Column[Any]]) -> None:
        self.sql = sql
        self.columns = columns
        self._processors: dict[str, list[Processor | None]] = {}

    def execute(self, connection: sa.Connection, rows: Sequence[tuple[object, ...]]) -> None:
        dialect = connection.dialect
        processors = self._processors.get(dialect.name)
        if processors is None:
            processors = self._processors[dialect.name] = [bind_processor(column.type, dialect) for column in self.columns]
        typed = [(i, process) for i, process in enumerate(processors) if process is not None]
        if typed and rows:
            # Column by column: most columns (text, integers) need nothing, and a list per column is far cheaper
            # than a generator per row when the write lock is held.
            columns = [list(values) for values in zip(*rows)]
            for i, process in typed:
                columns[i] = [None if value is None else process(value) for value in columns[i]]
            rows = list(zip(*columns))
        connection.exec_driver_sql(self.sql, rows)  # type: ignore[arg-type]

    @classmethod
    def inserting(cls, table: sa.Table, names: Sequence[str]) -> DriverRows:
        return cls(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                   [table.c[name] for name in names])


class _Compiled:
    """A statement as SQLite's driver takes it: the SQL, and for each ? in order where its value comes from -- a given
    name, a value fixed in the statement, or a column's default (created_at, an updated_at kept on update) made
    when it runs, as SQLAlchemy makes it -- and its type's processor; for a SELECT or RETURNING, each column's."""

    def __init__(self, statement: sa.Executable, names: Sequence[str], dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(names))  # type: ignore[attr-defined]
        self.sql: str = compiled.string
        defaults = {column.key: column.default for column in compiled.insert_prefetch}
        defaults.update((column.key, column.onupdate) for column in compiled.update_prefetch)
        self.binds: list[tuple[str | None, object, Callable[[], object] | None, Processor | None]] = []
        for key in compiled.positiontup or ():
            bind = compiled.binds[key]
            if bind.expanding:
                raise ValueError("a DriverStatement cannot take a list of values (IN ...)")
            default = defaults.get(key) if key not in names else None
            make = None
            if default is not None:
                if not (default.is_callable or default.is_scalar):
                    raise ValueError(f"the default of {key} is made by the database; give its value")
                make = (lambda arg=default.arg: arg(None)) if default.is_callable else (lambda arg=default.arg: arg)
            elif key not in names and bind.required:
                raise ValueError(f"no value given for {key}")
            self.binds.append((key if key in names else None, bind.effective_value, make, bind_processor(bind.type, dialect)))
        returned = compiled.returning or getattr(statement, "selected_columns", ())
        self.results: list[Processor | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in returned]

    def parameters(self, values: Mapping[str, object]) -> tuple[object, ...]:
        bound = []
        for name, fixed, make, process in self.binds:
            value = values[name] if name is not None else make() if make is not None else fixed
            bound.append(process(value) if process is not None and value is not None else value)
        return tuple(bound)

    def row(self, found: tuple[object, ...] | None) -> tuple[object, ...] | None:
        if found is None:
            return None
        return tuple(process(value) if process is not None else value for process, value in zip(self.results, found))


class DriverStatement:
    """A Core statement run with one set of named values. On SQLite it goes to the driver itself, inside the
    transaction the session's connection holds (a statement outside one is refused: it would commit on its own);
    elsewhere it is executed by SQLAlchemy as usual. ``first`` gives the first row (a SELECT's or a RETURNING's)
    as plain values, ``run`` how many rows it changed."""

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def _driver(self, connection: sa.Connection, values: Mapping[str, object]) -> tuple[sqlite3.Cursor, _Compiled]:
        if not connection.in_transaction():
            raise RuntimeError("a DriverStatement runs inside the unit of work's transaction")
        key = (connection.dialect.name, tuple(values))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(self.statement, tuple(values), connection.dialect)
        return sqlite_driver_execute(connection, compiled.sql, compiled.parameters(values)), compiled

    def first(self, connection: sa.Connection, values: Mapping[str, object]) -> tuple[object, ...] | None:
        if connection.dialect.name != "sqlite":
            found = connection.execute(self.statement, dict(values)).first()
            return None if found is None else tuple(found)
        cursor, compiled = self._driver(connection, values)
        try:
            return compiled.row(cursor.fetchone())
        finally:
            cursor.close()

    def run(self, connection: sa.Connection, values: Mapping[str, object]) -> int:
        if connection.dialect.name != "sqlite":
            return int(connection.execute(self.statement, dict(values)).rowcount)
        cursor, _compiled = self._driver(connection, values)
        cursor.close()
        return cursor.rowcount


def bind_processor(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> Processor | None:
    """The column type's own bind processor; on SQLite, for the types an import binds on every row (times, dates,
    kinds), the same values made by C code instead of SQLAlchemy's generic Python."""
    generic: Processor | None = type_.dialect_impl(dialect).bind_processor(dialect)
    if dialect.name != "sqlite" or generic is None:
        return generic
    if isinstance(type_, UtcDateTime):
        return _sqlite_utc_text
    if type(type_) is sa.Date:
        return functools.partial(_sqlite_date_text, generic)
    if isinstance(type_, sa.Enum) and type_.enum_class is not None:
        # Each kind's stored value, worked out by the type itself once and found by the member's identity (a kind's
        # own hash is Python code); anything else goes to the type as before.
        stored = {id(member): generic(member) for member in type_.enum_class}
        return functools.partial(_stored_enum_value, stored, generic)
    return generic


def _sqlite_date_text(generic: Processor, value: Any) -> Any:
    # SQLite's DATE is stored as 2026-12-07, which is what a date's own isoformat() gives.
    return value.isoformat() if type(value) is date else generic(value)


def _stored_enum_value(stored: dict[int, Any], generic: Processor, value: Any) -> Any:
    found = stored.get(id(value), _MISSING)
    return generic(value) if found is _MISSING else found


_MISSING = object()


def _sqlite_utc_text(value: datetime) -> str:
    """An aware time as the UTC text SQLAlchemy's SQLite DATETIME stores (2026-11-17 01:30:00.000000), made by
    datetime's own C code: an import binds three times per receipt, and the generic path costs four times more.
    An import binds the same time object several times (the receipt's time on its purchase and its points entry,
    the member's last visit three times in the member's update, the import's own moment on every row): each is made
    once and then found by identity (about 5 us a text on these machines, 0.2 us a look-up)."""
    kept = _texts_by_id.get(id(value))
    if kept is not None and kept[0] is value:
        return kept[1]
    if value.tzinfo is None:
        raise ValueError("naive datetime given; use an aware datetime (UTC)")
    # In UTC the text ends "+00:00", cut off: cheaper than a copy of the time without its zone.
    text = value.astimezone(timezone.utc).isoformat(" ", "microseconds")[:-6]
    if len(_texts_by_id) >= _TEXTS_KEPT:
        _texts_by_id.clear()
    _texts_by_id[id(value)] = (value, text)  # the time is kept with its text: its id cannot name another time meanwhile
    return text


_TEXTS_KEPT = 50_000
_texts_by_id: dict[int, tuple[datetime, str]] = {}
