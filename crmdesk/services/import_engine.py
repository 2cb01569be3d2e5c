"""The import engine: what every import of a file shares, so that each kind -- members with their opening
balances (services/imports.py), purchases and refunds (services/purchase_imports.py) -- only describes its
columns, how one row is checked, how rows are matched with the database and what is written.

Every kind goes through the same steps:

1. ``read_file`` reads the table as a stream (services/tabular.py: CSV in UTF-8, GBK/GB18030 or UTF-16,
   detected, or XLSX). The header is looked for in the first HEADER_SEARCH_ROWS rows (a title line may stand
   above it) and its names, English or Chinese, are mapped to the kind's fields (``FileColumns``); a file
   without a column the kind needs is refused before the rest of it is read. Each data row is then checked on
   its own by the kind (``RowCells`` gives it the row's values by field, names the column of each problem and
   collects them), with progress and cancel.
2. The kind matches the checked rows with the database: each kind of key looked up in bulk (``lookup``: a few
   hundred keys per query, never one query per row), the whole file at once.
3. Importing matches again inside the import's own transaction (the preview may be minutes old), refuses the
   whole file when a row is invalid unless invalid rows are skipped (``refuse_invalid``), and writes in batches
   (``in_batches``) with progress and cancel; an error or a cancel rolls everything back.
4. The rows that were not imported can be written beside the file exactly as they were, with their row number
   and reasons (``write_rejects``), to be corrected and imported again.

Problems name the row as in the file (the header is row 1 when it is the first line) and the column as written
in it; problems of the whole file raise InvalidInput at once.
"""

from __future__ import annotations

import csv
import enum
import functools
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import CrmdeskError, InvalidInput
from crmdesk.services.driver_sql import DriverRows
from crmdesk.services.tabular import MSG_FILE_EMPTY, Row, Table, cell_text, has_content, headers_found, read_table
from crmdesk.texts import QT_TRANSLATE_NOOP

HEADER_SEARCH_ROWS = 10  # a title line or two may stand above the header
CHUNK = 500  # keys per IN (...) query

Progress = Callable[[int, int], None]
ShouldCancel = Callable[[], bool]
Translate = Callable[[str], str]  # an English template -> the same template in the user's language
T = TypeVar("T")
R = TypeVar("R")

MSG_MISSING_COLUMN = QT_TRANSLATE_NOOP("errors", "The file has no column {missing}. Columns found: {found}.")
MSG_UNKNOWN_COLUMNS = QT_TRANSLATE_NOOP("errors", "These columns are not imported: {columns}.")
MSG_DUPLICATE_COLUMN = QT_TRANSLATE_NOOP("errors", "The column {column} is not imported: the column {used} already gives that.")
MSG_NOTHING_IMPORTED = QT_TRANSLATE_NOOP(
    "errors",
    "Nothing was imported: {count} rows are invalid. Correct them, or skip the invalid rows.\n{errors}",
)
MSG_NOTHING_IMPORTED_ONE = QT_TRANSLATE_NOOP(
    "errors", "Nothing was imported: 1 row is invalid. Correct it, or skip the invalid row.\n{errors}"
)
MSG_CANCELLED = QT_TRANSLATE_NOOP("errors", "The import was cancelled; nothing was changed.")
MSG_REJECTS_NOT_WRITTEN = QT_TRANSLATE_NOOP("errors", "Cannot write the rejected rows to {path}: {detail}")
MSG_ROW_COLUMN = QT_TRANSLATE_NOOP("errors", "Row {row}, column {column}: {reason}")
MSG_ROW = QT_TRANSLATE_NOOP("errors", "Row {row}: {reason}")


class ImportCancelled(CrmdeskError):
    """The person cancelled the import; the transaction is rolled back."""

    exit_code = 130


class Action(enum.Enum):
    NEW = "new"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    INVALID = "invalid"


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class Problem:
    """An error or warning about one row (row > 0) or the whole file (row == 0).

    ``column`` is the header as written in the file ("" for the whole row)."""

    row: int
    column: str
    template: str
    params: Mapping[str, object] = field(default_factory=dict)

    def reason(self, translate: Translate = _identity) -> str:
        return translate(self.template).format(**self.params)

    def describe(self, translate: Translate = _identity) -> str:
        reason = self.reason(translate)
        if self.row and self.column:
            return translate(MSG_ROW_COLUMN).format(row=self.row, column=self.column, reason=reason)
        if self.row:
            return translate(MSG_ROW).format(row=self.row, reason=reason)
        return reason


