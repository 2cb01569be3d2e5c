"""A member's copy of their data (个人信息保护法): everything in services/privacy.member_data, for a person to read.

Built from the very document the JSON file holds, so the two never disagree: personal details and consent,
cards, purchases with their items, the points, stored-value and credit ledgers, collection notes, complaints
with their timeline, resolutions, follow-ups and attachments, survey answers, coupons and offers used, and
the change history. Every section says when it is empty. Long histories run over as many pages as they
need, the table's header on top of each page, laid out in time proportional to their length.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any
from xml.sax.saxutils import escape

from PySide6.QtCore import QCoreApplication
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import CondPageBreak, Flowable, Paragraph

from crmdesk.models import (
    CardStatus,
    ComplaintStatus,
    CreditKind,
    FollowUpMethod,
    Gender,
    MarketingConsent,
    MemberStatus,
    PointsKind,
    Priority,
    PurchaseKind,
    Remedy,
    WalletKind,
)
from crmdesk.reports.base import (
    Progress,
    ReportContext,
    ShouldCancel,
    build_pdf,
    caption,
    content_width,
    data_table,
    empty_note,
    key_values,
    para,
    spacer,
    style,
)
from crmdesk.services.cards import CARD_STATUS_LABELS
from crmdesk.services.complaints import EVENT_LABELS, METHOD_LABELS, PRIORITY_LABELS, REMEDY_LABELS
from crmdesk.services.complaints import STATUS_LABELS as COMPLAINT_STATUS_LABELS
from crmdesk.services.credit import CHANNEL_LABELS
from crmdesk.services.credit import KIND_LABELS as CREDIT_KIND_LABELS
from crmdesk.services.loyalty import POINTS_KIND_LABELS, reason_parts
from crmdesk.services.member_query import GENDER_LABELS, STATUS_LABELS, money_text
from crmdesk.services.members import CONSENT_LABELS, HISTORY_LABELS, SOURCE_LABELS
from crmdesk.services.payments import ACCOUNT_METHODS, PAYMENT_METHODS
from crmdesk.services.purchases import PURCHASE_KIND_LABELS
from crmdesk.services.wallet import KIND_LABELS as WALLET_KIND_LABELS

# A table longer than this is laid out page by page (_PagedTable), so it may start at the foot of a page.
LONG_TABLE_ROWS = 10


def _r(text: str) -> str:
    return QCoreApplication.translate("reports", text)


def _label(context: str, labels: dict[Any, str], value: Any, enum_type: type | None = None) -> str:
    """A stored code's word in the document's language; an unknown code as it is."""
    key = value
    if enum_type is not None:
        try:
            key = enum_type(value)
        except ValueError:
            return str(value or "")
    return QCoreApplication.translate(context, labels[key]) if key in labels else str(value or "")


def _when(iso: str | None) -> str:
    """2026-12-05T14:02:00+08:00 -> 2026-12-05 14:02 (already on the shop's clock)."""
    return iso[:16].replace("T", " ") if iso else ""


def _yuan(amount: dict[str, Any] | None) -> str:
    return money_text(int(amount["fen"])) if amount else ""


def _signed(amount: dict[str, Any]) -> str:
    fen = int(amount["fen"])
    return ("+" if fen > 0 else "") + money_text(fen) if fen else ""


def _method(code: str) -> str:
    labels = {**PAYMENT_METHODS, **ACCOUNT_METHODS}
    return QCoreApplication.translate("terms", labels[code]) if code in labels else code


def _reason(text: str) -> str:
    """A reason the program wrote in the document's language; one a person typed as typed."""
    parts = reason_parts(text)
    if parts is None:
        return text
    template, values = parts
    return QCoreApplication.translate("ledger", template).format(**values)


def _size(size_bytes: int) -> str:
    if size_bytes < 1024:
        return f"{size_bytes} B"
    if size_bytes < 1024 * 1024:
        return f"{size_bytes / 1024:.1f} KB"
    return f"{size_bytes / 1024 / 1024:.1f} MB"


class _PagedTable(Flowable):
    """A table of any length that fills each page with as many rows as fit, its header on top of every page.

    Row heights are measured once; a split takes the rows that fit as a plain table and leaves the rest as
    another paged table, so laying out thousands of rows costs time in proportion to their number (one
    reportlab table split page after page would cost it in the square)."""

    PADDING_X = 6  # left + right cell padding of base.data_table
    PADDING_Y = 5  # top + bottom

    def __init__(self, header: Sequence[str], rows: list[list[str]], widths: Sequence[float], right: Sequence[int],
                 heights: list[float] | None = None) -> None:
        super().__init__()
        self.header, self.rows, self.widths, self.right = list(header), rows, list(widths), tuple(right)
        self.header_height = self._row_height(self.header, "cell_head")
        self.heights = heights if heights is not None else [self._row_height(row, "cell") for row in rows]
        self.width = sum(self.widths)
        self.height = self.header_height + sum(self.heights)

    def _row_height(self, row: Sequence[str], style_name: str) -> float:
        cell = style(style_name)
        tallest = cell.leading
        for text, width in zip(row, self.widths, strict=True):
            text = "" if text is None else str(text)
            if stringWidth(text, cell.fontName, cell.fontSize) > width - self.PADDING_X or "\n" in text:
                tallest = max(tallest, Paragraph(escape(text), cell).wrap(width - self.PADDING_X, 10_000)[1])
        return tallest + self.PADDING_Y

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        room = available_height - self.header_height - 2  # a little slack for rounding
        fitting, used = 0, 0.0
        for height in self.heights:
            if used + height > room:
                break
            used += height
            fitting += 1
        if fitting == 0:
            return []  # not even one row here: the frame moves the table to the next page
        if fitting == len(self.rows):
            return [data_table(self.header, self.rows, self.widths, right=self.right)]
        return [data_table(self.header, self.rows[:fitting], self.widths, right=self.right),
                _PagedTable(self.header, self.rows[fitting:], self.widths, self.right, self.heights[fitting:])]

    def draw(self) -> None:
        table = data_table(self.header, self.rows, self.widths, right=self.right)
        table.wrap(self.width, self.height)
        table.drawOn(self.canv, 0, 0)


def _table(header: Sequence[str], rows: list[list[str]], widths: Sequence[float], *, right: Sequence[int] = ()) -> list[Flowable]:
    """A short table as reportlab lays it out; a long one page by page, its header repeated on each page."""
    if len(rows) <= LONG_TABLE_ROWS:
        return [data_table(header, rows, widths, right=right)]
    return [_PagedTable(header, rows, widths, right)]


def _section(title: str, *content: Flowable) -> list[Flowable]:
    """A heading that stays with what follows it (never alone at the foot of a page), then the content.

    A long table is not kept together with the lines before it (that would push it all to the next page):
    the section then starts on a new page unless a good part of one is left."""
    title_paragraph = Paragraph(escape(title), ParagraphStyle("heading_kept", parent=style("heading"), keepWithNext=1))
    items = [title_paragraph, *content]
    for before, after in pairwise(items):
        if isinstance(after, _PagedTable):
            before.keepWithNext = 0
    room = 55 if any(isinstance(item, _PagedTable) for item in content) else 30
    return [CondPageBreak(room * mm), *items]


def _consent_line(channel: str, at: str | None, by: str) -> str:
    return " · ".join(part for part in (channel, _when(at), by) if part)


# --------------------------------------------------------------------------- sections


def _details(data: dict[str, Any], width: float) -> list[Flowable]:
    m = data["member"]
    pairs: list[tuple[str, object]] = [
        (_r("Member No."), m["member_no"]),
        (_r("Name"), m["name"]),
        (_r("Phone"), m["phone_display"]),
        (_r("Gender"), _label("terms", GENDER_LABELS, m["gender"], Gender)),
        (_r("Birthday"), m["birthday"] or ""),
        (_r("Joined"), m["joined_on"] or ""),
        (_r("Status"), _label("terms", STATUS_LABELS, m["status"], MemberStatus)),
        (_r("Tier"), m["tier"] or ""),
        (_r("E-mail"), m["email"]),
        (_r("Company"), m["company"]),
        (_r("Tags"), "、".join(data["tags"])),
        (QCoreApplication.translate("reports", "Came to us through"), _label("terms", SOURCE_LABELS, m["source"])),
        (_r("Points"), f"{m['points_balance']:,}"),
        (QCoreApplication.translate("reports", "Visits and spend"),
         QCoreApplication.translate("reports", "{visits} visits, {spend}").format(
             visits=f"{m['visit_count']:,}", spend=_yuan(m["total_spend"]))),
        (_r("Stored value"), _yuan(m["stored_value"]["total"])),
        (_r("Owed"), _yuan(m["credit_owed"])),
        (QCoreApplication.translate("reports", "Payment PIN"),
         QCoreApplication.translate("reports", "set") if m["has_payment_pin"] else QCoreApplication.translate("reports", "not set")),
        (QCoreApplication.translate("reports", "Registered"), _when(m["created_at"])),
    ]
    out: list[Flowable] = [key_values(pairs, width=width)]
    if m["address"]:
        out.append(key_values([(_r("Address"), m["address"])], width=width, columns=1))
    if m["notes"]:
        out.append(key_values([(_r("Notes"), m["notes"])], width=width, columns=1))
    if m["erased_at"]:
        out.append(key_values([(QCoreApplication.translate("reports", "Personal data erased"), _when(m["erased_at"]))],
                              width=width, columns=1))
    return _section(QCoreApplication.translate("reports", "Personal details"), *out)


def _consent(data: dict[str, Any], width: float) -> list[Flowable]:
    marketing = data["consent"]["marketing"]
    kept = data["consent"]["data"]
    channel = _label("terms", CONSENT_LABELS, marketing["channel"], MarketingConsent)
    if kept["given"]:
        keeping = _consent_line(QCoreApplication.translate("reports", "Given"), kept["at"], kept["by"])
    else:
        keeping = QCoreApplication.translate("reports", "Not recorded")
    pairs = [
        (QCoreApplication.translate("reports", "Offers and news"), _consent_line(channel, marketing["at"], marketing["by"])),
        (QCoreApplication.translate("reports", "Keeping personal data"), keeping),
    ]
    return _section(QCoreApplication.translate("reports", "Consent"), key_values(pairs, width=width, columns=1, label_mm=42))


def _cards(data: dict[str, Any], width: float) -> list[Flowable]:
    if not data["cards"]:
        return _section(_r("Cards"), empty_note(_r("No card has been issued to this member.")))
    rows = [[c["number"], _label("terms", CARD_STATUS_LABELS, c["status"], CardStatus), _when(c["issued_at"]), _when(c["ended_at"])]
            for c in data["cards"]]
    header = [_r("Card number"), _r("Status"), _r("Issued"), _r("Ended")]
    return _section(_r("Cards"), data_table(header, rows, [w * width for w in (0.34, 0.2, 0.23, 0.23)]))


def _items(lines: list[dict[str, Any]]) -> str:
    return "；".join(
        f"{line['name'] or line['item_code']} ×{line['quantity']} {_yuan(line['amount'])}".strip() for line in lines)


def _purchases(data: dict[str, Any], width: float) -> list[Flowable]:
    purchases = data["purchases"]
    title = _r("Purchases")
    if not purchases:
        return _section(title, empty_note(_r("No purchases recorded yet.")))
    rows = []
    for p in purchases:
        refund = p["kind"] == PurchaseKind.REFUND.value
        amount = _yuan(p["amount"])
        paid = [_method(p["payment_method"])] if p["payment_method"] else []
        if p["wallet"]["fen"]:
            paid.append(f"{_method('wallet')} {_yuan(p['wallet'])}")
        if p["credit"]["fen"]:
            paid.append(f"{_method('credit')} {_yuan(p['credit'])}")
        rows.append([_when(p["occurred_at"]), _label("terms", PURCHASE_KIND_LABELS, p["kind"], PurchaseKind), p["till"], p["receipt_no"],
                     ("-" + amount) if refund else amount, "、".join(paid), _items(p["lines"])])
    header = [_r("When"), _r("Kind"), _r("Till"), _r("Receipt"), _r("Amount"), QCoreApplication.translate("reports", "Paid by"),
              QCoreApplication.translate("reports", "What was bought")]
    note = caption(QCoreApplication.translate("reports", "{count} receipts, oldest first").format(count=f"{len(rows):,}"))
    return _section(title, note, *_table(header, rows, [w * width for w in (0.15, 0.07, 0.07, 0.14, 0.11, 0.14, 0.32)], right=(4,)))


def _points(data: dict[str, Any], width: float) -> list[Flowable]:
    entries = data["points_ledger"]
    title = QCoreApplication.translate("reports", "Points ledger")
    if not entries:
        return _section(title, empty_note(_r("No points have been earned or spent yet.")))
    rows = [[_when(e["at"]), _label("terms", POINTS_KIND_LABELS, e["kind"], PointsKind), f"{e['points']:+,}", e["expires_on"] or "",
             e["receipt_no"], _reason(e["reason"]), e["staff"]] for e in entries]
    header = [_r("When"), _r("Kind"), _r("Points"), _r("Expires on"), _r("Receipt"), QCoreApplication.translate("reports", "Reason"),
              QCoreApplication.translate("reports", "Staff")]
    note = caption(QCoreApplication.translate("reports", "{count} entries, oldest first; the balance is their sum: {points} points").format(
        count=f"{len(rows):,}", points=f"{sum(e['points'] for e in entries):,}"))
    return _section(title, note, *_table(header, rows, [w * width for w in (0.16, 0.11, 0.09, 0.12, 0.15, 0.23, 0.14)], right=(2,)))


def _wallet(data: dict[str, Any], width: float) -> list[Flowable]:
    entries = data["wallet_ledger"]
    title = _r("Stored value")
    balance = data["member"]["stored_value"]
    pairs = [(_r("Stored value"), _yuan(balance["total"])), (_r("Principal"), _yuan(balance["principal"])),
             (_r("Bonus"), _yuan(balance["bonus"]))]
    if not entries:
        return _section(title, empty_note(QCoreApplication.translate("reports", "No stored value has ever been paid in.")))
    rows = [[_when(e["at"]), _label("terms", WALLET_KIND_LABELS, e["kind"], WalletKind), _signed(e["principal"]), _signed(e["bonus"]),
             e["receipt_no"] or _method(e["payment_method"]), _reason(e["reason"]), e["staff"]] for e in entries]
    header = [_r("When"), _r("Kind"), _r("Principal"), _r("Bonus"), QCoreApplication.translate("reports", "Receipt or method"),
              QCoreApplication.translate("reports", "Reason"), QCoreApplication.translate("reports", "Staff")]
    return _section(title, key_values(pairs, width=width, columns=3, label_mm=22), spacer(1),
                    *_table(header, rows, [w * width for w in (0.16, 0.11, 0.12, 0.11, 0.16, 0.2, 0.14)], right=(2, 3)))


def _credit(data: dict[str, Any], width: float) -> list[Flowable]:
    credit = data["credit"]
    title = QCoreApplication.translate("reports", "Credit")
    account = credit["account"]
    if account is None and not credit["entries"] and not credit["collection_notes"]:
        return _section(title, empty_note(QCoreApplication.translate("reports", "No credit account and never a debt.")))
    out: list[Flowable] = []
    if account is not None:
        days = QCoreApplication.translate("reports", "{days} days").format(days=account["term_days"])
        pairs: list[tuple[str, object]] = [
            (_r("Credit limit"), _yuan(account["limit"])), (_r("Terms"), days), (_r("Owed"), _yuan(credit["owed"])),
            (QCoreApplication.translate("reports", "Granted"), _consent_line("", account["granted_at"], account["granted_by"])),
        ]
        if account["frozen"]:
            pairs.append((_r("Credit stopped"), account["frozen_reason"] or "—"))
        out.append(key_values(pairs, width=width))
    else:
        out.append(key_values([(_r("Owed"), _yuan(credit["owed"]))], width=width, columns=1))
    if credit["entries"]:
        settled: dict[int, list[str]] = {}
        for s in credit["settlements"]:
            settled.setdefault(s["settled_by_id"], []).append(
                QCoreApplication.translate("reports", "No. {charge}: {amount}").format(charge=s["charge_id"], amount=_yuan(s["amount"])))
        rows = [[str(e["id"]), _when(e["at"]), _label("terms", CREDIT_KIND_LABELS, e["kind"], CreditKind), _signed(e["amount"]),
                 e["due_on"] or "", e["receipt_no"] or _method(e["payment_method"]),
                 "; ".join(part for part in (_reason(e["reason"]), "、".join(settled.get(e["id"], []))) if part), e["staff"]]
                for e in credit["entries"]]
        header = [_r("No."), _r("When"), _r("Kind"), _r("Amount"), _r("Due"), QCoreApplication.translate("reports", "Receipt or method"),
                  QCoreApplication.translate("reports", "Reason or charges settled"), QCoreApplication.translate("reports", "Staff")]
        out += [caption(QCoreApplication.translate("reports", "Credit entries, oldest first")),
                *_table(header, rows, [w * width for w in (0.06, 0.15, 0.1, 0.11, 0.1, 0.14, 0.22, 0.12)], right=(0, 3))]
    if credit["collection_notes"]:
        rows = [[_when(n["at"]), _label("terms", CHANNEL_LABELS, n["channel"]), n["text"],
                 " ".join(part for part in (n["promised_on"] or "", _yuan(n["promised"])) if part), n["staff"]]
                for n in credit["collection_notes"]]
        header = [_r("When"), QCoreApplication.translate("reports", "How"), QCoreApplication.translate("reports", "Note"),
                  QCoreApplication.translate("reports", "Promised"), QCoreApplication.translate("reports", "Staff")]
        out += [caption(QCoreApplication.translate("reports", "Reminders about the debt")),
                *_table(header, rows, [w * width for w in (0.16, 0.12, 0.4, 0.18, 0.14)])]
    return _section(title, *out)


def _complaint(c: dict[str, Any], width: float) -> list[Flowable]:
    status = _label("complaints", COMPLAINT_STATUS_LABELS, c["status"], ComplaintStatus)
    line = QCoreApplication.translate("reports", "Complaint No. {id} · {when} · {category} · {status}").format(
        id=c["id"], when=_when(c["received_at"]), category=QCoreApplication.translate("complaints", c["category_name"]), status=status)
    pairs: list[tuple[str, object]] = [
        (QCoreApplication.translate("reports", "Came in by"), QCoreApplication.translate("complaints", c["channel_name"])),
        (_r("Priority"), _label("complaints", PRIORITY_LABELS, c["priority"], Priority)),
        (_r("Receipt"), c["related_receipt"]),
        (QCoreApplication.translate("reports", "Handled by"), " · ".join(p for p in (c["owner"], c["department"]) if p)),
        (QCoreApplication.translate("reports", "Resolved"), _when(c["resolved_at"])),
        (QCoreApplication.translate("reports", "Closed"), _when(c["closed_at"])),
    ]
    out: list[Flowable] = [CondPageBreak(40 * mm), para(line, "caption"), key_values(pairs, width=width)]
    texts = [(QCoreApplication.translate("reports", "What happened"), c["description"])]
    if c["customer_request"]:
        texts.append((QCoreApplication.translate("reports", "What the customer asked for"), c["customer_request"]))
    if c["walk_in_name"] or c["walk_in_phone"]:
        texts.append((QCoreApplication.translate("reports", "Name and phone given"), " ".join((c["walk_in_name"], c["walk_in_phone"])).strip()))
    out.append(key_values(texts, width=width, columns=1))
    if c["events"]:
        rows = [[_when(e["at"]), _label("complaints", EVENT_LABELS, e["kind"]), e["note"], e["staff"]] for e in c["events"]]
        out += [spacer(1), *_table([_r("When"), QCoreApplication.translate("reports", "What"), QCoreApplication.translate("reports", "Note"),
                                    QCoreApplication.translate("reports", "Staff")],
                                   rows, [w * width for w in (0.17, 0.2, 0.47, 0.16)])]
    if c["resolutions"]:
        rows = [[_when(r["at"]), "、".join(_label("complaints", REMEDY_LABELS, k, Remedy) for k in r["remedies"]),
                 _yuan(r["refund"]) if r["refund"]["fen"] else "", f"{r['goodwill_points']:,}" if r["goodwill_points"] else "",
                 r["coupon"] or "", r["note"]] for r in c["resolutions"]]
        header = [_r("When"), QCoreApplication.translate("reports", "Remedy"), QCoreApplication.translate("reports", "Refund"),
                  QCoreApplication.translate("reports", "Goodwill points"), _r("Coupon"), QCoreApplication.translate("reports", "Note")]
        out += [caption(QCoreApplication.translate("reports", "How it was put right")),
                *_table(header, rows, [w * width for w in (0.16, 0.2, 0.11, 0.12, 0.14, 0.27)], right=(2, 3))]
    if c["follow_ups"]:
        rows = [[_when(f["done_at"]), _label("complaints", METHOD_LABELS, f["method"], FollowUpMethod), f"{f['satisfaction']}/5",
                 f["comment"], f["staff"]] for f in c["follow_ups"]]
        header = [_r("When"), QCoreApplication.translate("reports", "How"), QCoreApplication.translate("reports", "Satisfaction"),
                  QCoreApplication.translate("reports", "Comment"), QCoreApplication.translate("reports", "Staff")]
        out += [caption(QCoreApplication.translate("reports", "Follow-up")),
                *_table(header, rows, [w * width for w in (0.16, 0.14, 0.12, 0.42, 0.16)], right=(2,))]
    if c["attachments"]:
        rows = [[a["file_name"], a["mime_type"], _size(a["size_bytes"]), _when(a["added_at"])] for a in c["attachments"]]
        header = [QCoreApplication.translate("reports", "File"), QCoreApplication.translate("reports", "Type"),
                  QCoreApplication.translate("reports", "Size"), QCoreApplication.translate("reports", "Added")]
        out += [caption(QCoreApplication.translate("reports", "Photos and scans (kept by the shop; ask for a copy)")),
                *_table(header, rows, [w * width for w in (0.44, 0.2, 0.14, 0.22)], right=(2,))]
    out.append(spacer(3))
    return out


def _complaints(data: dict[str, Any], width: float) -> list[Flowable]:
    if not data["complaints"]:
        return _section(_r("Complaints"), empty_note(_r("No complaints from this member.")))
    out: list[Flowable] = []
    for complaint in data["complaints"]:
        out += _complaint(complaint, width)
    return _section(_r("Complaints"), *out)


def _surveys(data: dict[str, Any], width: float) -> list[Flowable]:
    title = QCoreApplication.translate("reports", "Survey answers")
    if not data["surveys"]:
        return _section(title, empty_note(QCoreApplication.translate("reports", "No survey answered.")))
    rows = [[_when(s["taken_at"]), QCoreApplication.translate("complaints", s["channel_name"]),
             "、".join(f"{QCoreApplication.translate('surveys', x['name'])} {x['score']}/5" for x in s["scores"]), s["comment"]]
            for s in data["surveys"]]
    header = [_r("When"), QCoreApplication.translate("reports", "Where"), QCoreApplication.translate("reports", "Scores"),
              QCoreApplication.translate("reports", "Comment")]
    return _section(title, *_table(header, rows, [w * width for w in (0.16, 0.12, 0.4, 0.32)]))


def _offers(data: dict[str, Any], width: float) -> list[Flowable]:
    out: list[Flowable] = []
    if data["coupons"]:
        rows = [[c["code"], c["offer"], c["batch"], _when(c["created_at"]), _when(c["used_at"])] for c in data["coupons"]]
        header = [_r("Coupon"), _r("Offer"), QCoreApplication.translate("reports", "Batch"), QCoreApplication.translate("reports", "Made"),
                  QCoreApplication.translate("reports", "Used")]
        out += [caption(QCoreApplication.translate("reports", "Coupons made for this member")),
                *_table(header, rows, [w * width for w in (0.18, 0.3, 0.18, 0.17, 0.17)])]
    if data["offer_redemptions"]:
        rows = [[_when(r["at"]), r["offer"], r["coupon"] or "", r["receipt_no"], _yuan(r["discount"]),
                 f"{r['points_spent']:,}" if r["points_spent"] else ""] for r in data["offer_redemptions"]]
        header = [_r("When"), _r("Offer"), _r("Coupon"), _r("Receipt"), _r("Discount"), _r("Points spent")]
        out += [caption(_r("Offers used")), *_table(header, rows, [w * width for w in (0.16, 0.3, 0.15, 0.15, 0.12, 0.12)], right=(4, 5))]
    if not out:
        out.append(empty_note(_r("No offers used yet.")))
    return _section(QCoreApplication.translate("reports", "Coupons and offers"), *out)


def _history_value(field: str, value: str) -> str:
    enums: dict[str, tuple[type, dict[Any, str]]] = {"status": (MemberStatus, STATUS_LABELS), "gender": (Gender, GENDER_LABELS),
                                                     "marketing_consent": (MarketingConsent, CONSENT_LABELS)}
    if field in enums and value:
        kind, labels = enums[field]
        return _label("terms", labels, value, kind)
    if field == "source" and value:
        return _label("terms", SOURCE_LABELS, value)
    if field == "data_consent" and value == "given":
        return QCoreApplication.translate("reports", "Given")
    if field == "erased":
        return {"request": QCoreApplication.translate("reports", "on request"),
                "retention": QCoreApplication.translate("reports", "retention period over")}.get(value, value)
    return value


def _history(data: dict[str, Any], width: float) -> list[Flowable]:
    title = QCoreApplication.translate("reports", "Change history")
    rows = [[_when(h["at"]), h["staff"], _label("history", HISTORY_LABELS, h["field"]), _history_value(h["field"], h["old_value"]),
             _history_value(h["field"], h["new_value"])] for h in data["history"]]
    if not rows:
        return _section(title, empty_note(QCoreApplication.translate("reports", "No changes recorded.")))
    header = [_r("When"), QCoreApplication.translate("reports", "Staff"), QCoreApplication.translate("reports", "What"),
              QCoreApplication.translate("reports", "Before"), QCoreApplication.translate("reports", "After")]
    return _section(title, *_table(header, rows, [w * width for w in (0.16, 0.14, 0.2, 0.25, 0.25)]))


def render_member_data(
    data: dict[str, Any], ctx: ReportContext, *, progress: Progress | None = None, should_cancel: ShouldCancel | None = None
) -> bytes:
    """The PDF of ``services.privacy.member_data``'s document, in the language installed for the application."""
    width = content_width()
    m = data["member"]
    as_of = _when(data["generated_at"])
    intro = QCoreApplication.translate(
        "reports", "Everything {store} holds on this member as of {when}, for the member to keep. The JSON file handed out "
                   "with it holds the same data for programs to read. Times are on the shop's clock (UTC{zone}).").format(
        store=data["store"] or "—", when=as_of, zone=data["time_zone"])
    story: list[Flowable] = [
        para(QCoreApplication.translate("reports", "A member's copy of their personal data"), "muted"),
        para(m["name"], "title"),
        para(QCoreApplication.translate("reports", "{member_no} · as of {when}").format(member_no=m["member_no"], when=as_of), "subtitle"),
        para(intro, "muted"),
        *_details(data, width),
        *_consent(data, width),
        *_cards(data, width),
        *_purchases(data, width),
        *_points(data, width),
        *_wallet(data, width),
        *_credit(data, width),
        *_complaints(data, width),
        *_surveys(data, width),
        *_offers(data, width),
        *_history(data, width),
    ]
    title = QCoreApplication.translate("reports", "Personal data — {member_no}").format(member_no=m["member_no"])
    return build_pdf(story, ctx, title, progress=progress, should_cancel=should_cancel)

