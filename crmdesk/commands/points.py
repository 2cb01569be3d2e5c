"""`crmdesk points show|redeem|adjust|expire`: the points ledger from the command line."""

from __future__ import annotations

import argparse
from datetime import date

from crmdesk import shop_time
from crmdesk.commands.common import acting_staff, counted, member_id_for, print_json
from crmdesk.db import Database
from crmdesk.models import Member
from crmdesk.services import loyalty
from crmdesk.services.uow import read_session, unit_of_work


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    points = add_command("points", "members' points: balance, redeem, adjust, expire", None)
    actions = points.add_subparsers(dest="points_command", metavar="ACTION", required=True)
    show = add_command("show", "balance and what expires when", run_show, actions)
    show.add_argument("member", metavar="KEY", help="card number, member number or phone")
    show.add_argument("--json", action="store_true", help="print the balance and expiry as JSON")
    redeem = add_command("redeem", "spend points", run_redeem, actions)
    redeem.add_argument("member", metavar="KEY", help="card number, member number or phone")
    redeem.add_argument("points", type=int, help="how many points to spend")
    redeem.add_argument("--reason", default="", metavar="TEXT", help="what they were spent on (optional)")
    adjust = add_command("adjust", "add (+) or take away (-) points by hand, with a reason", run_adjust, actions)
    adjust.add_argument("member", metavar="KEY", help="card number, member number or phone")
    adjust.add_argument("points", type=int, help="points to add, or to take away with a minus (e.g. -50)")
    adjust.add_argument("--reason", required=True, metavar="TEXT", help="why (kept in the points ledger)")
    expire = add_command("expire", "write off points whose last day has passed", run_expire, actions)
    expire.add_argument("--today", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                        help="expire as on this day (default: the shop's today)")


def run_show(db: Database, args: argparse.Namespace) -> int:
    member_id = member_id_for(db, args.member)
    with read_session(db) as session:
        balance = session.get(Member, member_id).points_balance
        lots = loyalty.open_lots(session, member_id)
    if args.json:
        print_json({"balance": balance, "lots": [{"expires_on": lot.expires_on, "points": lot.points} for lot in lots]})
    else:
        print(f"Balance: {counted(balance, 'point')}")
        for lot in lots:
            print(f"  {lot.points} expire after {lot.expires_on.isoformat()}")
    return 0


def run_redeem(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    with unit_of_work(db) as session:
        balance = loyalty.redeem(session, actor, member_id, args.points, reason=args.reason)
    print(f"Redeemed {counted(args.points, 'point')}; balance {balance}.")
    return 0


def run_adjust(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    with unit_of_work(db) as session:
        balance = loyalty.adjust(session, actor, member_id, args.points, reason=args.reason)
    print(f"Adjusted by {args.points:+d}; balance {balance}.")
    return 0


def run_expire(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    with unit_of_work(db) as session:
        total = loyalty.expire(session, args.today or shop_time.today(), actor=actor)
    print(f"{counted(total, 'point')} expired.")
    return 0
