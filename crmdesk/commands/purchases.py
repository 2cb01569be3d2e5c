"""`crmdesk purchase add|refund|list`: purchases at the counter, from the command line."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import datetime

from crmdesk.commands.common import acting_staff, counted, member_id_for, print_json
from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.services import loyalty, purchases
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    purchase = add_command("purchase", "record purchases and refunds", None)
    actions = purchase.add_subparsers(dest="purchase_command", metavar="ACTION", required=True)
    add = add_command("add", "record a purchase for a member", run_add, actions)
    add.add_argument("--member", required=True, metavar="KEY", help="card number, member number or phone")
    add.add_argument("--amount", required=True, metavar="YUAN",
                     help="e.g. 123.45 or 1,234.50 (a comma only between thousands; write decimals with a point)")
    add.add_argument("--receipt", default="", metavar="NUMBER",
                     help="the receipt number (default: the next of the till and day, e.g. 20261204-0007); "
                          "posting the same receipt again changes nothing")
    add.add_argument("--till", default="", metavar="NAME", help="the till the receipt came from (receipt numbers are per till)")
    add.add_argument("--time", metavar="ISO", help="when it happened (default: now; shop time unless an offset is given)")
    add.add_argument("--payment", default="", metavar="METHOD", help="how it was paid, e.g. cash, wechat, alipay, card")
    add.add_argument("--json", action="store_true", help="print the result as JSON")
    refund = add_command("refund", "give money back on a sale; its points go back in proportion", run_refund, actions)
    refund.add_argument("--receipt", required=True, metavar="NUMBER", help="the original sale's receipt")
    refund.add_argument("--till", default="", metavar="NAME", help="the original sale's till")
    refund.add_argument("--refund-receipt", default="", metavar="NUMBER",
                        help="the refund's own receipt number (default: the next generated one of the sale's till and day)")
    refund.add_argument("--amount", required=True, metavar="YUAN", help="the money given back, e.g. 23.45")
    refund.add_argument("--time", metavar="ISO", help="when it happened (default: now; shop time unless an offset is given)")
    refund.add_argument("--json", action="store_true", help="print the result as JSON")
    listing = add_command("list", "a member's purchases, newest first", run_list, actions)
    listing.add_argument("--member", required=True, metavar="KEY", help="card number, member number or phone")
    listing.add_argument("--limit", type=int, default=20, metavar="N", help="at most this many purchases (default: 20)")
    listing.add_argument("--offset", type=int, default=0, metavar="N", help="skip this many of the newest first (default: 0)")
    listing.add_argument("--json", action="store_true", help="print the purchases and totals as JSON")


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{text}' is not a time (e.g. 2026-11-22T14:30)."), field="time", text=text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=loyalty.SHOP_ZONE)


def _show(result: purchases.PurchaseResult, as_json: bool) -> None:
    if as_json:
        print_json(asdict(result))
    elif result.already_recorded:
        print(f"Already recorded (purchase {result.purchase_id}, receipt {result.receipt_no}); nothing changed. "
              f"Balance: {counted(result.balance, 'point')}.")
    else:
        tier = f" New tier: {result.new_tier}." if result.new_tier else ""
        print(f"Recorded purchase {result.purchase_id}, receipt {result.receipt_no}: {result.points:+d} {'point' if abs(result.points) == 1 else 'points'}, "
              f"balance {result.balance}.{tier}")


def run_add(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    with unit_of_work(db) as session:
        result = purchases.record_purchase(
            session, actor, member_id, receipt_no=args.receipt, till=args.till, amount_fen=purchases.parse_yuan(args.amount),
            occurred_at=parse_time(args.time), payment_method=args.payment,
        )
    _show(result, args.json)
    return 0


def run_refund(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    with unit_of_work(db) as session:
        result = purchases.refund(
            session, actor, original_till=args.till, original_receipt=args.receipt, refund_receipt=args.refund_receipt,
            amount_fen=purchases.parse_yuan(args.amount), occurred_at=parse_time(args.time),
        )
    _show(result, args.json)
    return 0


def run_list(db: Database, args: argparse.Namespace) -> int:
    member_id = member_id_for(db, args.member)
    with read_session(db) as session:
        rows = purchases.history_page(session, member_id, offset=args.offset, limit=args.limit)
        summary = purchases.totals(session, member_id)
    if args.json:
        print_json({"totals": asdict(summary), "purchases": [{**asdict(r), "kind": r.kind.value} for r in rows]})
        return 0
    for r in rows:
        local = r.occurred_at.astimezone(loyalty.SHOP_ZONE).strftime("%Y-%m-%d %H:%M")
        sign = "-" if r.kind.value == "refund" else ""
        print(f"{local}  {r.till:>3} {r.receipt_no:<14} {sign}¥{r.amount_fen / 100:,.2f}  {r.points:+d}")
    print(f"{counted(summary.visits, 'visit')}, ¥{summary.spend_fen / 100:,.2f} spent, average ¥{summary.average_basket_fen / 100:,.2f}")
    return 0
