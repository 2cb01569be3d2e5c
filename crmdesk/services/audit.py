"""Recording who did what (called by the services that change data, inside their transaction), and
reading it back: the owner's audit log, filtered, a page at a time, and exported."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk import shop_time
from crmdesk.errors import InvalidInput
from crmdesk.models import AuditEvent, Member
from crmdesk.services import audit_actions
from crmdesk.services import auth  # auth records lock-outs here: used at call time only
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: int | None = None,
    **details: Any,
) -> None:
    session.add(
        AuditEvent(
            staff_id=actor.staff_id if actor else None,
            staff_name=actor.name if actor else "",
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            details=details,
        )
    )


# --------------------------------------------------------------------------- reading the log (the owner's)
#
# Every query is newest first and bounded: the filters use the indexes on ``at``, ``action`` and
# (entity_type, entity_id); the rows come a page at a time (limit/offset) with a separate count.

MAX_PAGE = 1000
MEMBER_MATCHES = 50  # members a search text may stand for in the member filter
EXPORT_CHUNK = 500
# Above every character: "wallet." <= action < "wallet." + HIGHEST is "action starts with wallet.", an index range.
HIGHEST = "\U0010ffff"
# Entities whose events name their member in the details (a complaint logged by, an offer applied for...).
MEMBER_IN_DETAILS = ("complaint", "offer", "purchase", "survey_response")


@dataclass(frozen=True)
class AuditFilter:
    """Which events to show. ``staff``: a name as the log keeps it ("" for what the program did by itself,
    None for anyone); ``action``: an action, or the start of several ending in "." ("wallet."); ``date_from``
    and ``date_to``: the shop's calendar days, both included; ``member_ids``: events concerning these members
    (() for none at all); ``member_text``: a name, phone, card or member number, searched as at the counter."""

    staff: str | None = None
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    member_ids: tuple[int, ...] | None = None
    member_text: str = ""
    sensitive_only: bool = False

    def validate(self) -> AuditFilter:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidInput(
                QT_TRANSLATE_NOOP("errors", "The first day ({first}) comes after the last day ({last})."),
                field="date_from", first=self.date_from.isoformat(), last=self.date_to.isoformat(),
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """The criteria that are set, as plain values (recorded with an export)."""
        criteria: dict[str, Any] = {}
        if self.staff is not None:
            criteria["staff"] = self.staff
        if self.action.strip():
            criteria["action"] = self.action.strip()
        if self.date_from:
            criteria["from"] = self.date_from.isoformat()
        if self.date_to:
            criteria["to"] = self.date_to.isoformat()
        if self.member_ids is not None:
            criteria["member_ids"] = list(self.member_ids)
        if self.member_text.strip():
            criteria["member"] = self.member_text.strip()
        if self.sensitive_only:
            criteria["sensitive"] = True
        return criteria


@dataclass(frozen=True)
class AuditRow:
    """One event as a person reads it. ``at`` is the stored (UTC) moment; ``action_label`` and ``summary`` (the
    details on one line) are in the language of the ``translate`` they were read with (English by default)."""

    id: int
    at: datetime
    staff_name: str
    action: str
    action_label: str
    entity_type: str
    entity_id: int | None
    member_id: int | None
    member_no: str
    member_name: str
    details: dict[str, Any]
    summary: str
    sensitive: bool

    @property
    def member_text(self) -> str:
        return f"{self.member_no} {self.member_name}".strip()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": shop_time.to_shop(self.at).isoformat(timespec="seconds"),
            "staff": self.staff_name,
            "action": self.action,
            "label": self.action_label,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "member": {"id": self.member_id, "member_no": self.member_no, "name": self.member_name}
            if self.member_id is not None else None,
            "summary": self.summary,
            "details": self.details,
            "sensitive": self.sensitive,
        }


def _member_ids_for(session: Session, flt: AuditFilter) -> tuple[int, ...] | None:
    """The members the filter asks about (None: anyone)."""
    ids = flt.member_ids
    text = flt.member_text.strip()
    if text:
        from crmdesk.services import search  # search -> members -> audit: imported when used

        found = tuple(hit.member.id for hit in search.search(session, text, limit=MEMBER_MATCHES))
        ids = found if ids is None else tuple(i for i in ids if i in found)
    return ids


def _conditions(session: Session, flt: AuditFilter) -> list[sa.ColumnElement[bool]]:
    flt.validate()
    conditions: list[sa.ColumnElement[bool]] = []
    if flt.staff is not None:
        conditions.append(AuditEvent.staff_name == flt.staff.strip())
    action = flt.action.strip().removesuffix("*")
    if action.endswith("."):
        conditions.append(sa.and_(AuditEvent.action >= action, AuditEvent.action < action + HIGHEST))
    elif action:
        conditions.append(AuditEvent.action == action)
    if flt.date_from:
        conditions.append(AuditEvent.at >= shop_time.day_start(flt.date_from))
    if flt.date_to:
        conditions.append(AuditEvent.at < shop_time.day_start(flt.date_to + timedelta(days=1)))
    member_ids = _member_ids_for(session, flt)
    if member_ids is not None:
        if not member_ids:
            conditions.append(sa.false())
        else:
            named = [AuditEvent.details[key].as_integer().in_(member_ids) for key in audit_actions.MEMBER_DETAIL_KEYS]
            # Each side of the OR is an index range: (entity_type, entity_id) for the member's own events, the
            # entity types that carry a member in their details for the rest.
            conditions.append(sa.or_(
                sa.and_(AuditEvent.entity_type == "member", AuditEvent.entity_id.in_(member_ids)),
                sa.and_(AuditEvent.entity_type.in_(MEMBER_IN_DETAILS), sa.or_(*named)),
            ))
    if flt.sensitive_only:
        conditions.append(sa.or_(
            AuditEvent.action.in_(sorted(audit_actions.SENSITIVE)),
            sa.and_(AuditEvent.action.in_(sorted(audit_actions.FULL_PHONE_PRINTOUTS)),
                    AuditEvent.details["full_phones"].as_boolean().is_(True)),
        ))
    return conditions


def count_events(session: Session, actor: Actor, flt: AuditFilter) -> int:
    """How many events the filter lets through."""
    auth.require(actor, auth.Permission.VIEW_AUDIT_LOG)
    statement = sa.select(sa.func.count()).select_from(AuditEvent).where(*_conditions(session, flt))
    return int(session.scalar(statement) or 0)


def list_events(session: Session, actor: Actor, flt: AuditFilter, *, limit: int = 100, offset: int = 0,
                translate: audit_actions.Translate = audit_actions.english) -> list[AuditRow]:
    """One page of the events the filter lets through, newest first."""
    auth.require(actor, auth.Permission.VIEW_AUDIT_LOG)
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Show from 1 to {most} events at a time."), field="limit", most=MAX_PAGE)
    if offset < 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Start from event 0 or later."), field="offset")
    statement = (sa.select(AuditEvent).where(*_conditions(session, flt))
                 .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset))
    return _rows(session, list(session.scalars(statement)), translate)


def iter_events(session: Session, actor: Actor, flt: AuditFilter, *, chunk: int = EXPORT_CHUNK,
                translate: audit_actions.Translate = audit_actions.english) -> Iterator[list[AuditRow]]:
    """Every event the filter lets through, newest first, a chunk at a time. Each chunk continues after the
    last event read (not at an offset), so events recorded meanwhile neither repeat nor push rows out."""
    auth.require(actor, auth.Permission.VIEW_AUDIT_LOG)
    conditions = _conditions(session, flt)
    last: tuple[datetime, int] | None = None
    while True:
        statement = sa.select(AuditEvent).where(*conditions)
        if last is not None:
            statement = statement.where(sa.or_(AuditEvent.at < last[0], sa.and_(AuditEvent.at == last[0], AuditEvent.id < last[1])))
        events = list(session.scalars(statement.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(chunk)))
        if not events:
            return
        yield _rows(session, events, translate)
        last = (events[-1].at, events[-1].id)


def _rows(session: Session, events: Sequence[AuditEvent], translate: audit_actions.Translate) -> list[AuditRow]:
    def member_of(event: AuditEvent) -> int | None:
        if event.entity_type == "member":
            return event.entity_id
        return audit_actions.member_reference(event.details or {})

    wanted = {member_id for member_id in map(member_of, events) if member_id is not None}
    members = {
        row.id: (row.member_no, row.name)
        for row in session.execute(sa.select(Member.id, Member.member_no, Member.name).where(Member.id.in_(wanted)))
    } if wanted else {}
    names = _list_names(session, events)
    rows = []
    for event in events:
        details = dict(event.details or {})
        member_id = member_of(event)
        member_no, member_name = members.get(member_id, ("", "")) if member_id is not None else ("", "")
        # What the member column shows already is left out of the summary.
        shown: tuple[str, ...] = ()
        if member_id is not None and member_id in members:
            shown = (*audit_actions.MEMBER_DETAIL_KEYS, *(("member_no", "name") if event.entity_type == "member" else ()))
        rows.append(AuditRow(
            id=event.id, at=event.at, staff_name=event.staff_name, action=event.action,
            action_label=audit_actions.action_label(event.action, translate), entity_type=event.entity_type,
            entity_id=event.entity_id, member_id=member_id, member_no=member_no, member_name=member_name, details=details,
            summary=audit_actions.summary(details, translate, skip=shown, action=event.action, names=names),
            sensitive=audit_actions.is_sensitive(event.action, details),
        ))
    return rows


def _list_names(session: Session, events: Sequence[AuditEvent]) -> dict[tuple[audit_actions.ShopList, str], str]:
    """The names of the shop's list entries (complaint categories, channels) the events' details name by code,
    (list, code) -> name: one query for the whole page."""
    wanted: dict[audit_actions.ShopList, set[str]] = {}
    for event in events:
        for shop_list, codes in audit_actions.stored_codes(event.action, event.details or {}).items():
            wanted.setdefault(shop_list, set()).update(codes)
    if not wanted:
        return {}
    lists = list(wanted)
    selects = [sa.select(sa.literal(n).label("shop_list"), shop_list.code, shop_list.name)
               .where(shop_list.code.in_(sorted(wanted[shop_list]))) for n, shop_list in enumerate(lists)]
    statement = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    return {(lists[n], code): name for n, code, name in session.execute(statement)}


def actions_present(session: Session, actor: Actor) -> list[str]:
    """The actions the log holds, for the filter box (read from the index on action)."""
    auth.require(actor, auth.Permission.VIEW_AUDIT_LOG)
    return list(session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def staff_names_present(session: Session, actor: Actor) -> list[str]:
    """The staff names the log holds ("" for what the program did by itself), for the filter box."""
    auth.require(actor, auth.Permission.VIEW_AUDIT_LOG)
    return list(session.scalars(sa.select(AuditEvent.staff_name).distinct().order_by(AuditEvent.staff_name)))


# --------------------------------------------------------------------------- exporting the log

# Columns of an export: key and header (English; translated in the "audit" context).
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("at", QT_TRANSLATE_NOOP("audit", "Time")),
    ("staff", QT_TRANSLATE_NOOP("audit", "Staff")),
    ("label", QT_TRANSLATE_NOOP("audit", "Action")),
    ("action", QT_TRANSLATE_NOOP("audit", "Action code")),
    ("member_no", QT_TRANSLATE_NOOP("audit", "Member no.")),
    ("member", QT_TRANSLATE_NOOP("audit", "Member")),
    ("details", QT_TRANSLATE_NOOP("audit", "Details")),
    ("sensitive", QT_TRANSLATE_NOOP("audit", "Sensitive")),
)
_SENSITIVE_MARK = QT_TRANSLATE_NOOP("audit", "yes")


def _cells(row: AuditRow, translate: audit_actions.Translate) -> list[Any]:
    """The row's typed values (the time on the shop's clock, without a zone, as a spreadsheet wants it)."""
    return [shop_time.to_shop(row.at).replace(tzinfo=None, microsecond=0), row.staff_name, row.action_label, row.action,
            row.member_no, row.member_name, row.summary, translate("audit", _SENSITIVE_MARK) if row.sensitive else ""]


def export_events(session: Session, actor: Actor, flt: AuditFilter, path: str | os.PathLike[str], *,
                  translate: audit_actions.Translate = audit_actions.english,
                  progress: Callable[[int, int], None] | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> int:
    """Write the filtered events, newest first, to ``path`` (.csv or .xlsx); the number of rows.

    Headers, action labels and details are in the language of ``translate``. The file is written under a
    temporary name (readable by its owner only) and renamed at the end: a failed or cancelled export leaves
    nothing. Record it afterwards with ``record_export``."""
    # exports records its own events here: imported when used
    from crmdesk.services.exports import FORMULA_STARTS, ExportCancelled, check_path

    auth.require(actor, auth.Permission.VIEW_AUDIT_LOG)
    target = check_path(path)
    total = count_events(session, actor, flt)
    headers = [translate("audit", header) for _key, header in EXPORT_COLUMNS]
    if progress is not None:
        progress(0, total)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".part", dir=target.parent)
    temp = Path(temp_name)
    written = 0

    def chunks() -> Iterator[list[AuditRow]]:
        nonlocal written
        for chunk in iter_events(session, actor, flt, translate=translate):
            if should_cancel is not None and should_cancel():
                raise ExportCancelled(QT_TRANSLATE_NOOP("errors", "The export was cancelled; no file was written."))
            yield chunk
            written += len(chunk)
            if progress is not None:
                progress(written, max(total, written))

    try:
        if target.suffix.lower() == ".csv":
            with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(headers)
                for chunk in chunks():
                    for row in chunk:
                        cells = _cells(row, translate)
                        cells[0] = cells[0].strftime("%Y-%m-%d %H:%M:%S")
                        # A spreadsheet runs a cell starting with = + - @ as a formula ("CSV injection").
                        writer.writerow(["'" + cell if cell.startswith(FORMULA_STARTS) else cell for cell in cells])
        else:
            os.close(fd)
            _write_xlsx(temp, headers, chunks(), translate)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return written


def _write_xlsx(path: Path, headers: list[str], chunks: Iterator[list[AuditRow]], translate: audit_actions.Translate) -> None:
    from openpyxl import Workbook  # loaded only for XLSX
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Audit log")
    for index, width in enumerate((20, 12, 28, 20, 12, 12, 60, 8), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    heading = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        heading.append(cell)
    sheet.append(heading)
    try:
        for chunk in chunks:
            for row in chunk:
                cells = []
                for value in _cells(row, translate):
                    cell = WriteOnlyCell(sheet, value=value)
                    if isinstance(value, str):
                        cell.data_type = "s"  # never a formula, whatever the text starts with
                    else:
                        cell.number_format = "yyyy-mm-dd hh:mm:ss"
                    cells.append(cell)
                sheet.append(cells)
        book.save(path)
    except BaseException:
        # Finish and delete openpyxl's own temporary sheet file after a cancel or failure.
        writer = getattr(sheet, "_writer", None)
        if writer is not None and not sheet.closed:
            try:
                sheet.close()
            except Exception:  # noqa: BLE001, S110 - only tidying up after the real error
                pass
            out = getattr(writer, "out", None)
            if isinstance(out, str):
                Path(out).unlink(missing_ok=True)
        raise


def record_export(session: Session, actor: Actor, path: str | os.PathLike[str], rows: int, flt: AuditFilter) -> None:
    """Note in the log that the log itself left the program: who, which file, how many events, which filter."""
    auth.require(actor, auth.Permission.VIEW_AUDIT_LOG)
    record(session, actor, "audit.export", "audit_event", None, file=Path(path).name, rows=rows, criteria=flt.to_dict())