class RowError(Exception):
    """A cell that cannot be read, raised by a kind's cell parser and recorded by RowCells.parse."""

    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template)
        self.template = template
        self.params = params


# --------------------------------------------------------------------------- the header


def header_key(text: str) -> str:
    """A header as compared: full-width folded, lower case, without spaces, marks and remarks in brackets."""
    key = unicodedata.normalize("NFKC", text or "").lower()
    key = re.sub(r"\(.*?\)|\[.*?\]|【.*?】", "", key)
    return re.sub(r"[\s_\-*:.#/\\]", "", key)


@dataclass(frozen=True)
class Required:
    """Columns a kind cannot do without: any one of ``fields``; ``shown`` names them in the refusal."""

    fields: tuple[str, ...]
    shown: str


class FileColumns:
    """A kind's fields, their names in files (best first: when two columns mean the same field, the better name
    wins and the other is not imported, with a warning) and what it needs to find in a header."""

    def __init__(self, aliases: Mapping[str, Sequence[str]], required: Sequence[Required],
                 looks_like_header: Callable[[Mapping[str, int]], bool]) -> None:
        self.aliases = aliases
        self.required = tuple(required)
        self.looks_like_header = looks_like_header
        self._index: dict[str, tuple[str, int]] = {}
        for name, names in aliases.items():
            for rank, alias in enumerate(names):
                self._index.setdefault(header_key(alias), (name, rank))

    def map(self, headers: Sequence[str]) -> tuple[dict[str, int], list[str], list[tuple[str, str]]]:
        """(field -> column index, unknown headers, (ignored header, header used instead))."""
        chosen: dict[str, tuple[int, int]] = {}  # field -> (rank, index)
        unknown: list[str] = []
        for index, header in enumerate(headers):
            if not header:
                continue
            found = self._index.get(header_key(header))
            if found is None:
                unknown.append(header)
            elif found[0] not in chosen or found[1] < chosen[found[0]][0]:
                chosen[found[0]] = (found[1], index)
        columns = {name: index for name, (_rank, index) in chosen.items()}
        used = set(columns.values())
        ignored = [(header, headers[columns[self._index[header_key(header)][0]]])
                   for index, header in enumerate(headers)
                   if header and index not in used and header_key(header) in self._index]
        return columns, unknown, ignored


@dataclass(frozen=True)
class FileHeader:
    row: int  # its row number in the file
    headers: tuple[str, ...]  # as written
    columns: dict[str, int]  # field -> column index
    warnings: tuple[Problem, ...]  # columns not imported
    # RowCells.present: one set of field names for all the rows with the same cells filled (most rows of a file).
    filled_fields: dict[tuple[bool, ...], frozenset[str]] = field(default_factory=dict, compare=False, repr=False)

    def column(self, name: str | None) -> str:
        """The field's column as written in the file ("" when the file has none)."""
        return self.headers[self.columns[name]] if name in self.columns else ""

    def named(self) -> dict[str, str]:
        return {name: self.headers[index] for name, index in self.columns.items()}


def find_header(rows: Sequence[Row], path: Path, columns: FileColumns) -> FileHeader:
    """The header among the first rows (Table.head): a file without the needed columns is refused before the
    rest of it is read."""
    candidates = [(number, cells) for number, cells in rows if has_content(cells)]
    if not candidates:
        raise InvalidInput(MSG_FILE_EMPTY, path=str(path))
    number, cells = candidates[0]
    for candidate in candidates[:HEADER_SEARCH_ROWS]:
        mapped, _, _ = columns.map([cell_text(c) for c in candidate[1]])
        if columns.looks_like_header(mapped):
            number, cells = candidate
            break
    headers = tuple(cell_text(c) for c in cells)
    mapped, unknown, ignored = columns.map(headers)
    for need in columns.required:
        if not any(name in mapped for name in need.fields):
            raise InvalidInput(MSG_MISSING_COLUMN, missing=need.shown, found=headers_found(headers))
    warnings = [Problem(0, "", MSG_UNKNOWN_COLUMNS, {"columns": ", ".join(unknown)})] if unknown else []
    warnings += [Problem(0, "", MSG_DUPLICATE_COLUMN, {"column": header, "used": used}) for header, used in ignored]
    return FileHeader(number, headers, mapped, tuple(warnings))


