"""`crmdesk server setup` on the PC that holds the shop's data, and `crmdesk connect` on each till."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from crmdesk import preferences
from crmdesk.commands.common import counted, print_json
from crmdesk.db import DEFAULT_DB_FILENAME, Database, open_database, sqlite_url
from crmdesk.errors import InvalidInput
from crmdesk.paths import data_dir
from crmdesk.services import server
from crmdesk.texts import QT_TRANSLATE_NOOP

MSG_NO_FILE = QT_TRANSLATE_NOOP("errors", "There is no store file at {path} to copy.")


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    group = add_command("server", "the shop's PostgreSQL server, shared by several tills", None)
    actions = group.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    setup = add_command("setup", "on the PC that will hold the data: make the tills' database on the local PostgreSQL "
                                 "and print the line each till needs", run_setup, actions)
    setup.add_argument("--admin-url", metavar="URL",
                       help="PostgreSQL's administrator connection (default: the local server as 'postgres')")
    setup.add_argument("--admin-password-stdin", action="store_true",
                       help="read the 'postgres' user's password from standard input (Windows installs ask for one)")
    setup.add_argument("--name", default=server.DEFAULT_NAME, metavar="NAME",
                       help=f"the database and the role the tills sign in as (default: {server.DEFAULT_NAME})")
    setup.add_argument("--host-for-tills", metavar="HOST",
                       help="this PC's name or address as the tills reach it (default: its computer name)")
    setup.add_argument("--copy-from", nargs="?", const="", metavar="FILE",
                       help="copy a store file into the new database, checked row by row in counts and sums "
                            "(without FILE: this computer's own store)")
    setup.add_argument("--new-password", action="store_true",
                       help="the database exists already: give the tills' role a new password and print the new line")
    setup.add_argument("--json", action="store_true", help="print the outcome as JSON")

    connect = add_command("connect", "on a till: work on the shop's server from now on (the line 'server setup' "
                                     "printed); without a URL, show and test the current choice", run_connect)
    connect.add_argument("url", nargs="?", metavar="URL", help="the server line, e.g. postgresql://crmdesk:…@shop-pc/crmdesk")
    connect.add_argument("--till", metavar="NAME", help="this computer's till: it goes on its receipts, and every till of "
                                                        "the shop needs its own (e.g. 01, 02, Front desk)")
    connect.add_argument("--forget", action="store_true", help="work on this computer's own database file again")
    connect.add_argument("--json", action="store_true", help="print what was found as JSON")


def run_setup(_db: Database | None, args: argparse.Namespace) -> int:
    password = None
    if args.admin_password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not args.admin_url and sys.platform == "win32" and sys.stdin.isatty():
        password = getpass.getpass("Password of PostgreSQL's 'postgres' user: ")
    source = None
    if args.copy_from is not None:
        path = Path(args.copy_from) if args.copy_from else data_dir() / DEFAULT_DB_FILENAME
        if not path.is_file():
            raise InvalidInput(MSG_NO_FILE, field="copy_from", path=path)
        source = open_database(sqlite_url(path))
    try:
        progress = None if args.json else _progress
        result = server.setup_server(server.admin_candidates(args.admin_url, password), name=args.name,
                                     host_for_tills=args.host_for_tills, new_password=args.new_password,
                                     copy_from=source, progress=progress)
    finally:
        if source is not None:
            source.dispose()
    notes = [text.format(**params) for text, params in zip(result.warnings, result.warning_params, strict=True)]
    if args.json:
        print_json({"line": result.line, "url": result.url.render_as_string(hide_password=False), "created": result.created,
                    "copied": None if result.copied is None else {"tables": result.copied.tables, "rows": result.copied.rows,
                                                                   "sums_checked": result.copied.checked_sums},
                    "notes": notes})
        return 0
    print(file=sys.stderr)
    if result.created:
        print(f"The tills' database '{args.name}' is ready on this server.")
    else:
        print(f"The tills' role '{args.name}' has a new password; give every till the new line.")
    if result.copied is not None:
        print(f"Copied {counted(result.copied.rows, 'row')} in {result.copied.tables} tables; counts and "
              f"{result.copied.checked_sums} sums agree with the file.")
    for note in notes:
        print(f"Note: {note}")
    print("On each till, run (or paste into Settings → This computer → Connect to server):")
    print(f"  {result.line}")
    return 0


def _progress(done: int, total: int) -> None:
    print(f"\rcopying … {done:,} of {total:,} rows", end="", file=sys.stderr, flush=True)


run_setup.makes_own_database = True  # type: ignore[attr-defined]


def run_connect(_db: Database | None, args: argparse.Namespace) -> int:
    if args.forget:
        server.remember_server(None)
        if args.json:
            print_json({"server": None})
        else:
            print("This computer works on its own database file again.")
        return 0
    if not args.url:
        remembered = server.remembered_server()
        if remembered is None:
            if args.json:
                print_json({"server": None})
            else:
                print("This computer works on its own database file (no server).")
            return 0
        found = server.check_connection(remembered)
        _print_check(found, args, saved=False)
        return 0
    url = server.server_url(args.url)
    till = server.check_till_name(args.till) if args.till is not None else None
    found = server.check_connection(url)  # refused (with the reason) before anything is remembered
    server.remember_server(url, till=till)
    _print_check(found, args, saved=True)
    if not args.json and not preferences.load().till:
        print("Name this till before selling here: crmdesk connect URL --till 01 (or Settings → This computer).")
    return 0


def _print_check(found: server.ConnectionCheck, args: argparse.Namespace, *, saved: bool) -> None:
    if args.json:
        print_json({"server": found.where, "server_version": found.server_version, "schema": found.schema,
                    "upgrade_needed": found.upgrade_needed, "initialised": found.initialised,
                    "store_name": found.store_name, "members": found.members,
                    "milliseconds": round(found.milliseconds, 1), "saved": saved})
        return
    print(f"Connected to {found.where} (PostgreSQL {found.server_version.split()[0]}) in {found.milliseconds:.0f} ms: "
          f"{found.store_name or 'a store'} with {counted(found.members, 'member')}.")
    if found.upgrade_needed:
        print("The server's data is from an older crmdesk: opening it here upgrades it (update the other tills too).")
    if not found.initialised:
        print("No owner is set up yet: the first start of crmdesk here asks for one.")
    if saved:
        print("This computer works on the server from now on ('crmdesk connect --forget' goes back to its own file).")


run_connect.makes_own_database = True  # type: ignore[attr-defined]
