"""`crmdesk wallet rule|topup|show|cashout|adjust|pin|settings`: members' stored value (储值) from the command line.

Amounts are yuan (services.money.parse_yuan); JSON gives money as {"fen": ..., "yuan": "..."}, never a float.
Paying from the wallet is `crmdesk purchase add ... --payment wallet` (or --wallet YUAN for part of a basket).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from crmdesk.commands.common import acting_staff, member_id_for, print_json, read_secret
from crmdesk.commands.member_filters import parse_day
from crmdesk.commands.members import money
from crmdesk.db import Database
from crmdesk.models import DrawOrder
from crmdesk.services import money_settings, payments
from crmdesk.services import wallet as wallet_service
from crmdesk.services.member_query import money_text, tier_by_name
from crmdesk.services.money import parse_yuan
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.shop_time import format_time

DRAW_WORDS = {"proportional": DrawOrder.PROPORTIONAL, "principal-first": DrawOrder.PRINCIPAL_FIRST,
              "bonus-first": DrawOrder.BONUS_FIRST}
PAY_HELP = "how it was paid: cash/现金 (default), wechat/微信, alipay/支付宝 or card/银行卡 (recorded, not processed)"
KEY_HELP = "card number, member number or phone"


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    wallet = add_command("wallet", "members' stored value (储值): top-up bonuses, top-ups, balances, cash-out, corrections", None)
    actions = wallet.add_subparsers(dest="wallet_command", metavar="ACTION", required=True)

    rule = add_command("rule", "the owner's top-up bonuses (充200送20)", None, actions)
    rules = rule.add_subparsers(dest="rule_command", metavar="ACTION", required=True)
    add = add_command("add", "a top-up of at least --min gets --bonus added (the biggest bonus reached applies)", run_rule_add, rules)
    add.add_argument("--min", required=True, metavar="YUAN", help="the top-up needed, e.g. 200")
    add.add_argument("--bonus", required=True, metavar="YUAN", help="what the shop adds, e.g. 20 (less than --min)")
    add.add_argument("--from", dest="starts_on", metavar="YYYY-MM-DD", help="first day it applies (default: at once)")
    add.add_argument("--to", dest="ends_on", metavar="YYYY-MM-DD", help="last day it applies (default: no end)")
    add.add_argument("--tier", metavar="NAME", help="only for members of this tier (default: everyone)")
    listing = add_command("list", "the top-up bonuses", run_rule_list, rules)
    listing.add_argument("--all", action="store_true", help="also the bonuses that were ended")
    listing.add_argument("--json", action="store_true", help="print the bonuses as JSON")
    end = add_command("end", "stop a top-up bonus from now on (top-ups it rewarded keep their bonus)", run_rule_end, rules)
    end.add_argument("rule_id", type=int, metavar="ID", help="the bonus's number, as `wallet rule list` shows it")

    topup = add_command("topup", "money paid into a member's wallet, with the bonus the rules give (and why)", run_topup, actions)
    topup.add_argument("member", metavar="KEY", help=KEY_HELP)
    topup.add_argument("amount", metavar="YUAN", help="the money paid in, e.g. 200")
    topup.add_argument("--pay", default="cash", metavar="METHOD", help=PAY_HELP)
    topup.add_argument("--json", action="store_true", help="print the top-up, its bonus and the balance as JSON")

    show = add_command("show", "a member's balance (principal and bonus) and latest wallet entries", run_show, actions)
    show.add_argument("member", metavar="KEY", help=KEY_HELP)
    show.add_argument("--limit", type=int, default=10, metavar="N", help="at most this many entries, newest first (default: 10)")
    show.add_argument("--json", action="store_true", help="print the balance and entries as JSON")

    cashout = add_command("cashout", "退卡退余额: pay the principal back and close the wallet; the bonus is forfeited "
                                     "(supervisor or owner)", run_cashout, actions)
    cashout.add_argument("member", metavar="KEY", help=KEY_HELP)
    cashout.add_argument("--pay", default="cash", metavar="METHOD",
                         help="how the principal is paid back: cash/现金 (default), wechat/微信, alipay/支付宝 or card/银行卡")
    cashout.add_argument("--reason", default="", metavar="TEXT", help="why the member closes the wallet (optional; audited)")

    adjust = add_command("adjust", "correct a wallet by hand, with the reason (owner)", run_adjust, actions)
    adjust.add_argument("member", metavar="KEY", help=KEY_HELP)
    adjust.add_argument("--principal", metavar="YUAN", help="add to the principal, or take away with a minus (e.g. -5)")
    adjust.add_argument("--bonus", metavar="YUAN", help="add to the bonus, or take away with a minus (e.g. -5)")
    adjust.add_argument("--reason", required=True, metavar="TEXT", help="why (kept in the wallet ledger and the audit log)")

    pin = add_command("pin", "set or remove the member's payment PIN (asked for wallet payments above the owner's amount)",
                      run_pin, actions)
    pin.add_argument("member", metavar="KEY", help=KEY_HELP)
    choice = pin.add_mutually_exclusive_group()
    choice.add_argument("--pin-stdin", action="store_true",
                        help="read the new PIN (4 to 6 digits) from standard input (default: asked twice at the terminal)")
    choice.add_argument("--remove", action="store_true", help="remove the PIN: wallet payments no longer ask for one")

    settings = add_command("settings", "show or change the owner's settings for stored value and credit (no options: show)",
                           run_settings, actions)
    settings.add_argument("--cap", metavar="YUAN", help="the most one member's wallet may hold, bonus included (at most 5000 "
                                                          "under the prepaid card rules)")
    settings.add_argument("--prepaid-rules", choices=("on", "off"),
                          help="apply the single-purpose prepaid card rules (单用途商业预付卡管理办法): the cap on a wallet")
    settings.add_argument("--draw", choices=tuple(DRAW_WORDS),
                          help="how a wallet payment draws on principal and bonus (default: proportional)")
    settings.add_argument("--pin-above", metavar="YUAN",
                          help="a member who set a PIN types it for wallet payments above this amount; 0: for every one")
    settings.add_argument("--credit-freeze-after", type=int, metavar="DAYS",
                          help="stop a member's credit by itself when a charge is this many days overdue; 0: never")
    settings.add_argument("--credit-max-limit", metavar="YUAN", help="the highest credit limit crmdesk suggests")
    settings.add_argument("--json", action="store_true", help="print the settings as JSON")


# --------------------------------------------------------------------------- documents


def signed(fen: int) -> str:
    """+¥20.00 / -¥5.00: a ledger movement."""
    return f"+{money_text(fen)}" if fen > 0 else money_text(fen)


def balance_document(balance: wallet_service.Balance) -> dict[str, Any]:
    return {"total": money(balance.total_fen), "principal": money(balance.principal_fen), "bonus": money(balance.bonus_fen)}


def balance_text(balance: wallet_service.Balance) -> str:
    return (f"{money_text(balance.total_fen)} (principal {money_text(balance.principal_fen)}, "
            f"bonus {money_text(balance.bonus_fen)})")


def _rule_document(rule: wallet_service.BonusRule) -> dict[str, Any]:
    return {"id": rule.id, "label": rule.label, "min_topup": money(rule.min_topup_fen), "bonus": money(rule.bonus_fen),
            "starts_on": rule.starts_on.isoformat() if rule.starts_on else None,
            "ends_on": rule.ends_on.isoformat() if rule.ends_on else None, "tier": rule.tier_name or None, "active": rule.active}


def _rule_text(rule: wallet_service.BonusRule) -> str:
    window = ""
    if rule.starts_on or rule.ends_on:
        window = f", {rule.starts_on.isoformat() if rule.starts_on else '...'} to {rule.ends_on.isoformat() if rule.ends_on else '...'}"
    tier = f", {rule.tier_name} only" if rule.tier_name else ""
    ended = " (ended)" if not rule.active else ""
    return f"{rule.label}: a top-up of {money_text(rule.min_topup_fen)} or more gets {money_text(rule.bonus_fen)}{window}{tier}{ended}"


def _settings_document(rules: money_settings.MoneyRules) -> dict[str, Any]:
    return {"prepaid_rules": rules.prepaid_rules, "wallet_cap": money(rules.wallet_cap_fen),
            "draw_order": next(word for word, order in DRAW_WORDS.items() if order is rules.draw_order),
            "pin_above": money(rules.pin_above_fen), "credit_freeze_after_days": rules.credit_freeze_after_days,
            "credit_max_limit": money(rules.credit_max_limit_fen)}


def _why(why: tuple[str, dict[str, object]]) -> str:
    template, values = why
    return template.format(**values)


# --------------------------------------------------------------------------- bonus rules


def run_rule_add(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    min_fen, bonus_fen = parse_yuan(args.min, field="min_topup"), parse_yuan(args.bonus, field="bonus")
    starts_on, ends_on = parse_day(args.starts_on, "--from"), parse_day(args.ends_on, "--to")
    tier_id = None
    if args.tier:
        with read_session(db) as session:
            tier_id = tier_by_name(session, args.tier).id
    with unit_of_work(db) as session:
        rule = wallet_service.add_bonus_rule(session, actor, min_topup_fen=min_fen, bonus_fen=bonus_fen, starts_on=starts_on,
                                             ends_on=ends_on, tier_id=tier_id)
    print(f"Added top-up bonus {rule.id}, {_rule_text(rule)}.")
    return 0


def run_rule_list(db: Database, args: argparse.Namespace) -> int:
    with read_session(db) as session:
        rules = wallet_service.bonus_rules(session, include_inactive=args.all)
    if args.json:
        print_json({"rules": [_rule_document(rule) for rule in rules]})
    elif not rules:
        print("No top-up bonuses." + ("" if args.all else " (--all shows those that were ended.)"))
    else:
        for rule in rules:
            print(f"{rule.id:>4}  {_rule_text(rule)}")
    return 0


def run_rule_end(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    with unit_of_work(db) as session:
        wallet_service.end_bonus_rule(session, actor, args.rule_id)
        rule = next(r for r in wallet_service.bonus_rules(session, include_inactive=True) if r.id == args.rule_id)
    print(f"Top-up bonus {rule.id} ({rule.label}) ended; the top-ups it rewarded keep their bonus.")
    return 0


# --------------------------------------------------------------------------- the wallet


def run_topup(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    amount_fen = parse_yuan(args.amount)
    method = payments.method_code(args.pay, payments.TILL_METHODS, field="payment_method")
    with unit_of_work(db) as session:
        result = wallet_service.top_up(session, actor, member_id, amount_fen, payment_method=method)
    if args.json:
        print_json({"entry_id": result.entry_id, "member_id": member_id, "amount": money(result.principal_fen),
                    "bonus": money(result.bonus_fen), "payment_method": method,
                    "rule": {"id": result.rule.id, "label": result.rule.label} if result.rule else None,
                    "why": _why(result.why), "balance": balance_document(result.balance)})
        return 0
    bonus = f" + bonus {money_text(result.bonus_fen)}" if result.bonus_fen else ""
    print(f"Topped up {money_text(result.principal_fen)}{bonus} ({payments.PAYMENT_METHODS[method]}). {_why(result.why)}")
    print(f"Balance: {balance_text(result.balance)}.")
    print(f"Receipt W{result.entry_id:06d}: crmdesk report slip topup W{result.entry_id:06d} prints it.")
    return 0


def _entry_document(row: wallet_service.WalletRow) -> dict[str, Any]:
    return {"id": row.id, "at": row.at.isoformat(), "kind": row.kind.value, "amount": money(row.principal_fen + row.bonus_fen),
            "principal": money(row.principal_fen), "bonus": money(row.bonus_fen), "receipt_no": row.receipt_no or None,
            "payment_method": row.payment_method or None, "staff": row.staff_name or None, "reason": row.reason or None}


def run_show(db: Database, args: argparse.Namespace) -> int:
    member_id = member_id_for(db, args.member)
    with read_session(db) as session:
        balance = wallet_service.balance(session, member_id)
        pin = wallet_service.has_pin(session, member_id)
        rows = wallet_service.ledger_page(session, member_id, limit=max(0, args.limit))
    if args.json:
        print_json({"member_id": member_id, "balance": balance_document(balance), "pin_set": pin,
                    "entries": [_entry_document(row) for row in rows]})
        return 0
    print(f"Balance: {balance_text(balance)}; {'a payment PIN is set' if pin else 'no payment PIN'}.")
    for row in rows:
        label = wallet_service.KIND_LABELS[row.kind]
        where = row.receipt_no and f"receipt {row.receipt_no}" or payments.PAYMENT_METHODS.get(row.payment_method, row.payment_method)
        extra = "  ".join(part for part in (where, row.staff_name, row.reason) if part)
        print(f"  {format_time(row.at)}  {label:<15} {signed(row.principal_fen + row.bonus_fen):>12}  "
              f"(principal {signed(row.principal_fen)}, bonus {signed(row.bonus_fen)})  {extra}".rstrip())
    if not rows:
        print("  No wallet entries yet.")
    return 0


def run_cashout(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    method = payments.method_code(args.pay, payments.TILL_METHODS, field="payment_method")
    with unit_of_work(db) as session:
        result = wallet_service.cash_out(session, actor, member_id, payment_method=method, reason=args.reason)
    print(f"Paid back {money_text(result.principal_fen)} ({payments.PAYMENT_METHODS[method]}); "
          f"bonus forfeited: {money_text(result.bonus_forfeited_fen)}. The wallet now holds ¥0.00.")
    print(f"Slip W{result.entry_id:06d} for the member to sign: crmdesk report slip cashout W{result.entry_id:06d} prints it.")
    return 0


def run_adjust(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    principal = parse_yuan(args.principal, field="principal") if args.principal is not None else 0
    bonus = parse_yuan(args.bonus, field="bonus") if args.bonus is not None else 0
    with unit_of_work(db) as session:
        balance = wallet_service.adjust(session, actor, member_id, principal_fen=principal, bonus_fen=bonus, reason=args.reason)
    print(f"Corrected by principal {signed(principal)}, bonus {signed(bonus)}. Balance: {balance_text(balance)}.")
    return 0


def run_pin(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    pin = None if args.remove else read_secret("The member's new payment PIN: ", args.pin_stdin)
    with unit_of_work(db) as session:
        wallet_service.set_pin(session, actor, member_id, pin)
    print("Payment PIN removed." if pin is None else "Payment PIN set.")
    return 0


def run_settings(db: Database, args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {}
    if args.cap is not None:
        changes["wallet_cap_fen"] = parse_yuan(args.cap, field="wallet_cap_fen")
    if args.prepaid_rules is not None:
        changes["prepaid_rules"] = args.prepaid_rules == "on"
    if args.draw is not None:
        changes["draw_order"] = DRAW_WORDS[args.draw]
    if args.pin_above is not None:
        changes["pin_above_fen"] = parse_yuan(args.pin_above, field="pin_above_fen")
    if args.credit_freeze_after is not None:
        changes["credit_freeze_after_days"] = args.credit_freeze_after
    if args.credit_max_limit is not None:
        changes["credit_max_limit_fen"] = parse_yuan(args.credit_max_limit, field="credit_max_limit_fen")
    if changes:
        actor = acting_staff(db, args)
        with unit_of_work(db) as session:
            rules = money_settings.save(session, actor, replace(money_settings.get(session), **changes))
    else:
        with read_session(db) as session:
            rules = money_settings.get(session)
    if args.json:
        print_json(_settings_document(rules))
        return 0
    cap = f"on: a wallet holds at most {money_text(rules.wallet_cap_fen)}" if rules.prepaid_rules else "off: no cap on a wallet"
    freeze = f"after {rules.credit_freeze_after_days} days overdue" if rules.credit_freeze_after_days else "never by itself"
    pin = f"above {money_text(rules.pin_above_fen)}" if rules.pin_above_fen else "for every payment"
    print(f"Prepaid card rules:             {cap}\n"
          f"Wallet payments draw on:        {wallet_service.DRAW_LABELS[rules.draw_order].lower()}\n"
          f"Member's payment PIN asked:     {pin}\n"
          f"Credit stops:                   {freeze}\n"
          f"Highest suggested credit limit: {money_text(rules.credit_max_limit_fen)}")
    return 0
