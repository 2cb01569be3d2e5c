"""`crmdesk backup|restore|check`: copies of the database, putting one back, and whether the data is sound."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crmdesk import shop_time
from crmdesk.commands.common import acting_staff, counted, print_json
from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.services import backups, data_check, safety_settings
from crmdesk.services.auth import Permission, require
from crmdesk.services.safety_settings import SafetyRules
from crmdesk.services.uow import unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP

EXIT_PROBLEMS = 9  # `crmdesk check` found something wrong


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    backup = add_command("backup", "back the database up now (verified, compressed); 'backup list' shows the copies", run_backup)
    backup.add_argument("--to", metavar="DIR", type=Path, help="write the copy into this folder instead of the backup folder")
    backup.add_argument("--json", action="store_true", help="print the copy's description as JSON")
    actions = backup.add_subparsers(dest="backup_command", metavar="ACTION")
    listing = add_command("list", "list the copies in the backup folder, newest first", run_list, actions)
    listing.add_argument("--json", action="store_true", help="print the copies as JSON")
    settings = add_command("settings", "show or change how copies are kept and the second place they go to",
                           run_settings, actions)
    for name, help_text in (("--keep-daily", "copies kept, one per day, after today's and yesterday's"),
                            ("--keep-weekly", "then one per week"), ("--keep-monthly", "then one per month"),
                            ("--retention-years", "anonymise members closed longer than this (0: never)")):
        settings.add_argument(name, type=int, metavar="N", help=help_text)
    settings.add_argument("--second-place", metavar="DIR", help="a folder on a USB stick or network drive ('' for none)")
    settings.add_argument("--json", action="store_true", help="print the settings as JSON")

    restore = add_command("restore", "replace the database with a backup (the current data is backed up first)", run_restore)
    restore.add_argument("file", metavar="FILE", type=Path, help="a backup (.sqlite.gz) or a crmdesk database file")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.add_argument("--json", action="store_true", help="print the outcome as JSON")

    check = add_command("check", "check the data: the file, every cached figure against its ledger, impossible states",
                        run_check)
    check.add_argument("--repair", action="store_true",
                       help="recompute the cached figures from their ledgers (a backup is taken first; ledgers are never changed)")
    check.add_argument("--json", action="store_true", help="print the findings as JSON")


def run_backup(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    info = backups.take_backup(db, "manual", to=args.to, actor=actor)
    if args.json:
        print_json(info.to_json())
    else:
        print(f"Backed up {counted(info.members or 0, 'member')} to {info.path} ({_size(info.size)}, checked).")
        state = backups.status(db)
        if state.second_place is not None and state.second_place_missing:
            print(f"The second place {state.second_place.folder} is not reachable: the copy is only in {info.path.parent}.")
    return 0


def run_list(db: Database, args: argparse.Namespace) -> int:
    acting_staff(db, args)
    found = backups.list_backups(backups.backup_folder(db))
    if args.json:
        print_json([info.to_json() for info in found])
        return 0
    if not found:
        print(f"No backups yet in {backups.backup_folder(db)}.")
    for info in found:
        when = shop_time.format_time(info.created_at)
        print(f"{when}\t{info.reason}\t{_size(info.size)}\t{counted(info.members or 0, 'member')}\t{info.path.name}")
    return 0


def run_settings(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    changes = {name: getattr(args, name) for name in ("keep_daily", "keep_weekly", "keep_monthly", "second_place", "retention_years")
               if getattr(args, name) is not None}
    with unit_of_work(db) as session:
        rules = safety_settings.get(session)
        if changes:
            rules = safety_settings.save(session, actor, SafetyRules(**{**rules.__dict__, **changes}))
    if args.json:
        print_json({**rules.__dict__, "folder": str(backups.backup_folder(db))})
    else:
        print(f"Backups in {backups.backup_folder(db)}: today's and yesterday's, then {rules.keep_daily} daily, "
              f"{rules.keep_weekly} weekly, {rules.keep_monthly} monthly.")
        print(f"Second place: {rules.second_place or 'none'}.")
        print(f"Closed members anonymised after: {f'{rules.retention_years} years' if rules.retention_years else 'never'}.")
    return 0


def run_restore(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    require(actor, Permission.MANAGE_BACKUPS)
    if not args.yes:
        if not sys.stdin.isatty():
            raise InvalidInput(QT_TRANSLATE_NOOP(
                "errors", "A restore replaces every member and sale with the backup's: add --yes to confirm it."))
        answer = input(f"Replace the data in {db.describe()} with {args.file.name}? The current data is backed up first. "
                       "Type yes to go on: ")
        if answer.strip().lower() not in ("yes", "y", "是"):
            print("Nothing was changed.")
            return 1
    result = backups.restore(db, args.file, actor)
    report = data_check.run(db)
    if args.json:
        print_json({"restored_from": str(result.restored_from), "safety_copy": str(result.safety_copy), "members": result.members,
                    "revision": result.revision, "check": [finding.to_json() for finding in report.findings]})
    else:
        print(f"Restored {counted(result.members, 'member')} from {result.restored_from.name}. "
              f"The data as it was is kept in {result.safety_copy}.")
        print("Other tills and windows must close and reopen crmdesk.")
        if not report.sound:
            print(f"The check found {counted(len(report.findings), 'problem')}: run 'crmdesk check' to see them.")
    return 0


def run_check(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    require(actor, Permission.MANAGE_BACKUPS)
    repaired: dict[str, int] = {}
    if args.repair:
        outcome = data_check.repair(db, actor)
        report, repaired = outcome.after, outcome.repaired
    else:
        report = data_check.run(db)
    if args.json:
        print_json({"sound": report.sound, "members": report.checked_members, "repaired": repaired,
                    "findings": [finding.to_json() for finding in report.findings]})
        return 0 if report.sound else EXIT_PROBLEMS
    if repaired:
        print(f"Repaired {counted(sum(repaired.values()), 'figure')} from their ledgers: "
              + ", ".join(f"{kind} {count}" for kind, count in sorted(repaired.items())) + ".")
    if report.sound:
        print(f"Checked {counted(report.checked_members, 'member')}: the data is sound.")
        return 0
    print(f"{counted(len(report.findings), 'problem')} found:")
    for finding in report.findings:
        who = finding.member_no or "-"
        figures = (f": stored {finding.shown(finding.cached)}, its source gives {finding.shown(finding.expected)}"
                   if finding.expected is not None else "")
        detail = f" ({finding.detail})" if finding.detail else ""
        print(f"  {who}\t{data_check.FINDINGS[finding.kind]}{figures}{detail}")
    if report.repairable:
        print(f"'crmdesk check --repair' recomputes {counted(len(report.repairable), 'figure')} from their sources "
              "(a backup is taken first; ledgers are never changed).")
    return EXIT_PROBLEMS


def _size(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB" if size >= 1_048_576 else f"{max(1, round(size / 1024))} KB"
