"""The member list: filters, sorting, paging and saved filters ("smart groups").

UI-free. A filter is a frozen value (``MemberFilter``); ``count`` and ``page``
turn it into queries that stay fast with a million members:

* every sort key is a column with its own index, and ``Member.id`` is added as a
  tie-breaker in the same direction, so ``ORDER BY col, id`` walks that index
  (SQLite and PostgreSQL index entries end with the row id) and pages are stable;
* ``page`` fetches one window of rows (LIMIT/OFFSET) and then the tags and active
  card numbers of just those rows, one query each;
* a page in the second half of the list is read from the other end (the reverse
  order with a small offset), so the last page costs what the first one does;
* ``iter_pages`` streams the whole filtered list in one query (exports), never
  holding more than one chunk in memory.

Saved filters keep the criteria (``MemberFilter.to_dict``), not the members, so a
group stays current.

Money with the shop: the list shows each member's stored value (储值, principal and
bonus together) and debt (赊账), both cached on the member row. "Owes money" reads
the debt's index; "overdue" narrows that to members with a charge past its due day
and money still owed on it (an EXISTS on the member's own credit entries and their
settlements, each an index lookup). "Stored value at least" compares the two cached
wallet columns; they have no index of their own, so it reads the member rows (a few
milliseconds per hundred thousand members) and the stored value is not a sort key.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from crmdesk.errors import Conflict, InvalidInput, NotFound
from crmdesk.models import (
    Card, CardStatus, CreditEntry, CreditKind, CreditSettlement, Gender, Member, MemberInsight, MemberStatus, MemberTag,
    SavedFilter, Tier,
)
from crmdesk.services import audit, money
from crmdesk.services import insight_rules
from crmdesk.services.auth import Permission, require
from crmdesk.services.uow import Actor
from crmdesk.shop_time import SHOP_ZONE
from crmdesk.texts import QT_TRANSLATE_NOOP, Term

# Above every character: "abc" <= x < "abc" + HIGHEST is "x starts with abc", as an index range.
HIGHEST = "\U0010ffff"
MAX_FILTER_NAME = 60
MAX_TEXT = 100
DEFAULT_PAGE = 200
MAX_TAGS_LISTED = 500

# ------------------------------------------------------------------------- labels (translated by the views)

STATUS_LABELS = {
    MemberStatus.ACTIVE: QT_TRANSLATE_NOOP("terms", "Active"),
    MemberStatus.FROZEN: QT_TRANSLATE_NOOP("terms", "Frozen"),
    MemberStatus.CLOSED: QT_TRANSLATE_NOOP("terms", "Closed"),
}


# The same statuses as words inside a sentence ("张三's membership is frozen").
STATUS_WORDS = {
    MemberStatus.ACTIVE: QT_TRANSLATE_NOOP("terms", "active"),
    MemberStatus.FROZEN: QT_TRANSLATE_NOOP("terms", "frozen"),
    MemberStatus.CLOSED: QT_TRANSLATE_NOOP("terms", "closed"),
}


def member_status_term(status: MemberStatus) -> Term:
    """A membership status inside a message: translated on screen, English on the command line."""
    return Term(STATUS_WORDS[status])


GENDER_LABELS = {
    Gender.FEMALE: QT_TRANSLATE_NOOP("terms", "Female"),
    Gender.MALE: QT_TRANSLATE_NOOP("terms", "Male"),
    Gender.UNKNOWN: QT_TRANSLATE_NOOP("terms", "Not given"),
}

# The member list's columns, in their default order: key -> header (English source, "columns" context).
COLUMN_LABELS: dict[str, str] = {
    "member_no": QT_TRANSLATE_NOOP("columns", "Member no."),
    "name": QT_TRANSLATE_NOOP("columns", "Name"),
    "phone": QT_TRANSLATE_NOOP("columns", "Phone"),
    "gender": QT_TRANSLATE_NOOP("columns", "Gender"),
    "birthday": QT_TRANSLATE_NOOP("columns", "Birthday"),
    "tier": QT_TRANSLATE_NOOP("columns", "Tier"),
    "points": QT_TRANSLATE_NOOP("columns", "Points"),
    "visits": QT_TRANSLATE_NOOP("columns", "Visits"),
    "spend": QT_TRANSLATE_NOOP("columns", "Spend"),
    "last_visit": QT_TRANSLATE_NOOP("columns", "Last visit"),
    "joined": QT_TRANSLATE_NOOP("columns", "Joined"),
    "status": QT_TRANSLATE_NOOP("columns", "Status"),
    "tags": QT_TRANSLATE_NOOP("columns", "Tags"),
    "card": QT_TRANSLATE_NOOP("columns", "Card"),
    "wallet": QT_TRANSLATE_NOOP("columns", "Stored value"),
    "owed": QT_TRANSLATE_NOOP("columns", "Owed"),
    # customer insight, as of the last refresh
    "segment": QT_TRANSLATE_NOOP("columns", "Segment"),
    "abc": QT_TRANSLATE_NOOP("columns", "ABC"),
    "stage": QT_TRANSLATE_NOOP("columns", "Stage"),
    "p_alive": QT_TRANSLATE_NOOP("columns", "Still a customer"),
    "value": QT_TRANSLATE_NOOP("columns", "12-month value"),
}
COLUMNS: tuple[str, ...] = tuple(COLUMN_LABELS)

# Sort keys -> the indexed column they order by. "name" sorts by the pinyin, so
# 安 comes before 张 as in a Chinese dictionary. "tier" is handled in _order_column.
SORT_KEYS: dict[str, Any] = {
    "member_no": Member.member_no,
    "name": Member.name_pinyin,
    "phone": Member.phone,
    "tier": Member.tier_id,
    "points": Member.points_balance,
    "visits": Member.visit_count,
    "spend": Member.total_spend_fen,
    "last_visit": Member.last_visit_at,
    "joined": Member.joined_on,
    "birthday": Member.birthday,
    "status": Member.status,
    "owed": Member.credit_owed_fen,
}
DEFAULT_SORT = "member_no"


# ------------------------------------------------------------------------- values


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes, enum.Enum, int)):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class MemberFilter:
    """Which members the list shows. Empty fields do not filter; all given fields must hold.

    Dates are local calendar days and both ends of a range are included."""

    statuses: tuple[MemberStatus, ...] = ()
    tags: tuple[str, ...] = ()  # any of these
    tier_ids: tuple[int, ...] = ()
    joined_from: date | None = None
    joined_to: date | None = None
    birth_month: int | None = None
    last_visit_from: date | None = None
    last_visit_to: date | None = None
    spend_min_fen: int | None = None
    spend_max_fen: int | None = None
    text: str = ""  # name, pinyin, initials or phone: starts with
    wallet_min_fen: int | None = None  # stored value (principal and bonus) at least
    owes: bool = False  # owes the shop money (credit)
    overdue: bool = False  # a charge is past its due day with money still owed on it
    # customer insight (services.insight_rules), as of the last refresh: any of these
    segments: tuple[str, ...] = ()
    abc_classes: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    p_alive_max_pct: int | None = None  # probability still a customer at most this (%)
    value_min_fen: int | None = None  # expected 12-month value at least

    def __post_init__(self) -> None:
        # Lists given by callers become tuples, so a filter is hashable and truly frozen.
        object.__setattr__(self, "statuses", tuple(MemberStatus(s) for s in _as_tuple(self.statuses)))
        object.__setattr__(self, "tags", tuple(dict.fromkeys(t.strip() for t in _as_tuple(self.tags) if t and t.strip())))
        object.__setattr__(self, "tier_ids", tuple(dict.fromkeys(int(t) for t in _as_tuple(self.tier_ids))))
        object.__setattr__(self, "text", " ".join((self.text or "").split()))
        object.__setattr__(self, "owes", bool(self.owes))
        object.__setattr__(self, "overdue", bool(self.overdue))
        for name in _INSIGHT_CHOICES:
            object.__setattr__(self, name, tuple(dict.fromkeys(str(v) for v in _as_tuple(getattr(self, name)))))

    @property
    def is_empty(self) -> bool:
        return self == MemberFilter()

    def validate(self) -> MemberFilter:
        """The filter itself, or InvalidInput naming the first impossible criterion."""
        for start, end, field_name in (
            (self.joined_from, self.joined_to, "joined"),
            (self.last_visit_from, self.last_visit_to, "last_visit"),
        ):
            if start is not None and end is not None and start > end:
                raise InvalidInput(
                    QT_TRANSLATE_NOOP("errors", "The date range is reversed: {start} comes after {end}."),
                    field=field_name,
                    start=start.isoformat(),
                    end=end.isoformat(),
                )
        if self.birth_month is not None and not 1 <= self.birth_month <= 12:
            raise InvalidInput(
                QT_TRANSLATE_NOOP("errors", "The birthday month must be from 1 to 12, not {month}."),
                field="birth_month",
                month=self.birth_month,
            )
        if self.spend_min_fen is not None and self.spend_max_fen is not None and self.spend_min_fen > self.spend_max_fen:
            raise InvalidInput(
                QT_TRANSLATE_NOOP("errors", "The minimum spend {low} is higher than the maximum {high}."),
                field="spend",
                low=format_yuan(self.spend_min_fen),
                high=format_yuan(self.spend_max_fen),
            )
        if self.wallet_min_fen is not None and self.wallet_min_fen < 0:
            raise InvalidInput(
                QT_TRANSLATE_NOOP("errors", "The least stored value cannot be negative."), field="wallet_min"
            )
        for name, allowed in _INSIGHT_CHOICES.items():
            unknown = [v for v in getattr(self, name) if v not in allowed]
            if unknown:
                raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Unknown {name}: {values}. Choose from: {known}."),
                                   field=name, name=name, values=", ".join(unknown), known=", ".join(allowed))
        if self.p_alive_max_pct is not None and not 0 <= self.p_alive_max_pct <= 100:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A probability is from 0 to 100%, not {value}%."),
                               field="p_alive_max_pct", value=self.p_alive_max_pct)
        if self.value_min_fen is not None and self.value_min_fen < 0:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The least expected value cannot be negative."), field="value_min")
        if len(self.text) > MAX_TEXT:
            raise InvalidInput(
                QT_TRANSLATE_NOOP("errors", "The search text may have at most {count} characters."), field="text", count=MAX_TEXT
            )
        return self

    # ---- saved form

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe criteria: only the fields that filter, dates as ISO text."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is False or value in (None, "", ()):
                continue
            if f.name == "statuses":
                value = [s.value for s in value]
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, date):
                value = value.isoformat()
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MemberFilter:
        """The filter saved by ``to_dict``. Unknown keys (from a newer crmdesk) are ignored;
        a value that cannot be read is InvalidInput."""
        if not isinstance(data, Mapping):
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The saved filter cannot be read."))
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data or data[f.name] in (None, ""):
                continue
            raw = data[f.name]
            try:
                values[f.name] = _read_field(f.name, raw)
            except (TypeError, ValueError):
                raise InvalidInput(
                    QT_TRANSLATE_NOOP("errors", "The saved filter has an unreadable {name}: {value}."),
                    field=f.name,
                    name=f.name,
                    value=str(raw)[:60],
                ) from None
        return cls(**values).validate()

    # ---- for people

    def describe(
        self,
        tier_names: Mapping[int, str] | None = None,
        translate: Callable[[str, str], str] | None = None,
    ) -> list[tuple[str, str]]:
        """(label, value) pairs of the criteria in use, e.g. ("Status", "Active, Frozen").

        Labels are English source texts (context "filters") for the caller to
        translate; status words go through ``translate(context, text)`` if given."""
        word = translate or (lambda _context, text: text)
        tiers = tier_names or {}
        out: list[tuple[str, str]] = []
        if self.text:
            out.append((QT_TRANSLATE_NOOP("filters", "Name or phone starts with"), self.text))
        if self.statuses:
            out.append((QT_TRANSLATE_NOOP("filters", "Status"), ", ".join(word("terms", STATUS_LABELS[s]) for s in self.statuses)))
        if self.tags:
            out.append((QT_TRANSLATE_NOOP("filters", "Tags (any of)"), ", ".join(self.tags)))
        if self.tier_ids:
            out.append((QT_TRANSLATE_NOOP("filters", "Tier"), ", ".join(tiers.get(t, f"#{t}") for t in self.tier_ids)))
        if self.joined_from is not None:
            out.append((QT_TRANSLATE_NOOP("filters", "Joined from"), self.joined_from.isoformat()))
        if self.joined_to is not None:
            out.append((QT_TRANSLATE_NOOP("filters", "Joined until"), self.joined_to.isoformat()))
        if self.birth_month is not None:
            out.append((QT_TRANSLATE_NOOP("filters", "Birthday in month"), str(self.birth_month)))
        if self.last_visit_from is not None:
            out.append((QT_TRANSLATE_NOOP("filters", "Last visit from"), self.last_visit_from.isoformat()))
        if self.last_visit_to is not None:
            out.append((QT_TRANSLATE_NOOP("filters", "Last visit until"), self.last_visit_to.isoformat()))
        if self.spend_min_fen is not None:
            out.append((QT_TRANSLATE_NOOP("filters", "Spend at least"), "¥" + format_yuan(self.spend_min_fen)))
        if self.spend_max_fen is not None:
            out.append((QT_TRANSLATE_NOOP("filters", "Spend at most"), "¥" + format_yuan(self.spend_max_fen)))
        if self.wallet_min_fen is not None:
            out.append((QT_TRANSLATE_NOOP("filters", "Stored value at least"), "¥" + format_yuan(self.wallet_min_fen)))
        if self.owes:
            out.append((QT_TRANSLATE_NOOP("filters", "Owes money"), word("filters", QT_TRANSLATE_NOOP("filters", "yes"))))
        if self.overdue:
            out.append((QT_TRANSLATE_NOOP("filters", "Overdue"), word("filters", QT_TRANSLATE_NOOP("filters", "yes"))))
        for name, label, labels in (
            ("segments", QT_TRANSLATE_NOOP("filters", "Segment"), insight_rules.SEGMENT_LABELS),
            ("abc_classes", QT_TRANSLATE_NOOP("filters", "ABC class"), insight_rules.ABC_LABELS),
            ("stages", QT_TRANSLATE_NOOP("filters", "Stage"), insight_rules.STAGE_LABELS),
            ("alerts", QT_TRANSLATE_NOOP("filters", "Churn alert"), insight_rules.ALERT_LABELS),
        ):
            if getattr(self, name):
                out.append((label, ", ".join(word("insight", labels[v]) for v in getattr(self, name))))
        if self.p_alive_max_pct is not None:
            out.append((QT_TRANSLATE_NOOP("filters", "Still a customer at most"), f"{self.p_alive_max_pct}%"))
        if self.value_min_fen is not None:
            out.append((QT_TRANSLATE_NOOP("filters", "12-month value at least"), "¥" + format_yuan(self.value_min_fen)))
        return out


_INSIGHT_CHOICES: dict[str, tuple[str, ...]] = {
    "segments": insight_rules.SEGMENTS, "abc_classes": insight_rules.ABC_CLASSES, "stages": insight_rules.STAGES,
    "alerts": insight_rules.ALERTS,
}


def _read_field(name: str, raw: Any) -> Any:
    if name == "statuses":
        return tuple(MemberStatus(s) for s in _as_tuple(raw))
    if name == "tags" or name in _INSIGHT_CHOICES:
        if not all(isinstance(t, str) for t in _as_tuple(raw)):
            raise TypeError(name)
        return _as_tuple(raw)
    if name == "tier_ids":
        items = _as_tuple(raw)
        if any(isinstance(t, bool) or not isinstance(t, int) for t in items):
            raise TypeError(name)
        return items
    if name in ("joined_from", "joined_to", "last_visit_from", "last_visit_to"):
        if not isinstance(raw, str):
            raise TypeError(name)
        return date.fromisoformat(raw)
    if name in ("owes", "overdue"):
        if not isinstance(raw, bool):
            raise TypeError(name)
        return raw
    if name in ("birth_month", "spend_min_fen", "spend_max_fen", "wallet_min_fen", "p_alive_max_pct", "value_min_fen"):
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise TypeError(name)
        return raw
    if name == "text":
        if not isinstance(raw, str):
            raise TypeError(name)
        return raw
    raise TypeError(name)  # pragma: no cover - every field is handled above


@dataclass(frozen=True, slots=True)  # a printed list or an export holds thousands: no __dict__ each
class MemberRow:
    """One line of the member list."""

    id: int
    member_no: str
    name: str
    phone: str | None
    gender: Gender
    birthday: date | None
    tier_name: str
    points_balance: int
    visit_count: int
    total_spend_fen: int
    last_visit_at: datetime | None
    joined_on: date
    status: MemberStatus
    tags: tuple[str, ...]
    card_number: str | None  # the active card, if any
    wallet_fen: int = 0  # stored value: principal and bonus together
    owed_fen: int = 0  # what the member owes the shop (credit)
    # customer insight at the last refresh (None: never bought, or no refresh yet)
    segment: str | None = None
    abc_class: str | None = None
    stage: str | None = None
    p_alive: float | None = None
    expected_value_fen: int | None = None


@dataclass(frozen=True)
class SavedFilterInfo:
    id: int
    name: str
    filter: MemberFilter


@dataclass(frozen=True)
class TierChoice:
    id: int
    name: str
    rank: int


# ------------------------------------------------------------------------- money in filters


def format_yuan(fen: int) -> str:
    """1234 -> "12.34" (exact, no float)."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{cents:02d}"


