"""Exporting the member list (the current filter and order) to CSV or XLSX.

* CSV is UTF-8 **with a BOM**: without it Excel and WPS read the file as GBK
  and every Chinese name turns into mojibake.
* XLSX is written with openpyxl's write-only workbook, which streams rows to
  disk; dates are real dates and money real numbers, so Excel can sum them.
* Rows are streamed from the database chunk by chunk (member_query.iter_pages):
  memory stays flat whatever the number of members.
* The file is written under a temporary name beside the target and renamed at
  the end, so a cancelled or failed export never leaves half a file (and never
  destroys an older export of the same name).
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from crmdesk.errors import CrmdeskError, InvalidInput
from crmdesk.services import audit, insight_rules, member_query
from crmdesk.services.auth import Permission, require
from crmdesk.services.member_query import COLUMN_LABELS, COLUMNS, GENDER_LABELS, STATUS_LABELS, MemberFilter, MemberRow
from crmdesk.services.members import display_phone
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

FORMATS = (".csv", ".xlsx")
CHUNK = 500
# Leading characters that make a spreadsheet read a cell as a formula ("CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Progress = Callable[[int, int], None]


class ExportCancelled(CrmdeskError):
    """The person cancelled; nothing was written."""

    exit_code = 130


def check_columns(columns: Iterable[str] | None) -> tuple[str, ...]:
    if columns is None:
        return COLUMNS
    chosen = tuple(dict.fromkeys(columns))
    unknown = [c for c in chosen if c not in COLUMN_LABELS]
    if unknown or not chosen:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "Unknown columns: {columns}. Choose from: {known}."),
            field="columns",
            columns=", ".join(unknown) or "-",
            known=", ".join(COLUMNS),
        )
    return chosen


def check_path(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.suffix.lower() not in FORMATS:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "Export to a file ending in .csv or .xlsx, not '{name}'."), field="path", name=target.name
        )
    return check_folder(target)


def check_folder(target: Path) -> Path:
    """The file's folder must exist: nothing writes half a path (exports, printed reports)."""
    if not target.parent.is_dir():
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "Cannot write {path}: the folder {folder} does not exist."),
            field="path",
            path=str(target),
            folder=str(target.parent),
        )
    return target


def phone_text(e164: str | None) -> str:
    """The same text as members.display_phone, without parsing the usual mainland mobile
    (parsing is most of the time of a large export)."""
    if e164 and len(e164) == 14 and e164.startswith("+861") and e164[1:].isdigit():
        return f"{e164[3:6]} {e164[6:10]} {e164[10:]}"
    return display_phone(e164)


Getter = Callable[[MemberRow], Any]


def _local(value: datetime | None, zone: tzinfo) -> datetime | None:
    return value.astimezone(zone).replace(tzinfo=None, microsecond=0) if value else None


# The insight columns whose codes are written as words: column -> the rules' labels (context "insight").
INSIGHT_WORDS: dict[str, Mapping[str, str]] = {
    "segment": insight_rules.SEGMENT_LABELS,
    "abc": insight_rules.ABC_LABELS,
    "stage": insight_rules.STAGE_LABELS,
}


def insight_labels(translate: Callable[[str, str], str]) -> dict[Any, str]:
    """Words for segments, ABC classes and stages to add to ``labels``, keyed (column, code): the codes are
    plain strings, and "active" is both a stage and a membership status."""
    return {(column, code): translate("insight", label) for column, words in INSIGHT_WORDS.items() for code, label in words.items()}


def p_alive_text(p_alive: float | None) -> str:
    """0.834 -> "83%"; empty when the model gave no figure."""
    return "" if p_alive is None else f"{round(p_alive * 100)}%"


def _words(column: str, labels: Mapping[Any, str]) -> dict[str, str]:
    return {code: labels.get((column, code), label) for code, label in INSIGHT_WORDS[column].items()}


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen).scaleb(-2)


