"""Importing members from an old system's file: CSV (UTF-8, GBK/GB18030) or XLSX.

Two steps, so a person sees what will happen before anything is written:

``plan_import(session, path)`` reads the file, maps its headers (English or
Chinese), checks every row and matches it against the database. Each row gets an
action: ``new``, ``update``, ``unchanged`` or ``invalid`` (with its row number as
in the file -- the header is row 1 -- the column as named in the file, and the
reason). Problems of the whole file (unreadable encoding, a missing required
column, a damaged workbook, a file beyond the limits of services/tabular.py) raise
InvalidInput at once; the header is looked for before the rest of the file is read.

``apply_import(session, actor, plan, ...)`` writes the plan in the caller's one
transaction. It checks the rows against the database again first (the preview
may be minutes old), refuses the whole import when a row is invalid unless
``skip_invalid``, reports progress and can be cancelled; an error or a cancel
leaves the database exactly as before.

Rules
-----
Matching an existing member: by card number (a card of any status: a number
belongs to one member, ever), then member number, then phone (of a member who
is not closed). When several keys of a row point at different members, the row
is invalid. Two rows of the file matching the same member: the later is invalid.

Existing members (the file corrects crmdesk, but never erases): a non-empty cell
whose value differs from crmdesk's changes that field (name, phone, gender,
birthday, address, e-mail, notes); tags in the file are added, never removed; an
empty cell changes nothing. A card number new to crmdesk is issued when the
member has no working card (else the row is invalid: replace cards in crmdesk).
Member number and join date stay as crmdesk has them (a warning says they
differ). Changes go through members.update, so they appear in the member's
history. Closed members are left alone (unchanged, with a warning).

Who: checking a file is open to everyone; importing needs IMPORT_PERMISSION.

Points: the points column is the opening balance from the old system. A new
member gets it as ONE ledger entry of kind IMPORT (reason "import FILE") and the
same cached balance. An existing member's points are never changed by an import:
when the file's points differ from the balance a warning says so (points
adjustments are for a person to decide), so re-importing a file after members
have earned or spent points still works and changes nothing.

Stored value (储值) and debts (赊账): the columns 余额/储值余额/wallet/balance (or, preferred
when a file has both, 本金余额/principal) give the stored value's principal, 赠送余额/bonus
the bonus on top of it, 欠款/赊账/debt/owed a debt, and 欠款到期/debt_due its due day
(30 days after the import when empty). Amounts are read by services/money.py, the one
parser; a negative or unreadable amount, or a stored value beyond the prepaid card cap
(services/money_settings.py), is a row error. A new member gets them as ONE wallet entry
and ONE credit entry of kind OPENING (reason "import FILE"), as wallet.open_balance and
credit.open_debt write them, with the member's cached balances set in the same
transaction. An existing member's money is never changed once they have any wallet (or
credit) entry: a file that says the same is unchanged, one that differs gets a warning
and crmdesk's balance is kept -- an import never doubles a balance. A member who never
had a wallet (or a debt) in crmdesk gets the file's as their opening balance (or debt).

Re-importing the same file therefore reports every row unchanged and writes
nothing at all. An import that writes records one audit event for the file, and
for each member what members.register and cards.issue would record.
"""

from __future__ import annotations

import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk import shop_time
from crmdesk.errors import Conflict, InvalidInput
from crmdesk.models import (
    AuditEvent, Card, CardStatus, CreditEntry, CreditKind, Gender, Member, MemberChange, MemberStatus, MemberTag, PointsEntry,
    PointsKind, WalletEntry, WalletKind, utcnow,
)
from crmdesk.services import audit, cards, credit, loyalty, members, money, money_settings, wallet
from crmdesk.services.member_query import money_text
from crmdesk.services.auth import Permission, require
from crmdesk.services.members import MemberInput
from crmdesk.services.search_keys import name_search_keys
from crmdesk.services.import_engine import (  # what every import shares; some re-exported for this one's callers
    Action, FileColumns, FileHeader, ImportCancelled, ImportSteps, Problem, Progress, RejectedRow, Required, RowCells, RowError,
    ShouldCancel, Translate, check_cancel, in_batches, insert_rows, lookup, read_file, refuse_invalid, rejects_path,
)
from crmdesk.services.import_engine import write_rejects as engine_write_rejects
from crmdesk.services.tabular import EXCEL_EXACT_LIMIT, cell_text
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

__all__ = [
    "IMPORT_PERMISSION", "Action", "ImportCancelled", "ImportPlan", "ImportResult", "MoneyCounts", "Problem", "apply_import",
    "plan_import", "rejects_path", "write_rejects", "STEPS",
]

# Importing is back-office work that also posts points (opening balances): it takes the
# right to adjust points (supervisor or owner) until there is a permission of its own.
IMPORT_PERMISSION = Permission.IMPORT_MEMBERS
CHUNK = 500  # rows per written batch
MAX_POINTS = 2**31 - 1
DEBT_DAYS = 30  # an imported debt without a due day is due this many days after the import


# --------------------------------------------------------------------------- messages

MSG_NOT_A_DATE = QT_TRANSLATE_NOOP("errors", "'{value}' is not a date; write it like 2024-03-01.")
MSG_IMPOSSIBLE_DATE = QT_TRANSLATE_NOOP("errors", "'{value}' is not a real date: that day does not exist.")
MSG_BAD_POINTS = QT_TRANSLATE_NOOP("errors", "Points must be a whole number of 0 or more, not '{value}'.")
MSG_BAD_GENDER = QT_TRANSLATE_NOOP("errors", "'{value}' is not a gender: write 男 or 女 (or M or F), or leave it empty.")
MSG_EXCEL_SHORTENED = QT_TRANSLATE_NOOP(
    "errors", "Excel shortened this number to '{value}': format the column as text, enter the numbers again and save."
)
MSG_EXCEL_ROUNDED = QT_TRANSLATE_NOOP(
    "errors", "Excel stored {value} as a number and may have rounded it: format the column as text and enter the numbers again."
)
MSG_CARD_TOO_LONG = QT_TRANSLATE_NOOP("errors", "A card number may have at most 32 characters.")
MSG_DUPLICATE_IN_FILE = QT_TRANSLATE_NOOP("errors", "{value} is already on row {other_row} of this file.")
MSG_KEYS_DISAGREE = QT_TRANSLATE_NOOP(
    "errors", "{value} belongs to {other}, but {matched_column} {matched_value} belongs to {member}."
)
MSG_SAME_MEMBER_TWICE = QT_TRANSLATE_NOOP("errors", "This row is the same member {member} as row {other_row}.")
MSG_HAS_OTHER_CARD = QT_TRANSLATE_NOOP(
    "errors", "{member} already has the working card {number}; replace the card in crmdesk instead."
)

