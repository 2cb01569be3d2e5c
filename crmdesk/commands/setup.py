"""`crmdesk init` and `crmdesk demo`: setting up a database."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict

from crmdesk import shop_time
from crmdesk.commands.common import print_json, read_secret
from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.services import store as store_service
from crmdesk.services.uow import unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    init = add_command("init", "set up a new database with its owner account", run_init)
    init.add_argument("--owner", required=True, metavar="NAME", help="the owner's name")
    init.add_argument("--store-name", default="", metavar="NAME")
    init.add_argument("--password-stdin", action="store_true", help="read the owner's password from standard input")

    demo = add_command("demo", "fill the database with a realistic demo store", run_demo)
    demo.add_argument("--members", type=int, default=2000, metavar="N")
    demo.add_argument("--seed", type=int, default=1, metavar="S")
    demo.add_argument("--force", action="store_true", help="replace the members, purchases and complaints already there")
    demo.add_argument("--json", action="store_true")


def run_init(db: Database, args: argparse.Namespace) -> int:
    password = read_secret(f"Password for {args.owner}: ", args.password_stdin)
    with unit_of_work(db) as session:
        owner = store_service.initialise(session, owner_name=args.owner, owner_password=password, store_name=args.store_name)
    print(f"Database ready at {db.describe()}; owner: {owner.name}")
    return 0


def run_demo(db: Database, args: argparse.Namespace) -> int:
    from crmdesk.services import demo  # the generator is large; load it only here

    if args.members < 1:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "--members must be at least 1."), field="members")
    started = time.perf_counter()
    with unit_of_work(db) as session:
        summary = demo.fill_demo_store(session, members=args.members, seed=args.seed, today=shop_time.today(), force=args.force)
    seconds = time.perf_counter() - started
    if args.json:
        print_json({**asdict(summary), "seconds": round(seconds, 2), "database": db.describe()})
    else:
        print(
            f"Demo store in {db.describe()}: {summary.members} members, {summary.purchases} purchases, "
            f"{summary.complaints} complaints ({seconds:.1f} s)."
        )
        print(
            f"Sign in as {demo.DEMO_OWNER_NAME} with password {demo.DEMO_OWNER_PASSWORD}, "
            f"or a cashier with PIN {demo.DEMO_CASHIER_PIN}."
        )
    return 0