def value_getters(columns: Sequence[str], zone: tzinfo, labels: Mapping[Any, str]) -> list[Getter]:
    """Per column, how to get its typed cell value (str, int, Decimal, float, date, naive local datetime, None).
    A member without insight figures (never bought, or no refresh yet) has empty insight cells."""
    statuses = {status: labels.get(status, label) for status, label in STATUS_LABELS.items()}
    genders = {gender: labels.get(gender, label) for gender, label in GENDER_LABELS.items()}
    segments, classes, stages = (_words(column, labels) for column in ("segment", "abc", "stage"))
    getters: dict[str, Getter] = {
        "member_no": lambda r: r.member_no,
        "name": lambda r: r.name,
        "phone": lambda r: phone_text(r.phone),
        "gender": lambda r: genders[r.gender],
        "birthday": lambda r: r.birthday,
        "tier": lambda r: r.tier_name,
        "points": lambda r: r.points_balance,
        "visits": lambda r: r.visit_count,
        "spend": lambda r: Decimal(r.total_spend_fen).scaleb(-2),
        "last_visit": lambda r: _local(r.last_visit_at, zone),
        "joined": lambda r: r.joined_on,
        "status": lambda r: statuses[r.status],
        "tags": lambda r: ", ".join(r.tags),
        "card": lambda r: r.card_number or "",
        "wallet": lambda r: Decimal(r.wallet_fen).scaleb(-2),
        "owed": lambda r: Decimal(r.owed_fen).scaleb(-2),
        "segment": lambda r: segments.get(r.segment, r.segment) if r.segment else None,
        "abc": lambda r: classes.get(r.abc_class, r.abc_class) if r.abc_class else None,
        "stage": lambda r: stages.get(r.stage, r.stage) if r.stage else None,
        "p_alive": lambda r: None if r.p_alive is None else round(r.p_alive, 4),
        "value": lambda r: _yuan(r.expected_value_fen),
    }
    return [getters[column] for column in columns]


def _safe_text(text: str) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula ("CSV injection").
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _or_empty(get: Getter) -> Getter:
    """A missing value as an empty cell (a printed list would show "None")."""
    return lambda r: "" if (value := get(r)) is None else value


def text_getters(columns: Sequence[str], zone: tzinfo, labels: Mapping[Any, str]) -> list[Getter]:
    """Per column, the text a CSV cell holds: money with two decimals, dates ISO, local times to the minute,
    probabilities as whole percentages."""
    typed = dict(zip(columns, value_getters(columns, zone, labels), strict=True))
    special: dict[str, Getter] = {
        "name": lambda r: _safe_text(r.name),
        "tags": lambda r: _safe_text(", ".join(r.tags)),
        "birthday": lambda r: r.birthday.isoformat() if r.birthday else "",
        "joined": lambda r: r.joined_on.isoformat(),
        "points": lambda r: str(r.points_balance),
        "visits": lambda r: str(r.visit_count),
        "spend": lambda r: member_query.format_yuan(r.total_spend_fen),
        "wallet": lambda r: member_query.format_yuan(r.wallet_fen),
        "owed": lambda r: member_query.format_yuan(r.owed_fen),
        "p_alive": lambda r: p_alive_text(r.p_alive),
        "value": lambda r: member_query.format_yuan(r.expected_value_fen) if r.expected_value_fen is not None else "",
        "last_visit": lambda r: r.last_visit_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if r.last_visit_at else "",
    }
    return [special.get(column, _or_empty(typed[column])) for column in columns]


def cell_values(row: MemberRow, columns: Sequence[str], zone: tzinfo, labels: Mapping[Any, str]) -> list[Any]:
    """The row's typed values for the chosen columns (XLSX keeps the types)."""
    return [get(row) for get in value_getters(columns, zone, labels)]


class _CsvWriter:
    def __init__(self, handle: Any, columns: Sequence[str], zone: tzinfo, labels: Mapping[Any, str]) -> None:
        self._writer = csv.writer(handle)
        self._getters = text_getters(columns, zone, labels)

    def header(self, labels: Sequence[str]) -> None:
        self._writer.writerow(labels)

    def rows(self, rows: Iterable[MemberRow]) -> None:
        getters = self._getters
        self._writer.writerows([get(row) for get in getters] for row in rows)


