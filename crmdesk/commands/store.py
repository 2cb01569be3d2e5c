"""`crmdesk store show|set`: the store's details."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from crmdesk.commands.common import acting_staff, print_json
from crmdesk.db import Database
from crmdesk.errors import MSG_NOT_INITIALISED, NotInitialised
from crmdesk.services import store as store_service
from crmdesk.services.uow import read_session, unit_of_work


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    store = add_command("store", "show or change the store settings", None)
    actions = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    show = add_command("show", "show the store settings", run_show, actions)
    show.add_argument("--json", action="store_true", help="print the settings as JSON")
    change = add_command("set", "change store settings", run_set, actions)
    change.add_argument("--name", dest="store_name", help="the store's name, as letterheads show it")
    change.add_argument("--address", help="the store's address")
    change.add_argument("--phone", help="the store's phone number")


def run_show(db: Database, args: argparse.Namespace) -> int:
    with read_session(db) as session:
        if not store_service.is_initialised(session):
            raise NotInitialised(MSG_NOT_INITIALISED)
        info = store_service.get_store(session)
    if args.json:
        print_json(asdict(info))
    else:
        for key, value in asdict(info).items():
            print(f"{key}: {value}")
    return 0


def run_set(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
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
