"""`crmdesk purchase add|refund|list`: purchases at the counter, from the command line.

A sale may be paid from the member's stored value (储值) and on their credit account (赊账), wholly or in part
(--wallet, --credit; --payment says how the rest was paid); a refund says what went back to the wallet and off the
debt."""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from crmdesk.commands.common import acting_staff, counted, member_id_for, print_json
from crmdesk.commands.members import money
from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.services import auth, credit, loyalty, payments, purchases, wallet
from crmdesk.services.member_query import money_text
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
    add.add_argument("--payment", default="", metavar="METHOD",
                     help="how it was paid (with --wallet or --credit: the rest of it): cash/现金, wechat/微信, alipay/支付宝, "
                          "card/银行卡 or other/其他; wallet/储值 pays from the member's stored value, credit/赊账 puts it on "
                          "their credit account")
    add.add_argument("--wallet", metavar="YUAN", help="this much of the amount from the member's stored value (储值)")
    add.add_argument("--credit", metavar="YUAN", help="this much of the amount on the member's credit account (赊账)")
    add.add_argument("--pin-stdin", action="store_true",
                     help="read the member's payment PIN from standard input (asked for wallet payments above the "
                          "amount the owner set; a wrong one is counted)")
    add.add_argument("--approved-by", metavar="NAME",
                     help="a supervisor or the owner approving credit beyond the limit (or a frozen member's purchase); "
                          "their password or PIN is asked for, or read with --approver-secret-stdin")
    add.add_argument("--approver-secret-stdin", action="store_true",
                     help="read the approver's password or PIN from standard input (the line after the member's PIN "
                          "when both are read)")
    add.add_argument("--json", action="store_true", help="print the result as JSON")
    refund = add_command("refund", "give money back on a sale; its points go back in proportion, and what was paid from the "
                                   "wallet or on credit goes back there", run_refund, actions)
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


@dataclass(frozen=True)
class Accounts:
    """How a purchase was paid (or a refund given back), with the member's wallet and credit afterwards."""

    paid: payments.Breakdown
    wallet_after: wallet.Balance
    credit_after: credit.CreditInfo


def _accounts(session: Session, result: purchases.PurchaseResult) -> Accounts:
    return Accounts(payments.breakdown(session, result.purchase_id), wallet.balance(session, result.member_id),
                    credit.info(session, result.member_id))


def _accounts_document(accounts: Accounts) -> dict[str, Any]:
    paid = accounts.paid
    return {
        "wallet": {"amount": money(abs(paid.wallet_fen)), "principal": money(abs(paid.wallet_principal_fen)),
                   "bonus": money(abs(paid.wallet_bonus_fen)), "balance": money(accounts.wallet_after.total_fen)}
                  if paid.wallet_fen else None,
        "credit": {"amount": money(abs(paid.credit_fen)), "due_on": paid.due_on.isoformat() if paid.due_on else None,
                   "owed": money(accounts.credit_after.owed_fen), "available": money(accounts.credit_after.available_fen)}
                  if paid.credit_fen else None,
        "rest": {"amount": money(paid.rest_fen), "payment_method": paid.method or None},
    }


def method_text(code: str) -> str:
    """A way of paying as the command line names it: its English label, or an old system's code as it is."""
    return payments.PAYMENT_METHODS.get(code, code)


def _accounts_lines(accounts: Accounts, *, refund: bool) -> list[str]:
    """What went from or back to the wallet, onto or off the debt, and the rest; nothing when neither account was used."""
    paid = accounts.paid
    if not paid.wallet_fen and not paid.credit_fen:
        return []
    lines = []
    if paid.wallet_fen:
        lines.append(f"  {money_text(abs(paid.wallet_fen))} {'back to' if refund else 'from'} the wallet "
                     f"(principal {money_text(abs(paid.wallet_principal_fen))}, bonus {money_text(abs(paid.wallet_bonus_fen))}); "
                     f"the wallet holds {money_text(accounts.wallet_after.total_fen)}.")
    if paid.credit_fen:
        owed = accounts.credit_after
        what = "off the debt" if refund else f"on credit, due {paid.due_on.isoformat() if paid.due_on else '-'}"
        lines.append(f"  {money_text(abs(paid.credit_fen))} {what}; owes {money_text(owed.owed_fen)}, "
                     f"{money_text(owed.available_fen)} of credit left.")
    if paid.rest_fen:
        how = method_text(paid.method) if paid.method else "way of paying not recorded"
        lines.append(f"  The rest, {money_text(paid.rest_fen)}, {'given back' if refund else 'paid'}: {how}.")
    return lines


