"""`crmdesk report member|members|cards|complaints|loyalty|liability|aging|statement|review ... --out FILE.pdf`: printed
documents; `crmdesk report slip topup|cashout|iou ID (--out FILE.pdf | --printer ADDRESS)`: the counter's slips.

Documents come out in the app's language (Settings on this PC, else the
system's), or the one given with `crmdesk --lang zh_CN report ...`.
"""

from __future__ import annotations

import argparse

from crmdesk.commands.common import acting_staff, member_id_for, print_json
from crmdesk.commands.member_filters import add_member_filter_options, filter_from_args, parse_day
from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.i18n import printing_language
from crmdesk.reports.cards import CardLayout
from crmdesk.reports.documents import (
    AgingRequest, BusinessReviewRequest, CardsRequest, ComplaintsMonthRequest, DocumentRequest, LiabilityRequest,
    LoyaltySummaryRequest, MemberListRequest, MemberReportRequest, SlipRequest, StatementRequest, check_pdf_path,
    make_document, write_pdf,
)
from crmdesk.reports.slips import ROLL_WIDTHS
from crmdesk.services import member_query
from crmdesk.services.complaint_figures import parse_month
from crmdesk.services.member_query import COLUMN_LABELS
from crmdesk.services.slips import SLIP_KINDS
from crmdesk.services.uow import read_session
from crmdesk.texts import QT_TRANSLATE_NOOP


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    report = add_command("report", "print documents to PDF: member report, member list, cards, complaints, loyalty, "
                                   "stored-value liability, credit aging, statements, the monthly business review; slips "
                                   "for the counter", None)
    subs = report.add_subparsers(dest="report_command", metavar="DOCUMENT", required=True)

    member = add_command("member", "one member's report (details, points, purchases, offers, complaints)", run_member, subs)
    member.add_argument("key", metavar="KEY", help="card number, member number or phone")
    _full_phones(member)
    _out(member)

    members = add_command("members", "the member list, filtered and sorted, as a table with totals", run_members, subs)
    add_member_filter_options(members)
    members.add_argument("--landscape", action="store_true", help="landscape pages, with more columns")
    members.add_argument("--columns", metavar="LIST", help=f"comma-separated columns: {','.join(COLUMN_LABELS)}")
    _full_phones(members)
    _out(members)

    cards = add_command("cards", "membership cards: 10 per A4 sheet, or one per page for a card printer", run_cards, subs)
    add_member_filter_options(cards)
    cards.add_argument("--member", action="append", metavar="KEY",
                       help="only this member's card (card number, member number or phone; repeatable)")
    cards.add_argument("--single", action="store_true", help="one card per page, 85.6 x 54 mm, for a card printer")
    cards.add_argument("--qr", action="store_true", help="add a QR code of the card number")
    _out(cards)

    complaints = add_command("complaints", "a month's complaints and satisfaction, with charts and the overdue list",
                             run_complaints, subs)
    complaints.add_argument("--month", required=True, metavar="YYYY-MM", help="the month, e.g. 2026-10")
    _out(complaints)

    loyalty = add_command("loyalty", "points issued, redeemed and expired, the points liability and offer redemptions",
                          run_loyalty, subs)
    loyalty.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="first day of the period")
    loyalty.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="last day of the period (included)")
    _out(loyalty)

    liability = add_command("liability", "the month's stored-value liability: opening, top-ups, bonus, payments, refunds, "
                                          "cash-outs, corrections, closing; principal and bonus apart", run_liability, subs)
    liability.add_argument("--month", required=True, metavar="YYYY-MM", help="the month, e.g. 2026-11")
    _out(liability)

    aging = add_command("aging", "credit aging: what members owe by days overdue, and who, overdue first", run_aging, subs)
    aging.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD", help="as of the end of this day (default: today)")
    _out(aging)

    statement = add_command("statement", "one member's statement of account (credit) for a period, with a line to sign",
                            run_statement, subs)
    statement.add_argument("key", metavar="KEY", help="card number, member number or phone")
    statement.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="first day of the period")
    statement.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="last day of the period (included)")
    _full_phones(statement)
    _out(statement)

    review = add_command("review", "the owner's monthly business review (经营月报): sales, visits and members against the "
                                   "month before and a year earlier, customer groups, points, satisfaction, complaints and "
                                   "churn alerts, with charts", run_review, subs)
    review.add_argument("--month", required=True, metavar="YYYY-MM", help="the month, e.g. 2026-10")
    _out(review)

    slip = add_command("slip", "a counter slip as a small PDF for a 58/80 mm roll, or straight to a receipt printer (ESC/POS)",
                       run_slip, subs)
    slip.add_argument("kind", choices=SLIP_KINDS, help="topup: top-up receipt; cashout: cash-out slip; iou: IOU slip (赊账单)")
    slip.add_argument("entry", metavar="ID", help="the entry's number as the slip prints it (W000123, C000045) or its id")
    slip.add_argument("--width", type=int, choices=ROLL_WIDTHS, default=80, help="the receipt roll's width in mm (default 80)")
    where = slip.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="FILE.pdf", help="save the slip as a PDF, for the system printer")
    where.add_argument("--printer", metavar="ADDRESS",
                       help="print on a receipt printer: usb:VID:PID, serial:/dev/ttyUSB0[:BAUD], tcp:HOST[:PORT], file:/dev/usb/lp0")
    slip.add_argument("--json", action="store_true", help="print what was written or sent as JSON")