def money_text(fen: int) -> str:
    """1234567 -> "¥12,345.67": money as people read it on screen and on paper."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def parse_yuan(text: str, *, field: str = "spend") -> int | None:
    """An amount typed in yuan ("100", "99.5", "¥1,200.00") as fen; None when empty (money.parse_optional_yuan)."""
    return money.parse_optional_yuan(text, field=field)


# ------------------------------------------------------------------------- building queries


def local_zone() -> tzinfo:
    """The zone people read dates in: the shop's, whatever this PC is set to."""
    return SHOP_ZONE


def _day_start(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc)


def _starts_with(column: Any, prefix: str) -> sa.ColumnElement[bool]:
    return sa.and_(column >= prefix, column < prefix + HIGHEST)


def _text_condition(text: str, col: Callable[[Any], Any]) -> sa.ColumnElement[bool] | None:
    compact = text.replace(" ", "")
    if not compact:
        return None
    if compact.isascii() and compact.isdigit():
        conditions = [_starts_with(col(Member.phone), "+86" + compact)]
        if len(compact) == 4:
            conditions.append(col(Member.phone_last4) == compact)
        return sa.or_(*conditions)
    if compact.startswith("+") and compact[1:].isascii() and compact[1:].isdigit():
        return _starts_with(col(Member.phone), compact)
    conditions = [_starts_with(col(Member.name), text)]
    latin = compact.lower()
    if latin.isascii() and latin.isalpha():
        conditions += [_starts_with(col(Member.name_pinyin), latin), _starts_with(col(Member.name_initials), latin)]
    if latin.isascii() and latin.isalnum() and latin[:1] == "m" and latin[1:].isdigit():
        conditions.append(col(Member.member_no) == compact.upper())
    return sa.or_(*conditions)


