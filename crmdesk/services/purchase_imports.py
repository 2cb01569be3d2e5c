"""Importing purchases (and refunds) from an old system's or a POS's file: CSV (UTF-8, GBK/GB18030) or XLSX.

The same two steps and the same rules as the member import (services.imports, whose
cell and date handling, messages and rejects file this module uses, and services.tabular,
which reads the file: encodings, workbooks, damaged files and the size limits):

``plan_purchase_import(session, path)`` reads and checks the file and matches it with
the database; every receipt is ``new``, ``unchanged`` or ``invalid`` (errors name the
row as in the file -- the header is row 1 -- and the column as written). Whole-file
problems raise InvalidInput at once -- a missing column before the rest of the file is
read. Nothing is written.

``apply_purchase_import(session, actor, plan, ...)`` checks the receipts against the
database again and writes them in the caller's one transaction: refused as a whole when
a receipt is invalid unless ``skip_invalid``; progress reported; cancellable (the unit
of work then rolls back, so nothing remains).

Columns
-------
receipt_no/小票号, time/时间, amount/金额, till/收银台 (optional: a shop with one till
may leave it out), the member by card_no/卡号, member_no/会员编号 or phone/手机 (any of
them; when several are given they must name the same member), kind/类型 (sale/消费, the
default, or refund/退货 with original_receipt/原小票号) and item columns item_code/商品编码,
item/商品名称, category/品类, quantity/数量, price/单价, line_amount/小计.

Rules
-----
* Receipts and lines: the rows with the same till and receipt number are the lines of one
  receipt (they need not be adjacent). A row with any item cell is a line; a receipt on
  several rows must have an item on each (else the later row is a duplicate receipt). The
  receipt's own cells (member, time, amount, kind, original receipt) may be repeated on
  every line or given once; where given twice they must agree. The receipt amount is the
  amount column; when it is empty on every line it is the sum of the lines. The lines must
  add up to the receipt amount exactly (as record_purchase requires). A line amount left
  empty is quantity x price when that is a whole number of fen; quantity defaults to 1.
  Amounts are yuan with at most two decimals, more than ¥0 and at most ¥100,000
  (purchases.MAX_AMOUNT_FEN); line prices and amounts are not negative, quantities more
  than 0 with at most three decimals. A refund has no lines.
* Times: 2024-03-01 14:05[:33], 2024/3/1 14:05, 2024年3月1日 14:05, 20240301 143305, Excel
  date-times; without a zone they are shop time (UTC+8); a date alone is 00:00. Not more
  than purchases.FUTURE_TOLERANCE in the future, not before 2000.
* Members: a card must be working (a lost, replaced or closed card is an error naming its
  member, as at the counter); a phone is an open member's; a member number any member's.
  A sale needs an active member (closed or frozen: error), as record_purchase. A refund
  belongs to the member of its sale (member cells may be left empty; when given they must
  name that member); like purchases.refund it does not look at the member's status.
* Idempotence: a receipt already in crmdesk for the same till with the same member, amount
  and kind (a refund: the same sale) is ``unchanged``; with other details it is an error.
  Re-importing a file therefore writes nothing at all.
* Refunds: the sale is in crmdesk or on an earlier row of the file; refunds of a sale never
  add up to more than it; a refund of a sale that is invalid in the file is invalid too.
* Points, totals and tiers are exactly what calling purchases.record_purchase / refund for
  each receipt in the file's order would give: points by loyalty.points_for with the
  member's tier multiplier at that moment and the bonus day of the receipt's shop day;
  after each sale the tier is lifted (never lowered) when the 12-month spend crosses a
  threshold, by the counter's rule (loyalty.CounterConfig.reached) -- which is why this is simulated per member
  in Python, in order (a later receipt earns with the new multiplier) and then written as
  one executemany UPDATE; refunds take points back in proportion, never below a zero
  balance. The cached visits, spend and last visit come from members.refresh_member_totals.
* Writing: validated in Python, then Core INSERTs in chunks (purchases with RETURNING of
  their ids, lines, points entries), one UPDATE per affected member for balance and tier.
  The import records one audit event for the file (``purchase.import``, with its counts),
  not one per receipt.
* Memory: a file of more than PART_ROWS rows is staged in a scratch SQLite file of the
  plan's own and cut into parts that can each be matched and worked out alone (a
  receipt's lines, a member's receipts and a sale's refunds share a part); the plan
  holds each part's counts and a preview, and importing writes the parts one after the
  other in the same one transaction. A million rows need no more memory than PART_ROWS.

Checking a file is open to everyone; importing needs Permission.IMPORT_PURCHASES.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import sqlite3
import tempfile
import time
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.db import sqlite_driver_execute
from crmdesk.errors import InvalidInput
from crmdesk.models import (
    Card,
    CardStatus,
    Member,
    MemberStatus,
    PointsEntry,
    PointsKind,
    Purchase,
    PurchaseKind,
    PurchaseLine,
)
from crmdesk.services import audit, loyalty, members, purchases
from crmdesk.services.auth import Permission, require
from crmdesk.services.driver_sql import DriverRows
from crmdesk.services.import_engine import (
    Action, FileColumns, FileHeader, ImportCancelled, ImportSteps, Problem, Progress, RejectedRow, Required, RowCells,
    RowError,
    ShouldCancel, Translate, check_cancel, chunks, in_batches, lookup, read_file, refuse_invalid, rejects_path,
)
from crmdesk.services.import_engine import write_rejects as engine_write_rejects
from crmdesk.services.imports import (  # the member import's cell readers: keys, cards, dates as both read them
    ALIASES, MSG_IMPOSSIBLE_DATE, MSG_KEYS_DISAGREE, SCIENTIFIC, folded, key_text, parse_card,
)
from crmdesk.services.money import MSG_NOT_AN_AMOUNT
from crmdesk.services.purchases import (
    FUTURE_TOLERANCE,
    MAX_AMOUNT_FEN,
    MAX_LINES,
    LineInput,
    parse_yuan,
)
from crmdesk.services.member_query import member_status_term
from crmdesk.services.tabular import cell_text
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

__all__ = [
    "IMPORT_PERMISSION", "Action", "ImportCancelled", "PlannedReceipt", "PurchaseImportPlan", "PurchaseImportResult",
    "apply_purchase_import", "plan_purchase_import", "rejects_path", "write_rejects", "STEPS",
]

IMPORT_PERMISSION = Permission.IMPORT_PURCHASES
CHUNK = 500  # keys per IN (...) query
WIDE = 5_000  # receipt numbers per IN (...) query: a file of 100,000 receipts asks about each of them (SQLite allows 32,766 parameters, PostgreSQL 65,535)
WRITE_CHUNK = 5_000  # receipts per written batch (one progress step, one cancel check)
# Rows of a file planned in memory at once: a larger file is staged on disk and planned in parts (_Staging), so a
# file of a million rows needs no more memory than one of a hundred thousand.
PART_ROWS = 20_000
# The staged parts keep at hand, for the preview, the receipts starting on the file's first PREVIEW_ROWS rows and the
# file's first PREVIEW_ROWS invalid receipts.
PREVIEW_ROWS = 500
# All or nothing, a file is written under one write lock: past this many new receipts (about ten seconds of writing,
# the time a till waits for the lock before it gives up) the tills cannot sell until it is done, and the person is
# told so before importing (keeps_tills_waiting).
TILLS_WAIT_RECEIPTS = 100_000
EARLIEST = datetime(2000, 1, 1, tzinfo=loyalty.SHOP_ZONE)

# --------------------------------------------------------------------------- messages

MSG_NOT_A_TIME = QT_TRANSLATE_NOOP("errors", "'{value}' is not a date and time; write it like 2024-03-01 14:05.")
MSG_TOO_OLD = QT_TRANSLATE_NOOP("errors", "The purchase time {time} is before 2000; check the date.")
MSG_NO_RECEIPT = QT_TRANSLATE_NOOP("errors", "Enter the receipt number.")
MSG_TOO_LONG = QT_TRANSLATE_NOOP("errors", "The receipt number or till name is too long.")
MSG_NO_AMOUNT = QT_TRANSLATE_NOOP("errors", "Enter the receipt's amount (or its lines' amounts).")
MSG_NO_TIME = QT_TRANSLATE_NOOP("errors", "Enter the time of the purchase.")
MSG_BAD_KIND = QT_TRANSLATE_NOOP("errors", "'{value}' is not a kind of receipt: write sale (消费) or refund (退货).")
MSG_BAD_QUANTITY = QT_TRANSLATE_NOOP("errors", "'{value}' is not a quantity: write a number more than 0 with at most three decimals.")
MSG_NEGATIVE_LINE = QT_TRANSLATE_NOOP("errors", "A line's price and amount cannot be negative.")
MSG_LINE_NOT_FEN = QT_TRANSLATE_NOOP(
    "errors", "{quantity} × ¥{price} is not a whole number of fen: give the line amount (line_amount/小计)."
)
MSG_LINE_TEXT_TOO_LONG = QT_TRANSLATE_NOOP("errors", "At most {count} characters.")
MSG_LINES_DIFFER = QT_TRANSLATE_NOOP("errors", "The lines add up to ¥{lines}, the receipt says ¥{amount}.")
MSG_TOO_MANY_LINES = QT_TRANSLATE_NOOP("errors", "A receipt may have at most {count} lines.")
MSG_RECEIPT_TWICE = QT_TRANSLATE_NOOP(
    "errors", "Receipt {receipt} of till {till} is already on row {other_row}; only item lines may share a receipt."
)
MSG_RECEIPT_CELL_DIFFERS = QT_TRANSLATE_NOOP("errors", "'{value}' differs from '{other}' on row {other_row} of the same receipt.")
MSG_OTHER_ROW_INVALID = QT_TRANSLATE_NOOP("errors", "Row {other_row} of the same receipt is invalid.")
MSG_NO_MEMBER_KEY = QT_TRANSLATE_NOOP("errors", "Give the member's card number, member number or phone.")
MSG_UNKNOWN_MEMBER = QT_TRANSLATE_NOOP("errors", "No member with the card, member number or phone {key}.")
MSG_CARD_NOT_WORKING = QT_TRANSLATE_NOOP(
    "errors", "Card {number} is {status} (member {member_no}); use the member's current card or phone."
)
MSG_MEMBER_NOT_ACTIVE = QT_TRANSLATE_NOOP("errors", "{name}'s membership is {status}: purchases cannot be recorded for it.")
MSG_RECORDED_OTHERWISE = QT_TRANSLATE_NOOP("errors", "Receipt {receipt} of till {till} is already recorded with other details.")
MSG_NEEDS_ORIGINAL = QT_TRANSLATE_NOOP(
    "errors", "A refund names the receipt it gives money back for (original_receipt/原小票号)."
)
MSG_ORIGINAL_ON_SALE = QT_TRANSLATE_NOOP("errors", "Only a refund names an original receipt.")
MSG_REFUND_LINES = QT_TRANSLATE_NOOP("errors", "A refund has no item lines: give only the amount given back.")
MSG_NO_SALE = QT_TRANSLATE_NOOP("errors", "No sale with receipt {receipt} at till {till}.")
MSG_SALE_INVALID = QT_TRANSLATE_NOOP("errors", "Its sale {receipt} on row {other_row} is invalid.")
MSG_REFUND_TOO_MUCH = QT_TRANSLATE_NOOP("errors", "Only ¥{left} of this ¥{paid} receipt can still be refunded.")
MSG_REFUND_OTHER_MEMBER = QT_TRANSLATE_NOOP("errors", "Receipt {receipt} is {owner}'s, not {member}'s.")
MSG_NO_ROOM_TO_STAGE = QT_TRANSLATE_NOOP(
    "errors", "This large file is checked in parts kept in {folder}, and that failed ({detail}). Free some disk space "
              "there and try again; nothing was imported."
)

# --------------------------------------------------------------------------- columns

FIELDS = ("receipt_no", "till", "card_no", "member_no", "phone", "time", "amount", "kind", "original_receipt",
          "item_code", "item", "category", "quantity", "price", "line_amount")
KEY_FIELDS = ("card_no", "member_no", "phone")
LINE_FIELDS = ("item_code", "item", "category", "quantity", "price", "line_amount")
RECEIPT_FIELDS = ("card_no", "member_no", "phone", "time", "amount", "kind", "original_receipt")
FIELD_LABELS = {
    "receipt_no": "receipt_no/小票号", "till": "till/收银台", "card_no": "card_no/卡号", "member_no": "member_no/会员编号",
    "phone": "phone/手机", "time": "time/时间", "amount": "amount/金额", "kind": "kind/类型",
    "original_receipt": "original_receipt/原小票号", "item_code": "item_code/商品编码", "item": "item/商品名称",
    "category": "category/品类", "quantity": "quantity/数量", "price": "price/单价", "line_amount": "line_amount/小计",
}
_ALIASES_HERE: dict[str, tuple[str, ...]] = {
    "receipt_no": ("receipt_no", "小票号", "小票号码", "小票编号", "receipt", "receipt_number", "单号", "销售单号", "流水号",
                   "交易单号", "ticket_no"),
    "till": ("till", "收银台", "收银台号", "收银机", "收银机号", "机号", "款台", "pos", "till_no", "register"),
    "card_no": ALIASES["card_no"],
    "member_no": ALIASES["member_no"],
    "phone": ALIASES["phone"],
    "time": ("time", "时间", "消费时间", "交易时间", "销售时间", "购买时间", "datetime", "date", "日期", "occurred_at",
             "purchased_at"),
    "amount": ("amount", "金额", "消费金额", "小票金额", "实收金额", "总金额", "合计", "合计金额", "total", "amount_yuan"),
    "kind": ("kind", "类型", "交易类型", "单据类型", "type"),
    "original_receipt": ("original_receipt", "原小票号", "原单号", "原小票", "original", "original_receipt_no"),
    "item_code": ("item_code", "商品编码", "商品条码", "条码", "货号", "barcode", "sku"),
    "item": ("item", "商品名称", "商品", "品名", "item_name", "product"),
    "category": ("category", "品类", "类别", "商品类别", "分类"),
    "quantity": ("quantity", "数量", "qty"),
    "price": ("price", "单价", "unit_price"),
    "line_amount": ("line_amount", "小计", "行金额", "商品金额", "subtotal"),
}
COLUMNS = FileColumns(
    _ALIASES_HERE,
    [Required(("receipt_no",), FIELD_LABELS["receipt_no"]), Required(("time",), FIELD_LABELS["time"]),
     Required(("amount", "line_amount"), FIELD_LABELS["amount"]),
     Required(KEY_FIELDS, " | ".join(FIELD_LABELS[key] for key in KEY_FIELDS))],
    looks_like_header=lambda columns: "receipt_no" in columns or len(columns) >= 3,
)
_LINE_SET = frozenset(LINE_FIELDS)
_KINDS = {
    **dict.fromkeys(("", "sale", "消费", "销售", "购买", "sell", "s"), PurchaseKind.SALE),
    **dict.fromkeys(("refund", "退货", "退款", "return", "r"), PurchaseKind.REFUND),
}

# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ParsedRow:
    """One data row of the file, checked on its own (no database needed)."""

    row: int
    cells: tuple[str, ...]
    receipt_no: str
    till: str
    card_no: str | None
    member_no: str | None
    phone: str | None  # E.164
    occurred_at: datetime | None  # aware, UTC
    amount_fen: int | None
    kind: PurchaseKind | None  # None: the cell is empty
    original_receipt: str
    line: LineInput | None  # None: no item cell on the row
    present: frozenset[str]  # fields with a non-empty cell
    errors: tuple[Problem, ...]


@dataclass(frozen=True)
class PlannedReceipt:
    row: int  # its first row in the file
    rows: tuple[ParsedRow, ...]
    action: Action  # NEW, UNCHANGED or INVALID
    till: str
    receipt_no: str
    kind: PurchaseKind
    original_receipt: str
    occurred_at: datetime | None
    amount_fen: int | None
    lines: tuple[LineInput, ...]
    member_id: int | None
    member_no: str | None
    member_name: str
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Counts:
    new: int = 0
    unchanged: int = 0
    invalid: int = 0
    rows: int = 0  # file rows (lines) in all
    invalid_rows: int = 0

    @property
    def total(self) -> int:
        return self.new + self.unchanged + self.invalid


def keeps_tills_waiting(plan: PurchaseImportPlan) -> bool:
    """Whether importing the plan writes so much that the tills cannot sell meanwhile (TILLS_WAIT_RECEIPTS)."""
    return plan.counts.new > TILLS_WAIT_RECEIPTS


def _counted(receipts: Sequence[PlannedReceipt]) -> Counts:
    tally = {action: 0 for action in Action}
    rows = invalid_rows = 0
    for receipt in receipts:
        tally[receipt.action] += 1
        rows += len(receipt.rows)
        if receipt.action is Action.INVALID:
            invalid_rows += len(receipt.rows)
    return Counts(tally[Action.NEW], tally[Action.UNCHANGED], tally[Action.INVALID], rows, invalid_rows)


@dataclass(frozen=True)
class _Part:
    """A share of the file's receipts, matched and worked out on its own. A file of up to PART_ROWS rows is one part,
    held here; a larger file is cut into parts kept in the plan's staging file (_Staging), so that memory holds one
    part at a time. The rows of a receipt, the refunds of a sale and the receipts of a member share a part."""

    number: int
    counts: Counts
    invalid: tuple[PlannedReceipt, ...]  # its invalid receipts, shown first (staged: those of the file's first PREVIEW_ROWS)
    warnings: tuple[Problem, ...]
    first: tuple[PlannedReceipt, ...]  # its receipts starting on the file's first PREVIEW_ROWS rows, for the preview
    receipts: tuple[PlannedReceipt, ...] | None = None  # held here when the file is one part
    posting: _Posting | None = None

    @classmethod
    def of(cls, number: int, receipts: Sequence[PlannedReceipt], posting: _Posting, *, held: bool, first_row: int) -> _Part:
        invalid = [r for r in receipts if r.action is Action.INVALID]
        return cls(number, _counted(receipts), tuple(invalid if held else invalid[:PREVIEW_ROWS]),
                   tuple(p for r in receipts for p in r.warnings),
                   tuple(r for r in receipts if r.row < first_row + PREVIEW_ROWS),
                   tuple(receipts) if held else None, posting if held else None)


@dataclass(frozen=True)
class PurchaseImportPlan:
    path: Path
    file_type: str
    encoding: str | None
    delimiter: str | None
    header_row: int
    headers: tuple[str, ...]
    columns: dict[str, str]  # field -> header as written
    column_indexes: dict[str, int]
    parts: tuple[_Part, ...] = field(repr=False)
    warnings: tuple[Problem, ...]
    # The transaction the receipts were matched in: applying in that same one need not match them again.
    checked_in: object | None = field(default=None, repr=False, compare=False)
    # Where the parts of a large file are kept (None: the file is one part, held in memory).
    staging: _Staging | None = field(default=None, repr=False, compare=False)

    def contents(self, part: _Part) -> tuple[tuple[PlannedReceipt, ...], _Posting]:
        """A part's receipts and what importing them writes (worked out with the plan, outside the write lock)."""
        if part.receipts is not None and part.posting is not None:
            return part.receipts, part.posting
        assert self.staging is not None
        return self.staging.load(part.number)

    @property
    def counts(self) -> Counts:
        parts = [part.counts for part in self.parts]
        return Counts(*(sum(getattr(c, name) for c in parts) for name in ("new", "unchanged", "invalid", "rows", "invalid_rows")))

    @property
    def receipts(self) -> tuple[PlannedReceipt, ...]:
        """Every receipt in the file's order (a large file's are read back from its staging file part by part)."""
        if len(self.parts) == 1:
            return self.contents(self.parts[0])[0]
        return tuple(sorted((r for part in self.parts for r in self.contents(part)[0]), key=lambda r: r.row))

    def preview(self, limit: int) -> list[PlannedReceipt]:
        """The receipts to show first: the invalid ones (to correct), then the file's order (limit ≤ PREVIEW_ROWS)."""
        shown = [r for part in self.parts for r in (*part.invalid, *(r for r in part.first if r.action is not Action.INVALID))]
        return sorted(shown, key=lambda r: (r.action is not Action.INVALID, r.row))[:limit]

    @property
    def invalid_receipts(self) -> list[PlannedReceipt]:
        """What is refused and written to the rejects file (a part with more than it keeps at hand is read back)."""
        return sorted((r for part in self.parts for r in (
            part.invalid if len(part.invalid) == part.counts.invalid
            else (r for r in self.contents(part)[0] if r.action is Action.INVALID))), key=lambda r: r.row)

    @property
    def invalid_rows(self) -> list[RejectedRow]:
        """Every file row of the invalid receipts, with its own reasons (or a pointer to the row that has them)."""
        rejected = []
        for receipt in self.invalid_receipts:
            first_bad = min((p.row for p in receipt.errors), default=receipt.row)
            for row in receipt.rows:
                own = tuple(p for p in receipt.errors if p.row == row.row)
                rejected.append(RejectedRow(row.row, row.cells, own or (
                    Problem(row.row, "", MSG_OTHER_ROW_INVALID, {"other_row": first_bad}),)))
        return sorted(rejected, key=lambda r: r.row)

    @property
    def errors(self) -> list[Problem]:
        return sorted((p for receipt in self.invalid_receipts for p in receipt.errors), key=lambda p: p.row)

    @property
    def row_warnings(self) -> list[Problem]:
        return [p for part in self.parts for p in part.warnings]


