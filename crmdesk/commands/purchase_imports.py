"""`crmdesk import purchases FILE`: purchases and refunds from a POS's or an old system's CSV or XLSX file.

The `import purchases` sub-command is registered with `import members` in commands/imports.py.
Exit statuses as `import members`: 0 done (or a clean dry run), 2 invalid rows or an
unreadable file (nothing written), 5 not allowed, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crmdesk.commands.common import counted, print_json
from crmdesk.commands.imports import file_json, problem_json, run_file_import
from crmdesk.db import Database
from crmdesk.services import purchase_imports


def run_purchases(db: Database, args: argparse.Namespace) -> int:
    return run_file_import(db, args, purchase_imports.STEPS, _report_rows,
                           lambda plan, result, rejects, _code: _finish(args, plan, result, rejects=rejects))


def _report_rows(plan: purchase_imports.PurchaseImportPlan) -> None:
    """Errors and warnings on stderr, one per line."""
    for warning in plan.warnings:
        print(f"warning: {warning.describe()}", file=sys.stderr)
    for problem in plan.errors:
        print(problem.describe(), file=sys.stderr)
    for warning in plan.row_warnings:
        print(f"warning: {warning.describe()}", file=sys.stderr)


def _finish(args: argparse.Namespace, plan: purchase_imports.PurchaseImportPlan,
            result: purchase_imports.PurchaseImportResult | None, *, rejects: Path | None) -> None:
    counts = plan.counts
    if args.json:
        print_json(_document(plan, result, dry_run=args.dry_run, rejects=rejects))
        return
    source = plan.path.name
    if plan.encoding:
        source += f" ({plan.encoding})"
    print(f"{source}: {counted(counts.rows, 'row')}, {counted(counts.total, 'receipt')}")
    print(f"  new: {counts.new}  unchanged: {counts.unchanged}  invalid: {counts.invalid}")
    if args.dry_run and purchase_imports.keeps_tills_waiting(plan):
        print("A file this large keeps the tills from selling while it is written (minutes): import it when the shop "
              "is closed.", file=sys.stderr)
    if args.dry_run:
        print("Dry run: nothing was written.")
        if counts.invalid and not args.skip_invalid:
            print("The import would stop at the invalid rows; correct them, or add --skip-invalid.", file=sys.stderr)
    elif result is None:
        print(f"Nothing was imported: {counted(counts.invalid_rows, 'invalid row')} (listed above). "
              f"Correct {'it' if counts.invalid_rows == 1 else 'them'}, or add --skip-invalid.", file=sys.stderr)
    else:
        print(f"Imported: {counted(result.sales, 'sale')}, {counted(result.refunds, 'refund')}, {result.unchanged} unchanged; "
              f"{counted(result.points_earned, 'point')} earned, {result.points_reversed} taken back, "
              f"{counted(result.upgrades, 'tier upgrade')}.")
        if rejects is not None:
            print(f"{counted(result.skipped, 'invalid receipt')} ({counted(result.skipped_rows, 'row')}) "
                  f"{'was' if result.skipped == 1 else 'were'} skipped; {rejects} has "
                  f"{'it' if result.skipped == 1 else 'them'} with the reasons.")


def _document(plan: purchase_imports.PurchaseImportPlan, result: purchase_imports.PurchaseImportResult | None, *,
              dry_run: bool, rejects: Path | None) -> dict[str, Any]:
    counts = plan.counts
    return {
        **file_json(plan, dry_run=dry_run, imported=result is not None),
        "rows": counts.rows,
        "receipts": counts.total,
        "new": counts.new,
        "unchanged": counts.unchanged,
        "invalid": counts.invalid,
        "invalid_rows": counts.invalid_rows,
        "sales": result.sales if result else None,
        "refunds": result.refunds if result else None,
        "points_earned": result.points_earned if result else None,
        "points_reversed": result.points_reversed if result else None,
        "tier_upgrades": result.upgrades if result else None,
        "seconds": round(result.seconds, 3) if result else None,
        "rejects_file": str(rejects) if rejects else None,
        "errors": [problem_json(p) for p in plan.errors],
        "warnings": [problem_json(p) for p in (*plan.warnings, *plan.row_warnings)],
    }
