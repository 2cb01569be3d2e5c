"""`crmdesk watch DIR`: the POS hand-off folder without the app (services/handoff.py has the rules).

Prints one line per hand-off on standard output (problems on standard error) and runs until
Ctrl-C or SIGTERM, which let the file in hand finish first (a second Ctrl-C stops at once; the
import then rolls back and the file is put back into the folder). With --once it hands off what
the folder holds, waiting for files still being written, and exits: 0 when nothing stands in
the way, 1 when a problem does (the folder, the database), with the problem on standard error.
The imports act as --as NAME, else the owner, who must be allowed to import purchases.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from crmdesk import shop_time
from crmdesk.commands.common import acting_staff, counted
from crmdesk.db import Database
from crmdesk.errors import NotFound
from crmdesk.services import handoff
from crmdesk.services.auth import Permission, require

EXIT_PROBLEM = 1  # --once: a problem kept files from being handed off


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    watch = add_command("watch", "import the receipt files a till program saves into a folder, as they appear", run_watch)
    watch.add_argument("folder", metavar="DIR", type=Path, help="the hand-off folder the till saves its CSV or XLSX exports to")
    watch.add_argument("--once", action="store_true",
                       help="hand off the files the folder holds now (waiting for any still being written), then exit")
    watch.add_argument("--quiet-seconds", type=_seconds, default=handoff.QUIET_SECONDS, metavar="S",
                       help=f"a file is complete when its size and time have not changed for this long "
                            f"(default {handoff.QUIET_SECONDS:g})")
    watch.add_argument("--rescan-seconds", type=_seconds, default=handoff.RESCAN_SECONDS, metavar="S",
                       help=f"look at the folder at least this often, for changes no event reported, e.g. on a "
                            f"network drive (default {handoff.RESCAN_SECONDS:g})")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds from more than 0 to 3600")
    return value


def run_watch(db: Database, args: argparse.Namespace) -> int:
    folder: Path = args.folder.expanduser().absolute()
    if not folder.is_dir():  # a typo must not watch nothing for ever (a folder lost later is waited for)
        raise NotFound(handoff.MSG_NO_FOLDER, folder=str(folder))
    actor = acting_staff(db, args)
    require(actor, Permission.IMPORT_PURCHASES)
    watcher = handoff.HandoffWatcher(db, folder, acting_as=actor.name, quiet_seconds=args.quiet_seconds,
                                     rescan_seconds=args.rescan_seconds, on_handoff=print_handoff)
    if args.once:
        watcher.run_once()
        for name in watcher.pending():
            print(f"{name}: still being written; left for the next run", file=sys.stderr)
        return EXIT_PROBLEM if watcher.problem is not None else 0
    print(f"Watching {folder} as {actor.name}; Ctrl-C stops.", file=sys.stderr, flush=True)
    _stop_on_signals(watcher)
    watcher.run()
    print("Stopped.", file=sys.stderr)
    return 0


def _stop_on_signals(watcher: handoff.HandoffWatcher) -> None:
    """Ctrl-C and SIGTERM end the watch once the file in hand is done; a second Ctrl-C interrupts at once."""

    def stop(signum: int, _frame: object) -> None:
        print("Stopping after the file in hand…", file=sys.stderr, flush=True)
        watcher.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def handoff_line(entry: handoff.Handoff) -> str:
    """One hand-off as the command prints it: the shop's time, the file, what was imported and where it went."""
    when = shop_time.format_time(entry.at)
    Outcome = handoff.Outcome
    if entry.outcome is Outcome.RESUMED:
        return f"{when}  the hand-off folder {entry.folder} can be reached again; watching goes on"
    if entry.outcome is Outcome.PROBLEM:
        return f"{when}  problem: {entry.reason}"
    moved_to, companion = handoff.shown_path(entry.moved_to, entry.folder), handoff.shown_path(entry.companion, entry.folder)
    if entry.outcome is Outcome.UNREADABLE:
        return f"{when}  {entry.file}: not imported: {entry.reason} -> {moved_to} (why: {companion})"
    line = (f"{when}  {entry.file}: {counted(entry.imported, 'receipt')} imported, {entry.unchanged} unchanged, "
            f"{entry.rejected} rejected -> {moved_to}")
    if companion:
        line += f" (rejected rows: {companion})"
    return line


def print_handoff(entry: handoff.Handoff) -> None:
    problem = entry.outcome is handoff.Outcome.PROBLEM
    print(handoff_line(entry), file=sys.stderr if problem else sys.stdout, flush=True)
