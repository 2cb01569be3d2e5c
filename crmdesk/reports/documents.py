"""Making any printed document: who may, what is read, what is recorded, and where it is written.

The command line and the GUI both describe the document they want as one of the
request classes below and call ``make_document``. It checks the permission,
reads the data in one read-only transaction, records in the audit log what
personal data left on paper, and returns the PDF's bytes; ``write_pdf`` saves
them so a reader never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from PySide6.QtCore import QCoreApplication

from crmdesk import shop_time
from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.reports.base import Progress, ReportContext, ShouldCancel
from crmdesk.reports.business_review import render_business_review, review_figures
from crmdesk.reports.cards import CardLayout, render_cards
from crmdesk.reports.complaints_monthly import render_complaints_month
from crmdesk.reports.credit_aging import render_credit_aging
from crmdesk.reports.liability import render_liability
from crmdesk.reports.loyalty_summary import render_loyalty_summary
from crmdesk.reports.member_list import ListHeading, render_member_list
from crmdesk.reports.member_report import render_member_report
from crmdesk.reports.slips import check_width, render_slip
from crmdesk.reports.statement import render_statement
from crmdesk.services import audit, member_query, money_figures, slips, store
from crmdesk.services.auth import Permission, require
from crmdesk.services.card_faces import card_faces
from crmdesk.services.complaint_report import complaints_month
from crmdesk.services.exports import check_folder
from crmdesk.services.loyalty_figures import loyalty_summary
from crmdesk.services.member_query import COLUMN_LABELS, MemberFilter
from crmdesk.services.member_report import member_report
from crmdesk.services.uow import Actor, read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP


@dataclass(frozen=True)
class MemberReportRequest:
    member_id: int
    full_phones: bool = False


@dataclass(frozen=True)
class MemberListRequest:
    flt: MemberFilter = field(default_factory=MemberFilter)
    sort: str = member_query.DEFAULT_SORT
    descending: bool = False
    group_name: str = ""  # the saved filter the list started from, named on the first page
    full_phones: bool = False
    landscape: bool = False
    columns: tuple[str, ...] | None = None  # default: what fits the page's orientation


@dataclass(frozen=True)
class CardsRequest:
    member_ids: tuple[int, ...] = ()  # these members' cards, in this order; else the filter's
    flt: MemberFilter | None = None
    sort: str = member_query.DEFAULT_SORT
    descending: bool = False
    layout: CardLayout = CardLayout.SHEET
    qr: bool = False


@dataclass(frozen=True)
class ComplaintsMonthRequest:
    month: date  # any day of the month


@dataclass(frozen=True)
class BusinessReviewRequest:
    month: date  # any day of the month


@dataclass(frozen=True)
class LoyaltySummaryRequest:
    start: date
    end: date


@dataclass(frozen=True)
class LiabilityRequest:
    month: date  # any day of the month


@dataclass(frozen=True)
class AgingRequest:
    as_of: date | None = None  # the end of this day; today by default


@dataclass(frozen=True)
class StatementRequest:
    member_id: int
    first: date
    last: date
    full_phones: bool = False


@dataclass(frozen=True)
class SlipRequest:
    kind: str  # slips.SLIP_KINDS: topup, cashout, iou
    entry_id: int  # the wallet entry (topup, cashout) or credit charge (iou)
    width_mm: int = 80  # the receipt roll: 58 or 80


DocumentRequest = (MemberReportRequest | MemberListRequest | CardsRequest | ComplaintsMonthRequest | LoyaltySummaryRequest
                   | LiabilityRequest | AgingRequest | StatementRequest | SlipRequest | BusinessReviewRequest)


def check_pdf_path(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.suffix.lower() != ".pdf":
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Save the report to a file ending in .pdf, not '{name}'."),
                           field="path", name=target.name)
    return check_folder(target)


def write_pdf(path: str | os.PathLike[str], pdf: bytes) -> Path:
    """Write the PDF next to its final name first, then move it there in one step."""
    target = check_pdf_path(path)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pdf)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def suggested_file_name(request: DocumentRequest, subject: str = "") -> str:
    """A file name for the save dialog: what, whom or when, and today's date."""
    today = shop_time.today().isoformat()
    if isinstance(request, MemberReportRequest):
        return f"member-{subject or request.member_id}-{today}.pdf"
    if isinstance(request, MemberListRequest):
        return f"members-{today}.pdf"
    if isinstance(request, CardsRequest):
        return f"cards-{subject}-{today}.pdf" if subject else f"cards-{today}.pdf"
    if isinstance(request, ComplaintsMonthRequest):
        return f"complaints-{request.month.strftime('%Y-%m')}.pdf"
    if isinstance(request, LiabilityRequest):
        return f"stored-value-{request.month.strftime('%Y-%m')}.pdf"
    if isinstance(request, AgingRequest):
        return f"credit-aging-{(request.as_of or shop_time.today()).isoformat()}.pdf"
    if isinstance(request, StatementRequest):
        return f"statement-{subject or request.member_id}-{request.first.isoformat()}-{request.last.isoformat()}.pdf"
    if isinstance(request, SlipRequest):
        return f"{request.kind}-{request.entry_id}.pdf"
    if isinstance(request, BusinessReviewRequest):
        return f"business-review-{request.month.strftime('%Y-%m')}.pdf"
    return f"loyalty-{request.start.isoformat()}-{request.end.isoformat()}.pdf"


