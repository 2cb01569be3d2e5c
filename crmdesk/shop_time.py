"""The shop's clock: one time zone for every screen, printout and command.

Times are stored in UTC. People read and type them in the shop's time zone, whatever
zone the PC itself is set to (a till PC left on UTC, or a laptop brought back from a
trip, must not show a second clock). China has one time zone and no daylight saving.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

SHOP_ZONE: tzinfo = timezone(timedelta(hours=8))


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """The shop's calendar day now."""
    return datetime.now(SHOP_ZONE).date()


def local_day(moment: datetime) -> date:
    """The shop's calendar day of a stored moment."""
    return moment.astimezone(SHOP_ZONE).date()


def to_shop(moment: datetime) -> datetime:
    return moment.astimezone(SHOP_ZONE)


def day_start(day: date) -> datetime:
    """The first moment of one of the shop's days, in UTC."""
    return datetime.combine(day, time.min, tzinfo=SHOP_ZONE).astimezone(UTC)


def from_shop_clock(wall: datetime) -> datetime:
    """A time read off the shop's clock (no zone, as a date-time field gives it) as a stored moment."""
    return wall.replace(tzinfo=SHOP_ZONE).astimezone(UTC) if wall.tzinfo is None else wall.astimezone(UTC)


def format_time(moment: datetime | None) -> str:
    """2026-12-04 15:20 on the shop's clock; empty for no time."""
    return moment.astimezone(SHOP_ZONE).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def format_date(moment: datetime | None) -> str:
    return moment.astimezone(SHOP_ZONE).strftime("%Y-%m-%d") if moment is not None else ""


def minutes_until(until: datetime, now: datetime) -> int:
    """Whole minutes left until ``until``, rounded up (a lock of exactly 5 minutes says 5, never 6), at least 1."""
    seconds = (until - now).total_seconds()
    return max(1, math.ceil(seconds / 60))