# --------------------------------------------------------------------------- one row


class RowCells:
    """One data row as a kind's row check reads it: values by field, the text of every cell (for the rejects
    file), and the problems found so far, each naming its column as written."""

    def __init__(self, number: int, raw: tuple[object, ...], header: FileHeader) -> None:
        width = len(header.headers)
        cells = tuple(map(cell_text, raw[:width]))
        self.number = number
        self.raw = raw
        self.header = header
        self.cells = cells + ("",) * (width - len(cells))
        self.errors: list[Problem] = []

    @property
    def blank(self) -> bool:
        return not any(self.cells)  # blank rows are skipped, as spreadsheet users expect

    @functools.cached_property
    def present(self) -> frozenset[str]:
        """The fields whose cell is not empty."""
        filled = tuple(bool(self.cells[index]) for index in self.header.columns.values())
        shared = self.header.filled_fields.get(filled)
        if shared is None:
            shared = self.header.filled_fields[filled] = frozenset(
                name for name, full in zip(self.header.columns, filled) if full)
        return shared

    def value(self, name: str) -> object:
        index = self.header.columns.get(name)
        return self.raw[index] if index is not None and index < len(self.raw) else None

    def column(self, name: str | None) -> str:
        return self.header.column(name)

    def parse(self, name: str, parser: Callable[[object], T], default: T) -> T:
        """The field's value read by ``parser``; ``default`` when the file has no such column or the cell is
        refused (then the reason is recorded against its column)."""
        if name not in self.header.columns:
            return default
        try:
            return parser(self.value(name))
        except (RowError, InvalidInput) as exc:
            self.problem(name, exc.template, **exc.params)
        return default

    def problem(self, name: str | None, template: str, **params: object) -> None:
        self.errors.append(Problem(self.number, self.column(name), template, params))


@dataclass
class FileRead:
    table: Table
    header: FileHeader
    rows: list[Any]  # what the kind's row check made of each non-blank row
    read: int  # data rows read, blank ones included


def read_file(path: Path, columns: FileColumns, check_row: Callable[[RowCells], R | None], *,
              progress: Progress | None = None, should_cancel: ShouldCancel | None = None, step: int = 1_000,
              keep: Callable[[R], object] | None = None) -> FileRead:
    """Read the file as a stream and check every data row (``check_row`` gets its RowCells; None leaves it out),
    with progress and a cancel check every ``step`` rows. The checked rows are collected in FileRead.rows, or
    handed to ``keep`` one by one (a kind that stages a large file elsewhere than in memory)."""
    table = read_table(path)
    header = find_header(table.head(HEADER_SEARCH_ROWS), path, columns)
    expected = table.expected_rows - header.row  # for progress only: the rest is read as it is checked
    checked: list[R] = []
    keep = keep or checked.append
    index = 0
    for number, raw in table.rows():
        if number <= header.row:
            continue
        index += 1
        row = RowCells(number, raw, header)
        if not row.blank:
            result = check_row(row)
            if result is not None:
                keep(result)
        if index % step == 0:
            check_cancel(should_cancel)
            if progress:
                progress(index, max(expected, index))
    check_cancel(should_cancel)
    return FileRead(table, header, checked, index)


# --------------------------------------------------------------------------- matching and writing


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def lookup(session: Session, select: Callable[[Sequence[Any]], sa.Select[Any]], keys: Iterable[Any], size: int = CHUNK) -> list[Any]:
    """The rows ``select(keys)`` finds for every key, ``size`` keys per query, as plain rows."""
    found: list[Any] = []
    connection = session.connection()  # no mapped-object machinery for thousands of keys
    for chunk in chunks(sorted(set(keys)), size):
        found.extend(connection.execute(select(chunk)).all())
    return found


def check_cancel(should_cancel: ShouldCancel | None) -> None:
    if should_cancel is not None and should_cancel():
        raise ImportCancelled(MSG_CANCELLED)