def _context(db: Database, actor: Actor, now: datetime) -> ReportContext:
    with read_session(db) as session:
        return ReportContext(store.get_store(session).store_name, actor.name, now)


def _sort_text(sort: str, descending: bool) -> str:
    label = QCoreApplication.translate("columns", COLUMN_LABELS.get(sort, COLUMN_LABELS[member_query.DEFAULT_SORT]))
    return f"{label} {'↓' if descending else '↑'}"


def make_document(
    db: Database,
    actor: Actor,
    request: DocumentRequest,
    *,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
    now: datetime | None = None,
) -> bytes:
    """The PDF for ``request`` as ``actor``; PermissionDenied, InvalidInput or ReportCancelled otherwise."""
    now = now or datetime.now(timezone.utc)
    if isinstance(request, MemberReportRequest):
        return _member_report(db, actor, request, now, progress, should_cancel)
    if isinstance(request, MemberListRequest):
        return _member_list(db, actor, request, now, progress, should_cancel)
    if isinstance(request, CardsRequest):
        return _cards(db, actor, request, now, progress, should_cancel)
    if isinstance(request, ComplaintsMonthRequest):
        return _complaints_month(db, actor, request, now, progress, should_cancel)
    if isinstance(request, LiabilityRequest):
        return _liability(db, actor, request, now, progress, should_cancel)
    if isinstance(request, AgingRequest):
        return _aging(db, actor, request, now, progress, should_cancel)
    if isinstance(request, StatementRequest):
        return _statement(db, actor, request, now, progress, should_cancel)
    if isinstance(request, SlipRequest):
        return _slip(db, actor, request, now)
    if isinstance(request, BusinessReviewRequest):
        return _business_review(db, actor, request, now, progress, should_cancel)
    return _loyalty_summary(db, actor, request, now, progress, should_cancel)


def _record_full_phones(db: Database, actor: Actor, document: str, member_id: int | None, **details: object) -> None:
    with unit_of_work(db) as session:
        audit.record(session, actor, "report.full_phones", "member", member_id, document=document, **details)


def _member_report(db: Database, actor: Actor, request: MemberReportRequest, now: datetime,
                   progress: Progress | None, should_cancel: ShouldCancel | None) -> bytes:
    if request.full_phones:
        require(actor, Permission.EXPORT_MEMBERS)
    ctx = _context(db, actor, now)
    with read_session(db) as session:
        data = member_report(session, request.member_id, now=now, full_phones=request.full_phones)
    pdf = render_member_report(data, ctx, progress=progress, should_cancel=should_cancel)
    if request.full_phones:
        _record_full_phones(db, actor, "member_report", request.member_id)
    return pdf


def _member_list(db: Database, actor: Actor, request: MemberListRequest, now: datetime,
                 progress: Progress | None, should_cancel: ShouldCancel | None) -> bytes:
    require(actor, Permission.BROWSE_MEMBERS)
    if request.full_phones:
        require(actor, Permission.EXPORT_MEMBERS)
    member_query.check_sort(request.sort)
    flt = request.flt.validate()
    ctx = _context(db, actor, now)
    with read_session(db) as session:
        tiers = {t.id: t.name for t in member_query.list_tiers(session)}
        criteria = [(QCoreApplication.translate("filters", label), value)
                    for label, value in flt.describe(tiers, QCoreApplication.translate)]
        if request.group_name:
            criteria.insert(0, (QCoreApplication.translate("reports", "Saved group"), request.group_name))
        heading = ListHeading(criteria, _sort_text(request.sort, request.descending), request.full_phones)
        zone = member_query.local_zone()
        total = member_query.count(session, flt, zone=zone)
        rows = (row for page in member_query.iter_pages(session, flt, request.sort, request.descending, total=total, zone=zone)
                for row in page)
        pdf = render_member_list(rows, total, heading, ctx, columns=request.columns, landscape_pages=request.landscape,
                                 progress=progress, should_cancel=should_cancel)
    with unit_of_work(db) as session:
        audit.record(session, actor, "member.print_list", "member", None, rows=total, full_phones=request.full_phones,
                     criteria=flt.to_dict())
    return pdf


