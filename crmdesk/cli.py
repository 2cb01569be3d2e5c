"""The `crmdesk` command: the GUI with no command, scriptable back-office commands otherwise.

Commands call the same services as the GUI. Errors go to stderr with a non-zero
exit status and leave the database unchanged; read commands take --json.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from dataclasses import asdict
from datetime import date
from typing import Any

from crmdesk import __version__
from crmdesk.db import DEMO_DB_FILENAME, Database, open_database, resolve_url, sqlite_url
from crmdesk.errors import CrmdeskError, InvalidInput, MSG_NOT_INITIALISED, NotInitialised
from crmdesk.models import Role
from crmdesk.paths import data_dir
from crmdesk.services import staff as staff_service
from crmdesk.services import store as store_service
from crmdesk.services.uow import Actor, read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP

VIEWS = ("overview", "settings", "staff")


def _add_database_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """--db/--database-url/--as are accepted before or after the command name."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("database")
    group.add_argument("--db", metavar="PATH", default=default, help="SQLite database file (env CRMDESK_DB)")
    group.add_argument(
        "--database-url", metavar="URL", default=default, help="any SQLAlchemy URL, e.g. PostgreSQL (env CRMDESK_DATABASE_URL)"
    )
    group.add_argument("--as", dest="as_staff", metavar="NAME", default=default, help="act as this staff member (default: the owner)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crmdesk", description="Desktop CRM for small supermarkets. With no command, opens the app.")
    parser.add_argument("--version", action="version", version=f"crmdesk {__version__}")
    parser.add_argument("--lang", choices=("zh_CN", "en"), help="language of the app (default: Settings, else the system's)")
    parser.add_argument("--screenshot", metavar="FILE.png", help="render the main window offscreen at 1280x800 to a PNG and exit")
    parser.add_argument("--view", choices=VIEWS, default="overview", help="area shown by --screenshot or at start")
    parser.add_argument("--demo", action="store_true", help="open the demo store in the data directory, creating it on first use")
    _add_database_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str, within: argparse._SubParsersAction = commands) -> argparse.ArgumentParser:
        sub = within.add_parser(name, help=help_text, description=help_text)
        _add_database_options(sub, suppress=True)
        return sub

    init = command("init", "set up a new database with its owner account")
    init.add_argument("--owner", required=True, metavar="NAME", help="the owner's name")
    init.add_argument("--store-name", default="", metavar="NAME")
    init.add_argument("--password-stdin", action="store_true", help="read the owner's password from standard input")

    demo = command("demo", "fill the database with a realistic demo store")
    demo.add_argument("--members", type=int, default=2000, metavar="N")
    demo.add_argument("--seed", type=int, default=1, metavar="S")
    demo.add_argument("--force", action="store_true", help="replace the members, purchases and complaints already there")
    demo.add_argument("--json", action="store_true")

    staff = command("staff", "list and manage staff accounts")
    staff_commands = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    staff_list = command("list", "list staff accounts", staff_commands)
    staff_list.add_argument("--json", action="store_true")
    staff_add = command("add", "add a staff account (PIN from a prompt or --pin-stdin)", staff_commands)
    staff_add.add_argument("name")
    staff_add.add_argument("--role", choices=[role.value for role in Role], default=Role.CASHIER.value)
    staff_add.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input")
    for action, help_text in (("disable", "stop an account from signing in"), ("enable", "allow an account to sign in again")):
        sub = command(action, help_text, staff_commands)
        sub.add_argument("name")
    reset = command("reset-pin", "give an account a new PIN and lift a lock-out", staff_commands)
    reset.add_argument("name")
    reset.add_argument("--pin-stdin", action="store_true")

    store = command("store", "show or change the store settings")
    store_commands = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    store_show = command("show", "show the store settings", store_commands)
    store_show.add_argument("--json", action="store_true")
    store_set = command("set", "change store settings", store_commands)
    store_set.add_argument("--name", dest="store_name")
    store_set.add_argument("--address")
    store_set.add_argument("--phone")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command is None:
            from crmdesk.app import run_gui  # Qt widgets are loaded only for the GUI

            return run_gui(args)
        return _run_command(args)
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