def _unindexed(column: Any) -> Any:
    """The column as an expression SQLite will not use an index for (unary +, a no-op)."""
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


def _overdue(today: date) -> sa.ColumnElement[bool]:
    """The member has a charge (or an opening debt) due before ``today`` with money still owed on it.

    Correlated on the member: the member's entries through ix_credit_entry_member_at, what settled
    each through ix_credit_settlement_charge_id -- index lookups, however many members there are."""
    settled = (sa.select(sa.func.coalesce(sa.func.sum(CreditSettlement.amount_fen), 0))
               .where(CreditSettlement.charge_id == CreditEntry.id).scalar_subquery())
    return sa.exists().where(
        CreditEntry.member_id == Member.id,
        CreditEntry.kind.in_((CreditKind.CHARGE, CreditKind.OPENING)),
        CreditEntry.due_on < today,
        CreditEntry.amount_fen > settled,
    )


def conditions(
    flt: MemberFilter, *, zone: tzinfo | None = None, unindexed: bool = False, keep: Any = None, today: date | None = None
) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions of a filter.

    Normally each condition can use its column's index. With ``unindexed`` (SQLite
    only) none of them can, except those on ``keep`` (the sort column), so the
    query walks the sort index and tests each row; tags are then looked up per
    row (EXISTS on the tag table's primary key) instead of collected first.

    ``today`` (the shop's day by default) is the day "overdue" is judged on."""
    flt.validate()
    zone = zone or local_zone()

    def col(column: Any) -> Any:
        return _unindexed(column) if unindexed and column is not keep else column

    where: list[sa.ColumnElement[bool]] = []
    if flt.statuses:
        status = col(Member.status)
        where.append(status == flt.statuses[0] if len(flt.statuses) == 1 else status.in_(flt.statuses))
    if flt.tags:
        tag_match = MemberTag.tag == flt.tags[0] if len(flt.tags) == 1 else MemberTag.tag.in_(flt.tags)
        if unindexed:
            where.append(sa.exists().where(MemberTag.member_id == Member.id, tag_match))
        else:
            where.append(Member.id.in_(sa.select(MemberTag.member_id).where(tag_match)))
    if flt.tier_ids:
        where.append(col(Member.tier_id).in_(flt.tier_ids))
    if flt.joined_from is not None:
        where.append(col(Member.joined_on) >= flt.joined_from)
    if flt.joined_to is not None:
        where.append(col(Member.joined_on) <= flt.joined_to)
    if flt.birth_month is not None:
        where.append(col(Member.birth_month) == flt.birth_month)
        if unindexed and keep is Member.birthday:
            # Implied by the month; lets the walk along the birthday index skip those without one.
            where.append(Member.birthday.is_not(None))
    if flt.last_visit_from is not None:
        where.append(col(Member.last_visit_at) >= _day_start(flt.last_visit_from, zone))
    if flt.last_visit_to is not None:
        where.append(col(Member.last_visit_at) < _day_start(flt.last_visit_to + timedelta(days=1), zone))
    if flt.spend_min_fen is not None:
        where.append(col(Member.total_spend_fen) >= flt.spend_min_fen)
    if flt.spend_max_fen is not None:
        where.append(col(Member.total_spend_fen) <= flt.spend_max_fen)
    if flt.wallet_min_fen is not None:
        where.append(Member.wallet_principal_fen + Member.wallet_bonus_fen >= flt.wallet_min_fen)
    if flt.owes or flt.overdue:
        # Overdue implies owing: the debt's index finds the few who owe, the EXISTS checks only them.
        where.append(col(Member.credit_owed_fen) > 0)
    if flt.overdue:
        where.append(_overdue(today or datetime.now(zone).date()))
    insight = _insight_conditions(flt)
    if insight:
        # Each through member_insight's own index; the members are then found by primary key.
        where.append(Member.id.in_(sa.select(MemberInsight.member_id).where(*insight)))
    text = _text_condition(flt.text, col)
    if text is not None:
        where.append(text)
    return where


def _insight_conditions(flt: MemberFilter) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = []
    for values, column in ((flt.segments, MemberInsight.segment), (flt.abc_classes, MemberInsight.abc_class),
                           (flt.stages, MemberInsight.stage), (flt.alerts, MemberInsight.alert)):
        if values:
            out.append(column.in_(values))
    if flt.p_alive_max_pct is not None:
        out.append(MemberInsight.p_alive <= flt.p_alive_max_pct / 100)
    if flt.value_min_fen is not None:
        out.append(MemberInsight.expected_value_fen >= flt.value_min_fen)
    return out


def check_sort(sort: str) -> str:
    if sort not in SORT_KEYS:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "Cannot sort by '{sort}'; choose one of: {keys}."),
            field="sort",
            sort=sort,
            keys=", ".join(SORT_KEYS),
        )
    return sort


