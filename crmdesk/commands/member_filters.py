"""The member-list filter options shared by the commands that work on a selection of members
(`export members`, `report members`, `report cards`)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from crmdesk.errors import InvalidInput
from crmdesk.models import MemberStatus
from crmdesk.services import member_query
from crmdesk.services.member_query import SORT_KEYS, MemberFilter
from crmdesk.texts import QT_TRANSLATE_NOOP


def add_member_filter_options(parser: argparse.ArgumentParser, *, sorting: bool = True) -> None:
    parser.add_argument("--status", action="append", metavar="STATUS",
                         help="active, frozen or closed (repeat for several)")
    parser.add_argument("--tag", action="append", metavar="TAG", help="members with any of these tags (repeatable)")
    parser.add_argument("--tier", action="append", metavar="NAME", help="members of this tier (repeatable)")
    parser.add_argument("--joined-from", metavar="YYYY-MM-DD", help="joined on or after this day")
    parser.add_argument("--joined-to", metavar="YYYY-MM-DD", help="joined on or before this day")
    parser.add_argument("--birth-month", metavar="M", help="birthday in this month (1-12)")
    parser.add_argument("--min-spend", metavar="YUAN", help="total spend at least this much")
    parser.add_argument("--max-spend", metavar="YUAN", help="total spend at most this much")
    parser.add_argument("--last-visit-before", metavar="YYYY-MM-DD", help="last visit before this day (not on it)")
    parser.add_argument("--last-visit-after", metavar="YYYY-MM-DD", help="last visit after this day (not on it)")
    parser.add_argument("--min-stored-value", metavar="YUAN", help="stored value (principal and bonus) at least this much")
    parser.add_argument("--owes", action="store_true", help="members who owe the shop money (credit)")
    parser.add_argument("--overdue", action="store_true", help="members with a purchase on credit past its due day and unpaid")
    parser.add_argument("--search", metavar="TEXT", help="name, pinyin or phone starting with TEXT")
    parser.add_argument("--group", metavar="NAME", help="start from a saved group (smart group); other options narrow it")
    if sorting:
        parser.add_argument("--sort", default=member_query.DEFAULT_SORT, metavar="KEY",
                            help=f"sort by one of: {', '.join(SORT_KEYS)} (default: member_no)")
        parser.add_argument("--desc", action="store_true", help="sort in descending order")


def parse_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "{option} needs a date like 2026-11-22, not '{value}'."), field=option, option=option, value=text
        ) from None


def _month(text: str | None) -> int | None:
    if text is None:
        return None
    value = text.strip()
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 12):
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "The birthday month must be from 1 to 12, not {month}."), field="birth_month", month=text
        )
    return int(value)


def _statuses(values: list[str] | None) -> tuple[MemberStatus, ...]:
    out = []
    for value in values or ():
        for part in value.split(","):
            try:
                out.append(MemberStatus(part.strip().lower()))
            except ValueError:
                raise InvalidInput(
                    QT_TRANSLATE_NOOP("errors", "Unknown member status '{status}'; use active, frozen or closed."),
                    field="status",
                    status=part,
                ) from None
    return tuple(out)


def filter_from_args(session: Any, args: argparse.Namespace) -> MemberFilter:
    """The group (if any) with every filter option given on the command line applied on top."""
    base = member_query.get_filter(session, args.group).filter if args.group else MemberFilter()
    changes: dict[str, Any] = {}
    if args.status:
        changes["statuses"] = _statuses(args.status)
    if args.tag:
        changes["tags"] = tuple(args.tag)
    if args.tier:
        changes["tier_ids"] = tuple(member_query.tier_by_name(session, name).id for name in args.tier)
    for option, key in (("joined_from", "joined_from"), ("joined_to", "joined_to")):
        day = parse_day(getattr(args, option), "--" + option.replace("_", "-"))
        if day is not None:
            changes[key] = day
    before = parse_day(args.last_visit_before, "--last-visit-before")
    if before is not None:
        changes["last_visit_to"] = before - timedelta(days=1)
    after = parse_day(args.last_visit_after, "--last-visit-after")
    if after is not None:
        changes["last_visit_from"] = after + timedelta(days=1)
    month = _month(args.birth_month)
    if month is not None:
        changes["birth_month"] = month
    for option, key in (("min_spend", "spend_min_fen"), ("max_spend", "spend_max_fen"), ("min_stored_value", "wallet_min_fen")):
        raw = getattr(args, option, None)
        if raw is not None:
            fen = member_query.parse_yuan(raw, field=option)
            if fen is None:
                raise InvalidInput(
                    QT_TRANSLATE_NOOP("errors", "'{amount}' is not an amount in yuan (for example 100 or 99.50)."),
                    field=option,
                    amount=raw,
                )
            changes[key] = fen
    if getattr(args, "owes", False):
        changes["owes"] = True
    if getattr(args, "overdue", False):
        changes["overdue"] = True
    if args.search is not None:
        changes["text"] = args.search
    return replace(base, **changes).validate()
