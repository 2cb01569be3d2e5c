"""The printed member list: any filter of the member list as a table, with totals.

The first page says which members these are (the filter in words, the sort),
and whether phone numbers are masked. Every page repeats the header row; the
last row holds the totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication
from reportlab.platypus import PageBreak

from crmdesk.reports.base import (
    Progress, ReportContext, ShouldCancel, build_pdf, caption, check_cancel, content_width, frame_height, key_values, long_table, para, yuan,
)
from crmdesk.services.exports import insight_labels, text_getters
from crmdesk.services.member_query import COLUMN_LABELS, GENDER_LABELS, STATUS_LABELS, MemberRow, local_zone
from crmdesk.services.members import masked_phone

PORTRAIT_COLUMNS = ("member_no", "name", "phone", "tier", "points", "spend", "last_visit")
LANDSCAPE_COLUMNS = ("member_no", "name", "phone", "card", "tier", "points", "visits", "spend", "last_visit", "joined", "status")
# Relative widths: a column gets its share of the page's width among the columns chosen.
_WEIGHTS = {
    "member_no": 1.1, "name": 1.5, "phone": 1.15, "gender": 0.6, "birthday": 0.95, "tier": 0.8, "points": 0.8, "visits": 0.6,
    "spend": 1.0, "last_visit": 1.35, "joined": 0.95, "status": 0.6, "tags": 1.4, "card": 1.3, "wallet": 1.0, "owed": 1.0,
    "segment": 1.0, "abc": 0.5, "stage": 0.8, "p_alive": 0.8, "value": 1.0,
}
_RIGHT = {"points", "visits", "spend", "wallet", "owed", "p_alive", "value"}


@dataclass(frozen=True)
class ListHeading:
    """What the first page says about the list: the criteria in words (already translated)."""

    criteria: Sequence[tuple[str, str]]
    sort_text: str
    full_phones: bool


def default_columns(landscape_pages: bool) -> tuple[str, ...]:
    return LANDSCAPE_COLUMNS if landscape_pages else PORTRAIT_COLUMNS


def render_member_list(
    rows: Iterable[MemberRow],
    total: int,
    heading: ListHeading,
    ctx: ReportContext,
    *,
    columns: Sequence[str] | None = None,
    landscape_pages: bool = False,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
) -> bytes:
    """The list as PDF bytes. ``rows`` may be a stream of pages from the database;
    ``progress`` counts rows read, then pages laid out."""
    chosen = tuple(columns or default_columns(landscape_pages))
    labels = {status: QCoreApplication.translate("terms", label) for status, label in STATUS_LABELS.items()}
    labels.update({gender: QCoreApplication.translate("terms", label) for gender, label in GENDER_LABELS.items()})
    labels.update(insight_labels(QCoreApplication.translate))
    getters = text_getters(chosen, local_zone(), labels)
    if "phone" in chosen and not heading.full_phones:
        getters[chosen.index("phone")] = lambda r: masked_phone(r.phone)
    if "name" in chosen:
        getters[chosen.index("name")] = lambda r: r.name  # paper runs no formulas: print the name as typed
    if "spend" in chosen:
        getters[chosen.index("spend")] = lambda r: yuan(r.total_spend_fen)
    for key, value in (("points", lambda r: f"{r.points_balance:,}"), ("visits", lambda r: f"{r.visit_count:,}")):
        if key in chosen:
            getters[chosen.index(key)] = value

    cells: list[list[str]] = []
    points = visits = spend = 0
    for row in rows:
        cells.append([str(get(row)) for get in getters])
        points += row.points_balance
        visits += row.visit_count
        spend += row.total_spend_fen
        if len(cells) % 500 == 0:
            check_cancel(should_cancel)
            if progress is not None:
                progress(len(cells), 2 * max(total, len(cells)))

    width = content_width(landscape_pages)
    weight_sum = sum(_WEIGHTS[c] for c in chosen)
    widths = [width * _WEIGHTS[c] / weight_sum for c in chosen]
    header = [QCoreApplication.translate("columns", COLUMN_LABELS[c]) for c in chosen]
    totals = {"points": f"{points:,}", "visits": f"{visits:,}", "spend": yuan(spend)}
    total_row = [totals.get(c, "") for c in chosen]
    total_row[0] = QCoreApplication.translate("reports", "Total ({count})").format(count=f"{len(cells):,}")
    right = [i for i, c in enumerate(chosen) if c in _RIGHT]

    title = QCoreApplication.translate("reports", "Member list")
    count_text = QCoreApplication.translate("reports", "{count} members").format(count=f"{len(cells):,}")
    criteria = list(heading.criteria) or [(QCoreApplication.translate("reports", "Members"),
                                           QCoreApplication.translate("reports", "All members"))]
    criteria.append((QCoreApplication.translate("reports", "Sorted by"), heading.sort_text))
    phones = (QCoreApplication.translate("reports", "Full phone numbers, printed at the owner's request: keep this list safe.")
              if heading.full_phones else
              QCoreApplication.translate("reports", "Phone numbers are masked (138****5678)."))
    preamble = [
        para(title, "title"),
        para(count_text, "subtitle"),
        key_values(criteria, width=width, columns=1, label_mm=36),
        caption(phones),
    ]
    room = frame_height(landscape_pages)
    used = sum(f.wrap(width, room)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in preamble)
    story = [*preamble, *long_table(header, cells, widths, right=right, total_row=total_row,
                                    first_page_room=room - used - 6, page_room=room)]
    if progress is not None:
        rows_done = len(cells)

        def layout_progress(page: int, pages: int) -> None:
            progress(rows_done + min(page, pages) * rows_done // pages, 2 * max(rows_done, 1))
    else:
        layout_progress = None
    pages = sum(1 for flowable in story if isinstance(flowable, PageBreak)) + 1
    return build_pdf(story, ctx, title, landscape_pages=landscape_pages, progress=layout_progress, should_cancel=should_cancel,
                     expected_pages=pages)
