"""The `crmdesk` command: the GUI with no command, scriptable back-office commands otherwise.

Commands (crmdesk/commands/) call the same services as the GUI. Errors go to
stderr with a non-zero exit status and leave the database unchanged; read
commands take --json.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from crmdesk import __version__
from crmdesk.db import DEMO_DB_FILENAME, Database, open_database, resolve_url, sqlite_url
from crmdesk.errors import CrmdeskError
from crmdesk.paths import data_dir

VIEWS = ("overview", "counter", "members", "offers", "complaints", "settings", "staff")

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
    args = build_parser().parse_args(argv)
    try:
        if args.command is None:
            from crmdesk.app import run_gui  # Qt widgets are loaded only for the GUI

            return run_gui(args)
        if getattr(args.handler, "makes_own_database", False):
            return args.handler(None, args)
        db = database_for(args)
        try:
            return args.handler(db, args)
        finally:
            db.dispose()
    except CrmdeskError as exc:
        print(f"crmdesk: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("crmdesk: interrupted", file=sys.stderr)
        return 130


def database_for(args: argparse.Namespace) -> Database:
    if getattr(args, "demo", False):
        return open_database(sqlite_url(data_dir() / DEMO_DB_FILENAME))
    return open_database(resolve_url(getattr(args, "db", None), getattr(args, "database_url", None)))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
