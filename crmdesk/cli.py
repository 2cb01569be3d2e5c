"""The `crmdesk` command: the GUI with no command, scriptable back-office commands otherwise.

Commands (crmdesk/commands/) call the same services as the GUI. Errors go to
stderr with a non-zero exit status and leave the database unchanged; read
commands take --json.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import sqlalchemy as sa

from crmdesk import __version__
from crmdesk.db import DEMO_DB_FILENAME, Database, open_database, resolve_url, sqlite_url
from crmdesk.errors import CrmdeskError
from crmdesk.paths import data_dir

VIEWS = ("overview", "counter", "members", "offers", "complaints", "money", "settings", "staff", "backups", "audit")

Handler = Callable[[Database, argparse.Namespace], int]


def _add_database_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """--db/--database-url/--as are accepted before or after the command name."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("database")
    group.add_argument("--db", metavar="PATH", default=default, help="SQLite database file (env CRMDESK_DB)")
    group.add_argument(
        "--database-url", metavar="URL", default=default, help="any SQLAlchemy URL, e.g. PostgreSQL (env CRMDESK_DATABASE_URL)"
    )
    group.add_argument("--as", dest="as_staff", metavar="NAME", default=default, help="act as this staff member (default: the owner)")


def _screen_size(text: str) -> tuple[int, int]:
    """--size 1024x768 -> (1024, 768)."""
    width, sep, height = text.strip().lower().replace("×", "x").partition("x")
    if not (sep and width.isdigit() and height.isdigit() and int(width) >= 320 and int(height) >= 240):
        raise argparse.ArgumentTypeError(f"'{text}' is not a screen size like 1024x768")
    return int(width), int(height)


def build_parser() -> argparse.ArgumentParser:
    from crmdesk import commands

    parser = argparse.ArgumentParser(prog="crmdesk", description="Desktop CRM for small supermarkets. With no command, opens the app.")
    parser.add_argument("--version", action="version", version=f"crmdesk {__version__}")
    parser.add_argument("--lang", choices=("zh_CN", "en"), help="language of the app (default: Settings, else the system's)")
    parser.add_argument("--screenshot", metavar="FILE.png", help="render the main window offscreen to a PNG and exit")
    parser.add_argument("--size", metavar="WxH", type=_screen_size,
                        help="with --screenshot: the screen to render for, e.g. 1024x768 (the window as it shows maximised "
                             "there, taskbar and title bar taken off; default 1280x800)", default=(1280, 800))
    parser.add_argument("--view", choices=VIEWS, help="area shown by --screenshot or at start (default: where the person signing "
                        "in starts: the counter for cashiers, the overview for the others)")
    parser.add_argument("--search", metavar="TEXT", help="with --view counter: what the counter search starts with (a card, phone, name)")
    parser.add_argument("--demo", action="store_true", help="open the demo store in the data directory, creating it on first use")
    _add_database_options(parser, suppress=False)
    top = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_command(
        name: str, help_text: str, handler: Handler | None, within: argparse._SubParsersAction | None = None
    ) -> argparse.ArgumentParser:
        sub = (within or top).add_parser(name, help=help_text, description=help_text)
        _add_database_options(sub, suppress=True)
        if handler is not None:
            sub.set_defaults(handler=handler)
        return sub

    for module in commands.modules():
        module.register(add_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            return _run(argv)
        finally:  # also after --help: output a closed pipe refuses fails here, where it is handled, not at exit
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`crmdesk complaint list | head -2`): stop quietly, as other programs do,
        # with the status a shell gives a program ended by SIGPIPE. Anything the command wrote to the
        # database is committed before it prints; nothing else is left to do.
        _discard_stdout()
        return EXIT_BROKEN_PIPE


EXIT_BROKEN_PIPE = 128 + 13  # 141, as a shell reports a program ended by SIGPIPE


def _discard_stdout() -> None:
    """Point standard output at the null device, so Python's final flush at exit finds no closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (output captured in-process)
        pass


def _run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command is None:
            from crmdesk import qt_check

            problem = qt_check.gui_problem("offscreen" if args.screenshot else None)
            if problem is not None:  # say what is missing, before Qt aborts with its own message
                print(f"crmdesk: {problem}", file=sys.stderr)
                return qt_check.EXIT_NO_GUI
            from crmdesk.app import run_gui  # Qt widgets are loaded only for the GUI

            return run_gui(args)
        if getattr(args.handler, "makes_own_database", False):
            return args.handler(None, args)  # init, demo, bench: they act as no staff member
        db = database_for(args)
        try:
            if getattr(args, "as_staff", None):
                # --as NAME is checked for every command, reads included: the audit log records the
                # name (and some reads are audited, such as full phone numbers on paper), so a misspelt,
                # unknown or disabled name must fail at once, the same way everywhere, rather than
                # work for one command and be refused by the next.
                from crmdesk.commands.common import acting_staff

                acting_staff(db, args)
            return args.handler(db, args)
        finally:
            db.dispose()
    except CrmdeskError as exc:
        print(f"crmdesk: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        raise  # handled by main()
    except Exception as exc:  # a full disk, a busy database, a read-only folder...: a message, never a traceback
        from crmdesk.failures import explain

        failure = explain(exc)
        print(f"crmdesk: {failure.message}", file=sys.stderr)
        return failure.exit_code
    except KeyboardInterrupt:
        print("crmdesk: interrupted", file=sys.stderr)
        return 130


def url_for(args: argparse.Namespace) -> sa.URL:
    """The database a command works on: --demo, --db, --database-url or the environment, else the default file."""
    if getattr(args, "demo", False):
        return sqlite_url(data_dir() / DEMO_DB_FILENAME)
    return resolve_url(getattr(args, "db", None), getattr(args, "database_url", None))


def database_for(args: argparse.Namespace) -> Database:
    return open_database(url_for(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