def _run_command(args: argparse.Namespace) -> int:
    handlers = {"init": _init, "demo": _demo, "staff": _staff, "store": _store}
    db = database_for(args)
    try:
        return handlers[args.command](db, args)
    finally:
        db.dispose()


def _read_secret(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "No terminal to ask for the secret: pipe it in and add --password-stdin or --pin-stdin.")
        )
    first = getpass.getpass(prompt)
    if getpass.getpass("Repeat: ") != first:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The two entries differ; nothing was changed."))
    return first


def _actor(db: Database, args: argparse.Namespace) -> Actor:
    with read_session(db) as session:
        return staff_service.actor_for(session, getattr(args, "as_staff", None))


def _print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2, default=str))


def _init(db: Database, args: argparse.Namespace) -> int:
    password = _read_secret(f"Password for {args.owner}: ", args.password_stdin)
    with unit_of_work(db) as session:
        owner = store_service.initialise(
            session, owner_name=args.owner, owner_password=password, store_name=args.store_name
        )
    print(f"Database ready at {db.describe()}; owner: {owner.name}")
    return 0


def _demo(db: Database, args: argparse.Namespace) -> int:
    from crmdesk.services import demo

    if args.members < 1:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "--members must be at least 1."), field="members")
    started = time.perf_counter()
    with unit_of_work(db) as session:
        summary = demo.fill_demo_store(session, members=args.members, seed=args.seed, today=date.today(), force=args.force)
    seconds = time.perf_counter() - started
    if args.json:
        _print_json({**asdict(summary), "seconds": round(seconds, 2), "database": db.describe()})
    else:
        print(
            f"Demo store in {db.describe()}: {summary.members} members, {summary.purchases} purchases, "
            f"{summary.complaints} complaints ({seconds:.1f} s)."
        )
        print(f"Sign in as {demo.DEMO_OWNER_NAME} with password {demo.DEMO_OWNER_PASSWORD}, or a cashier with PIN 1111.")
    return 0


def _staff(db: Database, args: argparse.Namespace) -> int:
    if args.staff_command == "list":
        with read_session(db) as session:
            rows = staff_service.list_staff(session)
        if args.json:
            _print_json([{**asdict(row), "role": row.role.value} for row in rows])
        else:
            for row in rows:
                flags = " ".join(f for f, on in (("disabled", not row.active), ("locked", row.locked)) if on)
                print(f"{row.name}\t{row.role.value}\t{flags}".rstrip())
        return 0
    actor = _actor(db, args)
    if args.staff_command == "add":
        pin = _read_secret(f"PIN for {args.name}: ", args.pin_stdin)
        with unit_of_work(db) as session:
            info = staff_service.add_staff(session, actor, args.name, Role(args.role), pin=pin)
        print(f"Added {info.name} ({info.role.value}).")
        return 0
    with unit_of_work(db) as session:
        target = staff_service.find_by_name(session, args.name)
        if args.staff_command == "reset-pin":
            pin = _read_secret(f"New PIN for {target.name}: ", args.pin_stdin)
            staff_service.reset_pin(session, actor, target.id, pin)
        else:
            staff_service.set_active(session, actor, target.id, args.staff_command == "enable")
    print(f"{args.staff_command}: {target.name} done.")
    return 0


def _store(db: Database, args: argparse.Namespace) -> int:
    if args.store_command == "show":
        with read_session(db) as session:
            if not store_service.is_initialised(session):
                raise NotInitialised(MSG_NOT_INITIALISED)
            info = store_service.get_store(session)
        if args.json:
            _print_json(asdict(info))
        else:
            for key, value in asdict(info).items():
                print(f"{key}: {value}")
        return 0
    actor = _actor(db, args)
    with unit_of_work(db) as session:
        current = store_service.get_store(session)
        info = store_service.update_store(
            session,
            actor,
            store_name=args.store_name if args.store_name is not None else current.store_name,
            address=args.address if args.address is not None else current.address,
            phone=args.phone if args.phone is not None else current.phone,
        )
    print(f"Store settings saved: {info.store_name}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
