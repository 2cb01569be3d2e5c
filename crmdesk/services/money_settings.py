"""The owner's settings for stored value and credit (MoneySettings, one row).

The defaults follow China's single-purpose prepaid card rules (单用途商业预付卡管理办法(试行),
商务部令2012年第9号): a named card (every crmdesk wallet belongs to a named member) holds at most
¥5,000 and never expires. See the README for what the rules ask of a shop.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from crmdesk.errors import InvalidInput
from crmdesk.models import MONEY_SETTINGS_ROW_ID, DrawOrder, MoneySettings
from crmdesk.services import audit
from crmdesk.services.auth import Permission, require
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

NAMED_CARD_CAP_FEN = 500_000  # ¥5,000: the regulation's limit for one named card
MAX_PIN_THRESHOLD_FEN = 10_000_000
MAX_FREEZE_DAYS = 365


@dataclass(frozen=True)
class MoneyRules:
    prepaid_rules: bool = True
    wallet_cap_fen: int = NAMED_CARD_CAP_FEN
    draw_order: DrawOrder = DrawOrder.PROPORTIONAL
    pin_above_fen: int = 0  # a member who chose a PIN types it for wallet payments above this (0: every one)
    credit_freeze_after_days: int = 0  # credit stops by itself this many days overdue (0: never)
    credit_max_limit_fen: int = 200_000  # the highest credit limit crmdesk suggests

    @property
    def cap_fen(self) -> int | None:
        """The most one member's wallet may hold, or None when the shop switched the rules off."""
        return self.wallet_cap_fen if self.prepaid_rules else None


def get(session: Session) -> MoneyRules:
    row = session.get(MoneySettings, MONEY_SETTINGS_ROW_ID)
    if row is None:
        return MoneyRules()
    return MoneyRules(row.prepaid_rules, row.wallet_cap_fen, row.draw_order, row.pin_above_fen, row.credit_freeze_after_days,
                      row.credit_max_limit_fen)


def save(session: Session, actor: Actor, rules: MoneyRules) -> MoneyRules:
    """The owner's settings; the prepaid card cap can be lowered, never raised above the regulation's while it applies."""
    require(actor, Permission.MANAGE_MONEY_RULES)
    if rules.prepaid_rules and not 0 < rules.wallet_cap_fen <= NAMED_CARD_CAP_FEN:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Under the prepaid card rules a wallet holds from ¥0.01 to ¥5,000.00."),
                           field="wallet_cap_fen")
    if not 0 <= rules.pin_above_fen <= MAX_PIN_THRESHOLD_FEN:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The amount above which the PIN is asked is not plausible."),
                           field="pin_above_fen")
    if not 0 <= rules.credit_freeze_after_days <= MAX_FREEZE_DAYS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Credit can stop by itself after 1 to 365 days overdue, or never (0)."),
                           field="credit_freeze_after_days")
    if not 0 <= rules.credit_max_limit_fen <= 100_000_000:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The highest suggested credit limit is not plausible."),
                           field="credit_max_limit_fen")
    row = session.get(MoneySettings, MONEY_SETTINGS_ROW_ID, with_for_update=True)
    if row is None:
        row = MoneySettings(id=MONEY_SETTINGS_ROW_ID)
        session.add(row)
    row.prepaid_rules, row.wallet_cap_fen, row.draw_order = rules.prepaid_rules, rules.wallet_cap_fen, rules.draw_order
    row.pin_above_fen, row.credit_freeze_after_days = rules.pin_above_fen, rules.credit_freeze_after_days
    row.credit_max_limit_fen = rules.credit_max_limit_fen
    audit.record(session, actor, "money.settings", "money_settings", MONEY_SETTINGS_ROW_ID,
                 prepaid_rules=rules.prepaid_rules, wallet_cap_fen=rules.wallet_cap_fen, draw_order=rules.draw_order.value,
                 pin_above_fen=rules.pin_above_fen, credit_freeze_after_days=rules.credit_freeze_after_days,
                 credit_max_limit_fen=rules.credit_max_limit_fen)
    session.flush()
    return get(session)
