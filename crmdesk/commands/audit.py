"""`crmdesk audit list|export`: the audit log (who did what, when, to which member), the owner's to read."""

from __future__ import annotations

import argparse
import unicodedata
from datetime import date

from crmdesk import shop_time
from crmdesk.commands.common import acting_staff, counted, member_id_for, print_json
from crmdesk.commands.exports import _translator
from crmdesk.db import Database
from crmdesk.services import audit
from crmdesk.services.exports import check_path
from crmdesk.services.uow import read_session, unit_of_work

DEFAULT_LIMIT = 50


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    log = add_command("audit", "the audit log: who did what, when, to which member (the owner's)", None)
    actions = log.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    listing = add_command("list", "the events, newest first", run_list, actions)
    _add_filter_options(listing)
    listing.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
                         help=f"show at most N events (default: {DEFAULT_LIMIT}, at most {audit.MAX_PAGE})")
    listing.add_argument("--offset", type=int, default=0, metavar="N", help="skip the N newest events first (default: 0)")
    listing.add_argument("--json", action="store_true", help="print the events and their total as JSON")
    export = add_command("export", "write the events, newest first, to FILE.csv or FILE.xlsx (recorded in the log)",
                         run_export, actions)
    _add_filter_options(export)
    export.add_argument("--out", required=True, metavar="FILE", help="FILE.csv or FILE.xlsx")


def _add_filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--staff", metavar="NAME", help="only what this staff member did (\"\" for what the program did by itself)")
    parser.add_argument("--action", metavar="A", help="one action, e.g. wallet.adjust, or every action starting so, e.g. wallet.")
    parser.add_argument("--from", dest="date_from", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="from this day on (the shop's calendar)")
    parser.add_argument("--to", dest="date_to", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="up to and including this day (the shop's calendar)")
    parser.add_argument("--member", metavar="KEY", help="only events about this member: card number, member number or phone")
    parser.add_argument("--sensitive", action="store_true",
                        help="only sensitive events: exports, full phone numbers, erasures, restores, corrections by hand")


def _filter(db: Database, args: argparse.Namespace) -> audit.AuditFilter:
    return audit.AuditFilter(
        staff=args.staff, action=args.action or "", date_from=args.date_from, date_to=args.date_to,
        member_ids=(member_id_for(db, args.member),) if args.member else None, sensitive_only=args.sensitive,
    ).validate()


def _width(text: str) -> int:
    """Columns a terminal gives the text: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def run_list(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    flt = _filter(db, args)
    with read_session(db) as session:
        total = audit.count_events(session, actor, flt)
        rows = audit.list_events(session, actor, flt, limit=args.limit, offset=args.offset)
    if args.json:
        print_json({"total": total, "offset": args.offset, "events": [row.to_json() for row in rows]})
        return 0
    if not rows:
        print("No events match." if not total else f"No events after the first {args.offset} of {total}.")
        return 0
    table = [("Time", "Staff", "Action", "Member", "Details")]
    for row in rows:
        time = shop_time.to_shop(row.at).strftime("%Y-%m-%d %H:%M:%S")
        action = f"{row.action_label} ({row.action})" + (" [sensitive]" if row.sensitive else "")
        table.append((time, row.staff_name or "-", action, row.member_text or "-", row.summary))
    widths = [max(_width(line[column]) for line in table) for column in range(4)]
    for line in table:
        print("  ".join(_pad(cell, width) for cell, width in zip(line, widths, strict=False)) + "  " + line[4])
    shown = f"{args.offset + 1}-{args.offset + len(rows)}" if args.offset else str(len(rows))
    print(f"Showing {shown} of {counted(total, 'event')}.")
    return 0


def run_export(db: Database, args: argparse.Namespace) -> int:
    target = check_path(args.out)
    actor = acting_staff(db, args)
    flt = _filter(db, args)
    word = _translator(getattr(args, "lang", None))
    with read_session(db) as session:
        written = audit.export_events(session, actor, flt, target, translate=word)
    with unit_of_work(db) as session:
        audit.record_export(session, actor, target, written, flt)
    print(f"Wrote {counted(written, 'event')} to {target}.")
    return 0