class _XlsxWriter:
    def __init__(self, columns: Sequence[str], zone: tzinfo, labels: Mapping[Any, str]) -> None:
        from openpyxl import Workbook  # loaded only for XLSX
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        self._cell = WriteOnlyCell
        self._font = Font(bold=True)
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet("Members")
        self._columns = columns
        self._getters = value_getters(columns, zone, labels)
        self._formats = {
            "spend": "#,##0.00",
            "wallet": "#,##0.00",
            "owed": "#,##0.00",
            "value": "#,##0.00",
            "p_alive": "0%",
            "birthday": "yyyy-mm-dd",
            "joined": "yyyy-mm-dd",
            "last_visit": "yyyy-mm-dd hh:mm",
        }
        widths = {"member_no": 12, "name": 14, "phone": 16, "tags": 24, "card": 16, "last_visit": 17, "segment": 18, "abc": 22,
                  "value": 14}
        from openpyxl.utils import get_column_letter

        for index, column in enumerate(columns, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = widths.get(column, 12)
        self.sheet.freeze_panes = "A2"

    def header(self, labels: Sequence[str]) -> None:
        cells = []
        for label in labels:
            cell = self._cell(self.sheet, value=label)
            cell.font = self._font
            cells.append(cell)
        self.sheet.append(cells)

    def rows(self, rows: Iterable[MemberRow]) -> None:
        for row in rows:
            cells = []
            for get, column in zip(self._getters, self._columns, strict=True):
                value = get(row)
                cell = self._cell(self.sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                elif column in self._formats and value is not None:
                    cell.number_format = self._formats[column]
                cells.append(cell)
            self.sheet.append(cells)

    def save(self, path: Path) -> None:
        self.book.save(path)

    def discard(self) -> None:
        """Finish and delete openpyxl's own temporary sheet file after a cancel or failure."""
        writer = getattr(self.sheet, "_writer", None)
        if writer is None or self.sheet.closed:
            return
        try:
            self.sheet.close()
        except Exception:  # noqa: BLE001, S110 - only tidying up after the real error
            pass
        out = getattr(writer, "out", None)
        if isinstance(out, str):
            Path(out).unlink(missing_ok=True)


def export_members(
    session: Session,
    flt: MemberFilter,
    sort: str,
    descending: bool,
    path: str | os.PathLike[str],
    columns: Sequence[str] | None = None,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    *,
    actor: Actor,
    headers: Mapping[str, str] | None = None,
    labels: Mapping[Any, str] | None = None,
    zone: tzinfo | None = None,
) -> int:
    """Write the filtered members, in this order, to ``path`` (.csv or .xlsx); the number of rows.

    ``headers`` maps column keys to header texts (default: the English labels);
    ``labels`` maps statuses and genders to the words to write, and (column, code) the insight's segments, ABC
    classes and stages (``insight_labels``; default: English).
    ``progress(done, total)`` is called after each chunk; when ``should_cancel()``
    turns true the export stops with ExportCancelled and no file is left.
    Only those allowed to take members' data out of the program (the owner) may export."""
    require(actor, Permission.EXPORT_MEMBERS)
    target = check_path(path)
    chosen = check_columns(columns)
    member_query.check_sort(sort)
    flt.validate()
    zone = zone or member_query.local_zone()
    labels = labels or {}
    header_texts = [(headers or {}).get(c, COLUMN_LABELS[c]) for c in chosen]
    total = member_query.count(session, flt, zone=zone)
    if progress is not None:
        progress(0, total)

    fd, temp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".part", dir=target.parent)
    temp = Path(temp_name)
    written = 0
    try:
        if target.suffix.lower() == ".csv":
            with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
                writer: Any = _CsvWriter(handle, chosen, zone, labels)
                writer.header(header_texts)
                written = _stream(session, flt, sort, descending, zone, writer, total, progress, should_cancel)
        else:
            os.close(fd)
            writer = _XlsxWriter(chosen, zone, labels)
            try:
                writer.header(header_texts)
                written = _stream(session, flt, sort, descending, zone, writer, total, progress, should_cancel)
                writer.save(temp)
            except BaseException:
                writer.discard()
                raise
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return written


def _stream(
    session: Session,
    flt: MemberFilter,
    sort: str,
    descending: bool,
    zone: tzinfo,
    writer: Any,
    total: int,
    progress: Progress | None,
    should_cancel: Callable[[], bool] | None,
) -> int:
    written = 0
    for chunk in member_query.iter_pages(session, flt, sort, descending, size=CHUNK, total=total, zone=zone):
        if should_cancel is not None and should_cancel():
            raise ExportCancelled(QT_TRANSLATE_NOOP("errors", "The export was cancelled; no file was written."))
        writer.rows(chunk)
        written += len(chunk)
        if progress is not None:
            progress(written, max(total, written))
    if should_cancel is not None and should_cancel():
        raise ExportCancelled(QT_TRANSLATE_NOOP("errors", "The export was cancelled; no file was written."))
    return written


def record_export(session: Session, actor: Actor, path: str | os.PathLike[str], rows: int, flt: MemberFilter) -> None:
    """Note in the audit log who took members' personal data out of the shop, and which."""
    audit.record(session, actor, "member.export", "member", None, file=Path(path).name, rows=rows, criteria=flt.to_dict())