def _order_column(session: Session, sort: str) -> Any:
    if sort != "tier":
        return SORT_KEYS[sort]
    # Tiers are ranked; their ids normally follow the rank (they are created in
    # order), and then the tier_id index gives the order. Should the ranks have
    # been reshuffled, order by rank correctly (without an index: slower).
    tiers = session.execute(sa.select(Tier.id, Tier.rank).order_by(Tier.rank)).all()
    ids = [tier_id for tier_id, _rank in tiers]
    if ids == sorted(ids):
        return Member.tier_id
    return sa.case({tier_id: rank for tier_id, rank in tiers}, value=Member.tier_id, else_=None)


_ROW_COLUMNS = (
    Member.id, Member.member_no, Member.name, Member.phone, Member.gender, Member.birthday, Member.tier_id,
    Member.points_balance, Member.visit_count, Member.total_spend_fen, Member.last_visit_at, Member.joined_on,
    Member.status, Member.wallet_principal_fen, Member.wallet_bonus_fen, Member.credit_owed_fen,
)


def _walk_sort_index(session: Session, flt: MemberFilter, matches: int | None, rows_needed: int) -> bool | None:
    """On SQLite with a filter: whether to walk the sort column's index (testing each row
    against the filter) rather than collect the matches by the filter's indexes and sort
    them. SQLite has no statistics unless ANALYZE ran, and by itself prefers any equality
    filter's index, which sorts 950,000 rows to show 40 when the filter is "active".

    Walking reads about ``rows_needed * members / matches`` rows; collecting reads and
    sorts ``matches`` rows, each costing a few times more than a row walked past (measured
    on a million members). None: leave it to the database (PostgreSQL has statistics)."""
    if matches is None or flt.is_empty or session.get_bind().dialect.name != "sqlite":
        return None
    if matches == 0:
        return False
    members = session.scalar(sa.select(sa.func.max(Member.id))) or 0  # the table's size, from the primary key at once
    return rows_needed * members <= 4 * matches * matches


