"""Credit aging (应收账款账龄): what members owe on credit as of a day, by how long it is overdue.

It prints an AgingReport (crmdesk/services/money_figures.py) and reads nothing itself: the shop's
buckets, then every member who owes, overdue first, with their latest promise to pay. Landscape
pages: one column per bucket. Thousands of members print as one light table per page.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, PageBreak

from crmdesk.reports.base import (
    Progress, ReportContext, ShouldCancel, build_pdf, caption, check_cancel, content_width, data_table, empty_note,
    frame_height, local_date, long_table, para, section, spacer, yuan,
)
from crmdesk.reports.complaints_monthly import figure_tiles
from crmdesk.services import credit
from crmdesk.services.money_figures import AgingLine, AgingReport


def report_title(data: AgingReport) -> str:
    return QCoreApplication.translate("reports", "Credit aging — {date}").format(date=data.as_of.isoformat())


def bucket_label(bucket: str) -> str:
    return QCoreApplication.translate("terms", credit.BUCKET_LABELS[bucket])


def _share(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f} %" if whole else "—"


def _tiles(data: AgingReport, width: float) -> Flowable:
    aging = data.aging
    tiles = [
        (QCoreApplication.translate("reports", "Owed on credit"), yuan(aging.total_fen),
         QCoreApplication.translate("reports", "{count} members").format(count=f"{aging.members:,}"), False),
        (QCoreApplication.translate("reports", "Overdue"), yuan(aging.overdue_fen),
         QCoreApplication.translate("reports", "{share} of what is owed").format(share=_share(aging.overdue_fen, aging.total_fen)),
         aging.overdue_fen > 0),
        (QCoreApplication.translate("reports", "Members overdue"), f"{data.overdue_members:,}",
         QCoreApplication.translate("reports", "of {count} who owe").format(count=f"{aging.members:,}"), data.overdue_members > 0),
        (QCoreApplication.translate("reports", "Over 90 days"), yuan(aging.buckets["90+"]),
         QCoreApplication.translate("reports", "the hardest to collect"), aging.buckets["90+"] > 0),
    ]
    return figure_tiles(tiles, width)


def _buckets(data: AgingReport, width: float) -> list[Flowable]:
    aging = data.aging
    rows = [[bucket_label(bucket), f"{data.bucket_members[index]:,}", yuan(aging.buckets[bucket]),
             _share(aging.buckets[bucket], aging.total_fen)] for index, bucket in enumerate(credit.BUCKETS)]
    total = [QCoreApplication.translate("reports", "All"), f"{aging.members:,}", yuan(aging.total_fen), _share(aging.total_fen, aging.total_fen)]
    header = [QCoreApplication.translate("reports", "Age"), QCoreApplication.translate("reports", "Members"),
              QCoreApplication.translate("reports", "Owed"), QCoreApplication.translate("reports", "Share")]
    table = data_table(header, rows, [60 * mm, 30 * mm, 40 * mm, 30 * mm], right=(1, 2, 3), total_row=total)
    note = QCoreApplication.translate(
        "reports", "Days overdue are counted from each charge's due day to the end of {date}; a member with charges of different ages counts in each of their buckets.").format(
        date=data.as_of.isoformat())
    return [table, spacer(1.5), para(note, "muted")]


def _promise(line: AgingLine) -> str:
    if line.promised_on is None:
        return ""
    if line.promise_passed:
        return QCoreApplication.translate("reports", "{date}, passed").format(date=line.promised_on.isoformat())
    return line.promised_on.isoformat()


def _members(data: AgingReport, width: float, used: float) -> list[Flowable]:
    header = [QCoreApplication.translate("reports", "Name"), QCoreApplication.translate("reports", "Member No."),
              QCoreApplication.translate("reports", "Days overdue"),
              *(bucket_label(bucket) for bucket in credit.BUCKETS),
              QCoreApplication.translate("reports", "Owed"), QCoreApplication.translate("reports", "Promised to pay"),
              QCoreApplication.translate("reports", "Last contact")]
    rows = [[line.name, line.member_no, f"{line.oldest_overdue_days:,}" if line.oldest_overdue_days else "",
             *(yuan(fen) if fen else "" for fen in line.buckets), yuan(line.owed_fen), _promise(line), local_date(line.last_note_at)]
            for line in data.lines]
    aging = data.aging
    total = [QCoreApplication.translate("reports", "Total ({count})").format(count=f"{aging.members:,}"), "", "",
             *(yuan(aging.buckets[bucket]) for bucket in credit.BUCKETS), yuan(aging.total_fen), "", ""]
    weights = (38, 24, 16, 22, 22, 22, 22, 22, 24, 26, 22)
    widths = [width * w / sum(weights) for w in weights]
    room = frame_height(True)
    return long_table(header, rows, widths, right=tuple(range(2, 9)), total_row=total, first_page_room=room - used - 6,
                      page_room=room)


def render_credit_aging(data: AgingReport, ctx: ReportContext, *, progress: Progress | None = None,
                        should_cancel: ShouldCancel | None = None) -> bytes:
    """The aging as PDF bytes, on landscape pages."""
    check_cancel(should_cancel)
    width = content_width(True)
    title = report_title(data)
    story: list[Flowable] = [
        para(title, "title"),
        para(QCoreApplication.translate("reports", "What members owe on credit at the end of {date} (shop time), by how long it is past its due day.")
             .format(date=data.as_of.isoformat()), "subtitle"),
        _tiles(data, width),
    ]
    story += section(QCoreApplication.translate("reports", "By age"), *_buckets(data, width), room_mm=60)
    if not data.lines:
        story += section(QCoreApplication.translate("reports", "Members who owe"),
                         empty_note(QCoreApplication.translate("reports", "Nobody owes anything on credit at the end of {date}.")
                                    .format(date=data.as_of.isoformat())))
        return build_pdf(story, ctx, title, landscape_pages=True, progress=progress, should_cancel=should_cancel)
    intro = caption(QCoreApplication.translate("reports", "Members overdue first, the longest overdue first; then those not yet due, the most owed first. Phone numbers are left out: see the member's page."))
    members_head = section(QCoreApplication.translate("reports", "Members who owe"), intro, room_mm=40)
    room = frame_height(True)
    used = sum(_height(f, width, room) for f in (*story, *members_head))
    if room - used < 40 * mm:  # too little left under the figures: the member table starts a page of its own
        story.append(PageBreak())
        used = sum(_height(f, width, room) for f in members_head)
    story += members_head
    story += _members(data, width, used)
    pages = sum(1 for flowable in story if isinstance(flowable, PageBreak)) + 1  # progress page by page
    return build_pdf(story, ctx, title, landscape_pages=True, progress=progress, should_cancel=should_cancel,
                     expected_pages=pages)


def _height(flowable: Flowable, width: float, room: float) -> float:
    if isinstance(flowable, CondPageBreak):
        return 0
    return flowable.wrap(width, room)[1] + flowable.getSpaceBefore() + flowable.getSpaceAfter()
