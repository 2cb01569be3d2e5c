"""The driver-level inserts of large imports (import_engine.DriverRows) store values exactly as SQLAlchemy would:
times compare and sort with those the rest of the program writes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from crmdesk.models.base import UtcDateTime
from crmdesk.services.import_engine import DriverRows, _sqlite_utc_text

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
