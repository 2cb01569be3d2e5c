"""`crmdesk import members FILE`: members from an old system's CSV or XLSX file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from collections.abc import Callable
from typing import Any

from crmdesk.commands.common import acting_staff, counted, print_json
from crmdesk.db import Database
from crmdesk.services import backups, imports
from crmdesk.services.import_engine import ImportSteps
from crmdesk.services.member_query import money_text
from crmdesk.services.uow import read_session, unit_of_work

EXIT_INVALID = 2  # invalid rows stopped the import; nothing was written


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.commands.purchase_imports import run_purchases

    imp = add_command("import", "import data from another system's files", None)
    subs = imp.add_subparsers(dest="import_what", required=True, metavar="WHAT")
    for what, help_text, handler, rejected in (
        ("members", "import members from a CSV (UTF-8 or GBK) or XLSX file; headers in English or Chinese",
         run_members, "rows"),
        ("purchases", "import purchases and refunds from a CSV (UTF-8 or GBK) or XLSX file; headers in English or Chinese",
         run_purchases, "receipts"),
    ):
        sub = add_command(what, help_text, handler, subs)
        sub.add_argument("file", metavar="FILE", type=Path, help="the .csv or .xlsx file to import")
        sub.add_argument("--dry-run", action="store_true", help="check the file and show what would happen; write nothing")
        sub.add_argument(
            "--skip-invalid",
            action="store_true",
            help=f"import the valid {rejected} and write the invalid ones with their reasons beside the file, as "
                 f"NAME.rejected.csv (members.xlsx -> members.rejected.csv)",
        )
        sub.add_argument("--json", action="store_true", help="print one JSON document on stdout")


Report = Callable[[Any], None]  # plan -> errors and warnings on stderr
Finish = Callable[[Any, Any, "Path | None", int], None]  # (plan, result or None, rejects file, exit status) -> summary


def run_file_import(db: Database, args: argparse.Namespace, steps: ImportSteps, report_rows: Report, finish: Finish) -> int:
    """Check the file in a read-only session -- reading, checking and matching hold no lock, so the tills keep
    selling -- then import it in one unit of work, which holds the write lock only while it matches the rows again
    and writes them. A file with invalid rows stops before anything is written, unless --skip-invalid."""
    path: Path = args.file
    with read_session(db) as session:
        plan = steps.plan(session, path)
    stopped = steps.has_invalid(plan) and not args.skip_invalid
    if args.dry_run or stopped:
        report_rows(plan)
        code = EXIT_INVALID if stopped else 0
        finish(plan, None, None, code)
        return code
    actor = acting_staff(db, args)
    backups.before_import(db, path)
    with unit_of_work(db, bulk=True) as session:
        result = steps.apply(session, actor, plan, skip_invalid=args.skip_invalid)
        plan = result.plan  # as checked inside the import's transaction
        # Written before the commit: when the file cannot be written, nothing is imported either.
        rejects = steps.write_rejects(plan, path) if steps.has_invalid(plan) else None
    report_rows(plan)
    finish(plan, result, rejects, 0)
    return 0


def run_members(db: Database, args: argparse.Namespace) -> int:
    return run_file_import(db, args, imports.STEPS, _report_rows, lambda plan, result, rejects, code: _finish(
        args, plan, imported=result is not None, rejects=rejects, code=code))


def _report_rows(plan: imports.ImportPlan) -> None:
    """Invalid rows and warnings on stderr, one per line."""
    for warning in plan.warnings:
        print(f"warning: {warning.describe()}", file=sys.stderr)
    for row in plan.rows:
        for problem in row.errors:
            print(problem.describe(), file=sys.stderr)
        for warning in row.warnings:
            print(f"warning: {warning.describe()}", file=sys.stderr)


def _finish(args: argparse.Namespace, plan: imports.ImportPlan, *, imported: bool, rejects: Path | None, code: int) -> None:
    counts = plan.counts
    if args.json:
        print_json(_document(plan, imported=imported, dry_run=args.dry_run, rejects=rejects))
        return
    source = plan.path.name
    if plan.encoding:
        source += f" ({plan.encoding})"
    print(f"{source}: {counted(counts.total, 'row')}")
    print(f"  new: {counts.new}  updated: {counts.update}  unchanged: {counts.unchanged}  invalid: {counts.invalid}")
    money = plan.money
    if money:
        print(f"  {'would bring' if args.dry_run or not imported else 'brings'} over: {_money_summary(money)}")
    for row in plan.rows:
        if row.changes:
            what = "; ".join(f"{c.column}: {c.old or '-'} -> {c.new}" for c in row.changes)
            who = f"{row.member_no} {row.name}" if row.member_no else f"new: {row.name}"
            print(f"  row {row.row} ({who}): {what}")
    if args.dry_run:
        print("Dry run: nothing was written.")
        if counts.invalid and not args.skip_invalid:
            print("The import would stop at the invalid rows; correct them, or add --skip-invalid.", file=sys.stderr)
    elif not imported:
        print(f"Nothing was imported: {counted(counts.invalid, 'invalid row')} (listed above). "
              f"Correct {'it' if counts.invalid == 1 else 'them'}, or add --skip-invalid.", file=sys.stderr)
    else:
        print(f"Imported: {counts.new} new, {counts.update} updated, {counts.unchanged} unchanged.")
        if rejects is not None:
            print(f"{counted(counts.invalid, 'invalid row')} {'was' if counts.invalid == 1 else 'were'} skipped; "
                  f"{rejects} has {'it' if counts.invalid == 1 else 'them'} with the reasons.")


def _money_summary(money: imports.MoneyCounts) -> str:
    """Opening balances and debts in words: "stored value ¥300.00 (bonus ¥20.00) for 2 members; debts ¥120.00 of 1 member"."""
    parts = []
    if money.wallets:
        bonus = f" (bonus {money_text(money.bonus_fen)})" if money.bonus_fen else ""
        parts.append(f"stored value {money_text(money.wallet_fen)}{bonus} for {counted(money.wallets, 'member')}")
    if money.debts:
        parts.append(f"debts {money_text(money.debt_fen)} of {counted(money.debts, 'member')}")
    return "; ".join(parts)


def problem_json(problem: imports.Problem) -> dict[str, Any]:
    return {"row": problem.row, "column": problem.column, "reason": problem.reason()}


def file_json(plan: Any, *, dry_run: bool, imported: bool) -> dict[str, Any]:
    """What every import's JSON document says of the file first."""
    return {"file": str(plan.path), "type": plan.file_type, "encoding": plan.encoding, "columns": dict(plan.columns),
            "dry_run": dry_run, "imported": imported}


def _document(plan: imports.ImportPlan, *, imported: bool, dry_run: bool, rejects: Path | None) -> dict[str, Any]:
    counts = plan.counts
    return {
        **file_json(plan, dry_run=dry_run, imported=imported),
        "new": counts.new,
        "updated": counts.update,
        "unchanged": counts.unchanged,
        "invalid": counts.invalid,
        "opening": {
            "wallets": plan.money.wallets,
            "wallet_principal_fen": plan.money.principal_fen,
            "wallet_bonus_fen": plan.money.bonus_fen,
            "debts": plan.money.debts,
            "debt_fen": plan.money.debt_fen,
        },
        "rejects_file": str(rejects) if rejects else None,
        "errors": [problem_json(p) for p in plan.errors],
        "warnings": [problem_json(p) for p in (*plan.warnings, *plan.row_warnings)],
        "changes": [
            {
                "row": row.row,
                "member_no": row.member_no,
                "changes": [{"field": c.field, "column": c.column, "old": c.old, "new": c.new} for c in row.changes],
            }
            for row in plan.rows
            if row.changes
        ],
    }
