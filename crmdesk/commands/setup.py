"""`crmdesk init` and `crmdesk demo`: setting up a database."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from crmdesk import shop_time
from crmdesk.commands.common import counted, print_json, read_secret
from crmdesk.db import Database, open_database, remove_sqlite_files
from crmdesk.errors import InvalidInput
from crmdesk.services import staff as staff_service
from crmdesk.services import store as store_service
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP



def register(add_command) -> None:  # type: ignore[no-untyped-def]
    init = add_command("init", "set up a new database with its owner account", run_init)
    init.add_argument("--owner", required=True, metavar="NAME", help="the owner's name")
    init.add_argument("--store-name", default="", metavar="NAME", help="the store's name, as letterheads show it")
    init.add_argument("--password-stdin", action="store_true", help="read the owner's password from standard input")

    demo = add_command("demo", "fill the database with a realistic demo store", run_demo)
    demo.add_argument("--members", type=int, default=2000, metavar="N", help="how many members (default: 2000)")
    demo.add_argument("--seed", type=int, default=1, metavar="S",
                      help="the random seed: the same seed and size give the same store (default: 1)")
    demo.add_argument("--force", action="store_true", help="replace the members, purchases and complaints already there")
    demo.add_argument("--json", action="store_true", help="print what was written as JSON")


# init and demo open their database themselves, after checking what they were given: a refused
# set-up leaves no new database file behind.


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[Database]:
    """The command's database; a new SQLite file is removed again when the command fails."""
    from crmdesk.cli import url_for

    url = url_for(args)
    path = Path(url.database or "") if url.get_backend_name() == "sqlite" else None
    new_file = path is not None and not path.exists()
    db = open_database(url)
    try:
        yield db
    except BaseException:
        db.dispose()
        if new_file and path is not None:
            remove_sqlite_files(path)
        raise
    else:
        db.dispose()


def run_init(_db: Database | None, args: argparse.Namespace) -> int:
    password = read_secret(f"Password for {args.owner}: ", args.password_stdin)
    store_service.validate_setup(owner_name=args.owner, owner_password=password, store_name=args.store_name)
    with _database(args) as db:
        with unit_of_work(db) as session:
            owner = store_service.initialise(session, owner_name=args.owner, owner_password=password,
                                             store_name=args.store_name)
        print(f"Database ready at {db.describe()}; owner: {owner.name}")
    return 0


def run_demo(_db: Database | None, args: argparse.Namespace) -> int:
    from crmdesk.services import demo  # the generator is large; load it only here

    if not 1 <= args.members <= demo.MAX_MEMBERS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The number of demo members must be from 1 to {max}."),
                           field="members", max=demo.MAX_MEMBERS)
    started = time.perf_counter()
    with _database(args) as db:
        with unit_of_work(db) as session:
            summary = demo.fill_demo_store(session, members=args.members, seed=args.seed, today=shop_time.today(), force=args.force)
        demo.refresh_insight(db)
        with read_session(db) as session:
            accounts = _sign_in_accounts(demo, session, created=summary.staff > 0)
        seconds = time.perf_counter() - started
        if args.json:
            print_json({**asdict(summary), "seconds": round(seconds, 2), "database": db.describe(), "sign_in": accounts})
            return 0
        print(
            f"Demo store in {db.describe()}: {counted(summary.members, 'member')}, {counted(summary.purchases, 'purchase')}, "
            f"{counted(summary.complaints, 'complaint')} ({seconds:.1f} s)."
        )
        print(_sign_in_text(accounts, created=summary.staff > 0))
    return 0


run_init.makes_own_database = True  # type: ignore[attr-defined]
run_demo.makes_own_database = True  # type: ignore[attr-defined]


def _sign_in_accounts(demo, session, *, created: bool) -> list[dict[str, str | None]]:  # type: ignore[no-untyped-def]
    """The accounts that can sign in to this store now; their demo password or PIN when the demo made them.

    A database that already had an owner keeps its own staff (the demo adds none), so only the
    accounts really there are named, without secrets crmdesk does not know."""
    secrets = {demo.DEMO_OWNER_NAME: ("password", demo.DEMO_OWNER_PASSWORD)}
    secrets.update({name: ("pin", pin) for name, _role, pin in demo.DEMO_STAFF})
    accounts = []
    for person in staff_service.list_staff(session, active_only=True):
        kind, secret = secrets.get(person.name, (None, None)) if created else (None, None)
        accounts.append({"name": person.name, "role": person.role.value,
                         "password": secret if kind == "password" else None, "pin": secret if kind == "pin" else None})
    return accounts


def _sign_in_text(accounts: list[dict[str, str | None]], *, created: bool) -> str:
    if created:
        with_password = [f"{a['name']} ({a['role']}) with the password {a['password']}" for a in accounts if a["password"]]
        with_pin = [f"{a['name']} ({a['role']}) {a['pin']}" for a in accounts if a["pin"]]
        text = "Sign in as " + " or ".join(with_password)
        return text + (f", or with a PIN: {', '.join(with_pin)}." if with_pin else ".")
    names = ", ".join(f"{a['name']} ({a['role']})" for a in accounts)
    return f"The store's own staff accounts are kept (the demo adds none): sign in as {names} with its own password or PIN."
