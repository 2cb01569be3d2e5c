"""`crmdesk staff ...`: staff accounts."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from crmdesk.commands.common import acting_staff, print_json, read_secret
from crmdesk.db import Database
from crmdesk.models import Role
from crmdesk.services import staff as staff_service
from crmdesk.services.uow import read_session, unit_of_work


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    staff = add_command("staff", "list and manage staff accounts", None)
    actions = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    listing = add_command("list", "list staff accounts", run_list, actions)
    listing.add_argument("--json", action="store_true", help="print the accounts as JSON")
    add = add_command("add", "add a staff account (PIN from a prompt or --pin-stdin)", run_add, actions)
    add.add_argument("name", help="the name the account signs in with")
    add.add_argument("--role", choices=[role.value for role in Role], default=Role.CASHIER.value,
                     help="what the account may do (default: cashier)")
    add.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input")
    for action, help_text in (("disable", "stop an account from signing in"), ("enable", "allow an account to sign in again")):
        add_command(action, help_text, run_set_active, actions).add_argument("name", help="the account's name")
    reset = add_command("reset-pin", "give an account a new PIN and lift a lock-out", run_reset_pin, actions)
    reset.add_argument("name", help="the account's name")
    reset.add_argument("--pin-stdin", action="store_true", help="read the new PIN from standard input")


def run_list(db: Database, args: argparse.Namespace) -> int:
    with read_session(db) as session:
        rows = staff_service.list_staff(session)
    if args.json:
        print_json([{**asdict(row), "role": row.role.value} for row in rows])
    else:
        for row in rows:
            flags = " ".join(f for f, on in (("disabled", not row.active), ("locked", row.locked)) if on)
            print(f"{row.name}\t{row.role.value}\t{flags}".rstrip())
    return 0


def run_add(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    pin = read_secret(f"PIN for {args.name}: ", args.pin_stdin)
    with unit_of_work(db) as session:
        info = staff_service.add_staff(session, actor, args.name, Role(args.role), pin=pin)
    print(f"Added {info.name} ({info.role.value}).")
    return 0


def run_set_active(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    with unit_of_work(db) as session:
        target = staff_service.find_by_name(session, args.name)
        staff_service.set_active(session, actor, target.id, args.staff_command == "enable")
    print(f"{args.staff_command}: {target.name} done.")
    return 0


def run_reset_pin(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    with unit_of_work(db) as session:
        target = staff_service.find_by_name(session, args.name)
        pin = read_secret(f"New PIN for {target.name}: ", args.pin_stdin)
        staff_service.reset_pin(session, actor, target.id, pin)
    print(f"New PIN set for {target.name}.")
    return 0
