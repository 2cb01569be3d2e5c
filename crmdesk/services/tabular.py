"""Reading the table of an import file -- CSV (UTF-8, GBK/GB18030, UTF-16) or XLSX -- row by row.

Shared by the member and the purchase import. A file is checked against what its name
says, then read lazily: ``Table.head`` reads only the first rows (where the header is
looked for), so a file without the columns an import needs is refused before the rest is
read, and ``Table.rows`` goes on from there.

Damaged and hostile files are refused with InvalidInput naming the file, saying what is
wrong and what to do, and never quoting a cell: a workbook whose parts would unpack to
more than MAX_UNPACKED_BYTES (checked from the ZIP directory before anything is parsed),
a file larger than MAX_FILE_BYTES, more than MAX_ROWS rows or MAX_COLUMNS columns, a
cell longer than MAX_CELL_CHARS, a workbook cut short or with a corrupt part, one
without a worksheet, and XML that declares entities (openpyxl parses workbooks with
defusedxml when it is installed, which crmdesk requires).
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import errors as expat_errors

from crmdesk.errors import CrmdeskError, InvalidInput
from crmdesk.texts import QT_TRANSLATE_NOOP

try:
    from defusedxml import DefusedXmlException
except ImportError:  # a required package; without it expat's own amplification limit still stops a bomb
    DefusedXmlException = ()  # type: ignore[assignment,misc]

# --------------------------------------------------------------------------- limits

# Excel's and WPS's last row: nothing they save is longer, and it is far above a big shop's
# members. A workbook row beyond it is damage (or a trap: openpyxl fills the gap before it).
MAX_ROWS = 1_048_576
# Far more columns than any member or receipt list has; bounds the work per row.
MAX_COLUMNS = 200
# Excel's own limit for one cell: a longer one is no list from Excel (or an unclosed quote in a CSV).
MAX_CELL_CHARS = 32_767
# What an import may read into memory: a CSV file as it is, a workbook's parts as unpacked
# (a 1 MB workbook can unpack to gigabytes). Room for several hundred thousand rows.
MAX_FILE_BYTES = 256 * 2**20
MAX_UNPACKED_BYTES = 256 * 2**20
# csv.reader builds a whole record in memory: one running past this many characters holds a
# cell longer than Excel allows (or more columns than MAX_COLUMNS) whatever it is.
MAX_RECORD_CHARS = MAX_COLUMNS * (MAX_CELL_CHARS + 3)
SNIFF_CHARS = 65_536  # the delimiter is chosen from the first line, read this far at most
DECODE_CHUNK = 1 << 20  # bytes decoded at a time when the encoding is checked
MAX_LISTED_HEADERS = 30  # headers named in a message about missing columns
MAX_HEADER_SHOWN = 40  # characters of each such header
# Excel keeps 15 significant digits: a longer number typed into a cell is already rounded.
EXCEL_EXACT_LIMIT = 10**15

Row = tuple[int, tuple[object, ...]]  # (row number as in the file, the row's cells)

# --------------------------------------------------------------------------- messages

MSG_FILE_EMPTY = QT_TRANSLATE_NOOP("errors", "{path} is empty: there is nothing to import.")
MSG_NOT_READABLE = QT_TRANSLATE_NOOP("errors", "Cannot read {path}: {detail}")
MSG_ENCODING = QT_TRANSLATE_NOOP(
    "errors",
    "{path} is neither UTF-8 nor GBK/GB18030 text: byte {position} (line {line}) is not valid {encoding}. "
    "Save it from Excel or WPS as \"CSV UTF-8\" or as .xlsx and import that.",
)
MSG_OLD_EXCEL = QT_TRANSLATE_NOOP("errors", "{path} is an old Excel .xls file: save it as .xlsx or CSV and import that.")
MSG_BAD_WORKBOOK = QT_TRANSLATE_NOOP(
    "errors",
    "{path} cannot be read as an Excel workbook: it is damaged or incomplete (was the copy or download cut short?). "
    "Open it in Excel or WPS and save it again, or save it as CSV and import that.",
)
MSG_BAD_CSV = QT_TRANSLATE_NOOP("errors", "{path} cannot be read as CSV near line {line}: {detail}")
MSG_NOT_EXCEL = QT_TRANSLATE_NOOP(
    "errors",
    "{path} is not an Excel file: its name ends in {suffix} but it holds something else. "
    "Open it in Excel or WPS, save it as .xlsx or CSV and import that.",
)
MSG_WORKBOOK_NAMED_CSV = QT_TRANSLATE_NOOP(
    "errors", "{path} is an Excel workbook, not a CSV file: rename it to end in .xlsx and import it again."
)
MSG_ZIP_ARCHIVE = QT_TRANSLATE_NOOP(
    "errors", "{path} is a ZIP archive, not a CSV or Excel file: unpack it and import the list inside."
)
MSG_BINARY = QT_TRANSLATE_NOOP(
    "errors",
    "{path} is not a text (CSV) file: it holds binary data. Save the list from Excel or WPS as CSV or .xlsx and import that.",
)
MSG_FILE_TOO_BIG = QT_TRANSLATE_NOOP(
    "errors",
    "{path} is larger than {limit} MB, too big to import at once: split it into smaller files and import them one after another.",
)
MSG_WORKBOOK_TOO_BIG = QT_TRANSLATE_NOOP(
    "errors",
    "{path} would unpack to {size} MB, more than the {limit} MB an import may read: "
    "split the list into smaller files, or save it as CSV and import that.",
)
MSG_TOO_MANY_ROWS = QT_TRANSLATE_NOOP(
    "errors", "{path} has more than {limit} rows: split it into smaller files and import them one after another."
)
MSG_TOO_MANY_COLUMNS = QT_TRANSLATE_NOOP(
    "errors", "Row {row} of {path} has more than {limit} columns: delete the columns that are not imported and save it again."
)
MSG_CELL_TOO_LONG = QT_TRANSLATE_NOOP(
    "errors",
    "Row {row} of {path} has a cell of more than {limit} characters, more than Excel allows. Correct that row "
    "(in a CSV file, a quote mark (\") that is never closed runs on to the end of the file), "
    "or save the list again from Excel or WPS.",
)
MSG_ROW_TOO_LONG = QT_TRANSLATE_NOOP(
    "errors",
    "Row {row} of {path} runs on for more than {limit} characters, longer than any row of a list. Correct that row "
    "(in a CSV file, a quote mark (\") that is never closed runs on to the end of the file), "
    "or save the list again from Excel or WPS.",
)
MSG_SHEET_CUT_SHORT = QT_TRANSLATE_NOOP(
    "errors",
    "{path} is damaged (the sheet is cut short): open it in Excel or WPS and save it again, or save it as CSV and import that.",
)
MSG_WORKBOOK_CUT_SHORT = QT_TRANSLATE_NOOP(
    "errors",
    "{path} is damaged (part of it is cut short): open it in Excel or WPS and save it again, or save it as CSV and import that.",
)
MSG_WORKBOOK_CORRUPT = QT_TRANSLATE_NOOP(
    "errors",
    "{path} is damaged (part of the workbook cannot be unpacked): open it in Excel or WPS and save it again, "
    "or save it as CSV and import that.",
)
MSG_WORKBOOK_DAMAGED = QT_TRANSLATE_NOOP(
    "errors",
    "{path} is damaged (its contents are not what Excel writes): open it in Excel or WPS and save it again, "
    "or save it as CSV and import that.",
)
MSG_WORKBOOK_UNSAFE = QT_TRANSLATE_NOOP(
    "errors",
    "{path} is damaged or unsafe: it declares XML entities, which Excel and WPS never write, so it was not read. "
    "Save the list again from Excel or WPS, or as CSV, and import that.",
)
MSG_NO_SHEET = QT_TRANSLATE_NOOP(
    "errors",
    "{path} has no worksheet: open it in Excel or WPS, put the list on the first sheet, save it and import it again.",
)

# --------------------------------------------------------------------------- the table


class Table:
    """A file's rows, read once and lazily; the first ones can be looked at before the rest is read."""

    def __init__(self, file_type: str, encoding: str | None, delimiter: str | None, rows: Iterator[Row],
                 expected_rows: int) -> None:
        self.file_type = file_type  # "csv" or "xlsx"
        self.encoding = encoding  # "UTF-8", "UTF-8 with BOM", "GBK/GB18030", "UTF-16"; None for XLSX
        self.delimiter = delimiter
        self.expected_rows = expected_rows  # an estimate for progress (lines, or the sheet's stated size); 0: unknown
        self._source = rows
        self._head: list[Row] = []

    def head(self, count: int) -> list[Row]:
        """The rows up to the count-th that has any content (all of them in a shorter file)."""
        filled = sum(1 for _number, cells in self._head if has_content(cells))
        while filled < count:
            row = next(self._source, None)
            if row is None:
                break
            self._head.append(row)
            filled += has_content(row[1])
        return list(self._head)

    def rows(self) -> Iterator[Row]:
        """Every row from the first, the ones head() read included; once."""
        head, self._head = self._head, []
        yield from head
        yield from self._source


