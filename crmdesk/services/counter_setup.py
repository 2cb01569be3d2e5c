"""What the counter's dialogs need before they open, each read in one go.

The counter asks for these on its operations thread (views/operations.py) and opens the dialog with the
answer, so pressing F5, F7, F10 or F11 never waits on the database on the UI thread."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from crmdesk.services import credit, loyalty, money_settings, offers, staff
from crmdesk.services.auth import Permission, can
from crmdesk.services.uow import Actor


@dataclass(frozen=True)
class SaleSetup:
    """F5: the money rules (wallet PIN, credit), how long the member's oldest debt is overdue (new credit past
    the owner's limit waits for a supervisor) and who may approve a frozen member's sale or such credit."""

    money_rules: money_settings.MoneyRules
    overdue_days: int
    approvers: list[staff.StaffInfo]


@dataclass(frozen=True)
class RedeemSetup:
    """F7: the points rules (the redemption rate) and what the same points could buy instead."""

    rules: loyalty.Rules
    alternatives: list[offers.PointsOfferHint]


def approvers(session: Session) -> list[staff.StaffInfo]:
    """The active staff who may approve what a cashier may not (supervisors and the owner), in name order."""
    return [person for person in staff.list_staff(session, active_only=True)
            if can(Actor(person.id, person.name, person.role), Permission.CHANGE_MEMBER_STATUS)]


def sale_setup(session: Session, member_id: int, *, owes_credit: bool) -> SaleSetup:
    overdue_days = credit.info(session, member_id).oldest_overdue_days if owes_credit else 0
    return SaleSetup(money_settings.get(session), overdue_days, approvers(session))


def redeem_setup(session: Session, member_id: int) -> RedeemSetup:
    # Money off for points is what F7 itself gives, at the one rate: only the other kinds of offer are named.
    alternatives = [hint for hint in offers.points_offers_for(session, member_id) if hint.usable and hint.gives_fen is None]
    return RedeemSetup(loyalty.get_rules(session), alternatives)
