"""`crmdesk export members [filters] --out FILE.csv|.xlsx`: the member list as a spreadsheet."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from crmdesk.commands.common import acting_staff, print_json
from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.models import MemberStatus
from crmdesk.services import exports, member_query
from crmdesk.services.member_query import COLUMN_LABELS, GENDER_LABELS, SORT_KEYS, STATUS_LABELS, MemberFilter
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    export = add_command("export", "export data to CSV (UTF-8 with BOM, for Excel and WPS) or XLSX", None)
    subs = export.add_subparsers(dest="export_command", metavar="WHAT", required=True)
    members = add_command(
        "members", "export the member list, filtered and sorted, to FILE.csv or FILE.xlsx", run_export_members, subs
    )
    members.add_argument("--status", action="append", metavar="STATUS",
                         help="active, frozen or closed (repeat for several)")
    members.add_argument("--tag", action="append", metavar="TAG", help="members with any of these tags (repeatable)")
    members.add_argument("--tier", action="append", metavar="NAME", help="members of this tier (repeatable)")
    members.add_argument("--joined-from", metavar="YYYY-MM-DD", help="joined on or after this day")
    members.add_argument("--joined-to", metavar="YYYY-MM-DD", help="joined on or before this day")
    members.add_argument("--birth-month", metavar="M", help="birthday in this month (1-12)")
    members.add_argument("--min-spend", metavar="YUAN", help="total spend at least this much")
    members.add_argument("--max-spend", metavar="YUAN", help="total spend at most this much")
    members.add_argument("--last-visit-before", metavar="YYYY-MM-DD", help="last visit before this day (not on it)")
    members.add_argument("--last-visit-after", metavar="YYYY-MM-DD", help="last visit after this day (not on it)")
    members.add_argument("--search", metavar="TEXT", help="name, pinyin or phone starting with TEXT")
    members.add_argument("--group", metavar="NAME", help="start from a saved group (smart group); other options narrow it")
    members.add_argument("--sort", default=member_query.DEFAULT_SORT, metavar="KEY",
                         help=f"sort by one of: {', '.join(SORT_KEYS)} (default: member_no)")
    members.add_argument("--desc", action="store_true", help="sort in descending order")
    members.add_argument("--columns", metavar="LIST", help=f"comma-separated columns (default: all): {','.join(COLUMN_LABELS)}")
    members.add_argument("--out", required=True, metavar="FILE", help="FILE.csv or FILE.xlsx")
    members.add_argument("--json", action="store_true")


def _day(text: str | None, option: str) -> date | None:
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
        day = _day(getattr(args, option), "--" + option.replace("_", "-"))
        if day is not None:
            changes[key] = day
    before = _day(args.last_visit_before, "--last-visit-before")
    if before is not None:
        changes["last_visit_to"] = before - timedelta(days=1)
    after = _day(args.last_visit_after, "--last-visit-after")
    if after is not None:
        changes["last_visit_from"] = after + timedelta(days=1)
    month = _month(args.birth_month)
    if month is not None:
        changes["birth_month"] = month
    for option, key in (("min_spend", "spend_min_fen"), ("max_spend", "spend_max_fen")):
        raw = getattr(args, option)
        if raw is not None:
            fen = member_query.parse_yuan(raw, field=option)
            if fen is None:
                raise InvalidInput(
                    QT_TRANSLATE_NOOP("errors", "'{amount}' is not an amount in yuan (for example 100 or 99.50)."),
                    field=option,
                    amount=raw,
                )
            changes[key] = fen
    if args.search is not None:
        changes["text"] = args.search
    return replace(base, **changes).validate()


def _translator(language: str | None) -> Callable[[str, str], str]:
    """Headers and status words in the language chosen with --lang (English otherwise)."""
    if not language or language == "en":
        return lambda _context, text: text
    from PySide6.QtCore import QTranslator  # only QtCore; no GUI is started

    from crmdesk.i18n import qm_path

    translator = QTranslator()
    path = qm_path(language)
    if path is None or not translator.load(str(path)):
        return lambda _context, text: text
    return lambda context, text: translator.translate(context, text) or text


def run_export_members(db: Database, args: argparse.Namespace) -> int:
    target = exports.check_path(args.out)
    columns = exports.check_columns([c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None)
    sort = member_query.check_sort(args.sort)
    actor = acting_staff(db, args)
    word = _translator(getattr(args, "lang", None))
    headers = {key: word("columns", label) for key, label in COLUMN_LABELS.items()}
    labels: dict[Any, str] = {status: word("terms", label) for status, label in STATUS_LABELS.items()}
    labels.update({gender: word("terms", label) for gender, label in GENDER_LABELS.items()})
    with read_session(db) as session:
        flt = filter_from_args(session, args)
        written = exports.export_members(
            session, flt, sort, args.desc, target, columns, actor=actor, headers=headers, labels=labels
        )
    with unit_of_work(db) as session:
        exports.record_export(session, actor, target, written, flt)
    if args.json:
        print_json({"rows": written, "path": str(target.resolve()), "criteria": flt.to_dict()})
    else:
        print(f"Wrote {written} members to {target}.")
    return 0

