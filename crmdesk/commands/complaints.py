"""`crmdesk complaint add|update|list|show|figures`: complaints from the command line.

`update` does everything asked of it in one transaction, in this order:
attachments, assignment, priority, the note, then the status steps (reopen,
start, resolve, follow-up, close), so one command can take a complaint from
resolved to closed, and a refused step leaves the complaint as it was.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path

from crmdesk.commands.common import acting_staff, counted, member_id_for, print_json
from crmdesk.commands.purchases import parse_time
from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.models import ComplaintStatus, FollowUpMethod, Priority, Remedy
from crmdesk.services import complaint_figures, complaints, loyalty, offers
from crmdesk.services import staff as staff_service
from crmdesk.services.complaints import (
    AttachmentInput, ComplaintFilter, ComplaintInput, ComplaintOrder, FollowUpInput, RemedyInput,
)
from crmdesk.services.purchases import parse_yuan
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP

STATUS_STEPS = ("in_progress", "resolved", "followed_up", "closed")


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    complaint = add_command("complaint", "complaints: log them, work them to closure, list, show, monthly figures", None)
    actions = complaint.add_subparsers(dest="complaint_command", metavar="ACTION", required=True)
    _register_add(add_command, actions)
    _register_update(add_command, actions)
    _register_list(add_command, actions)
    show = add_command("show", "one complaint with its timeline, attachments, remedies and follow-ups", run_show, actions)
    show.add_argument("id", type=int, help="the complaint's number")
    show.add_argument("--json", action="store_true", help="print the complaint as JSON")
    figures = add_command("figures", "a month's complaint figures", run_figures, actions)
    figures.add_argument("--month", metavar="YYYY-MM", help="default: this month")
    figures.add_argument("--json", action="store_true", help="print the figures as JSON")


def _register_add(add_command, actions) -> None:  # type: ignore[no-untyped-def]
    add = add_command("add", "log a complaint", run_add, actions)
    add.add_argument("--member", metavar="KEY", help="card number, member number or phone; leave out for a walk-in")
    add.add_argument("--name", default="", help="a walk-in customer's name")
    add.add_argument("--phone", default="", help="a walk-in customer's phone")
    add.add_argument("--channel", default="counter", help="code or name (default: counter)")
    add.add_argument("--category", required=True, help="code or name, e.g. quality, expired, price")
    add.add_argument("--description", required=True, help="what happened, in the customer's words")
    add.add_argument("--request", default="", help="what the customer asks for")
    add.add_argument("--receipt", default="", help="the receipt complained about (linked when it is the member's)")
    add.add_argument("--priority", choices=[p.value for p in Priority], help="default: from the category and the member's tier")
    add.add_argument("--time", metavar="ISO", help="when it came in (default: now; local time unless an offset is given)")
    add.add_argument("--attach", action="append", default=[], metavar="FILE", help="a photo or PDF scan (repeat)")
    add.add_argument("--json", action="store_true", help="print the new complaint as JSON")


def _register_update(add_command, actions) -> None:  # type: ignore[no-untyped-def]
    update = add_command("update", "work a complaint: assign, note, status, remedy, follow-up, close, reopen", run_update, actions)
    update.add_argument("id", type=int, help="the complaint's number")
    update.add_argument("--assign", metavar="STAFF", help="the staff member who owns it")
    update.add_argument("--department", help="the department that owns it, with or instead of a staff member")
    update.add_argument("--priority", choices=[p.value for p in Priority], help="a new priority")
    update.add_argument("--note", default="", help="a note on the timeline, or the note of the status step")
    update.add_argument("--contact", action="store_true", help="the note records contact with the customer")
    update.add_argument("--status", choices=STATUS_STEPS, help="the step to take: in_progress (start work), resolved (with --remedy), followed_up "
                             "(with --follow-up-score) or closed")
    update.add_argument("--remedy", action="append", default=[], choices=[r.value for r in Remedy], help="repeat for several")
    update.add_argument("--refund", metavar="YUAN", help="the money given back")
    update.add_argument("--goodwill-points", type=int, metavar="N", help="points given to the member as compensation")
    update.add_argument("--coupon-offer", metavar="OFFER", help="give one coupon of this offer (id or name) to the member")
    update.add_argument("--additional", action="store_true", help="give compensation again after an earlier one")
    update.add_argument("--told", action="store_true", help="the customer was told the outcome")
    update.add_argument("--follow-up-score", type=int, metavar="1-5", help="the customer's satisfaction at the follow-up")
    update.add_argument("--follow-up-method", choices=[m.value for m in FollowUpMethod], default=FollowUpMethod.PHONE.value,
                        help="how the follow-up was made (default: phone)")
    update.add_argument("--follow-up-time", metavar="ISO", help="when the follow-up happened (default: now)")
    update.add_argument("--comment", default="", help="the customer's comment at the follow-up")
    update.add_argument("--skip-follow-up", metavar="REASON", help="close without the follow-up (supervisor or owner)")
    update.add_argument("--reopen", metavar="REASON", help="reopen a resolved or closed complaint, saying why")
    update.add_argument("--attach", action="append", default=[], metavar="FILE", help="a photo or PDF scan (repeat)")
    update.add_argument("--time", metavar="ISO", help="when this happened (default: now)")
    update.add_argument("--json", action="store_true", help="print the complaint as updated, as JSON")


def _register_list(add_command, actions) -> None:  # type: ignore[no-untyped-def]
    listing = add_command("list", "the complaints board: counts, then complaints by next deadline", run_list, actions)
    listing.add_argument("--status", action="append", default=[], choices=[s.value for s in ComplaintStatus],
                         help="only complaints with this status (repeat for several)")
    listing.add_argument("--open", action="store_true", help="only complaints not yet resolved")
    listing.add_argument("--overdue", action="store_true", help="only complaints past their first-response or resolution deadline")
    listing.add_argument("--category", help="code or name")
    listing.add_argument("--channel", help="code or name")
    listing.add_argument("--owner", metavar="STAFF", help="only complaints this staff member owns")
    listing.add_argument("--department", help="only complaints this department owns")
    listing.add_argument("--member", metavar="KEY", help="only this member's complaints (card number, member number or phone)")
    listing.add_argument("--from", dest="received_from", type=date.fromisoformat, metavar="YYYY-MM-DD",
                         help="received on or after this day")
    listing.add_argument("--to", dest="received_to", type=date.fromisoformat, metavar="YYYY-MM-DD",
                         help="received on or before this day")
    listing.add_argument("--order", choices=[o.value for o in ComplaintOrder], default=ComplaintOrder.DUE.value,
                         help="due: open ones first, the next deadline first (default); received: newest first")
    listing.add_argument("--limit", type=int, default=100, metavar="N", help="at most this many complaints (default: 100)")
    listing.add_argument("--json", action="store_true", help="print the counts and complaints as JSON")


# --------------------------------------------------------------------------- helpers


def _attachments(paths: list[str]) -> tuple[AttachmentInput, ...]:
    """The files named, read after their size is checked (a huge file is refused before it is read)."""
    found = []
    for text in paths:
        path = Path(text)
        if not path.is_file():
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Cannot read the file {path}."), field="attachments", path=text)
        complaints.check_attachment_size(path.name, path.stat().st_size)
        found.append(AttachmentInput(path.name, path.read_bytes()))
    return tuple(found)


def _local(moment: datetime | None) -> str:
    return moment.astimezone(loyalty.SHOP_ZONE).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _line(info: complaints.ComplaintInfo) -> str:
    flag = " OVERDUE" if info.overdue else ""
    due = info.resolution_due_day.isoformat() if info.resolution_due_day else "-"
    who = info.customer or "(anonymous)"
    owner = info.owner_name or info.department or "-"
    return (f"{info.id:>5}  {_local(info.received_at)}  {info.status.value:<11} {info.priority.value:<6} due {due}{flag}\n"
            f"       {who}; {info.category_name}; {info.channel_name}; owner {owner}: {info.description[:60]}")


def _show(info: complaints.ComplaintInfo, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(info.to_json())
    else:
        print(f"Complaint {info.id} {verb}: {info.status.value}, priority {info.priority.value}, "
              f"resolution due by {info.resolution_due_day}.")


# --------------------------------------------------------------------------- add


def run_add(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member) if args.member else None
    files = _attachments(args.attach)
    with unit_of_work(db) as session:
        data = ComplaintInput(
            channel=complaints.find_channel(session, args.channel).code, category=complaints.find_category(session, args.category).code,
            description=args.description, member_id=member_id, walk_in_name=args.name, walk_in_phone=args.phone,
            received_at=parse_time(args.time), customer_request=args.request, related_receipt=args.receipt,
            priority=Priority(args.priority) if args.priority else None, attachments=files,
        )
        info = complaints.log_complaint(session, actor, data)
    _show(info, args.json, "logged")
    return 0


# --------------------------------------------------------------------------- update


def _remedy(session, args: argparse.Namespace) -> RemedyInput | None:  # type: ignore[no-untyped-def]
    wanted = args.remedy or args.refund or args.goodwill_points is not None or args.coupon_offer
    if not wanted and args.status != "resolved":
        return None
    return RemedyInput(
        remedies=tuple(Remedy(r) for r in args.remedy), note=args.note, customer_told=args.told,
        refund_fen=parse_yuan(args.refund) if args.refund else 0, goodwill_points=args.goodwill_points or 0,
        coupon_offer_id=offers.find_offer(session, args.coupon_offer).id if args.coupon_offer else None,
        additional_compensation=args.additional,
    )


def _wants_follow_up(args: argparse.Namespace) -> bool:
    return args.status == "followed_up" or args.follow_up_score is not None


def _status_steps(session, actor, args: argparse.Namespace, now: datetime) -> bool:  # type: ignore[no-untyped-def]
    """Reopen, start, resolve, follow up, close: those asked for, in that order. Returns whether any ran."""
    ran = False
    if args.reopen is not None:
        complaints.reopen(session, actor, args.id, args.reopen, now=now)
        ran = True
    if args.status == "in_progress":
        complaints.start_work(session, actor, args.id, note=args.note, now=now)
        ran = True
    remedy = _remedy(session, args)
    if remedy is not None:
        complaints.resolve(session, actor, args.id, remedy, now=now)
        ran = True
    if _wants_follow_up(args):
        if args.follow_up_score is None:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Give the customer's satisfaction: --follow-up-score 1 to 5."),
                               field="satisfaction")
        complaints.record_follow_up(session, actor, args.id, FollowUpInput(
            args.follow_up_score, FollowUpMethod(args.follow_up_method), args.comment, parse_time(args.follow_up_time)), now=now)
        ran = True
    if args.status == "closed" or args.skip_follow_up is not None:
        complaints.close(session, actor, args.id, skip_follow_up_reason=args.skip_follow_up, now=now)
        ran = True
    return ran


def _note_belongs_to_step(args: argparse.Namespace) -> bool:
    return args.status in ("in_progress", "resolved") or bool(args.remedy or args.goodwill_points is not None or args.coupon_offer)


def run_update(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    files = _attachments(args.attach)
    now = parse_time(args.time) or datetime.now(UTC)
    with unit_of_work(db) as session:
        done = False
        for item in files:
            complaints.add_attachment(session, actor, args.id, item, now=now)
            done = True
        if args.assign or args.department is not None:
            staff_id = staff_service.find_by_name(session, args.assign).id if args.assign else None
            complaints.assign(session, actor, args.id, staff_id=staff_id, department=args.department, now=now)
            done = True
        if args.priority:
            complaints.set_priority(session, actor, args.id, Priority(args.priority), now=now)
            done = True
        if args.note.strip() and (args.contact or not _note_belongs_to_step(args)):
            complaints.add_note(session, actor, args.id, args.note, contact=args.contact, now=now)
            done = True
        done = _status_steps(session, actor, args, now) or done
        if not done:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Nothing to change: give --assign, --note, --status, a remedy, a follow-up or --reopen."))
        info = complaints.get_info(session, args.id, now=now)
    _show(info, args.json, "updated")
    return 0


# --------------------------------------------------------------------------- reading


def run_list(db: Database, args: argparse.Namespace) -> int:
    member_id = member_id_for(db, args.member) if args.member else None
    now = datetime.now(UTC)
    with read_session(db) as session:
        filters = ComplaintFilter(
            statuses=tuple(ComplaintStatus(s) for s in args.status), open_only=args.open, overdue=args.overdue,
            category=complaints.find_category(session, args.category).code if args.category else None,
            channel=complaints.find_channel(session, args.channel).code if args.channel else None,
            owner_staff_id=staff_service.find_by_name(session, args.owner).id if args.owner else None,
            department=args.department, member_id=member_id, received_from=args.received_from, received_to=args.received_to,
            order=ComplaintOrder(args.order),
        )
        counts = complaints.board_counts(session, now)
        found = complaints.list_complaints(session, filters, now=now, limit=args.limit)
        total = complaints.count_complaints(session, filters, now=now)
    if args.json:
        print_json({"counts": counts.to_json(), "total": total, "complaints": [info.to_json() for info in found]})
        return 0
    summary = ", ".join(f"{status.value} {n}" for status, n in counts.by_status)
    print(f"Open {counts.open}, overdue {counts.overdue} ({summary})")
    for info in found:
        print(_line(info))
    print(f"{counted(total, 'complaint')} {'matches' if total == 1 else 'match'}." if found else "No complaints match.")
    return 0


def run_show(db: Database, args: argparse.Namespace) -> int:
    with read_session(db) as session:
        detail = complaints.get_complaint(session, args.id)
    if args.json:
        print_json(detail.to_json())
        return 0
    print(_line(detail.complaint))
    for event in detail.timeline:
        change = f" {event.from_status.value if event.from_status else '-'} → {event.to_status.value}" if event.to_status else ""
        print(f"  {_local(event.at)}  {event.staff_name or '-'}: {event.kind}{change}{'  ' + event.note if event.note else ''}")
    for item in detail.attachments:
        print(f"  attachment {item.id}: {item.file_name} ({item.mime_type}, {counted(item.size_bytes, 'byte')})")
    return 0


def run_figures(db: Database, args: argparse.Namespace) -> int:
    month = args.month or f"{loyalty.local_day(datetime.now(UTC)):%Y-%m}"
    with read_session(db) as session:
        figures = complaint_figures.monthly_figures(session, month)
    if args.json:
        print_json(figures.to_json())
        return 0

    def share(ratio: complaint_figures.Ratio) -> str:
        return f"{ratio.numerator}/{ratio.denominator}" + (f" ({ratio.value:.0%})" if ratio.value is not None else "")

    print(f"{figures.month}: {counted(figures.received, 'complaint')}")
    print("  by category: " + ", ".join(f"{c.name} {c.count}" for c in figures.by_category if c.count))
    print("  by channel: " + ", ".join(f"{c.name} {c.count}" for c in figures.by_channel if c.count))
    print(f"  median first response {figures.median_first_response or '-'}, resolution {figures.median_resolution or '-'}")
    print(f"  first response on time {share(figures.first_response_on_time)}, resolved on time {share(figures.resolved_on_time)}")
    mean = f"{figures.satisfaction_mean:.2f}" if figures.satisfaction_mean is not None else "-"
    print(f"  follow-up done {share(figures.follow_up_done)}, satisfaction {mean}")
    print(f"  repeat complainants {len(figures.repeat_members)}; came back within 60 days: resolved "
          f"{share(figures.came_back_resolved)}, unresolved {share(figures.came_back_unresolved)}")
    return 0