def _select(
    session: Session,
    flt: MemberFilter,
    sort: str,
    descending: bool,
    zone: tzinfo | None,
    *,
    matches: int | None = None,
    rows_needed: int = DEFAULT_PAGE,
    today: date | None = None,
) -> sa.Select[Any]:
    column = _order_column(session, check_sort(sort))
    walk = _walk_sort_index(session, flt, matches, rows_needed)
    if walk is True:
        where = conditions(flt, zone=zone, unindexed=True, keep=column, today=today)
    else:
        where = conditions(flt, zone=zone, today=today)
        if walk is False:
            column = _unindexed(column)  # sort the few matches; do not walk the whole sort index
    # Member.id breaks ties in the same direction: ORDER BY col, id is the order of
    # the index on col (its entries end with the row id), and pages never overlap.
    ordering = [column.desc(), Member.id.desc()] if descending else [column.asc(), Member.id.asc()]
    return sa.select(*_ROW_COLUMNS).where(*where).order_by(*ordering)


def _tier_names(session: Session) -> dict[int, str]:
    return {tier_id: name for tier_id, name in session.execute(sa.select(Tier.id, Tier.name))}


def _rows(session: Session, raw: Sequence[Any], tiers: Mapping[int, str]) -> list[MemberRow]:
    """MemberRows for raw member columns, with their tags and active cards (one query each)."""
    if not raw:
        return []
    ids = [r.id for r in raw]
    tags: dict[int, list[str]] = {}
    for member_id, tag in session.execute(
        sa.select(MemberTag.member_id, MemberTag.tag).where(MemberTag.member_id.in_(ids)).order_by(MemberTag.member_id, MemberTag.tag)
    ):
        tags.setdefault(member_id, []).append(tag)
    cards = {
        member_id: number
        for member_id, number in session.execute(
            sa.select(Card.member_id, Card.number).where(Card.member_id.in_(ids), Card.status == CardStatus.ACTIVE)
        )
    }
    insight = {row.member_id: row for row in session.execute(
        sa.select(MemberInsight.member_id, MemberInsight.segment, MemberInsight.abc_class, MemberInsight.stage,
                  MemberInsight.p_alive, MemberInsight.expected_value_fen).where(MemberInsight.member_id.in_(ids)))}
    return [
        MemberRow(
            id=r.id,
            member_no=r.member_no,
            name=r.name,
            phone=r.phone,
            gender=r.gender,
            birthday=r.birthday,
            tier_name=tiers.get(r.tier_id, "") if r.tier_id is not None else "",
            points_balance=r.points_balance,
            visit_count=r.visit_count,
            total_spend_fen=r.total_spend_fen,
            last_visit_at=r.last_visit_at,
            joined_on=r.joined_on,
            status=r.status,
            tags=tuple(tags.get(r.id, ())),
            card_number=cards.get(r.id),
            wallet_fen=r.wallet_principal_fen + r.wallet_bonus_fen,
            owed_fen=r.credit_owed_fen,
            **_insight_of(insight.get(r.id)),
        )
        for r in raw
    ]