def _show(result: purchases.PurchaseResult, accounts: Accounts, as_json: bool, *, refund: bool = False) -> None:
    if as_json:
        print_json({**asdict(result), **_accounts_document(accounts)})
        return
    if result.already_recorded:
        print(f"Already recorded ({'refund' if refund else 'purchase'} {result.purchase_id}, receipt {result.receipt_no}); "
              f"nothing changed. Balance: {counted(result.balance, 'point')}.")
    else:
        tier = f" New tier: {result.new_tier}." if result.new_tier else ""
        print(f"Recorded {'refund' if refund else 'purchase'} {result.purchase_id}, receipt {result.receipt_no}: "
              f"{result.points:+d} {'point' if abs(result.points) == 1 else 'points'}, balance {result.balance}.{tier}")
    for line in _accounts_lines(accounts, refund=refund):
        print(line)


def _part(text: str | None, field: str) -> int:
    """A part of the amount paid from the wallet or on credit: nothing, or a positive amount."""
    if text is None:
        return 0
    fen = purchases.parse_yuan(text, field=field)
    purchases.check_amount(fen, field=field)
    return fen


def _secret_line(prompt: str, from_stdin: bool, option: str) -> str:
    """A PIN or password read once: the next line of standard input, else asked at a terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "No terminal to ask for the secret: pipe it in and add {option}."),
                           option=option)
    return getpass.getpass(prompt)


def run_add(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    amount_fen, occurred_at = purchases.parse_yuan(args.amount), parse_time(args.time)
    method = payments.method_code(args.payment) if args.payment.strip() else ""
    paid = payments.split(amount_fen, method, wallet_fen=_part(args.wallet, "wallet"), credit_fen=_part(args.credit, "credit"))
    if args.approver_secret_stdin and not args.approved_by:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{option} goes with {other}."), option="--approver-secret-stdin",
                           other="--approved-by NAME")
    pin = sys.stdin.readline().rstrip("\r\n") if args.pin_stdin else None
    approver = None
    if args.approved_by:
        secret = _secret_line(f"Password or PIN of {args.approved_by}: ", args.approver_secret_stdin, "--approver-secret-stdin")
        approver = auth.authenticate(db, args.approved_by, secret)
    if pin is not None and paid.wallet_fen:
        with read_session(db) as session:
            member_has_pin = wallet.has_pin(session, member_id)
        if member_has_pin:  # a wrong PIN is counted; wallet payments wait after too many
            wallet.check_pin(db, member_id, pin)
    with unit_of_work(db) as session:
        result = purchases.record_purchase(
            session, actor, member_id, receipt_no=args.receipt, till=args.till, amount_fen=amount_fen,
            occurred_at=occurred_at, payment_method=paid.method, wallet_fen=paid.wallet_fen,
            credit_fen=paid.credit_fen, pay_pin=pin, approved_by=approver,
        )
        accounts = _accounts(session, result)
    _show(result, accounts, args.json)
    return 0


def run_refund(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    amount_fen = purchases.parse_yuan(args.amount)
    with unit_of_work(db) as session:
        result = purchases.refund(
            session, actor, original_till=args.till, original_receipt=args.receipt, refund_receipt=args.refund_receipt,
            amount_fen=amount_fen, occurred_at=parse_time(args.time),
        )
        accounts = _accounts(session, result)
    _show(result, accounts, args.json, refund=True)
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