MSG_POINTS_DIFFER = QT_TRANSLATE_NOOP(
    "errors", "The file gives {points} points, crmdesk has a balance of {balance}; the balance is kept."
)
MSG_MEMBER_NO_DIFFERS = QT_TRANSLATE_NOOP(
    "errors", "The member number {member_no} differs from {current} in crmdesk; crmdesk's is kept."
)
MSG_JOINED_DIFFERS = QT_TRANSLATE_NOOP("errors", "The join date {date} differs from {current} in crmdesk; crmdesk's is kept.")
MSG_CLOSED_MEMBER = QT_TRANSLATE_NOOP("errors", "{member} is closed; an import leaves closed members as they are.")
MSG_NEGATIVE_MONEY = QT_TRANSLATE_NOOP("errors", "An amount brought over cannot be negative, not '{value}'.")
MSG_OVER_CAP = QT_TRANSLATE_NOOP(
    "errors", "A member's stored value may not exceed {cap} under the prepaid card rules; the file gives {amount}."
)
MSG_WALLET_DIFFERS = QT_TRANSLATE_NOOP(
    "errors", "The file gives a stored value of {amount}, crmdesk has {balance}; crmdesk's is kept."
)
MSG_DEBT_DIFFERS = QT_TRANSLATE_NOOP("errors", "The file gives a debt of {amount}, crmdesk has {owed}; crmdesk's is kept.")
MSG_MONEY_MOVED = QT_TRANSLATE_NOOP(
    "errors", "The stored value or debt of {member} changed while the file was imported; nothing was imported. Check the file again."
)
MSG_SIMILAR_MEMBER = QT_TRANSLATE_NOOP(
    "errors", "{name} with the birthday {birthday} may already be a member ({member_no}); a new member is registered anyway."
)


# --------------------------------------------------------------------------- columns

FIELDS = ("card_no", "member_no", "name", "phone", "gender", "birthday", "joined", "points", "tags", "notes", "address", "email",
          "wallet", "bonus", "debt", "debt_due")
MONEY_FIELDS = ("wallet", "bonus", "debt", "debt_due")
KEY_FIELDS = ("card_no", "member_no", "phone")
# How the fields are called in messages: both languages, as DESIGN.md names them.
FIELD_LABELS = {
    "card_no": "card_no/卡号", "member_no": "member_no/会员编号", "name": "name/姓名", "phone": "phone/手机",
    "gender": "gender/性别", "birthday": "birthday/生日", "joined": "joined/入会日期", "points": "points/积分",
    "tags": "tags/标签", "notes": "notes/备注", "address": "address/地址", "email": "email/邮箱",
    "wallet": "wallet/余额", "bonus": "bonus/赠送余额", "debt": "debt/欠款", "debt_due": "debt_due/欠款到期",
}
# Header names per field, best first: when two columns mean the same field, the better name wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "card_no": ("card_no", "卡号", "会员卡号", "card", "card_number", "cardno", "会员卡", "卡号码", "会员卡编号", "卡片号码"),
    "member_no": ("member_no", "会员编号", "member_number", "memberno", "member_id", "会员号", "会员编码", "会员代码", "会员ID"),
    "name": ("name", "姓名", "member_name", "会员姓名", "会员名称", "客户姓名", "顾客姓名", "名字", "full_name"),
    "phone": ("phone", "手机", "手机号", "手机号码", "mobile", "mobile_phone", "cellphone", "cell", "phone_number",
              "移动电话", "联系电话", "联系手机", "电话", "电话号码", "tel", "telephone"),
    "gender": ("gender", "性别", "sex"),
    "birthday": ("birthday", "生日", "出生日期", "birth_date", "birthdate", "date_of_birth", "dob", "出生年月日"),
    "joined": ("joined", "入会日期", "joined_on", "join_date", "入会时间", "注册日期", "注册时间", "开卡日期", "办卡日期",
               "开卡时间", "办卡时间", "registered", "registered_on"),
    "points": ("points", "积分", "积分余额", "当前积分", "可用积分", "剩余积分", "point", "points_balance"),
    "tags": ("tags", "标签", "会员标签", "tag", "labels"),
    "notes": ("notes", "备注", "note", "remarks", "remark", "comment", "comments", "说明"),
    "address": ("address", "地址", "住址", "联系地址", "家庭住址"),
    "email": ("email", "邮箱", "电子邮件", "电子邮箱", "e_mail", "mail"),
    # The stored value's principal. A name that says "principal" wins over one that may mean the whole
    # balance (储值余额), which some systems export beside the principal and the bonus.
    "wallet": ("本金余额", "储值本金", "本金", "principal", "余额", "储值余额", "wallet", "balance", "stored_value", "储值",
               "卡内余额", "会员余额", "账户余额", "wallet_balance"),
    "bonus": ("赠送余额", "bonus", "赠金", "赠金余额", "赠送金额", "储值赠送", "bonus_balance"),
    "debt": ("欠款", "赊账", "debt", "owed", "欠款金额", "赊账金额", "欠款余额", "赊欠", "挂账", "挂账金额"),
    "debt_due": ("欠款到期", "debt_due", "欠款到期日", "还款日期", "还款日", "应还日期", "到期还款日", "due_on", "due_date"),
}


COLUMNS = FileColumns(
    ALIASES,
    [Required(("name",), FIELD_LABELS["name"]), Required(KEY_FIELDS, " | ".join(FIELD_LABELS[key] for key in KEY_FIELDS))],
    looks_like_header=lambda columns: "name" in columns or len(columns) >= 2,
)

# Which column a validation error of members.validate belongs to.
_VALIDATE_FIELDS = {
    "name": "name", "phone": "phone", "birthday": "birthday", "joined_on": "joined", "tags": "tags",
    "notes": "notes", "member_no": "member_no", "address": "address", "email": "email",
}
# What replaces a refused value so validation can go on to the next field (the row is invalid anyway).
_NEUTRAL: dict[str, object] = {
    "name": "?", "phone": "", "birthday": None, "joined_on": None, "tags": (), "notes": "", "member_no": None,
    "address": "", "email": "", "company": "", "source": "",
}