def _insight_of(row: Any) -> dict[str, Any]:
    if row is None:
        return {}
    return {"segment": row.segment, "abc_class": row.abc_class, "stage": row.stage, "p_alive": row.p_alive,
            "expected_value_fen": row.expected_value_fen}


# ------------------------------------------------------------------------- reading


def count(session: Session, flt: MemberFilter, *, zone: tzinfo | None = None, today: date | None = None) -> int:
    """How many members the filter lets through."""
    if flt.tags and flt == MemberFilter(tags=flt.tags):
        # Tags alone: count in the tag index, without visiting the members.
        return session.scalar(
            sa.select(sa.func.count(sa.distinct(MemberTag.member_id))).where(MemberTag.tag.in_(flt.tags))
        ) or 0
    statement = sa.select(sa.func.count()).select_from(Member).where(*conditions(flt, zone=zone, today=today))
    return session.scalar(statement) or 0


def page(
    session: Session,
    flt: MemberFilter,
    sort: str = DEFAULT_SORT,
    descending: bool = False,
    offset: int = 0,
    limit: int = DEFAULT_PAGE,
    *,
    total: int | None = None,
    zone: tzinfo | None = None,
    today: date | None = None,
) -> list[MemberRow]:
    """The rows ``offset`` .. ``offset + limit`` of the filtered list in this order.

    With ``total`` (the filter's count, which the caller usually has) a window in
    the second half is read backwards from the end, so no page walks more than
    half of the list, and the query is planned knowing how many members match."""
    if offset < 0 or limit < 1:
        raise ValueError("offset must be >= 0 and limit >= 1")
    reverse = total is not None and total // 2 < offset < total
    if reverse:
        assert total is not None
        end = min(total, offset + limit)
        statement = _select(session, flt, sort, not descending, zone, matches=total, rows_needed=total - offset, today=today)
        statement = statement.offset(total - end).limit(end - offset)
    else:
        statement = _select(session, flt, sort, descending, zone, matches=total, rows_needed=offset + limit, today=today)
        statement = statement.offset(offset).limit(limit)
    raw = list(session.execute(statement))
    if reverse:
        raw.reverse()
    return _rows(session, raw, _tier_names(session))


