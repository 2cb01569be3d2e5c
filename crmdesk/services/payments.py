"""How a purchase was paid: the methods a till records (recorded, not processed).

Purchases keep the code; people see the label, translated in the "terms" context.
A code from an old system or an import that is not listed here is shown as it is.
What a person types for a method (a code or its Chinese word) is read by ``method_code``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import InvalidInput, NotFound
from crmdesk.models import Purchase
from crmdesk.services import credit, wallet
from crmdesk.texts import QT_TRANSLATE_NOOP

PAYMENT_METHODS: dict[str, str] = {
    "cash": QT_TRANSLATE_NOOP("terms", "Cash"),
    "wechat": QT_TRANSLATE_NOOP("terms", "WeChat Pay"),
    "alipay": QT_TRANSLATE_NOOP("terms", "Alipay"),
    "card": QT_TRANSLATE_NOOP("terms", "Bank card"),
    "other": QT_TRANSLATE_NOOP("terms", "Other"),
}
DEFAULT_METHOD = "cash"
# Paid with the member's own account at the shop: the stored value (储值) and credit (赊账).
ACCOUNT_METHODS: dict[str, str] = {
    "wallet": QT_TRANSLATE_NOOP("terms", "Stored value"),
    "credit": QT_TRANSLATE_NOOP("terms", "On credit"),
}
# Money handed over at the till (a top-up, a cash-out paid back, a repayment): never the member's own accounts.
TILL_METHODS = ("cash", "wechat", "alipay", "card")

# The words a person types for each method besides its code: the one place they are read (the command line's
# --payment and --pay). English codes are read in any case; full-width letters as Chinese input methods type them.
WORDS: dict[str, tuple[str, ...]] = {
    "cash": ("现金",),
    "wechat": ("微信", "微信支付"),
    "alipay": ("支付宝",),
    "card": ("银行卡",),
    "other": ("其他", "其它"),
    "wallet": ("储值", "储值卡", "余额"),
    "credit": ("赊账", "赊帐", "挂账"),
}
MSG_NOT_A_METHOD = QT_TRANSLATE_NOOP("errors", "'{text}' is not a way of paying here; use one of: {words}.")


def method_code(text: str, accepted: Iterable[str] = (*PAYMENT_METHODS, *ACCOUNT_METHODS), *, field: str = "payment") -> str:
    """The code of a way of paying typed as its code (cash, wechat ...) or its Chinese word (现金, 微信, 储值, 赊账 ...),
    one of ``accepted``; anything else is refused with the accepted words."""
    accepted = tuple(accepted)
    word = unicodedata.normalize("NFKC", text or "").strip().casefold()
    for code in accepted:
        if word == code or word in WORDS.get(code, ()):
            return code
    raise InvalidInput(MSG_NOT_A_METHOD, field=field, text=(text or "").strip(),
                       words=", ".join(f"{code} ({'/'.join(WORDS[code])})" if WORDS.get(code) else code for code in accepted))


@dataclass(frozen=True)
class Split:
    """How one amount is paid: ``wallet_fen`` from the stored value, ``credit_fen`` on credit, the rest by ``method``."""

    method: str  # "" when nothing is left to pay, or nobody said how
    wallet_fen: int
    credit_fen: int


def split(amount_fen: int, method: str, *, wallet_fen: int = 0, credit_fen: int = 0) -> Split:
    """A basket's payment as typed: parts from the wallet and on credit, and the method of the rest. The rest paid
    "by" the wallet or credit (``--payment 储值``) goes to that account: the whole amount when no part is given."""
    rest = amount_fen - wallet_fen - credit_fen
    if method == "wallet" and rest > 0:
        return Split("", wallet_fen + rest, credit_fen)
    if method == "credit" and rest > 0:
        return Split("", wallet_fen, credit_fen + rest)
    return Split("" if method in ACCOUNT_METHODS else method, wallet_fen, credit_fen)


@dataclass(frozen=True)
class Breakdown:
    """How a purchase was paid, or a refund given back: the wallet's part (principal and bonus), the credit part
    (with a charge's due day) and the rest in ``method``. Signed as the accounts moved: a sale takes from the wallet
    (negative) and adds to the debt (positive); a refund does the opposite."""

    amount_fen: int
    method: str
    wallet_principal_fen: int
    wallet_bonus_fen: int
    credit_fen: int
    due_on: date | None

    @property
    def wallet_fen(self) -> int:
        return self.wallet_principal_fen + self.wallet_bonus_fen

    @property
    def rest_fen(self) -> int:
        return self.amount_fen - abs(self.wallet_fen) - abs(self.credit_fen)


def breakdown(session: Session, purchase_id: int) -> Breakdown:
    """What ``breakdown`` describes, for one purchase or refund."""
    row = session.execute(sa.select(Purchase.amount_fen, Purchase.payment_method).where(Purchase.id == purchase_id)).first()
    if row is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No purchase with id {id}."), id=purchase_id)
    moved = wallet.moved_by_purchase(session, purchase_id)
    credit_fen, due_on = credit.moved_by_purchase(session, purchase_id)
    return Breakdown(int(row.amount_fen), row.payment_method or "", moved.principal_fen, moved.bonus_fen, credit_fen, due_on)
