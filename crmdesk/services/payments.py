"""How a purchase was paid: the methods a till records (recorded, not processed).

Purchases keep the code; people see the label, translated in the "terms" context.
A code from an old system or an import that is not listed here is shown as it is.
"""

from __future__ import annotations

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