def iter_pages(
    session: Session,
    flt: MemberFilter,
    sort: str = DEFAULT_SORT,
    descending: bool = False,
    *,
    size: int = 500,
    total: int | None = None,
    zone: tzinfo | None = None,
    today: date | None = None,
) -> Iterator[list[MemberRow]]:
    """The whole filtered list in order, ``size`` rows at a time, from one streamed query.
    ``total``, the filter's count if known, helps plan the query."""
    tiers = _tier_names(session)
    statement = _select(session, flt, sort, descending, zone, matches=total, rows_needed=total or 0, today=today)
    result = session.execute(statement.execution_options(yield_per=size))
    try:
        for chunk in result.partitions(size):
            yield _rows(session, chunk, tiers)
    finally:
        result.close()


def all_tags(session: Session) -> list[str]:
    """Every tag in use, in order. Hops from tag to tag along the tag index
    (one short lookup per distinct tag) instead of reading every member's tags."""
    tags: list[str] = []
    current = session.scalar(sa.select(sa.func.min(MemberTag.tag)))
    while current is not None and len(tags) < MAX_TAGS_LISTED:
        tags.append(current)
        current = session.scalar(sa.select(sa.func.min(MemberTag.tag)).where(MemberTag.tag > current))
    return tags


def list_tiers(session: Session) -> list[TierChoice]:
    return [TierChoice(t.id, t.name, t.rank) for t in session.scalars(sa.select(Tier).order_by(Tier.rank))]