def has_content(cells: tuple[object, ...]) -> bool:
    return any(cell_text(c) for c in cells)


def cell_text(value: object) -> str:
    """A cell as a person reads it: 13812345678.0 from Excel is 13812345678, dates without 00:00."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < EXCEL_EXACT_LIMIT:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def headers_found(headers: tuple[str, ...] | list[str]) -> str:
    """The headers a message about missing columns lists: a few, each shortened (a data row taken for the
    header must not fill a message box, nor repeat a member's details at length)."""
    named = [h if len(h) <= MAX_HEADER_SHOWN else h[:MAX_HEADER_SHOWN] + "…" for h in headers if h]
    if not named:
        return "-"
    shown = ", ".join(named[:MAX_LISTED_HEADERS])
    return shown + ", …" if len(named) > MAX_LISTED_HEADERS else shown


# --------------------------------------------------------------------------- which kind of file

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
# Control characters that never stand in a text file (tab, line breaks, form feed and Ctrl-Z do).
_BINARY_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0c\x1a")


def read_table(path: Path) -> Table:
    """The file's rows, by what the file holds -- a workbook, text -- checked against what its name says."""
    data = _read_bytes(path)
    if not data.strip():
        raise InvalidInput(MSG_FILE_EMPTY, path=str(path))
    suffix = path.suffix.lower()
    if data.startswith(_OLE):
        raise InvalidInput(MSG_OLD_EXCEL, path=str(path))
    if data.startswith(_ZIP):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                parts = archive.infolist()
        except MemoryError:
            raise
        except Exception:  # noqa: BLE001 - no readable ZIP directory: a damaged or cut-short workbook, most likely
            raise InvalidInput(MSG_BAD_WORKBOOK, path=str(path)) from None
        if not _is_workbook({part.filename for part in parts}):
            raise InvalidInput(MSG_ZIP_ARCHIVE, path=str(path))
        if suffix not in EXCEL_SUFFIXES:
            raise InvalidInput(MSG_WORKBOOK_NAMED_CSV, path=str(path))
        # The directory states every part's unpacked size, and zipfile never unpacks more than that.
        unpacked = sum(part.file_size for part in parts)
        if unpacked > MAX_UNPACKED_BYTES:
            raise InvalidInput(MSG_WORKBOOK_TOO_BIG, path=str(path), size=f"{-(-unpacked // 2**20):,}",
                               limit=f"{MAX_UNPACKED_BYTES // 2**20:,}")
        return _read_xlsx(path, data)
    if suffix in EXCEL_SUFFIXES:
        raise InvalidInput(MSG_NOT_EXCEL, path=str(path), suffix=suffix)
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and _looks_binary(data):
        raise InvalidInput(MSG_BINARY, path=str(path))
    codec, encoding = _encoding(path, data)
    return _read_csv(path, data, codec, encoding)


def _read_bytes(path: Path) -> bytes:
    """The whole file, refused at once when larger than MAX_FILE_BYTES (read with a bound, not by its
    stated size: a pipe or device says 0)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(MSG_NOT_READABLE, path=str(path), detail=exc.strerror or str(exc)) from None
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(MSG_FILE_TOO_BIG, path=str(path), limit=f"{MAX_FILE_BYTES // 2**20:,}")
    return data


def _is_workbook(names: set[str]) -> bool:
    """Whether a ZIP archive's member names are those of an Excel workbook (.xlsx)."""
    return "xl/workbook.xml" in names or ("[Content_Types].xml" in names and any(n.startswith("xl/") for n in names))


def _looks_binary(data: bytes) -> bool:
    """A NUL byte, or more than a few control characters, in the first 64 KB: not text of any encoding we read."""
    head = data[:65536]
    strange = len(head) - len(head.translate(None, _BINARY_BYTES))
    return b"\x00" in head or strange > max(2, len(head) // 200)


# --------------------------------------------------------------------------- CSV


def _encoding(path: Path, data: bytes) -> tuple[str, str]:
    """The codec that reads the text, and its name: UTF-8 (with or without BOM) or else GB18030 (a superset of
    GBK); both strictly. Checked a chunk at a time: the file is never held as text all at once."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and _decodes(data, "utf-16"):  # Excel's "Unicode text"
        return "utf-16", "UTF-16"
    if _decodes(data, "utf-8-sig"):
        return "utf-8-sig", "UTF-8 with BOM" if data.startswith(codecs.BOM_UTF8) else "UTF-8"
    if _decodes(data, "gb18030"):
        return "gb18030", "GBK/GB18030"
    # The encoding that read furthest is most likely the one meant; its failure is the byte to fix.
    failures = []
    for codec, label in (("utf-8-sig", "UTF-8"), ("gb18030", "GBK/GB18030")):
        try:
            data.decode(codec)  # once more whole, for the exact place (the file is refused: no memory to keep)
        except UnicodeDecodeError as exc:
            failures.append((exc.start, label))
    position, label = max(failures)
    line = data.count(b"\n", 0, position) + 1
    raise InvalidInput(MSG_ENCODING, path=str(path), position=position, line=line, encoding=label)


def _decodes(data: bytes, codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    view = memoryview(data)
    try:
        for start in range(0, len(data), DECODE_CHUNK):
            decoder.decode(view[start:start + DECODE_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _text(data: bytes, codec: str) -> io.TextIOWrapper:
    """The file's text as a stream (lines as csv.reader wants them: line breaks untouched)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=codec, newline="")


def _sniff_delimiter(text: str) -> str:
    """Comma, tab or semicolon: whichever splits the first line (of the text's start) into most columns.

    Only ASCII delimiters count; a full-width comma (，) inside Chinese text is data."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    best, best_count = ",", 1
    for candidate in (",", "\t", ";"):
        try:
            count = len(next(csv.reader([first], delimiter=candidate), []))
        except csv.Error:
            continue
        if count > best_count:
            best, best_count = candidate, count
    return best


class _Lines:
    """The text's lines for csv.reader, refusing a record that runs on past MAX_RECORD_CHARS before
    csv.reader holds it all (an unclosed quote, or a line of millions of delimiters)."""

    def __init__(self, path: Path, text: io.TextIOWrapper) -> None:
        self._path = path
        self._lines = iter(text)
        self.record_chars = 0
        self.record = 1  # the number of the record being read

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.record_chars += len(line)
        if self.record_chars > MAX_RECORD_CHARS:
            raise InvalidInput(MSG_ROW_TOO_LONG, path=str(self._path), row=self.record, limit=f"{MAX_RECORD_CHARS:,}")
        return line


def _read_csv(path: Path, data: bytes, codec: str, encoding: str) -> Table:
    delimiter = _sniff_delimiter(_text(data, codec).read(SNIFF_CHARS))
    expected = data.count(b"\n") + (not data.endswith(b"\n"))  # bytes, not text: an estimate for progress
    return Table("csv", encoding, delimiter, _csv_rows(path, _text(data, codec), delimiter), expected)


def _csv_rows(path: Path, text: io.TextIOWrapper, delimiter: str) -> Iterator[Row]:
    lines = _Lines(path, text)
    reader = csv.reader(lines, delimiter=delimiter)
    # Records are counted like Excel rows: a quoted line break stays inside its row.
    number = 0
    while True:
        try:
            record = next(reader, None)
        except csv.Error as exc:
            if str(exc).startswith("field larger than field limit"):
                raise InvalidInput(MSG_CELL_TOO_LONG, path=str(path), row=number + 1, limit=f"{MAX_CELL_CHARS:,}") from None
            raise InvalidInput(MSG_BAD_CSV, path=str(path), line=reader.line_num, detail=str(exc)) from None
        if record is None:
            return
        number += 1
        lines.record, lines.record_chars = number + 1, 0
        if number > MAX_ROWS:
            raise InvalidInput(MSG_TOO_MANY_ROWS, path=str(path), limit=f"{MAX_ROWS:,}")
        if not record:
            continue  # a blank line: the importers skip it anyway
        if len(record) > MAX_COLUMNS:
            if any(cell.strip() for cell in record[MAX_COLUMNS:]):
                raise InvalidInput(MSG_TOO_MANY_COLUMNS, path=str(path), row=number, limit=MAX_COLUMNS)
            del record[MAX_COLUMNS:]  # empty cells after the last column: nothing to read there
        if max(map(len, record)) > MAX_CELL_CHARS:
            raise InvalidInput(MSG_CELL_TOO_LONG, path=str(path), row=number, limit=f"{MAX_CELL_CHARS:,}")
        yield number, tuple(record)


# --------------------------------------------------------------------------- XLSX

# Errors of expat that mean the XML simply stops: the part was cut short.
_CUT_SHORT_XML = {expat_errors.codes[message] for message in (
    expat_errors.XML_ERROR_NO_ELEMENTS, expat_errors.XML_ERROR_UNCLOSED_TOKEN, expat_errors.XML_ERROR_PARTIAL_CHAR,
    expat_errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
)}


def _read_xlsx(path: Path, data: bytes) -> Table:
    import openpyxl  # only needed for workbooks

    try:
        # From memory: the file is read already, and is not kept open (and locked on Windows) meanwhile.
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever openpyxl meets in a broken workbook
        raise _damaged(path, exc, reading_sheet=False) from None
    sheets = workbook.worksheets
    if not sheets:
        workbook.close()
        raise InvalidInput(MSG_NO_SHEET, path=str(path))
    sheet = sheets[0]
    expected = sheet.max_row or 0  # as the sheet states it; only for progress
    # Some programs write a wrong sheet size; read whatever is there.
    sheet.reset_dimensions()
    return Table("xlsx", None, None, _xlsx_rows(path, workbook, sheet), expected)


def _xlsx_rows(path: Path, workbook: object, sheet: object) -> Iterator[Row]:
    # One column past the limit is read, to tell a wider sheet; openpyxl then makes every row that wide.
    source = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1)  # type: ignore[attr-defined]
    number = 0
    try:
        while True:
            try:
                values = next(source, None)
            except MemoryError:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever openpyxl meets in a broken sheet
                raise _damaged(path, exc, reading_sheet=True) from None
            if values is None:
                return
            number += 1
            if number > MAX_ROWS:
                raise InvalidInput(MSG_TOO_MANY_ROWS, path=str(path), limit=f"{MAX_ROWS:,}")
            values = _used(values)
            if not values:
                continue  # an empty row (or a gap openpyxl fills): the importers skip it anyway
            if len(values) > MAX_COLUMNS:
                if cell_text(values[MAX_COLUMNS]):
                    raise InvalidInput(MSG_TOO_MANY_COLUMNS, path=str(path), row=number, limit=MAX_COLUMNS)
                values = values[:MAX_COLUMNS]
            if any(type(value) is str and len(value) > MAX_CELL_CHARS for value in values):
                raise InvalidInput(MSG_CELL_TOO_LONG, path=str(path), row=number, limit=f"{MAX_CELL_CHARS:,}")
            yield number, values
    finally:
        workbook.close()  # type: ignore[attr-defined]


def _used(values: tuple[object, ...]) -> tuple[object, ...]:
    """A row without the empty cells after its last value (openpyxl pads each row to max_col), found
    with tuple.count rather than a Python loop over every padded cell."""
    size = len(values)
    empty = values.count(None)
    if empty == size:
        return ()
    end = size - empty  # the last value is here or further right
    if values[end:].count(None) != empty:  # empty cells between values too: search for the end
        low, high = end, size
        while low < high:
            middle = (low + high) // 2
            if values[middle:].count(None) == size - middle:
                high = middle
            else:
                low = middle + 1
        end = low
    return values if end == size else values[:end]


def _damaged(path: Path, exc: BaseException, *, reading_sheet: bool) -> CrmdeskError:
    """What a person is told about an exception from openpyxl, zipfile, zlib or the XML parser: never its
    text, which may quote the workbook's contents."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(e, DefusedXmlException) or (isinstance(e, ParseError) and "amplification" in str(e)) for e in chain):
        return InvalidInput(MSG_WORKBOOK_UNSAFE, path=str(path))
    if any(isinstance(e, ParseError) and e.code in _CUT_SHORT_XML for e in chain):
        return InvalidInput(MSG_SHEET_CUT_SHORT if reading_sheet else MSG_WORKBOOK_CUT_SHORT, path=str(path))
    if any(isinstance(e, (zlib.error, zipfile.BadZipFile, EOFError, NotImplementedError))
           or (type(e) is RuntimeError) for e in chain):  # a bad checksum, stream, method or a password
        return InvalidInput(MSG_WORKBOOK_CORRUPT, path=str(path))
    return InvalidInput(MSG_WORKBOOK_DAMAGED, path=str(path))