def nothing_imported(count: int, errors: str) -> InvalidInput:
    """The refusal of an import that has invalid rows, with the count in the right number."""
    return InvalidInput(MSG_NOTHING_IMPORTED_ONE if count == 1 else MSG_NOTHING_IMPORTED, count=count, errors=errors)


def refuse_invalid(invalid_rows: int, problems: Sequence[Problem], skip_invalid: bool) -> None:
    """All or nothing: a file with invalid rows is refused, naming the first few problems, unless they are skipped."""
    if invalid_rows and not skip_invalid:
        raise nothing_imported(invalid_rows, "\n".join(problem.describe() for problem in problems[:5]))


def in_batches(items: Sequence[T], size: int, write: Callable[[Sequence[T]], object], *,
               progress: Progress | None = None, should_cancel: ShouldCancel | None = None) -> None:
    """``write`` the items a batch at a time, with progress and a cancel check after each."""
    total = len(items)
    if progress:
        progress(0, total)
    done = 0
    for batch in chunks(items, size):
        write(batch)
        done += len(batch)
        check_cancel(should_cancel)
        if progress:
            progress(done, total)


_DRIVER_INSERTS: dict[tuple[str, tuple[str, ...]], DriverRows] = {}


def insert_rows(connection: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT many rows (mappings with the same keys): through DriverRows on SQLite, as a Core executemany elsewhere."""
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        connection.execute(sa.insert(table), list(rows))
        return
    names = tuple(rows[0])
    writer = _DRIVER_INSERTS.get((table.name, names))
    if writer is None:
        writer = _DRIVER_INSERTS[(table.name, names)] = DriverRows.inserting(table, names)
    if len(names) == 1:
        writer.execute(connection, [(row[names[0]],) for row in rows])
    else:
        pick = operator.itemgetter(*names)  # a tuple of the values, in C
        writer.execute(connection, [pick(row) for row in rows])


# --------------------------------------------------------------------------- a kind's entry points


@dataclass(frozen=True)
class ImportSteps:
    """What the screens, the command line and the hand-off folder run for one kind of import: check a file into a
    plan (in a read-only session: nothing is locked), import a plan (in one unit of work: it matches the rows again
    and writes), and write the rows left out beside the file."""

    plan: Callable[..., Any]  # (session, path, *, progress, should_cancel) -> plan
    apply: Callable[..., Any]  # (session, actor, plan, *, skip_invalid, progress, should_cancel) -> result with .plan
    write_rejects: Callable[..., Path]  # (plan, path, *, translate) -> the rejects file
    has_invalid: Callable[[Any], bool]  # plan -> any invalid rows
    permission: Any  # services.auth.Permission


# --------------------------------------------------------------------------- rejected rows


@dataclass(frozen=True)
class RejectedRow:
    """A row left out of an import, as it was in the file, with its reasons."""

    row: int
    cells: tuple[str, ...]
    errors: tuple[Problem, ...]


def rejects_path(input_path: str | Path) -> Path:
    """members.csv -> members.rejected.csv (also for members.xlsx), beside the input."""
    path = Path(input_path)
    return path.with_name(f"{path.stem}.rejected.csv")


def write_rejects(headers: Sequence[str], rows: Iterable[RejectedRow], input_path: str | Path, *,
                  translate: Translate = _identity) -> Path:
    """The rejected rows as they were in the file, with their row number and reasons, as CSV (UTF-8 with BOM, so
    Excel shows the Chinese) beside the input. Correct it and import it again: the extra columns are ignored.

    Call it inside the import's unit of work, so a file that cannot be written stops the import too."""
    target = rejects_path(input_path)
    chinese = any(re.search(r"[\u3400-\u9fff]", header) for header in headers)
    extra = ["行号", "原因"] if chinese else ["row", "reason"]
    try:
        with target.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*headers, *extra])
            for row in rows:
                reasons = "; ".join(f"{p.column}: {p.reason(translate)}" if p.column else p.reason(translate) for p in row.errors)
                writer.writerow([*row.cells, row.row, reasons])
    except OSError as exc:
        raise InvalidInput(MSG_REJECTS_NOT_WRITTEN, path=str(target), detail=exc.strerror or str(exc)) from None
    return target
