"""`crmdesk export members [filters] --out FILE.csv|.xlsx`: the member list as a spreadsheet."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from crmdesk.commands.common import acting_staff, counted, print_json
from crmdesk.commands.member_filters import add_member_filter_options, filter_from_args
from crmdesk.db import Database
from crmdesk.services import exports, member_query
from crmdesk.services.member_query import COLUMN_LABELS, GENDER_LABELS, STATUS_LABELS
from crmdesk.services.uow import read_session, unit_of_work


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    export = add_command("export", "export data to CSV (UTF-8 with BOM, for Excel and WPS) or XLSX", None)
    subs = export.add_subparsers(dest="export_command", metavar="WHAT", required=True)
    members = add_command(
        "members", "export the member list, filtered and sorted, to FILE.csv or FILE.xlsx", run_export_members, subs
    )
    add_member_filter_options(members)
    members.add_argument("--columns", metavar="LIST", help=f"comma-separated columns (default: all): {','.join(COLUMN_LABELS)}")
    members.add_argument("--out", required=True, metavar="FILE", help="FILE.csv or FILE.xlsx")
    members.add_argument("--json", action="store_true", help="print what was written (file, rows, columns) as JSON")


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
    labels.update(exports.insight_labels(word))
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
        print(f"Wrote {counted(written, 'member')} to {target}.")
    return 0