def _cards(db: Database, actor: Actor, request: CardsRequest, now: datetime,
           progress: Progress | None, should_cancel: ShouldCancel | None) -> bytes:
    if not request.member_ids:
        require(actor, Permission.BROWSE_MEMBERS)  # cards for a whole filter; one member's card anyone may print
    ctx = _context(db, actor, now)
    with read_session(db) as session:
        if request.member_ids:
            faces = card_faces(session, member_ids=request.member_ids)
        else:
            faces = card_faces(session, flt=(request.flt or MemberFilter()).validate(), sort=request.sort,
                               descending=request.descending)
    return render_cards(faces.faces, ctx, layout=request.layout, qr=request.qr, progress=progress, should_cancel=should_cancel)


def _complaints_month(db: Database, actor: Actor, request: ComplaintsMonthRequest, now: datetime,
                      progress: Progress | None, should_cancel: ShouldCancel | None) -> bytes:
    require(actor, Permission.MANAGE_COMPLAINTS)
    ctx = _context(db, actor, now)
    with read_session(db) as session:
        data = complaints_month(session, request.month, now=now)
    return render_complaints_month(data, ctx, progress=progress, should_cancel=should_cancel)


def _loyalty_summary(db: Database, actor: Actor, request: LoyaltySummaryRequest, now: datetime,
                     progress: Progress | None, should_cancel: ShouldCancel | None) -> bytes:
    require(actor, Permission.BROWSE_MEMBERS)
    ctx = _context(db, actor, now)
    with read_session(db) as session:
        data = loyalty_summary(session, request.start, request.end, now=now)
    return render_loyalty_summary(data, ctx, progress=progress, should_cancel=should_cancel)


def _business_review(db: Database, actor: Actor, request: BusinessReviewRequest, now: datetime,
                     progress: Progress | None, should_cancel: ShouldCancel | None) -> bytes:
    """The owner's figures (the dashboard's permission); the churn alerts print member names with masked phones."""
    require(actor, Permission.VIEW_SHOP_FIGURES)
    ctx = _context(db, actor, now)
    with read_session(db) as session:
        data = review_figures(session, actor, request.month)
    return render_business_review(data, ctx, progress=progress, should_cancel=should_cancel)


def _liability(db: Database, actor: Actor, request: LiabilityRequest, now: datetime,
               progress: Progress | None, should_cancel: ShouldCancel | None) -> bytes:
    require(actor, Permission.VIEW_SHOP_FIGURES)
    ctx = _context(db, actor, now)
    with read_session(db) as session:
        data = money_figures.liability_month(session, request.month, now=now)
    return render_liability(data, ctx, progress=progress, should_cancel=should_cancel)


def _aging(db: Database, actor: Actor, request: AgingRequest, now: datetime,
           progress: Progress | None, should_cancel: ShouldCancel | None) -> bytes:
    require(actor, Permission.VIEW_SHOP_FIGURES)
    ctx = _context(db, actor, now)
    with read_session(db) as session:
        data = money_figures.aging_report(session, as_of=request.as_of, today=shop_time.local_day(now))
    return render_credit_aging(data, ctx, progress=progress, should_cancel=should_cancel)


def _statement(db: Database, actor: Actor, request: StatementRequest, now: datetime,
               progress: Progress | None, should_cancel: ShouldCancel | None) -> bytes:
    """Who may print a member report may print their statement; full phone numbers are the owner's, as there.
    Every statement is recorded: a member's debts went onto paper."""
    if request.full_phones:
        require(actor, Permission.EXPORT_MEMBERS)
    ctx = _context(db, actor, now)
    with read_session(db) as session:
        data = money_figures.statement_of_account(session, request.member_id, request.first, request.last,
                                                  full_phones=request.full_phones, today=shop_time.local_day(now))
    pdf = render_statement(data, ctx, progress=progress, should_cancel=should_cancel)
    with unit_of_work(db) as session:
        audit.record(session, actor, "report.statement", "member", request.member_id, first=request.first.isoformat(),
                     last=request.last.isoformat(), full_phones=request.full_phones, closing_fen=data.closing_fen)
    return pdf


def _slip(db: Database, actor: Actor, request: SlipRequest, now: datetime) -> bytes:
    check_width(request.width_mm)
    ctx = _context(db, actor, now)
    with read_session(db) as session:
        slip = slips.slip(session, request.kind, request.entry_id)
    return render_slip(slip, ctx, width_mm=request.width_mm)
