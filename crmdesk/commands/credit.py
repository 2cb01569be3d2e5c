"""`crmdesk credit limit|suggest|freeze|unfreeze|repay|show|aging|overdue|note|writeoff|freeze-overdue`: credit (赊账).

Buying on credit is `crmdesk purchase add ... --payment credit` (or --credit YUAN for part of a basket). Days are
the shop's days (crmdesk/shop_time.py): --as-of DATE reads the accounts as at the end of that day. JSON gives money
as {"fen": ..., "yuan": "..."}, never a float.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from crmdesk import shop_time
from crmdesk.commands.common import acting_staff, counted, member_id_for, print_json
from crmdesk.commands.member_filters import parse_day
from crmdesk.commands.members import money
from crmdesk.db import Database
from crmdesk.services import credit as credit_service
from crmdesk.services import money_settings, payments
from crmdesk.services.member_query import money_text
from crmdesk.services.members import display_phone
from crmdesk.services.money import parse_yuan
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.shop_time import format_date, format_time

KEY_HELP = "card number, member number or phone"
AS_OF_HELP = "as at the end of this shop day, YYYY-MM-DD (default: today)"
NOTES_SHOWN = 3


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    credit = add_command("credit", "members' credit (赊账): limits, repayments, aging, the overdue list and collection", None)
    actions = credit.add_subparsers(dest="credit_command", metavar="ACTION", required=True)

    limit = add_command("limit", "grant or change a member's credit limit and term (supervisor or owner; audited)", run_limit, actions)
    limit.add_argument("member", metavar="KEY", help=KEY_HELP)
    limit.add_argument("limit", metavar="YUAN", help="the most the member may owe, e.g. 300 (0 stops new credit; what is owed stays owed)")
    limit.add_argument("--days", type=int, metavar="N", help="days to pay each charge, 1 to 365 (default: as before, else 30)")
    limit.add_argument("--reason", default="", metavar="TEXT", help="why (kept in the audit log)")

    suggest = add_command("suggest", "the limit crmdesk suggests from the member's history, with its reasons", run_suggest, actions)
    suggest.add_argument("member", metavar="KEY", help=KEY_HELP)
    suggest.add_argument("--json", action="store_true", help="print the suggestion and its reasons as JSON")

    freeze = add_command("freeze", "stop new credit for a member (what is owed can still be repaid)", run_freeze, actions)
    freeze.add_argument("member", metavar="KEY", help=KEY_HELP)
    freeze.add_argument("--reason", required=True, metavar="TEXT", help="why (the counter shows it when credit is refused)")
    unfreeze = add_command("unfreeze", "allow new credit for a member again", run_unfreeze, actions)
    unfreeze.add_argument("member", metavar="KEY", help=KEY_HELP)

    repay = add_command("repay", "money paid back, settling the oldest charges first", run_repay, actions)
    repay.add_argument("member", metavar="KEY", help=KEY_HELP)
    repay.add_argument("amount", metavar="YUAN", help="the money paid back, e.g. 100 (at most what is owed)")
    repay.add_argument("--pay", default="cash", metavar="METHOD",
                       help="how it was paid: cash/现金 (default), wechat/微信, alipay/支付宝 or card/银行卡")
    repay.add_argument("--json", action="store_true", help="print the repayment and the charges it settled as JSON")

    show = add_command("show", "a member's credit: owed, available, overdue, and the charges with what is left on each",
                       run_show, actions)
    show.add_argument("member", metavar="KEY", help=KEY_HELP)
    show.add_argument("--as-of", metavar="YYYY-MM-DD", help=AS_OF_HELP)
    show.add_argument("--json", action="store_true", help="print the account, its charges and latest notes as JSON")

    aging = add_command("aging", "what the shop is owed, by how long past due (not yet due, 1-30 ... over 90 days)", run_aging, actions)
    aging.add_argument("--as-of", metavar="YYYY-MM-DD", help=AS_OF_HELP)
    aging.add_argument("--json", action="store_true", help="print the buckets as JSON")

    overdue = add_command("overdue", "everyone with money overdue, longest first, with the last collection note and promise",
                          run_overdue, actions)
    overdue.add_argument("--as-of", metavar="YYYY-MM-DD", help=AS_OF_HELP)
    overdue.add_argument("--json", action="store_true", help="print the list as JSON")

    note = add_command("note", "催收: keep a contact about a member's debt and what they promised", run_note, actions)
    note.add_argument("member", metavar="KEY", help=KEY_HELP)
    note.add_argument("--text", required=True, help="what was said")
    note.add_argument("--channel", default="phone", choices=credit_service.NOTE_CHANNELS,
                      help="how the member was reached (default: phone)")
    note.add_argument("--promise", metavar="YYYY-MM-DD", help="the day the member promised to pay by (today or later)")
    note.add_argument("--promise-amount", metavar="YUAN", help="how much the member promised to pay")

    writeoff = add_command("writeoff", "坏账核销: write off a debt that will not be paid, oldest charges first (owner)",
                           run_writeoff, actions)
    writeoff.add_argument("member", metavar="KEY", help=KEY_HELP)
    writeoff.add_argument("--amount", metavar="YUAN", help="how much to write off (default: all that is owed)")
    writeoff.add_argument("--reason", required=True, metavar="TEXT", help="why (kept in the ledger and the audit log)")

    daily = add_command("freeze-overdue", "the daily check: stop credit for accounts overdue past the owner's limit "
                                          "and list the promises that passed", run_freeze_overdue, actions)
    daily.add_argument("--today", metavar="YYYY-MM-DD", help="check as on this shop day (default: today)")


# --------------------------------------------------------------------------- documents


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _account_line(info: credit_service.CreditInfo) -> str:
    if not info.has_account:
        return f"No credit granted; owes {money_text(info.owed_fen)}."
    stopped = f" Credit stopped: {info.frozen_reason or '-'}." if info.frozen else ""
    return (f"Limit {money_text(info.limit_fen)}, {counted(info.term_days, 'day')} to pay; owes {money_text(info.owed_fen)}, "
            f"{money_text(info.available_fen)} available.{stopped}")


def _account_document(info: credit_service.CreditInfo) -> dict[str, Any]:
    return {"member_id": info.member_id, "has_account": info.has_account, "limit": money(info.limit_fen),
            "term_days": info.term_days, "frozen": info.frozen, "frozen_reason": info.frozen_reason or None,
            "owed": money(info.owed_fen), "available": money(info.available_fen)}


def _note_document(note: credit_service.NoteRow) -> dict[str, Any]:
    return {"id": note.id, "at": note.at.isoformat(), "channel": note.channel, "text": note.text,
            "promised_on": _iso(note.promised_on),
            "promised_amount": money(note.promised_fen) if note.promised_fen is not None else None, "staff": note.staff_name or None}


def _note_text(note: credit_service.NoteRow) -> str:
    promise = ""
    if note.promised_on is not None:
        amount = f"{money_text(note.promised_fen)} " if note.promised_fen is not None else ""
        promise = f"; promised {amount}by {note.promised_on.isoformat()}"
    return f"{format_time(note.at)} {note.channel}: {note.text}{promise}"


def _settled_document(rows: list[credit_service.Settled]) -> list[dict[str, Any]]:
    return [{"charge_id": s.charge_id, "charged_on": format_date(s.at), "due_on": _iso(s.due_on), "receipt_no": s.receipt_no or None,
             "amount": money(s.amount_fen)} for s in rows]


def _settled_lines(rows: list[credit_service.Settled]) -> list[str]:
    return [f"  {money_text(s.amount_fen)} of charge {s.charge_id} of {format_date(s.at)}"
            f"{f' (receipt {s.receipt_no})' if s.receipt_no else ''}, due {_iso(s.due_on) or '-'}" for s in rows]


def _as_of(args: argparse.Namespace, option: str = "--as-of") -> date:
    return parse_day(getattr(args, option.lstrip("-").replace("-", "_")), option) or shop_time.today()


# --------------------------------------------------------------------------- before the sale


def run_limit(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    limit_fen = parse_yuan(args.limit, field="limit")
    with unit_of_work(db) as session:
        days = args.days if args.days is not None else credit_service.info(session, member_id).term_days
        info = credit_service.set_limit(session, actor, member_id, limit_fen, term_days=days, reason=args.reason)
    print(_account_line(info))
    return 0


def run_suggest(db: Database, args: argparse.Namespace) -> int:
    member_id = member_id_for(db, args.member)
    with read_session(db) as session:
        suggestion = credit_service.suggest_limit(session, member_id)
        info = credit_service.info(session, member_id)
    reasons = [template.format(**values) for template, values in suggestion.reasons]
    if args.json:
        print_json({"member_id": member_id, "limit": money(suggestion.limit_fen), "term_days": suggestion.term_days,
                    "reasons": reasons, "current": _account_document(info)})
        return 0
    print(f"Suggested limit: {money_text(suggestion.limit_fen)}, {counted(suggestion.term_days, 'day')} to pay. A person decides "
          f"(crmdesk credit limit KEY YUAN).")
    for reason in reasons:
        print(f"  - {reason}")
    print(f"Now: {_account_line(info)}")
    return 0


def run_freeze(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    with unit_of_work(db) as session:
        info = credit_service.set_frozen(session, actor, member_id, True, reason=args.reason)
    print(f"Credit stopped ({info.frozen_reason}); owes {money_text(info.owed_fen)}, which can still be repaid.")
    return 0


def run_unfreeze(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    with unit_of_work(db) as session:
        info = credit_service.set_frozen(session, actor, member_id, False)
    print(f"Credit allowed again. {_account_line(info)}")
    return 0


# --------------------------------------------------------------------------- after the sale


def run_repay(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    amount_fen = parse_yuan(args.amount)
    method = payments.method_code(args.pay, payments.TILL_METHODS, field="payment_method")
    with unit_of_work(db) as session:
        result = credit_service.repay(session, actor, member_id, amount_fen, payment_method=method)
        settled = credit_service.settlements(session, result.entry_id)
    if args.json:
        print_json({"entry_id": result.entry_id, "member_id": member_id, "amount": money(result.amount_fen),
                    "payment_method": method, "owed": money(result.owed_fen), "settled": _settled_document(settled)})
        return 0
    print(f"Repaid {money_text(result.amount_fen)} ({payments.PAYMENT_METHODS[method]}); owes {money_text(result.owed_fen)}. "
          f"It settles, oldest first:")
    for line in _settled_lines(settled):
        print(line)
    return 0


def run_writeoff(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    amount_fen = parse_yuan(args.amount) if args.amount is not None else None
    with unit_of_work(db) as session:
        result = credit_service.write_off(session, actor, member_id, amount_fen=amount_fen, reason=args.reason)
        settled = credit_service.settlements(session, result.entry_id)
    print(f"Wrote off {money_text(result.amount_fen)}; owes {money_text(result.owed_fen)}. It settles, oldest first:")
    for line in _settled_lines(settled):
        print(line)
    return 0


def run_show(db: Database, args: argparse.Namespace) -> int:
    member_id = member_id_for(db, args.member)
    as_of = _as_of(args)
    with read_session(db) as session:
        info = credit_service.info(session, member_id, today=as_of)
        charges = credit_service.open_charges(session, [member_id], as_of).get(member_id, [])
        aging = credit_service.aging(session, as_of=as_of, member_id=member_id)
        notes = credit_service.notes(session, member_id)[:NOTES_SHOWN]
    owed = sum(charge.outstanding_fen for charge in charges)  # as at the end of that day
    available = 0 if info.frozen else max(0, info.limit_fen - owed)
    if args.json:
        print_json({**_account_document(info), "as_of": as_of.isoformat(), "owed": money(owed), "available": money(available),
                    "overdue": money(info.overdue_fen), "oldest_overdue_days": info.oldest_overdue_days,
                    "aging": {bucket: money(fen) for bucket, fen in aging.buckets.items()},
                    "charges": [{"id": c.id, "charged_at": c.at.isoformat(), "due_on": c.due_on.isoformat(), "amount": money(c.amount_fen),
                                 "left": money(c.outstanding_fen), "receipt_no": c.receipt_no or None,
                                 "days_overdue": c.days_overdue, "bucket": c.bucket} for c in charges],
                    "notes": [_note_document(note) for note in notes]})
        return 0
    limit = (f"limit {money_text(info.limit_fen)}, {counted(info.term_days, 'day')} to pay" if info.has_account
             else "no credit granted")
    stopped = f"; credit stopped: {info.frozen_reason or '-'}" if info.frozen else ""
    print(f"As of {as_of.isoformat()}: owes {money_text(owed)}, {money_text(available)} available ({limit}{stopped}).")
    if info.overdue_fen:
        print(f"Overdue: {money_text(info.overdue_fen)}, the oldest {counted(info.oldest_overdue_days, 'day')}.")
    for c in charges:
        receipt = f"receipt {c.receipt_no}" if c.receipt_no else "opening debt"
        late = f", {counted(c.days_overdue, 'day')} overdue" if c.days_overdue else ""
        print(f"  charge {c.id:>5}  {format_date(c.at)}  {money_text(c.amount_fen):>11}, left {money_text(c.outstanding_fen):>11}"
              f"  due {c.due_on.isoformat()}{late}  {receipt}")
    for note in notes:
        print(f"  note: {_note_text(note)}")
    return 0


def run_aging(db: Database, args: argparse.Namespace) -> int:
    as_of = _as_of(args)
    with read_session(db) as session:
        aging = credit_service.aging(session, as_of=as_of)
    if args.json:
        print_json({"as_of": as_of.isoformat(), "members": aging.members, "total": money(aging.total_fen),
                    "overdue": money(aging.overdue_fen),
                    "buckets": [{"bucket": bucket, "label": credit_service.BUCKET_LABELS[bucket], "amount": money(fen)}
                                for bucket, fen in aging.buckets.items()]})
        return 0
    print(f"Owed to the shop as of {as_of.isoformat()}: {money_text(aging.total_fen)} by {counted(aging.members, 'member')}, "
          f"{money_text(aging.overdue_fen)} overdue.")
    for bucket, fen in aging.buckets.items():
        print(f"  {credit_service.BUCKET_LABELS[bucket]:<22} {money_text(fen):>14}")
    return 0


def run_overdue(db: Database, args: argparse.Namespace) -> int:
    as_of = _as_of(args)
    with read_session(db) as session:
        rows = credit_service.overdue_members(session, as_of=as_of)
        latest = credit_service.latest_notes(session, [row.member_id for row in rows])
    if args.json:
        print_json({"as_of": as_of.isoformat(), "members": [
            {"member_id": row.member_id, "member_no": row.member_no, "name": row.name, "phone": row.phone,
             "owed": money(row.owed_fen), "overdue": money(row.overdue_fen), "oldest_overdue_days": row.oldest_overdue_days,
             "last_note": _note_document(latest[row.member_id]) if row.member_id in latest else None,
             "promised_on": _iso(row.promised_on), "promise_broken": row.promise_passed} for row in rows]})
        return 0
    if not rows:
        print(f"Nobody is overdue as of {as_of.isoformat()}.")
        return 0
    print(f"Overdue as of {as_of.isoformat()}: {counted(len(rows), 'member')}, "
          f"{money_text(sum(row.overdue_fen for row in rows))}.")
    for row in rows:
        broken = "  PROMISE BROKEN" if row.promise_passed else ""
        print(f"{row.member_no}  {row.name}  {display_phone(row.phone)}  owes {money_text(row.owed_fen)}, "
              f"{money_text(row.overdue_fen)} overdue, the oldest {counted(row.oldest_overdue_days, 'day')}{broken}")
        note = latest.get(row.member_id)
        print(f"    last note: {_note_text(note)}" if note else "    no collection note yet")
    return 0


def run_note(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member)
    promised_on = parse_day(args.promise, "--promise")
    promised_fen = parse_yuan(args.promise_amount, field="promised_fen") if args.promise_amount is not None else None
    with unit_of_work(db) as session:
        note = credit_service.add_note(session, actor, member_id, text=args.text, channel=args.channel,
                                       promised_on=promised_on, promised_fen=promised_fen)
    print(f"Note {note.id} kept: {_note_text(note)}.")
    return 0


def run_freeze_overdue(db: Database, args: argparse.Namespace) -> int:
    today = _as_of(args, "--today")
    with unit_of_work(db) as session:
        days = money_settings.get(session).credit_freeze_after_days
        frozen = credit_service.freeze_overdue(session, today=today)
        reminders = credit_service.broken_promises(session, today=today)
    if days:
        print(f"Credit stopped for {counted(frozen, 'member')} more than {counted(days, 'day')} overdue as of {today.isoformat()}.")
    else:
        print("Credit never stops by itself (set the days with: crmdesk wallet settings --credit-freeze-after DAYS).")
    for row in reminders:
        print(f"Promise passed: {row.member_no} {row.name} {display_phone(row.phone)} promised to pay by "
              f"{row.promised_on.isoformat() if row.promised_on else '-'}; {money_text(row.overdue_fen)} overdue.")
    return 0