_GENDERS = {
    **dict.fromkeys(("男", "男性", "m", "male", "man", "先生"), Gender.MALE),
    **dict.fromkeys(("女", "女性", "f", "female", "woman", "女士"), Gender.FEMALE),
    # ... and what crmdesk's own export writes for a gender nobody gave, in either language.
    **dict.fromkeys(("", "未知", "保密", "不详", "未填写", "unknown", "u", "-", "—", "无", "其他", "other", "not given"),
                    Gender.UNKNOWN),
}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FieldChange:
    field: str  # one of FIELDS, or "card"
    column: str  # as named in the file
    old: str
    new: str


@dataclass(frozen=True)
class ParsedRow:
    """One data row of the file, checked on its own (no database needed)."""

    row: int
    cells: tuple[str, ...]  # the row's cells as text, one per header
    data: MemberInput | None  # cleaned (members.validate) when the row has no errors
    card_no: str | None
    member_no: str | None  # the keys as read, also when another cell of the row is wrong
    phone: str | None  # E.164
    points: int | None
    present: frozenset[str]  # fields with a non-empty cell
    errors: tuple[Problem, ...]
    # Money from the old system, as read (None: no such cell); debt_due defaults to the import's day + 30.
    principal_fen: int | None = None
    bonus_fen: int | None = None
    debt_fen: int | None = None
    debt_due: date | None = None


@dataclass(frozen=True)
class Opening:
    """The money a row brings over: what importing it posts as opening entries (fen; 0 for none)."""

    principal_fen: int = 0
    bonus_fen: int = 0
    debt_fen: int = 0
    debt_due: date | None = None

    @property
    def wallet_fen(self) -> int:
        return self.principal_fen + self.bonus_fen

    def __bool__(self) -> bool:
        return bool(self.principal_fen or self.bonus_fen or self.debt_fen)


@dataclass(frozen=True)
class MoneyCounts:
    """What an import brings over as opening balances and debts, in all."""

    wallets: int = 0  # members whose stored value is opened
    principal_fen: int = 0
    bonus_fen: int = 0
    debts: int = 0  # members whose debt is opened
    debt_fen: int = 0

    @property
    def wallet_fen(self) -> int:
        return self.principal_fen + self.bonus_fen

    def __bool__(self) -> bool:
        return bool(self.wallets or self.debts)


@dataclass(frozen=True)
class PlannedRow:
    row: int
    action: Action
    name: str  # as cleaned, or as written when invalid
    card_no: str | None
    phone: str | None  # E.164
    member_id: int | None  # the existing member matched
    member_no: str | None  # the existing member's number
    changes: tuple[FieldChange, ...]
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    source: ParsedRow = field(repr=False)
    opening: Opening = field(default_factory=Opening)  # what importing the row posts (new and updated rows)

    @property
    def cells(self) -> tuple[str, ...]:
        return self.source.cells


@dataclass(frozen=True)
class Counts:
    new: int = 0
    update: int = 0
    unchanged: int = 0
    invalid: int = 0

    @property
    def total(self) -> int:
        return self.new + self.update + self.unchanged + self.invalid


@dataclass(frozen=True)
class ImportPlan:
    path: Path
    file_type: str  # "csv" or "xlsx"
    encoding: str | None  # "UTF-8", "UTF-8 with BOM", "GBK/GB18030", "UTF-16"; None for XLSX
    delimiter: str | None
    header_row: int
    headers: tuple[str, ...]
    columns: Mapping[str, str]  # field -> header as written
    column_indexes: Mapping[str, int]  # field -> position of its column
    rows: tuple[PlannedRow, ...]
    warnings: tuple[Problem, ...]  # about the whole file
    seen: _Seen | None = field(default=None, repr=False, compare=False)  # what the rows were matched against

    @property
    def counts(self) -> Counts:
        tally = {action: 0 for action in Action}
        for row in self.rows:
            tally[row.action] += 1
        return Counts(tally[Action.NEW], tally[Action.UPDATE], tally[Action.UNCHANGED], tally[Action.INVALID])

    @property
    def invalid_rows(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.action is Action.INVALID]

    @property
    def errors(self) -> list[Problem]:
        return [problem for row in self.rows for problem in row.errors]

    @property
    def row_warnings(self) -> list[Problem]:
        return [problem for row in self.rows for problem in row.warnings]

    @property
    def money(self) -> MoneyCounts:
        """The opening balances and debts importing the file (its valid rows) would post."""
        return money_counts(row.opening for row in self.rows if row.action in (Action.NEW, Action.UPDATE))


def money_counts(openings: Iterable[Opening]) -> MoneyCounts:
    wallets = principal = bonus = debts = debt = 0
    for opening in openings:
        if opening.wallet_fen:
            wallets += 1
            principal += opening.principal_fen
            bonus += opening.bonus_fen
        if opening.debt_fen:
            debts += 1
            debt += opening.debt_fen
    return MoneyCounts(wallets, principal, bonus, debts, debt)


@dataclass(frozen=True)
class ImportResult:
    plan: ImportPlan  # as checked again inside the import's transaction
    new: int
    updated: int
    unchanged: int
    skipped: int  # invalid rows left out (only with skip_invalid)
    points_posted: int
    seconds: float
    money: MoneyCounts = field(default_factory=MoneyCounts)  # opening balances and debts posted


# --------------------------------------------------------------------------- one row