def tier_by_name(session: Session, name: str) -> TierChoice:
    tier = session.scalar(sa.select(Tier).where(Tier.name == name.strip()))
    if tier is None:
        names = ", ".join(t.name for t in list_tiers(session))
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "There is no tier named '{name}'. Tiers: {names}."), field="tier", name=name, names=names
        )
    return TierChoice(tier.id, tier.name, tier.rank)


# ------------------------------------------------------------------------- saved filters (smart groups)


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Give the group a name."), field="name")
    if len(cleaned) > MAX_FILTER_NAME:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "A group name may have at most {count} characters."), field="name", count=MAX_FILTER_NAME
        )
    return cleaned


def _info(row: SavedFilter) -> SavedFilterInfo:
    return SavedFilterInfo(row.id, row.name, MemberFilter.from_dict(row.criteria or {}))


def save_filter(
    session: Session, actor: Actor, name: str, flt: MemberFilter, *, overwrite: bool = True
) -> SavedFilterInfo:
    """Save the filter under a name. A group of that name is replaced, unless
    ``overwrite`` is False: then it is a Conflict (the caller asks first).
    Groups belong to the member list, so saving one takes the right to browse it."""
    require(actor, Permission.BROWSE_MEMBERS)
    name = _clean_name(name)
    criteria = flt.validate().to_dict()
    row = session.scalar(sa.select(SavedFilter).where(SavedFilter.name == name))
    if row is not None and not overwrite:
        raise Conflict(QT_TRANSLATE_NOOP("errors", "A group named '{name}' already exists."), name=name)
    if row is None:
        row = SavedFilter(name=name, criteria=criteria, created_by_id=actor.staff_id)
        session.add(row)
        action = "saved_filter.add"
    else:
        row.criteria = criteria
        action = "saved_filter.update"
    session.flush()
    audit.record(session, actor, action, "saved_filter", row.id, name=name, criteria=criteria)
    return _info(row)


def list_filters(session: Session) -> list[SavedFilterInfo]:
    return [_info(row) for row in session.scalars(sa.select(SavedFilter).order_by(SavedFilter.name))]


def get_filter(session: Session, name: str) -> SavedFilterInfo:
    row = session.scalar(sa.select(SavedFilter).where(SavedFilter.name == " ".join((name or "").split())))
    if row is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "There is no saved group named '{name}'."), name=name)
    return _info(row)


def delete_filter(session: Session, actor: Actor, filter_id: int) -> None:
    require(actor, Permission.BROWSE_MEMBERS)
    row = session.get(SavedFilter, filter_id)
    if row is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No saved group with id {id}."), id=filter_id)
    audit.record(session, actor, "saved_filter.delete", "saved_filter", row.id, name=row.name, criteria=row.criteria)
    session.delete(row)
    session.flush()