def _out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="FILE.pdf", help="where to save the PDF")
    parser.add_argument("--json", action="store_true", help="print what was written (file, pages) as JSON")


def _full_phones(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full-phones", action="store_true",
                        help="print phone numbers in full (owner only; recorded in the audit log)")


def _language(args: argparse.Namespace) -> str:
    from crmdesk import preferences
    from crmdesk.i18n import resolve_language

    return resolve_language(getattr(args, "lang", None) or preferences.load().language)


def _produce(db: Database, args: argparse.Namespace, request: DocumentRequest) -> int:
    target = check_pdf_path(args.out)
    actor = acting_staff(db, args)
    with printing_language(_language(args)):
        pdf = make_document(db, actor, request)
    path = write_pdf(target, pdf)
    if args.json:
        print_json({"path": str(path.resolve()), "bytes": len(pdf)})
    else:
        print(f"Wrote {path} ({len(pdf) // 1024 + 1} KB).")
    return 0


def run_member(db: Database, args: argparse.Namespace) -> int:
    return _produce(db, args, MemberReportRequest(member_id_for(db, args.key), full_phones=args.full_phones))


def run_members(db: Database, args: argparse.Namespace) -> int:
    columns = tuple(c.strip() for c in args.columns.split(",") if c.strip()) if args.columns else None
    if columns is not None:
        unknown = [c for c in columns if c not in COLUMN_LABELS]
        if unknown or not columns:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Unknown column '{column}'; use: {known}."), field="columns",
                               column=", ".join(unknown), known=", ".join(COLUMN_LABELS))
    with read_session(db) as session:
        flt = filter_from_args(session, args)
    request = MemberListRequest(flt, member_query.check_sort(args.sort), args.desc, args.group or "", args.full_phones,
                                args.landscape, columns)
    return _produce(db, args, request)


def run_cards(db: Database, args: argparse.Namespace) -> int:
    layout = CardLayout.SINGLE if args.single else CardLayout.SHEET
    if args.member:
        ids = tuple(dict.fromkeys(member_id_for(db, key) for key in args.member))
        request = CardsRequest(member_ids=ids, layout=layout, qr=args.qr)
    else:
        with read_session(db) as session:
            flt = filter_from_args(session, args)
        request = CardsRequest(flt=flt, sort=member_query.check_sort(args.sort), descending=args.desc, layout=layout, qr=args.qr)
    return _produce(db, args, request)


def run_complaints(db: Database, args: argparse.Namespace) -> int:
    return _produce(db, args, ComplaintsMonthRequest(parse_month(args.month)))


def run_loyalty(db: Database, args: argparse.Namespace) -> int:
    start, end = parse_day(args.start, "--from"), parse_day(args.end, "--to")
    return _produce(db, args, LoyaltySummaryRequest(start, end))


def run_liability(db: Database, args: argparse.Namespace) -> int:
    return _produce(db, args, LiabilityRequest(parse_month(args.month)))


def run_aging(db: Database, args: argparse.Namespace) -> int:
    return _produce(db, args, AgingRequest(parse_day(args.as_of, "--as-of")))


def run_statement(db: Database, args: argparse.Namespace) -> int:
    start, end = parse_day(args.start, "--from"), parse_day(args.end, "--to")
    return _produce(db, args, StatementRequest(member_id_for(db, args.key), start, end, full_phones=args.full_phones))


def run_review(db: Database, args: argparse.Namespace) -> int:
    return _produce(db, args, BusinessReviewRequest(parse_month(args.month)))


def entry_id(text: str, kind: str) -> int:
    """A slip's entry as printed on it (W000123 for stored value, C000045 for credit) or as a plain id."""
    value = text.strip()
    prefix = value[:1].upper() if value[:1].isalpha() else ""
    digits = value[1:] if prefix else value
    if not (digits.isascii() and digits.isdigit()) or int(digits) == 0 or prefix not in ("", "W", "C"):
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{text}' is not an entry number (like W000123, C000045 or 123)."),
                           field="entry", text=text)
    if prefix and prefix != ("C" if kind == "iou" else "W"):
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{text} does not go with this slip: top-up receipts and cash-out slips "
                                                       "print stored-value entries (W…), IOU slips credit entries (C…)."),
                           field="entry", text=value)
    return int(digits)


def run_slip(db: Database, args: argparse.Namespace) -> int:
    request = SlipRequest(args.kind, entry_id(args.entry, args.kind), args.width)
    if args.out is not None:
        return _produce(db, args, request)
    from crmdesk.printing.receipt import print_slip

    actor = acting_staff(db, args)
    with printing_language(_language(args)):
        sent = print_slip(db, actor, request, args.printer)
    if args.json:
        print_json({"printer": args.printer, "bytes": sent})
    else:
        print(f"Sent the slip to {args.printer} ({sent} bytes).")
    return 0