SCIENTIFIC = re.compile(r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$")
_DATE_FORMS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def folded(value: object) -> str:
    """Cell text with full-width characters (１３８, ＋) folded, for numbers, keys and dates."""
    return unicodedata.normalize("NFKC", cell_text(value)).strip()


def key_text(value: object) -> str:
    """A card or member number or phone as text, refusing what Excel has already mangled."""
    if isinstance(value, float) and abs(value) >= EXCEL_EXACT_LIMIT:
        raise RowError(MSG_EXCEL_ROUNDED, value=cell_text(value))
    text = folded(value).lstrip("'")  # a leading ' is how Excel users force text
    if SCIENTIFIC.match(text):
        raise RowError(MSG_EXCEL_SHORTENED, value=text)
    return text


def _parse_date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 10_000_000 <= value <= 99_999_999:  # 20240301 typed as a number
            text = str(int(value))
        elif 1_000 <= value < 2_958_466:  # an Excel serial day number in a cell without a date format
            from openpyxl.utils.datetime import from_excel

            return from_excel(value).date()
        else:
            raise RowError(MSG_NOT_A_DATE, value=cell_text(value))
    else:
        text = folded(value)
    if not text:
        return None
    for pattern in _DATE_FORMS:
        match = pattern.match(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                raise RowError(MSG_IMPOSSIBLE_DATE, value=text) from None
    raise RowError(MSG_NOT_A_DATE, value=text)


def _parse_birthday(value: object, today: date) -> date | None:
    """Text by members.parse_birthday, the one birthday parser; Excel's own dates and date numbers as dates."""
    if isinstance(value, str):
        return members.parse_birthday(value, today)
    return _parse_date(value)


def _parse_points(value: object) -> int | None:
    if isinstance(value, bool):
        raise RowError(MSG_BAD_POINTS, value=cell_text(value))
    if isinstance(value, int):
        points = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise RowError(MSG_BAD_POINTS, value=cell_text(value))
        points = int(value)
    else:
        text = folded(value)
        if not text:
            return None
        compact = money.strip_thousands(text.replace(" ", ""))  # 1,234 yes; 1,23 is no number of points
        if compact is None or not re.fullmatch(r"\d+(?:\.0*)?", compact):
            raise RowError(MSG_BAD_POINTS, value=text)
        points = int(compact.split(".")[0])
    if not 0 <= points <= MAX_POINTS:
        raise RowError(MSG_BAD_POINTS, value=cell_text(value))
    return points


def _money_text(value: object) -> str:
    """A money cell as text for the one parser: Excel's 19.9 (stored as 19.899999999999999) reads 19.90."""
    if isinstance(value, bool):
        return cell_text(value)
    if isinstance(value, float) and abs(value) < EXCEL_EXACT_LIMIT and abs(value * 100 - round(value * 100)) < 1e-6:
        return f"{value:.2f}"
    if isinstance(value, int):
        return str(value)
    return cell_text(value)


def _parse_money(value: object) -> int | None:
    """An amount brought over from the old system, in fen: 0 or more, two decimals at most; None when empty."""
    text = _money_text(value)
    fen = money.parse_optional_yuan(text)
    if fen is not None and fen < 0:
        raise RowError(MSG_NEGATIVE_MONEY, value=text)
    return fen


def _parse_gender(value: object) -> Gender:
    text = folded(value).lower()
    try:
        return _GENDERS[text]
    except KeyError:
        raise RowError(MSG_BAD_GENDER, value=cell_text(value)) from None


def parse_card(value: object) -> str | None:
    number = "".join(key_text(value).split())
    if not number:
        return None
    if len(number) > 32:
        raise RowError(MSG_CARD_TOO_LONG)
    return number


def _parse_row(row: RowCells, today: date) -> ParsedRow:
    number, value, column, parse = row.number, row.value, row.column, row.parse
    errors = row.errors
    present = row.present
    card_no = parse("card_no", parse_card, None)
    member_no = parse("member_no", key_text, "")
    phone = parse("phone", lambda v: members.normalize_phone(key_text(v)) or "", "")
    gender = parse("gender", _parse_gender, Gender.UNKNOWN)
    birthday = parse("birthday", lambda v: _parse_birthday(v, today), None)
    joined = parse("joined", _parse_date, None)
    points = parse("points", _parse_points, None)
    principal = parse("wallet", _parse_money, None)
    bonus = parse("bonus", _parse_money, None)
    debt = parse("debt", _parse_money, None)
    due = parse("debt_due", _parse_date, None) if debt else None
    money_read = (principal, bonus, debt, (due or today + timedelta(days=DEBT_DAYS)) if debt else None)
    data = MemberInput(
        name=cell_text(value("name")),
        phone="",  # already normalised above; validate would only parse it again
        gender=gender,
        birthday=birthday,
        address=cell_text(value("address")),
        email=folded(value("email")),
        tags=(cell_text(value("tags")),),
        notes=cell_text(value("notes")),
        joined_on=joined,
        source="import",
        member_no=member_no or None,
    )
    cleaned = None
    for _attempt in range(len(_NEUTRAL)):
        try:
            cleaned = members.validate(data, today)
            break
        except InvalidInput as exc:
            name = _VALIDATE_FIELDS.get(exc.field or "")
            errors.append(Problem(number, column(name), exc.template, exc.params))
            if exc.field not in _NEUTRAL:
                break
            data = replace(data, **{exc.field: _NEUTRAL[exc.field]})
    keys = (card_no, member_no.strip() or None, phone or None)
    if cleaned is not None:
        name_search_keys(cleaned.name)  # worked out now, while checking, not later under the write lock (it is cached)
    if errors or cleaned is None:
        return ParsedRow(number, row.cells, None, *keys, points, present, tuple(errors), *money_read)
    return ParsedRow(number, row.cells, replace(cleaned, phone=phone), *keys, points, present, (), *money_read)


def _check_duplicates_in_file(rows: list[ParsedRow], header: FileHeader) -> list[ParsedRow]:
    """A card number, member number or phone twice in the file: the later row is invalid."""
    seen: dict[str, dict[str, int]] = {name: {} for name in KEY_FIELDS}
    checked = []
    for row in rows:
        keys = _keys_of(row)
        extra = []
        for name, key in keys.items():
            if key is None:
                continue
            earlier = seen[name].get(key)
            if earlier is None:
                seen[name][key] = row.row
            else:
                shown = members.display_phone(key) if name == "phone" else key
                extra.append(Problem(row.row, header.headers[header.columns[name]], MSG_DUPLICATE_IN_FILE,
                                     {"value": shown, "other_row": earlier}))
        checked.append(replace(row, data=None, errors=row.errors + tuple(extra)) if extra else row)
    return checked


def _keys_of(row: ParsedRow) -> dict[str, str | None]:
    """The row's matching keys that could be read (also from a row with other errors)."""
    return {"card_no": row.card_no, "member_no": row.member_no, "phone": row.phone}


# --------------------------------------------------------------------------- matching with the database


@dataclass(frozen=True)
class _Existing:
    id: int
    member_no: str
    name: str
    phone: str | None
    gender: Gender
    birthday: date | None
    address: str
    email: str
    notes: str
    joined_on: date
    points_balance: int
    status: MemberStatus
    tags: tuple[str, ...]
    active_card: str | None
    wallet_principal_fen: int = 0
    wallet_bonus_fen: int = 0
    credit_owed_fen: int = 0
    had_wallet: bool = False  # any wallet entry, ever
    had_credit: bool = False  # any credit entry, ever

    @property
    def label(self) -> str:
        return f"{self.name} ({self.member_no})"


def _load_existing(session: Session, ids: Iterable[int]) -> dict[int, _Existing]:
    ids = sorted(set(ids))
    tags: dict[int, list[str]] = {}
    for member_id, tag in lookup(session, lambda c: sa.select(MemberTag.member_id, MemberTag.tag)
                                  .where(MemberTag.member_id.in_(c)).order_by(MemberTag.tag), ids):
        tags.setdefault(member_id, []).append(tag)
    active = dict(lookup(session, lambda c: sa.select(Card.member_id, Card.number)
                          .where(Card.member_id.in_(c), Card.status == CardStatus.ACTIVE), ids))
    had_wallet = {member_id for (member_id,) in lookup(
        session, lambda c: sa.select(WalletEntry.member_id).where(WalletEntry.member_id.in_(c)).distinct(), ids)}
    had_credit = {member_id for (member_id,) in lookup(
        session, lambda c: sa.select(CreditEntry.member_id).where(CreditEntry.member_id.in_(c)).distinct(), ids)}
    columns = (Member.id, Member.member_no, Member.name, Member.phone, Member.gender, Member.birthday, Member.address,
               Member.email, Member.notes, Member.joined_on, Member.points_balance, Member.status)
    money_columns = (Member.wallet_principal_fen, Member.wallet_bonus_fen, Member.credit_owed_fen)
    return {
        row.id: _Existing(*row[:len(columns)], tags=tuple(tags.get(row.id, ())), active_card=active.get(row.id),
                          wallet_principal_fen=int(row[-3]), wallet_bonus_fen=int(row[-2]), credit_owed_fen=int(row[-1]),
                          had_wallet=row.id in had_wallet, had_credit=row.id in had_credit)
        for row in lookup(session, lambda c: sa.select(*columns, *money_columns).where(Member.id.in_(c)), ids)
    }


@dataclass(frozen=True)
class _Seen:
    """Everything matching a file read from the database: the members its keys name, as they are, and the wallet cap.
    When the same is read again under the write lock, the plan still holds and is not worked out again."""

    card_owner: dict[str, int]
    by_member_no: dict[str, int]
    by_phone: dict[str, int]
    existing: dict[int, _Existing]
    cap: int


def _see(session: Session, parsed: Sequence[ParsedRow]) -> _Seen:
    valid = [row for row in parsed if row.data is not None]
    card_owner = dict(lookup(session, lambda c: sa.select(Card.number, Card.member_id).where(Card.number.in_(c)),
                              (row.card_no for row in valid if row.card_no)))
    by_member_no = dict(lookup(session, lambda c: sa.select(Member.member_no, Member.id).where(Member.member_no.in_(c)),
                                (row.data.member_no for row in valid if row.data and row.data.member_no)))
    by_phone = dict(lookup(session, lambda c: sa.select(Member.phone, Member.id)
                            .where(Member.phone.in_(c), Member.status != MemberStatus.CLOSED),
                            (row.data.phone for row in valid if row.data and row.data.phone)))
    existing = _load_existing(session, [*card_owner.values(), *by_member_no.values(), *by_phone.values()])
    return _Seen(card_owner, by_member_no, by_phone, existing, money_settings.get(session).cap_fen)


def _match(session: Session, parsed: Sequence[ParsedRow], header: FileHeader, seen: _Seen) -> list[PlannedRow]:
    card_owner, by_member_no, by_phone, existing, cap = (seen.card_owner, seen.by_member_no, seen.by_phone, seen.existing,
                                                         seen.cap)

    def column(name: str) -> str:
        return header.headers[header.columns[name]] if name in header.columns else ""

    planned: list[PlannedRow] = []
    claimed: dict[int, int] = {}  # member id -> the row that matched it first
    new_rows: list[int] = []  # indexes into planned
    for row in parsed:
        data = row.data
        if data is None:
            name = row.cells[header.columns["name"]] if header.columns["name"] < len(row.cells) else ""
            planned.append(PlannedRow(row.row, Action.INVALID, name, row.card_no, row.phone, None, None, (), row.errors, (), row))
            continue
        keys = {"card_no": row.card_no, "member_no": data.member_no, "phone": data.phone or None}
        found = [
            (name, keys[name], owner)
            for name, lookup in (("card_no", card_owner), ("member_no", by_member_no), ("phone", by_phone))
            if keys[name] is not None and (owner := lookup.get(keys[name])) is not None
        ]
        if not found:
            opening = _opening(row, None)
            cap_errors = _cap_errors(row, opening, cap, column)
            if cap_errors:
                planned.append(PlannedRow(row.row, Action.INVALID, data.name, row.card_no, data.phone or None, None, None,
                                          (), tuple(cap_errors), (), row))
                continue
            new_rows.append(len(planned))
            planned.append(PlannedRow(row.row, Action.NEW, data.name, row.card_no, data.phone or None, None, None,
                                      tuple(_money_changes(opening, column)), (), (), row, opening))
            continue
        key_name, key_value, member_id = found[0]
        member = existing[member_id]
        errors: list[Problem] = []
        warnings: list[Problem] = []
        for other_name, other_value, other_id in found[1:]:
            if other_id != member_id:
                errors.append(Problem(row.row, column(other_name), MSG_KEYS_DISAGREE, {
                    "value": _shown(other_name, other_value), "other": existing[other_id].label,
                    "matched_column": column(key_name), "matched_value": _shown(key_name, key_value), "member": member.label,
                }))
        earlier = claimed.setdefault(member_id, row.row)
        if earlier != row.row:
            errors.append(Problem(row.row, column(key_name), MSG_SAME_MEMBER_TWICE, {"member": member.label, "other_row": earlier}))
        changes: list[FieldChange] = []
        opening = Opening()
        if member.status is MemberStatus.CLOSED:
            warnings.append(Problem(row.row, "", MSG_CLOSED_MEMBER, {"member": member.label}))
        else:
            card_known = row.card_no in card_owner
            changes = _changes(row, member, column, card_known=card_known)
            if row.card_no and not card_known and member.active_card is not None:
                errors.append(Problem(row.row, column("card_no"), MSG_HAS_OTHER_CARD,
                                      {"member": member.label, "number": member.active_card}))
            opening = _opening(row, member)
            errors += _cap_errors(row, opening, cap, column)
            changes += _money_changes(opening, column)
        warnings += _differences(row, member, column)
        warnings += _money_differences(row, member, opening, column)
        if errors:
            action = Action.INVALID
        elif changes:
            action = Action.UPDATE
        else:
            action = Action.UNCHANGED
        planned.append(PlannedRow(row.row, action, data.name, row.card_no, data.phone or None, member.id, member.member_no,
                                  tuple(changes) if not errors else (), tuple(errors), tuple(warnings), row,
                                  opening if not errors else Opening()))
    _warn_similar(session, planned, new_rows)
    return planned


def _shown(name: str, value: str) -> str:
    return members.display_phone(value) if name == "phone" else value


def _changes(row: ParsedRow, member: _Existing, column: Callable[[str], str], *, card_known: bool) -> list[FieldChange]:
    """What the row changes on an existing member: non-empty cells that differ; tags only added."""
    data = row.data
    assert data is not None
    changes = []

    def differs(name: str, new: Any, old: Any, shown: Callable[[Any], str] = str) -> None:
        if name in row.present and new != old:
            changes.append(FieldChange(name, column(name), shown(old), shown(new)))

    differs("name", data.name, member.name)
    differs("phone", data.phone or None, member.phone, members.display_phone)
    if data.gender is not Gender.UNKNOWN:
        differs("gender", data.gender, member.gender, lambda gender: gender.value)
    differs("birthday", data.birthday, member.birthday, _iso)
    differs("address", data.address, member.address)
    differs("email", data.email, member.email)
    differs("notes", data.notes, member.notes)
    added = [tag for tag in data.tags if tag not in member.tags]
    if added:
        changes.append(FieldChange("tags", column("tags"), ", ".join(member.tags), ", ".join((*member.tags, *added))))
    if row.card_no and not card_known and member.active_card is None:
        changes.append(FieldChange("card", column("card_no"), "", row.card_no))
    return changes


def _differences(row: ParsedRow, member: _Existing, column: Callable[[str], str]) -> list[Problem]:
    """What the file says differently but the import keeps as crmdesk has it."""
    data = row.data
    assert data is not None
    warnings = []
    if data.member_no and data.member_no != member.member_no:
        warnings.append(Problem(row.row, column("member_no"), MSG_MEMBER_NO_DIFFERS,
                                {"member_no": data.member_no, "current": member.member_no}))
    if "joined" in row.present and data.joined_on != member.joined_on:
        warnings.append(Problem(row.row, column("joined"), MSG_JOINED_DIFFERS,
                                {"date": _iso(data.joined_on), "current": _iso(member.joined_on)}))
    if row.points is not None and row.points != member.points_balance:
        warnings.append(Problem(row.row, column("points"), MSG_POINTS_DIFFER,
                                {"points": row.points, "balance": member.points_balance}))
    return warnings


def _file_wallet_matches(row: ParsedRow, member: _Existing) -> bool:
    """Whether the file's stored value is crmdesk's: principal and bonus apart when the file gives the
    bonus, else the whole balance."""
    principal, bonus = row.principal_fen or 0, row.bonus_fen
    if bonus is None:
        return principal == member.wallet_principal_fen + member.wallet_bonus_fen
    return (principal, bonus) == (member.wallet_principal_fen, member.wallet_bonus_fen)


def _opening(row: ParsedRow, member: _Existing | None) -> Opening:
    """What the row brings over: everything for a new member; for an existing one only what they never had in crmdesk."""
    principal, bonus, debt = row.principal_fen or 0, row.bonus_fen or 0, row.debt_fen or 0
    if member is not None:
        if member.had_wallet or _file_wallet_matches(row, member):
            principal = bonus = 0
        if member.had_credit or debt == member.credit_owed_fen:
            debt = 0
    return Opening(principal, bonus, debt, row.debt_due if debt else None)


def _cap_errors(row: ParsedRow, opening: Opening, cap: int | None, column: Callable[[str], str]) -> list[Problem]:
    if cap is None or opening.wallet_fen <= cap:
        return []
    where = column("wallet") if row.principal_fen else column("bonus")
    return [Problem(row.row, where, MSG_OVER_CAP, {"cap": money_text(cap), "amount": money_text(opening.wallet_fen)})]


def _money_changes(opening: Opening, column: Callable[[str], str]) -> list[FieldChange]:
    """The opening balance and debt as changes to show: from nothing (a new member, or one without a wallet or debt yet)."""
    changes = []
    if opening.principal_fen:
        changes.append(FieldChange("wallet", column("wallet"), "", money_text(opening.principal_fen)))
    if opening.bonus_fen:
        changes.append(FieldChange("bonus", column("bonus"), "", money_text(opening.bonus_fen)))
    if opening.debt_fen:
        changes.append(FieldChange("debt", column("debt"), "", money_text(opening.debt_fen)))
        changes.append(FieldChange("debt_due", column("debt_due"), "", _iso(opening.debt_due)))
    return changes


def _money_differences(row: ParsedRow, member: _Existing, opening: Opening, column: Callable[[str], str]) -> list[Problem]:
    """The file's money differs from what crmdesk keeps (and will keep): a warning, never a second balance."""
    warnings = []
    wallet_given = row.principal_fen is not None or row.bonus_fen is not None
    if wallet_given and not opening.wallet_fen and not _file_wallet_matches(row, member):
        shown = (row.principal_fen or 0) + (row.bonus_fen or 0)
        warnings.append(Problem(row.row, column("wallet") if row.principal_fen is not None else column("bonus"), MSG_WALLET_DIFFERS,
                                {"amount": money_text(shown),
                                 "balance": money_text(member.wallet_principal_fen + member.wallet_bonus_fen)}))
    if row.debt_fen is not None and not opening.debt_fen and row.debt_fen != member.credit_owed_fen:
        warnings.append(Problem(row.row, column("debt"), MSG_DEBT_DIFFERS,
                                {"amount": money_text(row.debt_fen), "owed": money_text(member.credit_owed_fen)}))
    return warnings


SIMILAR_CHUNK = 200  # name-and-birthday pairs per question


def _warn_similar(session: Session, planned: list[PlannedRow], new_rows: list[int]) -> None:
    """A new member with the name and birthday of an open member may be a duplicate (a warning, as at the counter)."""
    wanted = {(planned[i].name, planned[i].source.data.birthday) for i in new_rows
              if planned[i].source.data is not None and planned[i].source.data.birthday is not None}
    if not wanted:
        return
    known: dict[tuple[str, date], str] = {}
    # (name = ? AND birthday = ?) OR ... goes along ix_member_name_birthday pair by pair; asked by name alone it read
    # every namesake (a common name has hundreds in a big store). One statement shape, padded, compiled once.
    pairs = sorted(wanted)
    statement = sa.select(Member.name, Member.birthday, Member.member_no).where(sa.or_(*(
        sa.and_(Member.name == sa.bindparam(f"n{i}", type_=Member.name.type),
                Member.birthday == sa.bindparam(f"b{i}", type_=Member.birthday.type)) for i in range(SIMILAR_CHUNK)
    )), Member.status != MemberStatus.CLOSED)
    connection = session.connection()
    for start in range(0, len(pairs), SIMILAR_CHUNK):
        chunk = pairs[start:start + SIMILAR_CHUNK]
        chunk += [chunk[-1]] * (SIMILAR_CHUNK - len(chunk))
        params = {key: value for i, (name, birthday) in enumerate(chunk) for key, value in ((f"n{i}", name), (f"b{i}", birthday))}
        for name, birthday, member_no in connection.execute(statement, params):
            known.setdefault((name, birthday), member_no)
    for i in new_rows:
        row = planned[i]
        birthday = row.source.data.birthday if row.source.data else None
        member_no = known.get((row.name, birthday)) if birthday else None
        if member_no:
            warning = Problem(row.row, "", MSG_SIMILAR_MEMBER, {"name": row.name, "birthday": _iso(birthday), "member_no": member_no})
            planned[i] = replace(row, warnings=row.warnings + (warning,))


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


# --------------------------------------------------------------------------- planning


def plan_import(
    session: Session,
    path: str | Path,
    *,
    today: date | None = None,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
) -> ImportPlan:
    """Read and check a members file and say, row by row, what importing it would do. Writes nothing."""
    path = Path(path)
    today = today or shop_time.today()
    read = read_file(path, COLUMNS, lambda row: _parse_row(row, today), progress=progress, should_cancel=should_cancel,
                     step=CHUNK)
    header = read.header
    parsed = _check_duplicates_in_file(read.rows, header)
    seen = _see(session, parsed)
    planned = _match(session, parsed, header, seen)
    if progress:
        progress(read.read, read.read)
    return ImportPlan(
        path=path,
        file_type=read.table.file_type,
        encoding=read.table.encoding,
        delimiter=read.table.delimiter,
        header_row=header.row,
        headers=header.headers,
        columns=header.named(),
        column_indexes=dict(header.columns),
        rows=tuple(planned),
        warnings=header.warnings,
        seen=seen,
    )


def _header_of(plan: ImportPlan) -> FileHeader:
    return FileHeader(plan.header_row, plan.headers, dict(plan.column_indexes), plan.warnings)


# --------------------------------------------------------------------------- importing


def apply_import(
    session: Session,
    actor: Actor,
    plan: ImportPlan,
    *,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
) -> ImportResult:
    """Import a planned file in the caller's transaction (one unit of work).

    The plan was worked out outside the write lock. Here the members its keys name are read again (a few
    indexed look-ups): when they are as the plan saw them it holds; otherwise -- a till registered one of the
    file's phones or cards, or edited one of its members, meanwhile -- the rows are matched again. So the
    write lock is held for the writes, not for checking the file. Any invalid row stops
    the import with InvalidInput unless ``skip_invalid``. ``should_cancel``
    returning True raises ImportCancelled; the caller's unit of work then rolls
    back, so nothing of the import remains."""
    started = time.perf_counter()
    require(actor, IMPORT_PERMISSION)
    check_cancel(should_cancel)
    sources = [row.source for row in plan.rows]
    seen = _see(session, sources)
    checked = plan if seen == plan.seen else replace(plan, rows=tuple(_match(session, sources, _header_of(plan), seen)),
                                                     seen=seen)
    invalid = checked.invalid_rows
    refuse_invalid(len(invalid), checked.errors, skip_invalid)
    reason = f"import {plan.path.name}"
    entry_tier = members.entry_tier_id(session)  # everyone starts in the entry tier, as members.register does
    points_posted = 0

    def write(batch: Sequence[PlannedRow]) -> None:
        nonlocal points_posted
        new_rows = [row for row in batch if row.action is Action.NEW]
        if new_rows:
            points_posted += _insert_new(session, actor, new_rows, reason, entry_tier)
        for row in batch:
            if row.action is Action.UPDATE:
                _update_existing(session, actor, row, reason)  # through members.update: each change in the history

    in_batches([row for row in checked.rows if row.action in (Action.NEW, Action.UPDATE)], CHUNK, write,
               progress=progress, should_cancel=should_cancel)
    counts = checked.counts
    money_posted = checked.money
    if counts.new or counts.update:  # a file that changes nothing leaves no trace either
        audit.record(session, actor, "member.import", "member", None, file=plan.path.name, new=counts.new,
                     updated=counts.update, unchanged=counts.unchanged, skipped=counts.invalid, points=points_posted,
                     wallets=money_posted.wallets, wallet_principal_fen=money_posted.principal_fen,
                     wallet_bonus_fen=money_posted.bonus_fen, debts=money_posted.debts, debt_fen=money_posted.debt_fen)
        session.flush()
    check_cancel(should_cancel)
    return ImportResult(checked, counts.new, counts.update, counts.unchanged, len(invalid), points_posted,
                        time.perf_counter() - started, money_posted)


def _insert_new(session: Session, actor: Actor, rows: Sequence[PlannedRow], reason: str, tier_id: int | None) -> int:
    """Register a batch of new members with a few bulk statements, as members.register and cards.issue would."""
    now = utcnow()
    values = []
    for row in rows:
        data = row.source.data
        assert data is not None
        values.append({
            # column values exactly as members.register writes them
            **members.column_values(data),
            "member_no": data.member_no,  # those without one are numbered below, by their ids
            "status": MemberStatus.ACTIVE,
            "tier_id": tier_id,
            "points_balance": row.source.points or 0,
            # the opening entries' sums, as wallet.open_balance and credit.open_debt keep them
            "wallet_principal_fen": row.opening.principal_fen,
            "wallet_bonus_fen": row.opening.bonus_fen,
            "credit_owed_fen": row.opening.debt_fen,
            "visit_count": 0,
            "total_spend_fen": 0,
            "created_at": now,
            "updated_at": now,
        })
    table = Member.__table__
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # The import holds the only write lock: the new ids are the next ones, so the member numbers are known
        # before the insert and every table's rows go to the driver at once (import_engine.insert_rows).
        first = connection.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one() + 1
        ids = list(range(first, first + len(values)))
        numbers = _member_numbers(session, rows, ids)
        for value, member_id in zip(values, ids, strict=True):
            value["id"] = member_id
            value["member_no"] = numbers.get(member_id, value["member_no"])
        insert_rows(connection, table, values)
    else:
        # The new ids are matched to the rows by their (unique) member numbers, which lets the driver insert many
        # rows per statement: a member without one has a unique stand-in until numbered.
        for value in values:
            value["member_no"] = value["member_no"] or f"i-{uuid.uuid4().hex[:28]}"
        returned = dict(connection.execute(sa.insert(table).returning(table.c.member_no, table.c.id), values).all())
        ids = [returned[value["member_no"]] for value in values]
        numbers = _member_numbers(session, rows, ids)
        if numbers:
            connection.execute(
                sa.update(table).where(table.c.id == sa.bindparam("member_id")).values(member_no=sa.bindparam("number")),
                [{"member_id": member_id, "number": number} for member_id, number in numbers.items()],
            )
    staff = {"staff_id": actor.staff_id, "staff_name": actor.name}
    tags, card_rows, points, changes, events, wallets, debts = [], [], [], [], [], [], []
    for row, member_id in zip(rows, ids, strict=True):
        data = row.source.data
        assert data is not None
        member_no = numbers.get(member_id, data.member_no)
        tags += [{"member_id": member_id, "tag": tag} for tag in data.tags]
        changes.append({"member_id": member_id, "at": now, "field": "created", "old_value": "", "new_value": member_no, **staff})
        events.append({"at": now, "action": "member.add", "entity_type": "member", "entity_id": member_id,
                       "details": {"member_no": member_no, "name": data.name, "import": reason}, **staff})
        if row.card_no:
            card_rows.append({"number": row.card_no, "member_id": member_id, "status": CardStatus.ACTIVE, "imported": True,
                              "issued_at": now})
            changes.append({"member_id": member_id, "at": now, "field": "card_issued", "old_value": "",
                            "new_value": row.card_no, **staff})
            events.append({"at": now, "action": "card.issue", "entity_type": "member", "entity_id": member_id,
                           "details": {"number": row.card_no}, "staff_id": actor.staff_id, "staff_name": actor.name})
        if row.source.points:
            points.append({"member_id": member_id, "at": now, "kind": PointsKind.IMPORT, "points": row.source.points,
                           "expires_on": None, "staff_id": actor.staff_id, "reason": reason[:300]})
        opening = row.opening
        if opening.wallet_fen:
            wallets.append({"member_id": member_id, "at": now, "kind": WalletKind.OPENING, "principal_fen": opening.principal_fen,
                            "bonus_fen": opening.bonus_fen, "purchase_id": None, "bonus_rule_id": None, "payment_method": "",
                            "staff_id": actor.staff_id, "reason": reason[:wallet.MAX_REASON]})
        if opening.debt_fen:
            debts.append({"member_id": member_id, "at": now, "kind": CreditKind.OPENING, "amount_fen": opening.debt_fen,
                          "due_on": opening.debt_due, "purchase_id": None, "payment_method": "", "staff_id": actor.staff_id,
                          "approved_by_id": None, "reason": reason[:credit.MAX_REASON]})
    # Opening balances from the old system expire like points earned on the day of the import.
    expires_on = loyalty.get_rules(session).expires_on(loyalty.local_day(now))
    for entry in points:
        entry["expires_on"] = expires_on
    for model, batch in ((MemberTag, tags), (Card, card_rows), (PointsEntry, points), (WalletEntry, wallets), (CreditEntry, debts),
                         (MemberChange, changes), (AuditEvent, events)):
        insert_rows(connection, model.__table__, batch)
    return sum(entry["points"] for entry in points)


def _member_numbers(session: Session, rows: Sequence[PlannedRow], ids: Sequence[int]) -> dict[int, str]:
    """M00000042 for members without a number from the old system (as members.register gives)."""
    wanted = {member_id: f"M{member_id:08d}" for row, member_id in zip(rows, ids, strict=True)
              if row.source.data is not None and not row.source.data.member_no}
    # An old system's number -- in crmdesk already, or given on another row of the file -- may look like one of
    # ours; never reuse it.
    taken = {no for (no,) in lookup(session, lambda c: sa.select(Member.member_no).where(Member.member_no.in_(c)),
                                     wanted.values())}
    taken.update(row.source.data.member_no for row in rows if row.source.data is not None and row.source.data.member_no)
    for member_id, number in wanted.items():
        suffix = 1
        while number in taken:
            number = f"M{member_id:08d}-{suffix}"
            suffix += 1
        wanted[member_id] = number
        taken.add(number)
    return wanted


def _update_existing(session: Session, actor: Actor, row: PlannedRow, reason: str) -> None:
    data = row.source.data
    assert data is not None and row.member_id is not None
    profile_changes: dict[str, object] = {}
    card = None
    for change in row.changes:
        if change.field in MONEY_FIELDS:
            continue  # the opening balance and debt, below
        if change.field == "card":
            card = change.new
        elif change.field == "tags":
            current = session.scalars(sa.select(MemberTag.tag).where(MemberTag.member_id == row.member_id)).all()
            profile_changes["tags"] = tuple(current) + tuple(tag for tag in data.tags if tag not in current)
        else:
            profile_changes[change.field] = getattr(data, change.field)
    if profile_changes:
        members.update(session, actor, row.member_id, **profile_changes)
    if card:
        cards.issue(session, actor, row.member_id, card, imported=True)
    opening = row.opening
    if opening:
        member = wallet.member_for_update(session, row.member_id)
        # Checked again with the member locked: another till (PostgreSQL) may have opened a wallet or a debt meanwhile.
        started = [model for model, fen in ((WalletEntry, opening.wallet_fen), (CreditEntry, opening.debt_fen))
                   if fen and session.scalar(sa.select(model.id).where(model.member_id == member.id).limit(1)) is not None]
        if started:
            raise Conflict(MSG_MONEY_MOVED, member=f"{member.name} ({member.member_no})")
        at = utcnow()
        wallet.open_balance(session, actor, member, principal_fen=opening.principal_fen, bonus_fen=opening.bonus_fen,
                            reason=reason, at=at)
        if opening.debt_fen:
            assert opening.debt_due is not None
            credit.open_debt(session, actor, member, amount_fen=opening.debt_fen, due_on=opening.debt_due, reason=reason, at=at)
        session.flush()


# --------------------------------------------------------------------------- rejected rows


def write_rejects(plan: ImportPlan, input_path: str | Path, *, translate: Translate | None = None) -> Path:
    """The invalid rows beside the input (members.csv -> members.rejected.csv), as import_engine.write_rejects
    writes them."""
    rejected = (RejectedRow(row.row, row.cells, row.errors) for row in plan.invalid_rows)
    return engine_write_rejects(plan.headers, rejected, input_path, **({"translate": translate} if translate else {}))


STEPS = ImportSteps(plan_import, apply_import, write_rejects, lambda plan: bool(plan.invalid_rows), IMPORT_PERMISSION)