@dataclass(frozen=True)
class PurchaseImportResult:
    plan: PurchaseImportPlan  # as checked again inside the import's transaction
    new: int  # receipts written (sales and refunds)
    sales: int
    refunds: int
    unchanged: int
    skipped: int  # invalid receipts left out (only with skip_invalid)
    skipped_rows: int
    points_earned: int
    points_reversed: int
    members: int  # members whose points, totals or tier changed
    upgrades: int  # members lifted to a higher tier
    seconds: float


# --------------------------------------------------------------------------- one row

_TIME = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?"
    r"(?:[ T]*(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.(\d{1,6})\d*)?秒?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_COMPACT_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:[ T]?(\d{2})(\d{2})(\d{2})?)?$")
_ISO_SECONDS = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")
_QUANTITY = re.compile(r"^\d+(?:\.\d{1,3})?$")


def _parse_time(value: object) -> datetime | None:
    """A purchase time as an aware UTC datetime; shop time (UTC+8) when the file gives no zone."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=loyalty.SHOP_ZONE)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=loyalty.SHOP_ZONE)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 10_000_000 <= value <= 99_999_999:  # 20240301 typed as a number
            return _parse_time(str(int(value)))
        if not 1_000 <= value < 2_958_466:
            raise RowError(MSG_NOT_A_TIME, value=cell_text(value))
        from openpyxl.utils.datetime import (
            from_excel,  # a serial day number in a cell without a date format
        )

        moment = from_excel(value).replace(microsecond=0, tzinfo=loyalty.SHOP_ZONE)
    elif type(value) is str and len(value) == 19 and _ISO_SECONDS.match(value):  # the common case: 2024-03-01 14:05:33
        try:
            moment = datetime.fromisoformat(value).replace(tzinfo=loyalty.SHOP_ZONE)
        except ValueError:
            raise RowError(MSG_IMPOSSIBLE_DATE, value=value) from None
    else:
        text = folded(value)
        if not text:
            return None
        match = _TIME.match(text) or _COMPACT_TIME.match(text)
        if match is None:
            raise RowError(MSG_NOT_A_TIME, value=text)
        parts = match.groups()
        zone = loyalty.SHOP_ZONE
        if len(parts) == 8 and parts[7]:
            offset = parts[7]
            if offset == "Z":
                zone = UTC
            else:
                sign = -1 if offset[0] == "-" else 1
                digits = offset[1:].replace(":", "")
                zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        fraction = parts[6] if len(parts) == 8 else None
        try:
            moment = datetime(int(parts[0]), int(parts[1]), int(parts[2]), int(parts[3] or 0), int(parts[4] or 0),
                              int(parts[5] or 0), int((fraction or "0").ljust(6, "0")), tzinfo=zone)
        except ValueError:
            raise RowError(MSG_IMPOSSIBLE_DATE, value=text) from None
    if moment < EARLIEST:
        raise RowError(MSG_TOO_OLD, time=moment.strftime("%Y-%m-%d %H:%M"))
    return moment.astimezone(UTC)


def _parse_money(value: object) -> int | None:
    """Yuan as fen, by purchases.parse_yuan (services.money): more than two decimals, commas that are not
    thousands separators and non-numbers are refused."""
    if isinstance(value, bool):
        raise RowError(MSG_NOT_AN_AMOUNT, amount=cell_text(value))
    if isinstance(value, int):
        return value * 100
    text = folded(value) if not isinstance(value, float) else cell_text(value)
    if not text:
        return None
    try:
        return parse_yuan(text)
    except InvalidInput as exc:
        raise RowError(exc.template, **exc.params) from None


_PLAIN_YUAN = re.compile(r"^(\d{1,6})(?:\.(\d{1,2}))?$")


def _parse_amount(value: object) -> int | None:
    if type(value) is str and (plain := _PLAIN_YUAN.match(value)):  # the common case, without Decimal
        yuan, cents = plain.groups()
        amount = int(yuan) * 100 + int((cents or "0").ljust(2, "0"))
        if 0 < amount <= MAX_AMOUNT_FEN:
            return amount
    amount = _parse_money(value)
    if amount is not None:
        try:
            purchases.check_amount(amount)
        except InvalidInput as exc:
            raise RowError(exc.template, **exc.params) from None
    return amount


def _parse_quantity(value: object) -> int | None:
    if isinstance(value, bool):
        raise RowError(MSG_BAD_QUANTITY, value=cell_text(value))
    text = cell_text(value) if isinstance(value, float) else folded(value)
    if not text:
        return None
    if not _QUANTITY.match(text):
        raise RowError(MSG_BAD_QUANTITY, value=text)
    milli = int(Decimal(text) * 1000)
    if milli <= 0 or milli > 2**31 - 1:
        raise RowError(MSG_BAD_QUANTITY, value=text)
    return milli


def _parse_kind(value: object) -> PurchaseKind | None:
    text = folded(value).lower()
    if not text:
        return None
    try:
        return _KINDS[text]
    except KeyError:
        raise RowError(MSG_BAD_KIND, value=cell_text(value)) from None


def _parse_phone(value: object) -> str | None:
    text = "".join(key_text(value).split())
    if not text:
        return None
    if len(text) == 11 and text.isdigit() and text[0] == "1":  # a mainland mobile: no parsing needed
        return "+86" + text
    return members.normalize_phone(text)


def _parse_text(limit: int) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = cell_text(value)
        if len(text) > limit:
            raise RowError(MSG_LINE_TEXT_TOO_LONG, count=limit)
        return text
    return parse


def _parse_row(row: RowCells, now: datetime) -> ParsedRow:
    number, value, column, errors = row.number, row.value, row.column, row.errors
    cells, present = row.cells, row.present

    def parse(name: str, parser: Callable[[object], object], default: object = None) -> object:
        return row.parse(name, parser, default)

    receipt_no = "".join(folded(value("receipt_no")).split()).lstrip("'")
    till = folded(value("till"))
    if not receipt_no:
        errors.append(Problem(number, column("receipt_no"), MSG_NO_RECEIPT, {}))
    elif len(receipt_no) > 40 or len(till) > 20:
        errors.append(Problem(number, column("receipt_no" if len(receipt_no) > 40 else "till"), MSG_TOO_LONG, {}))
    card_cell = value("card_no")
    if (type(card_cell) is str and card_cell.isascii() and card_cell.isalnum() and len(card_cell) <= 32
            and not SCIENTIFIC.match(card_cell)):
        card_no = card_cell  # the common case: nothing to fold, nothing Excel can have mangled
    else:
        card_no = parse("card_no", parse_card)
    member_no = parse("member_no", lambda v: key_text(v) or None)
    phone = parse("phone", _parse_phone)
    occurred_at = parse("time", _parse_time)
    if isinstance(occurred_at, datetime) and occurred_at > now + FUTURE_TOLERANCE:
        errors.append(Problem(number, column("time"), QT_TRANSLATE_NOOP("errors", "The purchase time {time} lies in the future."),
                              {"time": occurred_at.astimezone(loyalty.SHOP_ZONE).strftime("%Y-%m-%d %H:%M")}))
    amount = parse("amount", _parse_amount)
    kind = parse("kind", _parse_kind)
    original = "".join(folded(value("original_receipt")).split()).lstrip("'")
    line = None
    if present.intersection(LINE_FIELDS):
        line = _parse_line(number, value, column, parse, errors)
    return ParsedRow(number, cells, receipt_no, till, card_no, member_no, phone, occurred_at, amount,  # type: ignore[arg-type]
                     kind, original, line, present, tuple(errors))  # type: ignore[arg-type]


def _parse_line(number: int, value: Callable[[str], object], column: Callable[[str], str],
                parse: Callable[..., object], errors: list[Problem]) -> LineInput | None:
    before = len(errors)
    item_code = parse("item_code", _parse_text(40), "")
    name = parse("item", _parse_text(200), "")
    category = parse("category", _parse_text(60), "")
    quantity = parse("quantity", _parse_quantity)
    price = parse("price", _parse_money)
    line_amount = parse("line_amount", _parse_money)
    for name_, money in (("price", price), ("line_amount", line_amount)):
        if isinstance(money, int) and money < 0:
            errors.append(Problem(number, column(name_), MSG_NEGATIVE_LINE, {}))
    if len(errors) > before:
        return None
    quantity = quantity or 1000
    if line_amount is None:
        exact = quantity * (price or 0)
        if exact % 1000:
            errors.append(Problem(number, column("line_amount") or column("price"), MSG_LINE_NOT_FEN,
                                  {"quantity": f"{Decimal(quantity) / 1000:g}", "price": f"{(price or 0) / 100:.2f}"}))
            return None
        line_amount = exact // 1000
    return LineInput(item_code=item_code, name=name, category=category, quantity_milli=quantity,  # type: ignore[arg-type]
                     unit_price_fen=price or 0, amount_fen=line_amount)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- receipts


@dataclass
class _Draft:
    """A receipt being put together from its rows."""

    rows: list[ParsedRow]
    errors: list[Problem]
    values: dict[str, tuple[object, int, str]]  # field -> (value, row, cell as written)


def _group(parsed: Sequence[ParsedRow], header: FileHeader) -> list[_Draft]:
    """The rows of each till + receipt number together, in the order their receipts first appear."""
    drafts: dict[tuple[str, str], _Draft] = {}
    ordered: list[_Draft] = []
    index_of = header.columns

    def column(name: str) -> str:
        return header.headers[index_of[name]] if name in index_of else ""

    for row in parsed:
        key = (row.till, row.receipt_no)
        draft = drafts.get(key) if row.receipt_no else None
        if draft is None:
            draft = _Draft([row], list(row.errors), {})
            if row.receipt_no:
                drafts[key] = draft
            ordered.append(draft)
        else:
            first = draft.rows[0]
            draft.rows.append(row)
            draft.errors.extend(row.errors)
            if not (row.present & _LINE_SET and first.present & _LINE_SET):
                draft.errors.append(Problem(row.row, column("receipt_no"), MSG_RECEIPT_TWICE,
                                            {"receipt": row.receipt_no, "till": row.till or "-", "other_row": first.row}))
        values = draft.values
        for name in row.present & _RECEIPT_SET:
            current = getattr(row, _ATTRIBUTES[name]) or None
            earlier = values.get(name)
            if earlier is None:
                values[name] = (current, row.row, row.cells[index_of[name]])
            elif earlier[0] != current and current is not None and earlier[0] is not None:
                cell = row.cells[index_of[name]]
                draft.errors.append(Problem(row.row, column(name), MSG_RECEIPT_CELL_DIFFERS,
                                            {"value": cell, "other": earlier[2], "other_row": earlier[1]}))
    return ordered


_RECEIPT_SET = frozenset(RECEIPT_FIELDS)
_ATTRIBUTES = {"card_no": "card_no", "member_no": "member_no", "phone": "phone", "time": "occurred_at",
               "amount": "amount_fen", "kind": "kind", "original_receipt": "original_receipt"}


@dataclass(frozen=True)
class _MemberInfo:
    id: int
    member_no: str
    name: str
    status: MemberStatus

    @property
    def label(self) -> str:
        return f"{self.name} ({self.member_no})"


@dataclass(frozen=True)
class _Stored:
    id: int
    member_id: int
    kind: PurchaseKind
    amount_fen: int
    refund_of_id: int | None
    payment_method: str


def _load_members(session: Session, drafts: Sequence[_Draft]):  # type: ignore[no-untyped-def]
    cards_wanted, numbers_wanted, phones_wanted = set(), set(), set()
    for draft in drafts:
        values = draft.values
        if "card_no" in values and values["card_no"][0]:
            cards_wanted.add(values["card_no"][0])
        if "member_no" in values and values["member_no"][0]:
            numbers_wanted.add(values["member_no"][0])
        if "phone" in values and values["phone"][0]:
            phones_wanted.add(values["phone"][0])
    by_card, by_number, by_phone = _key_holders(session, cards_wanted, numbers_wanted, phones_wanted)
    ids = {*(m for m, _s in by_card.values()), *by_number.values(), *by_phone.values()}
    infos = {row[0]: _MemberInfo(*row) for row in lookup(
        session, lambda c: sa.select(Member.id, Member.member_no, Member.name, Member.status).where(Member.id.in_(c)), ids)}
    return by_card, by_number, by_phone, infos


def _key_holders(session: Session, cards: Iterable[str] = (), numbers: Iterable[str] = (), phones: Iterable[str] = ()
                 ) -> tuple[dict[str, tuple[int, CardStatus]], dict[str, int], dict[str, int]]:
    """What the file's member keys name: each card its member and status; each member number (as written, or in
    capitals: see _number_holder) its member; each phone the member holding it -- an open member holds the number, a
    closed one may have had it before (as search.lookup)."""
    by_card = {number: (member_id, status) for number, member_id, status in lookup(
        session, lambda c: sa.select(Card.number, Card.member_id, Card.status).where(Card.number.in_(c)), cards)}
    by_number = dict(lookup(session, lambda c: sa.select(Member.member_no, Member.id).where(Member.member_no.in_(c)),
                            {form for number in numbers for form in (number, number.upper())}))
    by_phone: dict[str, int] = {}
    for phone, member_id, _status in sorted(
            lookup(session, lambda c: sa.select(Member.phone, Member.id, Member.status).where(Member.phone.in_(c)), phones),
            key=lambda r: (r[2] is not MemberStatus.CLOSED, r[1])):
        by_phone[phone] = member_id
    return by_card, by_number, by_phone


def _number_holder(by_number: dict[str, int], number: str) -> int | None:
    """The member a member number names, as written or in capitals (m00000001 is M00000001)."""
    return by_number.get(number, by_number.get(number.upper()))


def _load_stored(session: Session, drafts: Sequence[_Draft]) -> dict[tuple[str, str], _Stored]:
    """Purchases already in crmdesk with the receipt numbers (and original receipts) of the file."""
    wanted: set[tuple[str, str]] = set()
    for draft in drafts:
        first = draft.rows[0]
        if first.receipt_no:
            wanted.add((first.till, first.receipt_no))
        original = draft.values.get("original_receipt")
        if original and original[0]:
            wanted.add((first.till, str(original[0])))
    columns = (Purchase.till, Purchase.receipt_no, Purchase.id, Purchase.member_id, Purchase.kind, Purchase.amount_fen,
               Purchase.refund_of_id, Purchase.payment_method)
    return {(till, receipt_no): _Stored(*rest) for till, receipt_no, *rest in _receipts(session, columns, wanted)}


def _receipts(session: Session, columns: Sequence[Any], wanted: Iterable[tuple[str, str]], *where: Any) -> list[Any]:
    """The purchases with these (till, receipt number) keys, till by till through their unique index: asked by receipt
    number alone, SQLite reads the whole index of a store it has no statistics for (a shop's store never has any)."""
    by_till: dict[str, set[str]] = {}
    for till, receipt_no in wanted:
        by_till.setdefault(till, set()).add(receipt_no)
    found: list[Any] = []
    for till, numbers in sorted(by_till.items()):
        found += lookup(session, lambda c, till=till: sa.select(*columns).where(  # type: ignore[misc]
            Purchase.till == till, Purchase.receipt_no.in_(c), *where), numbers, size=WIDE)
    return found


def _match(session: Session, parsed: Sequence[ParsedRow], header: FileHeader) -> list[PlannedReceipt]:
    drafts = _group(parsed, header)
    by_card, by_number, by_phone, infos = _load_members(session, drafts)
    stored = _load_stored(session, drafts)
    owners = {s.member_id for s in stored.values()} - set(infos)  # the members of sales that refunds name
    infos.update({row[0]: _MemberInfo(*row) for row in lookup(
        session, lambda c: sa.select(Member.id, Member.member_no, Member.name, Member.status).where(Member.id.in_(c)), owners)})
    refunded_in_db = _refunded_amounts(session, [s.id for s in stored.values() if s.kind is PurchaseKind.SALE])

    def column(name: str) -> str:
        return header.headers[header.columns[name]] if name in header.columns else ""

    planned: list[PlannedReceipt] = []
    in_file: dict[tuple[str, str], PlannedReceipt] = {}  # sales of the file by till and receipt
    refunded_in_file: dict[tuple[str, str], int] = {}
    for draft in drafts:
        first = draft.rows[0]
        values = draft.values
        errors = draft.errors
        kind = values["kind"][0] if "kind" in values and values["kind"][0] else PurchaseKind.SALE
        original = str(values["original_receipt"][0]) if values.get("original_receipt") and values["original_receipt"][0] else ""
        occurred_at = values["time"][0] if "time" in values else None
        lines = tuple(row.line for row in draft.rows if row.line is not None)
        amount = values["amount"][0] if "amount" in values else None
        if amount is None and lines and not any(p for p in errors if p.column in (column("line_amount"), column("price"))):
            amount = sum(line.amount_fen for line in lines)
            try:
                purchases.check_amount(amount)
            except InvalidInput as exc:
                errors.append(Problem(first.row, column("line_amount"), exc.template, exc.params))
        if not errors:
            if occurred_at is None:
                errors.append(Problem(first.row, column("time"), MSG_NO_TIME, {}))
            if amount is None:
                errors.append(Problem(first.row, column("amount"), MSG_NO_AMOUNT, {}))
            if len(lines) > MAX_LINES:
                errors.append(Problem(draft.rows[MAX_LINES].row, "", MSG_TOO_MANY_LINES, {"count": MAX_LINES}))
            elif lines and amount is not None and sum(line.amount_fen for line in lines) != amount:
                errors.append(Problem(values.get("amount", (0, first.row))[1], column("amount"), MSG_LINES_DIFFER, {
                    "lines": f"{sum(line.amount_fen for line in lines) / 100:.2f}", "amount": f"{amount / 100:.2f}"}))
            if kind is PurchaseKind.REFUND and lines:
                errors.append(Problem(first.row, "", MSG_REFUND_LINES, {}))
            if kind is PurchaseKind.REFUND and not original:
                errors.append(Problem(first.row, column("original_receipt") or column("kind"), MSG_NEEDS_ORIGINAL, {}))
            if kind is PurchaseKind.SALE and original:
                errors.append(Problem(values["original_receipt"][1], column("original_receipt"), MSG_ORIGINAL_ON_SALE, {}))
        member, member_errors = _member_of(values, by_card, by_number, by_phone, infos, column,
                                           required=kind is PurchaseKind.SALE)
        errors += [replace(p, row=p.row or first.row) for p in member_errors]  # reported with the row's other errors
        key = (first.till, first.receipt_no)
        action = Action.NEW
        if not errors and kind is PurchaseKind.SALE:
            assert member is not None
            existing = stored.get(key)
            if existing is not None:
                if existing.kind is PurchaseKind.SALE and existing.member_id == member.id and existing.amount_fen == amount:
                    action = Action.UNCHANGED
                else:
                    errors.append(Problem(first.row, column("receipt_no"), MSG_RECORDED_OTHERWISE,
                                          {"receipt": first.receipt_no, "till": first.till or "-"}))
            elif member.status is not MemberStatus.ACTIVE:
                errors.append(Problem(first.row, "", MSG_MEMBER_NOT_ACTIVE, {"name": member.name, "status": member_status_term(member.status)}))
        elif not errors:
            member, action = _check_refund(draft, member, amount, original, stored, in_file, refunded_in_db,
                                           refunded_in_file, infos, column, errors)
        receipt = PlannedReceipt(
            row=first.row, rows=tuple(draft.rows), action=Action.INVALID if errors else action, till=first.till,
            receipt_no=first.receipt_no, kind=kind, original_receipt=original, occurred_at=occurred_at,  # type: ignore[arg-type]
            amount_fen=amount, lines=lines, member_id=member.id if member else None,  # type: ignore[arg-type]
            member_no=member.member_no if member else None, member_name=member.name if member else "",
            errors=tuple(sorted(errors, key=lambda p: p.row)),
        )
        if kind is PurchaseKind.SALE and first.receipt_no:
            in_file.setdefault(key, receipt)
        elif receipt.action is Action.NEW:
            refunded_in_file[(first.till, original)] = refunded_in_file.get((first.till, original), 0) + (amount or 0)
        planned.append(receipt)
    return planned


def _member_of(values, by_card, by_number, by_phone, infos, column, *, required: bool):  # type: ignore[no-untyped-def]
    """The member the row's keys name, and the problems with them (row 0: the receipt's first row)."""
    found: list[tuple[str, str, _MemberInfo]] = []
    problems: list[Problem] = []
    for name in KEY_FIELDS:
        entry = values.get(name)
        if not entry or not entry[0]:
            continue
        key, row, cell = entry
        if name == "card_no":
            card = by_card.get(key)
            if card is not None and card[1] is not CardStatus.ACTIVE:
                info = infos[card[0]]
                problems.append(Problem(row, column(name), MSG_CARD_NOT_WORKING,
                                        {"number": key, "status": card[1].value, "member_no": info.member_no}))
                continue
            member_id = card[0] if card else None
        elif name == "member_no":
            member_id = _number_holder(by_number, key)
        else:
            member_id = by_phone.get(key)
        if member_id is None:
            problems.append(Problem(row, column(name), MSG_UNKNOWN_MEMBER, {"key": cell}))
        else:
            found.append((name, cell, infos[member_id]))
    if problems:
        return None, problems
    if not found:
        return None, ([Problem(0, "", MSG_NO_MEMBER_KEY, {})] if required else [])
    key_name, key_cell, member = found[0]
    for other_name, other_cell, other in found[1:]:
        if other.id != member.id:
            problems.append(Problem(values[other_name][1], column(other_name), MSG_KEYS_DISAGREE, {
                "value": other_cell, "other": other.label, "matched_column": column(key_name),
                "matched_value": key_cell, "member": member.label}))
    return member, problems


def _refunded_amounts(session: Session, sale_ids: Sequence[int]) -> dict[int, int]:
    return {sale: int(total or 0) for sale, total in lookup(
        session, lambda c: sa.select(Purchase.refund_of_id, sa.func.sum(Purchase.amount_fen))
        .where(Purchase.refund_of_id.in_(c)).group_by(Purchase.refund_of_id), sale_ids)}


def _check_refund(draft, member, amount, original, stored, in_file, refunded_in_db, refunded_in_file, infos,  # type: ignore[no-untyped-def]
                  column, errors):
    first = draft.rows[0]
    till = first.till
    sale_in_file = in_file.get((till, original))
    sale_stored = stored.get((till, original))
    if sale_stored is not None and sale_stored.kind is not PurchaseKind.SALE:
        sale_stored = None
    if sale_in_file is not None and sale_in_file.action is Action.INVALID:
        errors.append(Problem(first.row, column("original_receipt"), MSG_SALE_INVALID,
                              {"receipt": original, "other_row": sale_in_file.row}))
        return member, Action.INVALID
    if sale_stored is None and sale_in_file is None:
        errors.append(Problem(first.row, column("original_receipt"), MSG_NO_SALE, {"receipt": original, "till": till or "-"}))
        return member, Action.INVALID
    owner_id = sale_stored.member_id if sale_stored is not None else sale_in_file.member_id
    paid = sale_stored.amount_fen if sale_stored is not None else sale_in_file.amount_fen
    owner = infos.get(owner_id)
    if member is not None and member.id != owner_id:
        errors.append(Problem(first.row, "", MSG_REFUND_OTHER_MEMBER, {
            "receipt": original, "owner": owner.label if owner else owner_id, "member": member.label}))
        return member, Action.INVALID
    again = stored.get((till, first.receipt_no))
    if again is not None:
        if sale_stored is not None and again.refund_of_id == sale_stored.id and again.amount_fen == amount:
            return owner or member, Action.UNCHANGED
        errors.append(Problem(first.row, column("receipt_no"), MSG_RECORDED_OTHERWISE,
                              {"receipt": first.receipt_no, "till": till or "-"}))
        return member, Action.INVALID
    before = (refunded_in_db.get(sale_stored.id, 0) if sale_stored is not None else 0) + refunded_in_file.get((till, original), 0)
    if before + amount > paid:
        errors.append(Problem(first.row, column("amount"), MSG_REFUND_TOO_MUCH,
                              {"left": f"{(paid - before) / 100:.2f}", "paid": f"{paid / 100:.2f}"}))
        return member, Action.INVALID
    return owner or member, Action.NEW


# --------------------------------------------------------------------------- planning


def plan_purchase_import(
    session: Session,
    path: str | Path,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
) -> PurchaseImportPlan:
    """Read and check a purchases file and say, receipt by receipt, what importing it would do. Writes nothing."""
    path = Path(path)
    now = now or datetime.now(UTC)
    spool = _Spool()
    try:
        return _plan(session, path, now, spool, progress, should_cancel)
    except (sqlite3.Error, OSError) as exc:  # the staging file's (the store's come through SQLAlchemy, the file's as InvalidInput)
        raise InvalidInput(MSG_NO_ROOM_TO_STAGE, folder=spool.folder(), detail=str(exc)) from exc


def _plan(session: Session, path: Path, now: datetime, spool: _Spool, progress: Progress | None,
          should_cancel: ShouldCancel | None) -> PurchaseImportPlan:
    read = read_file(path, COLUMNS, lambda row: (_parse_row(row, now), row.raw), progress=progress,
                     should_cancel=should_cancel, step=WRITE_CHUNK, keep=lambda checked: spool.add(*checked))
    header = read.header
    staging = spool.staging
    if staging is None:
        receipts = _match(session, spool.rows, header)
        posting = _Posting(session, now, [r for r in receipts if r.action is Action.NEW])
        parts = [_Part.of(0, receipts, posting, held=True, first_row=header.row + 1)]
    else:
        parts = []
        for number in range(staging.cut(session, -(-read.read // PART_ROWS))):
            check_cancel(should_cancel)
            receipts = _match(session, staging.rows_of(number, header, now), header)
            posting = _Posting(session, now, [r for r in receipts if r.action is Action.NEW])
            staging.store(receipts, posting, number)
            parts = _at_hand([*parts, _Part.of(number, receipts, posting, held=False, first_row=header.row + 1)])
            del receipts, posting  # one part in memory at a time
    if progress:
        progress(read.read, read.read)
    return PurchaseImportPlan(
        path=path, file_type=read.table.file_type, encoding=read.table.encoding, delimiter=read.table.delimiter,
        header_row=header.row, headers=header.headers, columns=header.named(), column_indexes=dict(header.columns),
        parts=tuple(parts), warnings=header.warnings, checked_in=session.get_transaction(), staging=staging,
    )


def _at_hand(parts: list[_Part]) -> list[_Part]:
    """The parts keeping at hand only the file's first PREVIEW_ROWS invalid receipts between them (the rest are
    read back from the staging file when asked for): a file with many bad rows does not fill the memory."""
    rows = sorted(r.row for part in parts for r in part.invalid)
    if len(rows) <= PREVIEW_ROWS:
        return parts
    last = rows[PREVIEW_ROWS - 1]
    return [replace(part, invalid=tuple(r for r in part.invalid if r.row <= last)) for part in parts]


class _Spool:
    """The checked rows of a file as it is read: in memory up to PART_ROWS rows, then all of them in a staging file."""

    def __init__(self) -> None:
        self.rows: list[ParsedRow] = []
        self.cells: list[tuple[object, ...]] = []  # each row's cells as read, for the staging file
        self.staging: _Staging | None = None

    def folder(self) -> str:
        return self.staging.folder if self.staging is not None else tempfile.gettempdir()

    def add(self, row: ParsedRow, cells: tuple[object, ...]) -> None:
        if self.staging is not None:
            self.staging.add(row, cells)
            return
        self.rows.append(row)
        self.cells.append(cells)
        if len(self.rows) > PART_ROWS:
            self.staging = _Staging()
            for kept in zip(self.rows, self.cells, strict=True):
                self.staging.add(*kept)
            self.rows, self.cells = [], []


# Keys the staging file resolves to members, to cut a file into parts: the kinds of the "known" table.
_CARD, _NUMBER, _PHONE, _STORED_SALE = range(4)


def _remove_staging(connection: sqlite3.Connection, folder: str) -> None:
    connection.close()
    shutil.rmtree(folder, ignore_errors=True)


class _Staging:
    """A large file's checked rows and its parts' planned receipts, on disk: an SQLite file of the plan's own in the
    temporary folder (not the store: staging takes no lock a till could wait for), removed with the plan.

    ``cut`` deals the receipts into parts so each can be matched and worked out on its own, as the whole file
    would be: a receipt's rows share its part; a refund goes to its sale's part (in the file or stored); every
    receipt of a member (as the file's card, member number or phone name it) goes to the part of that member's id.
    Should a member still be found in two parts, importing works the later part's receipts of that member out again
    from what the earlier part wrote (see apply_purchase_import)."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="crmdesk-import-")
        self.db = sqlite3.connect(os.path.join(self.folder, "staging.sqlite"), isolation_level=None, check_same_thread=False)
        self._removal = weakref.finalize(self, _remove_staging, self.db, self.folder)
        self.db.execute("PRAGMA journal_mode = OFF")  # scratch: nothing to recover after a crash
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("CREATE TABLE row (row INTEGER PRIMARY KEY, till TEXT, receipt_no TEXT, refund INTEGER, "
                        "original TEXT, card TEXT, member_no TEXT, phone TEXT, part INTEGER, data BLOB)")
        self.db.execute("CREATE TABLE known (kind INTEGER, key TEXT, member_id INTEGER, PRIMARY KEY (kind, key)) WITHOUT ROWID")
        self.db.execute("CREATE TABLE part (number INTEGER PRIMARY KEY, data BLOB)")
        self.db.create_function("crc", 1, lambda text: zlib.crc32(text.encode()), deterministic=True)
        self._pending: list[tuple[object, ...]] = []

    def add(self, row: ParsedRow, cells: tuple[object, ...]) -> None:
        """A checked row: its keys, to cut the file into parts, and its cells as read (a part's rows are checked
        again from them: a few plain values take a tenth of the room of the checked row)."""
        self._pending.append((row.row, row.till, row.receipt_no, int(row.kind is PurchaseKind.REFUND), row.original_receipt,
                              row.card_no, row.member_no, row.phone, pickle.dumps(cells, pickle.HIGHEST_PROTOCOL)))
        if len(self._pending) >= WRITE_CHUNK:
            self._flush()

    def _flush(self) -> None:
        with self.db:
            self.db.executemany("INSERT INTO row (row, till, receipt_no, refund, original, card, member_no, phone, data) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self._pending)
        self._pending = []

    def _keys(self, sql: str) -> Iterator[list[Any]]:
        cursor = self.db.execute(sql)
        while batch := cursor.fetchmany(WIDE):
            yield [key for (key,) in batch]

    def _resolve(self, session: Session) -> None:
        """The members the file's keys name, and the members of the stored sales its refunds name."""
        known: list[tuple[int, str, int]] = []
        for cards in self._keys("SELECT DISTINCT card FROM row WHERE card IS NOT NULL"):
            by_card, _n, _p = _key_holders(session, cards=cards)
            known += [(_CARD, number, member_id) for number, (member_id, _status) in by_card.items()]
        for numbers in self._keys("SELECT DISTINCT member_no FROM row WHERE member_no IS NOT NULL"):
            _c, by_number, _p = _key_holders(session, numbers=numbers)
            known += [(_NUMBER, number, member_id) for number in numbers
                      if (member_id := _number_holder(by_number, number)) is not None]
        for phones in self._keys("SELECT DISTINCT phone FROM row WHERE phone IS NOT NULL"):
            _c, _n, by_phone = _key_holders(session, phones=phones)
            known += [(_PHONE, phone, member_id) for phone, member_id in by_phone.items()]
        for originals in self._keys("SELECT DISTINCT till || char(31) || original FROM row WHERE refund = 1 AND original != ''"):
            wanted = [tuple(key.split("\x1f", 1)) for key in originals]
            known += [(_STORED_SALE, f"{till}\x1f{receipt_no}", member_id) for till, receipt_no, member_id in _receipts(
                session, (Purchase.till, Purchase.receipt_no, Purchase.member_id), wanted, Purchase.kind == PurchaseKind.SALE)]
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO known VALUES (?, ?, ?)", known)

    def cut(self, session: Session, parts: int) -> int:
        """Deal the rows into ``parts`` parts (see the class); returns the number of parts."""
        self._flush()
        self._resolve(session)
        db = self.db
        with db:
            db.execute("CREATE TABLE receipt (till TEXT, receipt_no TEXT, refund INTEGER, original TEXT, member INTEGER, "
                       "part INTEGER, PRIMARY KEY (till, receipt_no)) WITHOUT ROWID")
            db.execute(f"""INSERT INTO receipt (till, receipt_no, refund, original, member)
                SELECT r.till, r.receipt_no, max(r.refund), max(r.original),
                       min(coalesce(c.member_id, n.member_id, p.member_id))
                FROM row r LEFT JOIN known c ON c.kind = {_CARD} AND c.key = r.card
                           LEFT JOIN known n ON n.kind = {_NUMBER} AND n.key = r.member_no
                           LEFT JOIN known p ON p.kind = {_PHONE} AND p.key = r.phone
                WHERE r.receipt_no != '' GROUP BY r.till, r.receipt_no""")
            # Sales (and receipts that are not refunds) go to their member's part; a refund follows its sale.
            db.execute(f"""UPDATE receipt SET part = CASE WHEN member IS NOT NULL THEN member % {parts}
                ELSE crc(till || char(31) || receipt_no) % {parts} END WHERE NOT (refund = 1 AND original != '')""")
            db.execute(f"""UPDATE receipt SET part = coalesce(
                (SELECT s.part FROM receipt s WHERE s.till = receipt.till AND s.receipt_no = receipt.original
                   AND NOT (s.refund = 1 AND s.original != '')),
                (SELECT k.member_id % {parts} FROM known k WHERE k.kind = {_STORED_SALE}
                   AND k.key = receipt.till || char(31) || receipt.original),
                CASE WHEN member IS NOT NULL THEN member % {parts} ELSE crc(till || char(31) || original) % {parts} END)
                WHERE refund = 1 AND original != ''""")
            db.execute(f"""UPDATE row SET part = coalesce((SELECT part FROM receipt
                WHERE receipt.till = row.till AND receipt.receipt_no = row.receipt_no), row % {parts})""")
            db.execute("CREATE INDEX row_part ON row (part, row)")
        return parts

    def rows_of(self, part: int, header: FileHeader, now: datetime) -> list[ParsedRow]:
        """A part's rows in the file's order, checked again from their cells as the file was read."""
        return [_parse_row(RowCells(number, pickle.loads(data), header), now)
                for number, data in self.db.execute("SELECT row, data FROM row WHERE part = ? ORDER BY row", (part,))]

    def store(self, receipts: Sequence[PlannedReceipt], posting: _Posting, part: int | None = None) -> int:
        """Keep a part's planned receipts as ``part``, or (None) under a new number, which is returned."""
        data = zlib.compress(pickle.dumps((tuple(receipts), posting), pickle.HIGHEST_PROTOCOL), 1)
        with self.db:
            return self.db.execute("INSERT INTO part VALUES (?, ?)", (part, data)).lastrowid  # type: ignore[return-value]

    def load(self, part: int) -> tuple[tuple[PlannedReceipt, ...], _Posting]:
        (data,) = self.db.execute("SELECT data FROM part WHERE number = ?", (part,)).fetchone()
        return pickle.loads(zlib.decompress(data))  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- importing


@dataclass
class _MemberState:
    """A member's points balance, tier and 12-month spend as the receipts are posted one after another."""

    balance: int
    tier_id: int | None
    spend_12: int
    changed_tier: bool = False
    # What the file adds to the member's cached totals (as record_purchase and refund keep them).
    visits: int = 0
    spend: int = 0
    last_visit: datetime | None = None


@dataclass
class _Sale:
    """A sale the file's refunds may give money back for: stored in crmdesk, or earlier in the file."""

    id: int | None  # None until written (a sale of the file)
    amount_fen: int
    member_id: int
    payment_method: str
    earned: int = 0  # points the sale earned
    refunded_fen: int = 0  # refunded so far
    taken: int = 0  # points its refunds took back so far


# Watched to tell whether what the plan worked out still holds when the import writes (see _Posting.still_holds):
# what a sale, a redemption, an adjustment, a status or tier change or an edit of the profile changes on the member row.
_MEMBER_FINGERPRINT = (Member.id, Member.points_balance, Member.tier_id, Member.status, Member.updated_at, Member.visit_count,
                       Member.total_spend_fen)
_FINGERPRINT_SQL = f"SELECT {', '.join(column.name for column in _MEMBER_FINGERPRINT)} FROM {Member.__tablename__} WHERE id IN "


def _fingerprints(session: Session, member_ids: Iterable[int]) -> dict[int, tuple[Any, ...]]:
    """Each member's _MEMBER_FINGERPRINT (id, points balance, tier first). Read again under the write lock for every
    member of the file: on SQLite as the driver gives them (compared only with each other), without typing each
    value (18,000 members: 0.09 s instead of 0.4 s)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return {row[0]: tuple(row) for row in lookup(session, lambda c: sa.select(*_MEMBER_FINGERPRINT).where(Member.id.in_(c)),
                                                      member_ids)}
    found: dict[int, tuple[Any, ...]] = {}
    for chunk in chunks(sorted(set(member_ids)), WIDE):
        sql = _FINGERPRINT_SQL + f"({', '.join('?' * len(chunk))})"
        found.update((row[0], row) for row in sqlite_driver_execute(connection, sql, chunk).fetchall())
    return found


_PURCHASE_ROWS = DriverRows.inserting(Purchase.__table__, (
    "id", "member_id", "till", "receipt_no", "kind", "refund_of_id", "occurred_at", "amount_fen", "payment_method", "cashier_id",
    "created_at", "wallet_fen", "credit_fen"))
_LINE_ROWS = DriverRows.inserting(PurchaseLine.__table__, (
    "purchase_id", "item_code", "name", "category", "quantity_milli", "unit_price_fen", "amount_fen"))
_ENTRY_ROWS = DriverRows.inserting(PointsEntry.__table__, (
    "member_id", "at", "kind", "points", "expires_on", "purchase_id", "complaint_id", "staff_id", "reason"))
_MEMBER_COLUMNS = Member.__table__.c
_MEMBER_TOTALS = ("updated_at = ?, visit_count = visit_count + ?, total_spend_fen = total_spend_fen + ?, "
                  "last_visit_at = CASE WHEN ? IS NOT NULL AND (last_visit_at IS NULL OR last_visit_at < ?) THEN ? "
                  "ELSE last_visit_at END WHERE id = ?")
_MEMBER_TOTALS_COLUMNS = [_MEMBER_COLUMNS.updated_at, _MEMBER_COLUMNS.visit_count, _MEMBER_COLUMNS.total_spend_fen,
                          _MEMBER_COLUMNS.last_visit_at, _MEMBER_COLUMNS.last_visit_at, _MEMBER_COLUMNS.last_visit_at,
                          _MEMBER_COLUMNS.id]
# tier_id is set only for the members the file lifts: setting a foreign key column costs SQLite a check of the tier
# and a statement journal for every row, twice the update's work (measured on a million members).
_MEMBER_ROWS = DriverRows("UPDATE member SET points_balance = ?, " + _MEMBER_TOTALS,
                          [_MEMBER_COLUMNS.points_balance, *_MEMBER_TOTALS_COLUMNS])
_LIFTED_MEMBER_ROWS = DriverRows("UPDATE member SET points_balance = ?, tier_id = ?, " + _MEMBER_TOTALS,
                                 [_MEMBER_COLUMNS.points_balance, _MEMBER_COLUMNS.tier_id, *_MEMBER_TOTALS_COLUMNS])


def apply_purchase_import(
    session: Session,
    actor: Actor,
    plan: PurchaseImportPlan,
    *,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
    now: datetime | None = None,
) -> PurchaseImportResult:
    """Import a planned file in the caller's transaction (one unit of work).

    The plan has worked out everything the import writes, outside the write lock. Here it is checked to
    still hold (_Posting.still_holds): when another till recorded something for a member of the file
    meanwhile, those members' receipts are worked out again; when a card, a phone, the rules or the file's
    own receipts changed, the whole file is matched again. So the write lock is held for the writes and a
    short check, not for reading and matching the file. Any invalid receipt stops the import with
    InvalidInput unless ``skip_invalid``. ``should_cancel`` returning True raises ImportCancelled; the
    caller's unit of work then rolls back."""
    started = time.perf_counter()
    require(actor, IMPORT_PERMISSION)
    check_cancel(should_cancel)
    try:
        return _apply(session, actor, plan, skip_invalid, progress, should_cancel, now or datetime.now(UTC), started)
    except (sqlite3.Error, OSError) as exc:  # a large file's staging file (see plan_purchase_import)
        raise InvalidInput(MSG_NO_ROOM_TO_STAGE, folder=plan.staging.folder if plan.staging else "-", detail=str(exc)) from exc


def _apply(session: Session, actor: Actor, plan: PurchaseImportPlan, skip_invalid: bool, progress: Progress | None,
           should_cancel: ShouldCancel | None, now: datetime, started: float) -> PurchaseImportResult:
    current = session.get_transaction()
    unchanged_since_plan = current is not None and plan.checked_in is current  # planned in this very transaction
    if unchanged_since_plan:
        refuse_invalid(plan.counts.invalid_rows, plan.errors, skip_invalid)  # before the first part is written
    header = FileHeader(plan.header_row, plan.headers, dict(plan.column_indexes), plan.warnings)
    to_write = max(plan.counts.new, 1)
    if progress:
        progress(0, to_write)
    written = sales = earned = reversed_ = members_changed = upgrades = 0
    since: list[Any] | None = None  # what tills recorded since the plan, read before this import writes anything
    touched: set[int] = set()  # members the parts written so far changed
    parts: list[_Part] = []
    for part in plan.parts:
        receipts, posting = plan.contents(part)
        if unchanged_since_plan:
            holds = True
            again = touched.intersection(posting.states)
            if again:  # a member also in an earlier part (rare): from what that part wrote
                posting.redo(session, again)
        else:
            if since is None:
                since = posting.purchases_since(session)
            holds = posting.still_holds(session, since)  # also works out again the members an earlier part changed
        if holds:
            parts.append(part)
        else:
            receipts = tuple(_match(session, sorted((row for r in receipts for row in r.rows), key=lambda row: row.row), header))
            posting = _Posting(session, now, [r for r in receipts if r.action is Action.NEW])
            # Kept beside the plan's own part, not over it: if this import is cancelled or refused, the plan still
            # says what it said, and importing it again starts from that.
            number = plan.staging.store(receipts, posting) if plan.staging is not None else part.number
            parts.append(_Part.of(number, receipts, posting, held=plan.staging is None, first_row=plan.header_row + 1))
        if parts[-1].counts.invalid and not skip_invalid:  # all or nothing: the parts written so far are rolled back
            whole = replace(plan, parts=(*parts, *plan.parts[len(parts):]))
            refuse_invalid(whole.counts.invalid_rows, whole.errors, skip_invalid)
        new = posting.receipts
        in_batches(new, WRITE_CHUNK, lambda batch, posting=posting: posting.write(session, actor, batch, now),
                   progress=_across_parts(progress, written, to_write) if progress else None, should_cancel=should_cancel)
        upgrades += posting.finish(session, now)
        written += len(new)
        sales += sum(1 for r in new if r.kind is PurchaseKind.SALE)
        part_earned, part_reversed = posting.points()
        earned, reversed_ = earned + part_earned, reversed_ + part_reversed
        members_changed += len(set(posting.states) - touched)
        touched.update(posting.states)
    checked = replace(plan, parts=tuple(parts), checked_in=current)
    counts = checked.counts
    if written:  # a file that changes nothing leaves no trace either
        audit.record(session, actor, "purchase.import", "purchase", None, file=plan.path.name, sales=sales,
                     refunds=written - sales, unchanged=counts.unchanged, skipped=counts.invalid, points=earned - reversed_)
        session.flush()
    check_cancel(should_cancel)
    return PurchaseImportResult(checked, written, sales, written - sales, counts.unchanged, counts.invalid, counts.invalid_rows,
                                earned, reversed_, members_changed, upgrades, time.perf_counter() - started)


def _across_parts(progress: Progress, before: int, total: int) -> Progress:
    """A part's write progress as the whole import's: the receipts of the parts written before count as done."""
    def report(done: int, _part_total: int) -> None:
        if done:  # the import's start was reported once, not each part's
            progress(before + done, max(total, before + done))
    return report


class _Posting:
    """What importing the new receipts writes, worked out before anything is written: each receipt's points in
    file order, as record_purchase and refund called one after another would give them (the tier multiplier at
    that moment, the bonus day of the receipt's shop day, refunds taking points back in proportion and never below
    a zero balance, a tier lifted -- never lowered -- when the 12-month spend crosses a threshold), and each member's
    new balance, tier and totals. Members are independent of each other, so a member changed by a till meanwhile
    is simply worked out again (redo)."""

    def __init__(self, session: Session, now: datetime, receipts: Sequence[PlannedReceipt]) -> None:
        self.receipts = list(receipts)
        self.since = now - loyalty.TIER_WINDOW
        connection = session.connection()
        self.token = connection.execute(sa.select(loyalty.rules_token_column())).scalar()
        self.config = loyalty.counter_config(session, self.token)  # the rules and tiers, as the counter reads them
        self.rules = self.config.rules
        self.last_purchase_id = connection.execute(sa.select(sa.func.coalesce(sa.func.max(Purchase.id), 0))).scalar_one()
        self.expiry: dict[date, date] = {}
        self.keys = {(r.till, r.receipt_no) for r in self.receipts}
        self.cards = {row.card_no: r.member_id for r in self.receipts for row in r.rows if row.card_no}
        self.sales: dict[tuple[str, str], _Sale] = {}
        self.states: dict[int, _MemberState] = {}
        self.fingerprints: dict[int, tuple[object, ...]] = {}
        self.entries: dict[tuple[str, str], dict[str, object]] = {}  # receipt -> its ledger entry (no ids yet)
        self.next_id: int | None = None  # SQLite: the next purchase id, read once the write lock is held
        self._load(session, self.receipts)
        self._post(self.receipts)

    # ------------------------------------------------------------------ working it out

    def _member_of(self, r: PlannedReceipt) -> int:
        return r.member_id if r.kind is PurchaseKind.SALE else self.sales[(r.till, r.original_receipt)].member_id  # type: ignore[return-value]

    def _load(self, session: Session, receipts: Sequence[PlannedReceipt]) -> None:
        """The stored sales the receipts' refunds name, and their members' balance, tier and 12-month spend."""
        sale_keys = {(r.till, r.original_receipt) for r in receipts if r.kind is PurchaseKind.REFUND}
        stored = {}
        if sale_keys:
            columns = (Purchase.till, Purchase.receipt_no, Purchase.id, Purchase.amount_fen, Purchase.member_id,
                       Purchase.payment_method)
            for till, receipt_no, *rest in _receipts(session, columns, sale_keys, Purchase.kind == PurchaseKind.SALE):
                stored[(till, receipt_no)] = rest
            ids = [rest[0] for rest in stored.values()]
            earned = dict(lookup(session, lambda c: sa.select(PointsEntry.purchase_id, sa.func.sum(PointsEntry.points))
                                  .where(PointsEntry.purchase_id.in_(c), PointsEntry.kind == PointsKind.EARN)
                                  .group_by(PointsEntry.purchase_id), ids))
            refunded = _refunded_amounts(session, ids)
            taken = dict(lookup(session, lambda c: sa.select(Purchase.refund_of_id, sa.func.sum(PointsEntry.points))
                                 .join(PointsEntry, PointsEntry.purchase_id == Purchase.id)
                                 .where(Purchase.refund_of_id.in_(c)).group_by(Purchase.refund_of_id), ids))
            for key, (sale_id, amount, member_id, payment) in stored.items():
                self.sales[key] = _Sale(sale_id, amount, member_id, payment, int(earned.get(sale_id) or 0),
                                        refunded.get(sale_id, 0), -int(taken.get(sale_id) or 0))
        member_ids = sorted({r.member_id for r in receipts if r.member_id is not None}
                            | {sale.member_id for key, sale in self.sales.items() if key in sale_keys})
        spend: dict[int, int] = {}
        sign = sa.case((Purchase.kind == PurchaseKind.SALE, Purchase.amount_fen), else_=-Purchase.amount_fen)
        for member_id, total in lookup(session, lambda c: sa.select(Purchase.member_id, sa.func.sum(sign)).where(
                Purchase.member_id.in_(c), Purchase.occurred_at >= self.since).group_by(Purchase.member_id), member_ids):
            spend[member_id] = int(total or 0)
        for member_id, fingerprint in _fingerprints(session, member_ids).items():
            self.states[member_id] = _MemberState(fingerprint[1], fingerprint[2], spend.get(member_id, 0))
            self.fingerprints[member_id] = fingerprint

    def _expires_on(self, moment: datetime) -> date:
        day = loyalty.local_day(moment)
        found = self.expiry.get(day)
        if found is None:
            found = self.expiry[day] = self.rules.expires_on(day)
        return found

    def _upgrade(self, state: _MemberState) -> None:
        """The counter's tier rule (CounterConfig.reached) on the simulated state."""
        target = self.config.reached(state.tier_id, state.spend_12)
        if target is not None:
            state.tier_id = target.id
            state.changed_tier = True

    def _post(self, receipts: Sequence[PlannedReceipt]) -> None:
        for r in receipts:  # in the file's order: each receipt sees the balance and tier the ones before it left
            if r.kind is PurchaseKind.SALE:
                self._post_sale(r)
            else:
                self._post_refund(r)

    def _post_sale(self, r: PlannedReceipt) -> None:
        assert r.member_id is not None and r.amount_fen is not None and r.occurred_at is not None
        state = self.states[r.member_id]
        tier = self.config.tier(state.tier_id)
        tier_pct = (tier.multiplier_pct if tier is not None else 100) or 100
        points = loyalty.points_for(self.rules, amount_fen=r.amount_fen,
                                    lines=[loyalty.EarnLine(l.category, l.amount_fen) for l in r.lines],
                                    tier_pct=tier_pct, day=loyalty.local_day(r.occurred_at))
        key = (r.till, r.receipt_no)
        if points > 0:
            self.entries[key] = {"member_id": r.member_id, "at": r.occurred_at, "kind": PointsKind.EARN, "points": points,
                                 "expires_on": self._expires_on(r.occurred_at), "complaint_id": None, "reason": ""}
            state.balance += points
        self.sales[key] = _Sale(None, r.amount_fen, r.member_id, "", max(points, 0))
        state.visits += 1
        state.spend += r.amount_fen
        if state.last_visit is None or r.occurred_at > state.last_visit:
            state.last_visit = r.occurred_at
        if r.occurred_at >= self.since:
            state.spend_12 += r.amount_fen
        self._upgrade(state)

    def _post_refund(self, r: PlannedReceipt) -> None:
        """As purchases.refund: points back in proportion and cumulatively, never below a zero balance."""
        assert r.amount_fen is not None and r.occurred_at is not None
        sale = self.sales[(r.till, r.original_receipt)]
        state = self.states[sale.member_id]
        due_total = sale.earned * (sale.refunded_fen + r.amount_fen) // sale.amount_fen
        wanted = max(0, due_total - sale.taken)
        taken = min(wanted, state.balance)
        if taken > 0:
            reason = "" if taken == wanted else f"{wanted - taken} points were already spent"
            self.entries[(r.till, r.receipt_no)] = {
                "member_id": sale.member_id, "at": r.occurred_at, "kind": PointsKind.REFUND_REVERSAL, "points": -taken,
                "expires_on": None, "complaint_id": None, "reason": reason}
            state.balance -= taken
        sale.refunded_fen += r.amount_fen
        sale.taken += max(taken, 0)
        state.spend -= r.amount_fen
        if r.occurred_at >= self.since:
            state.spend_12 -= r.amount_fen

    def points(self) -> tuple[int, int]:
        """(points earned, points taken back) in all."""
        moved = [int(entry["points"]) for entry in self.entries.values()]  # type: ignore[call-overload]
        return sum(p for p in moved if p > 0), -sum(p for p in moved if p < 0)

    # ------------------------------------------------------------------ does it still hold?

    def purchases_since(self, session: Session) -> list[Any]:
        """The purchases recorded since these receipts were worked out: (till, receipt number, member, sale refunded)."""
        return session.connection().execute(sa.select(Purchase.till, Purchase.receipt_no, Purchase.member_id,
                                                      Purchase.refund_of_id).where(Purchase.id > self.last_purchase_id)).all()

    def still_holds(self, session: Session, since: Sequence[Any]) -> bool:
        """Inside the import's transaction (the write lock held): is what was worked out still right, given the
        purchases recorded ``since`` (purchases_since)? Members a till (or an earlier part of the file) changed
        meanwhile are worked out again here (cheap: only theirs); False when the part must be matched again -- the
        rules or tiers changed, a card of the file stopped working, or one of its receipts was recorded."""
        connection = session.connection()
        if connection.execute(sa.select(loyalty.rules_token_column())).scalar() != self.token:
            return False
        if any((till, receipt_no) in self.keys for till, receipt_no, _m, _r in since):
            return False
        refunded_sales = {sale.id for sale in self.sales.values() if sale.id is not None}
        if any(refund_of in refunded_sales for _t, _r, _m, refund_of in since):
            return False  # a stored sale of the file's refunds was refunded meanwhile
        cards = lookup(session, lambda c: sa.select(Card.number, Card.member_id, Card.status).where(Card.number.in_(c)), self.cards)
        if any(status is not CardStatus.ACTIVE or self.cards[number] != member_id for number, member_id, status in cards):
            return False
        changed = {member_id for member_id, fingerprint in _fingerprints(session, self.states).items()
                   if fingerprint != self.fingerprints[member_id]}
        if changed:
            statuses = dict(lookup(session, lambda c: sa.select(Member.id, Member.status).where(Member.id.in_(c)), changed))
            if any(status is not MemberStatus.ACTIVE for status in statuses.values()):
                return False  # a member of the file was frozen or closed meanwhile: its receipts are checked again
            self.redo(session, changed)
        return True

    def redo(self, session: Session, member_ids: set[int]) -> None:
        """Work out again the receipts of these members, from their state as it is now."""
        theirs = [r for r in self.receipts if self._member_of(r) in member_ids]
        for r in theirs:
            self.entries.pop((r.till, r.receipt_no), None)
        for key in [key for key, sale in self.sales.items() if sale.member_id in member_ids]:
            del self.sales[key]
        for member_id in member_ids:
            self.states.pop(member_id, None)
        self._load(session, theirs)
        self._post(theirs)

    # ------------------------------------------------------------------ writing

    def write(self, session: Session, actor: Actor, batch: Sequence[PlannedReceipt], now: datetime) -> None:
        """Insert a batch's purchases (sales first: a refund may give money back for one of them), their lines and
        their ledger entries."""
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            self._write_rows(connection, actor, batch, now)
            return
        table = Purchase.__table__
        ids: dict[tuple[str, str], int] = {}
        for kind in (PurchaseKind.SALE, PurchaseKind.REFUND):
            values = []
            for r in batch:
                if r.kind is not kind:
                    continue
                sale = self.sales[(r.till, r.original_receipt)] if kind is PurchaseKind.REFUND else None
                values.append({"member_id": r.member_id if sale is None else sale.member_id, "till": r.till,
                               "receipt_no": r.receipt_no, "kind": kind, "refund_of_id": sale.id if sale else None,
                               "occurred_at": r.occurred_at, "amount_fen": r.amount_fen,
                               "payment_method": sale.payment_method if sale else "", "cashier_id": actor.staff_id,
                               "created_at": now})
            if values:
                # Matched back by (till, receipt number), unique: lets the driver insert many rows per statement.
                written = connection.execute(sa.insert(table).returning(table.c.till, table.c.receipt_no, table.c.id), values)
                ids.update(((till, receipt_no), pid) for till, receipt_no, pid in written)
                if kind is PurchaseKind.SALE:  # known to the refunds after them
                    for r in batch:
                        if r.kind is kind:
                            self.sales[(r.till, r.receipt_no)].id = ids[(r.till, r.receipt_no)]
        lines = [{"purchase_id": ids[(r.till, r.receipt_no)], "item_code": l.item_code, "name": l.name,
                  "category": l.category.strip(), "quantity_milli": l.quantity_milli, "unit_price_fen": l.unit_price_fen,
                  "amount_fen": l.amount_fen} for r in batch for l in r.lines]
        entries = [{**self.entries[key], "purchase_id": ids[key], "staff_id": actor.staff_id}
                   for key in ((r.till, r.receipt_no) for r in batch) if key in self.entries]
        if lines:
            connection.execute(sa.insert(PurchaseLine.__table__), lines)
        if entries:
            connection.execute(sa.insert(PointsEntry.__table__), entries)

    def _write_rows(self, connection: sa.Connection, actor: Actor, batch: Sequence[PlannedReceipt], now: datetime) -> None:
        """The same rows on SQLite, where the import holds the only write lock: the purchases' ids are the next ones
        (no RETURNING), and the rows go to the driver's executemany with each value bound by its column's type once
        (driver_sql.DriverRows), without the statement machinery for every row -- the write lock is held that much less."""
        if self.next_id is None:
            self.next_id = connection.execute(sa.select(sa.func.coalesce(sa.func.max(Purchase.id), 0))).scalar_one() + 1
        purchases, lines, entries = [], [], []
        for r in batch:
            key, purchase_id = (r.till, r.receipt_no), self.next_id
            self.next_id += 1
            sale = self.sales[(r.till, r.original_receipt)] if r.kind is PurchaseKind.REFUND else None
            if sale is None:
                self.sales[key].id = purchase_id
            purchases.append((purchase_id, r.member_id if sale is None else sale.member_id, r.till, r.receipt_no, r.kind,
                              sale.id if sale else None, r.occurred_at, r.amount_fen, sale.payment_method if sale else "",
                              actor.staff_id, now, 0, 0))
            lines += [(purchase_id, l.item_code, l.name, l.category.strip(), l.quantity_milli, l.unit_price_fen, l.amount_fen)
                      for l in r.lines]
            entry = self.entries.get(key)
            if entry is not None:
                entries.append((entry["member_id"], entry["at"], entry["kind"], entry["points"], entry["expires_on"],
                                purchase_id, None, actor.staff_id, entry["reason"]))
        for rows, writer in ((purchases, _PURCHASE_ROWS), (lines, _LINE_ROWS), (entries, _ENTRY_ROWS)):
            if rows:
                writer.execute(connection, rows)

    def finish(self, session: Session, now: datetime) -> int:
        """The members' cached balance, tier and purchase totals, in one statement for them all (the totals as
        additions, as each sale and refund makes them); returns how many were lifted to a higher tier."""
        if not self.states:
            return 0
        connection = session.connection()
        lifted = {member_id: state for member_id, state in self.states.items() if state.changed_tier}
        kept = {member_id: state for member_id, state in self.states.items() if not state.changed_tier}
        if connection.dialect.name == "sqlite":
            for writer, states, tier in ((_MEMBER_ROWS, kept, False), (_LIFTED_MEMBER_ROWS, lifted, True)):
                if states:
                    writer.execute(connection, [
                        (state.balance, *((state.tier_id,) if tier else ()), now, state.visits, state.spend, state.last_visit,
                         state.last_visit, state.last_visit, member_id) for member_id, state in states.items()])
            return len(lifted)
        table = Member.__table__
        last = sa.bindparam("b_last", type_=table.c.last_visit_at.type)
        totals = sa.update(table).where(table.c.id == sa.bindparam("b_id")).values(
            points_balance=sa.bindparam("b_balance"), updated_at=now,
            visit_count=table.c.visit_count + sa.bindparam("b_visits"),
            total_spend_fen=table.c.total_spend_fen + sa.bindparam("b_spend"),
            last_visit_at=sa.case((sa.and_(last.is_not(None), sa.or_(table.c.last_visit_at.is_(None), table.c.last_visit_at < last)),
                                   last), else_=table.c.last_visit_at))
        for statement, states in ((totals, kept), (totals.values(tier_id=sa.bindparam("b_tier")), lifted)):
            if states:
                connection.execute(statement, [
                    {"b_id": member_id, "b_balance": state.balance, "b_visits": state.visits, "b_spend": state.spend,
                     "b_last": state.last_visit, **({"b_tier": state.tier_id} if states is lifted else {})}
                    for member_id, state in states.items()])
        return len(lifted)


# --------------------------------------------------------------------------- rejected rows


def write_rejects(plan: PurchaseImportPlan, input_path: str | Path, *, translate: Translate | None = None) -> Path:
    """Every row of the invalid receipts beside the input (purchases.csv -> purchases.rejected.csv), as
    import_engine.write_rejects writes them."""
    return engine_write_rejects(plan.headers, plan.invalid_rows, input_path, **({"translate": translate} if translate else {}))


STEPS = ImportSteps(plan_purchase_import, apply_purchase_import, write_rejects, lambda plan: bool(plan.counts.invalid),
                    IMPORT_PERMISSION)
