"""Passwords, PINs, signing in, lock-out, and what each role may do."""

from __future__ import annotations

import enum
import unicodedata
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crmdesk import shop_time
from crmdesk.db import Database
from crmdesk.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from crmdesk.models import Role, Staff
from crmdesk.services import audit
from crmdesk.services.uow import Actor, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=5)
MIN_PASSWORD_LENGTH = 8
PIN_LENGTHS = range(4, 7)

_hasher = PasswordHasher()


class Permission(enum.Enum):
    CHANGE_SETTINGS = "change_settings"
    MANAGE_STAFF = "manage_staff"
    CHANGE_MEMBER_STATUS = "change_member_status"
    MERGE_MEMBERS = "merge_members"
    BROWSE_MEMBERS = "browse_members"  # the member list over everyone, with filters
    EXPORT_MEMBERS = "export_members"  # members' personal data leaving the program
    ADJUST_POINTS = "adjust_points"
    IMPORT_MEMBERS = "import_members"  # brings in members and their opening points balances
    IMPORT_PURCHASES = "import_purchases"
    MANAGE_OFFERS = "manage_offers"
    CHANGE_LOYALTY_RULES = "change_loyalty_rules"  # points rules, tiers, the tier review
    # Complaints: anyone logs one and works the complaints they own (or that nobody owns yet,
    # which they then take); this lets a role assign to others and work every complaint.
    MANAGE_COMPLAINTS = "manage_complaints"
    COMPENSATE = "compensate"  # goodwill points or a coupon as a complaint's remedy
    SKIP_FOLLOW_UP = "skip_follow_up"  # close a complaint without its follow-up visit, with a reason
    # Channels, categories with their deadlines, survey dimensions and alert threshold.
    MANAGE_COMPLAINT_SETTINGS = "manage_complaint_settings"
    VIEW_SHOP_FIGURES = "view_shop_figures"  # the overview: the shop's takings and members at a glance
    # Stored value and credit (the shop's money with its members).
    CASH_OUT_WALLET = "cash_out_wallet"  # pay a member's principal back and close the wallet (退卡退余额)
    MANAGE_CREDIT = "manage_credit"  # grant, change and freeze credit; approve a charge beyond the limit
    ADJUST_MONEY = "adjust_money"  # correct a wallet or a debt by hand, with a reason
    WRITE_OFF_DEBT = "write_off_debt"  # 坏账核销
    MANAGE_MONEY_RULES = "manage_money_rules"  # top-up bonus rules and the money settings
    # Data safety and privacy (个人信息保护法).
    EXPORT_MEMBER_DATA = "export_member_data"  # one member's copy of everything held on them
    ERASE_MEMBERS = "erase_members"  # erase a member's personal data on request; the retention rule
    MANAGE_BACKUPS = "manage_backups"  # the backup settings, a restore, repairing cached figures
    VIEW_AUDIT_LOG = "view_audit_log"  # browse and export who did what


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CASHIER: frozenset(),
    Role.SUPERVISOR: frozenset(
        {Permission.CHANGE_SETTINGS, Permission.CHANGE_MEMBER_STATUS, Permission.MERGE_MEMBERS, Permission.BROWSE_MEMBERS,
         Permission.ADJUST_POINTS, Permission.IMPORT_MEMBERS, Permission.IMPORT_PURCHASES, Permission.MANAGE_OFFERS,
         Permission.MANAGE_COMPLAINTS, Permission.COMPENSATE, Permission.SKIP_FOLLOW_UP, Permission.VIEW_SHOP_FIGURES,
         Permission.CASH_OUT_WALLET, Permission.MANAGE_CREDIT, Permission.EXPORT_MEMBER_DATA}
    ),
    Role.OWNER: frozenset(Permission),
}

# What a refusal says, per permission: the English source of a translated message.
_DENIED = {
    Permission.CHANGE_SETTINGS: QT_TRANSLATE_NOOP(
        "errors", "{name} may not change the store settings; ask a supervisor or the owner."
    ),
    Permission.MANAGE_STAFF: QT_TRANSLATE_NOOP("errors", "{name} may not manage staff accounts; ask the owner."),
    Permission.CHANGE_MEMBER_STATUS: QT_TRANSLATE_NOOP(
        "errors", "{name} may not freeze, close or reopen members; ask a supervisor or the owner."
    ),
    Permission.MERGE_MEMBERS: QT_TRANSLATE_NOOP("errors", "{name} may not merge members; ask a supervisor or the owner."),
    Permission.BROWSE_MEMBERS: QT_TRANSLATE_NOOP("errors", "{name} may not browse the member list; ask a supervisor or the owner."),
    Permission.EXPORT_MEMBERS: QT_TRANSLATE_NOOP("errors", "{name} may not export members' data; ask the owner."),
    Permission.IMPORT_MEMBERS: QT_TRANSLATE_NOOP("errors", "{name} may not import members; ask a supervisor or the owner."),
    Permission.IMPORT_PURCHASES: QT_TRANSLATE_NOOP("errors", "{name} may not import purchases; ask a supervisor or the owner."),
    Permission.MANAGE_OFFERS: QT_TRANSLATE_NOOP("errors", "{name} may not create or change offers; ask a supervisor or the owner."),
    Permission.CHANGE_LOYALTY_RULES: QT_TRANSLATE_NOOP("errors", "{name} may not change the points rules or tiers; ask the owner."),
    Permission.ADJUST_POINTS: QT_TRANSLATE_NOOP("errors", "{name} may not adjust points by hand; ask a supervisor or the owner."),
    Permission.MANAGE_COMPLAINTS: QT_TRANSLATE_NOOP(
        "errors", "{name} may only work complaints they own or that nobody owns yet; ask a supervisor or the owner."
    ),
    Permission.COMPENSATE: QT_TRANSLATE_NOOP(
        "errors", "{name} may not give goodwill points or coupons for a complaint; ask a supervisor or the owner."
    ),
    Permission.SKIP_FOLLOW_UP: QT_TRANSLATE_NOOP(
        "errors", "{name} may not close a complaint without its follow-up; ask a supervisor or the owner."
    ),
    Permission.MANAGE_COMPLAINT_SETTINGS: QT_TRANSLATE_NOOP(
        "errors", "{name} may not change the complaint and survey settings; ask the owner."
    ),
    Permission.VIEW_SHOP_FIGURES: QT_TRANSLATE_NOOP("errors", "{name} may not see the shop's figures; ask a supervisor or the owner."),
    Permission.CASH_OUT_WALLET: QT_TRANSLATE_NOOP("errors", "{name} may not pay out a stored-value balance; ask a supervisor or the owner."),
    Permission.MANAGE_CREDIT: QT_TRANSLATE_NOOP("errors", "{name} may not grant, change or freeze credit; ask a supervisor or the owner."),
    Permission.ADJUST_MONEY: QT_TRANSLATE_NOOP("errors", "{name} may not correct a member's money by hand; ask the owner."),
    Permission.WRITE_OFF_DEBT: QT_TRANSLATE_NOOP("errors", "{name} may not write off a debt; ask the owner."),
    Permission.MANAGE_MONEY_RULES: QT_TRANSLATE_NOOP("errors", "{name} may not change the top-up bonuses or the money settings; ask the owner."),
    Permission.EXPORT_MEMBER_DATA: QT_TRANSLATE_NOOP(
        "errors", "{name} may not give out a member's copy of their data; ask a supervisor or the owner."
    ),
    Permission.ERASE_MEMBERS: QT_TRANSLATE_NOOP("errors", "{name} may not erase a member's personal data; ask the owner."),
    Permission.MANAGE_BACKUPS: QT_TRANSLATE_NOOP("errors", "{name} may not change backups, restore or repair the data; ask the owner."),
    Permission.VIEW_AUDIT_LOG: QT_TRANSLATE_NOOP("errors", "{name} may not read the audit log; ask the owner."),
}


def can(actor: Actor, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[actor.role]


def require(actor: Actor, permission: Permission) -> None:
    """Refuse an operation the actor's role does not allow (checked in services, not only by hiding buttons)."""
    if not can(actor, permission):
        raise PermissionDenied(_DENIED[permission], name=actor.name)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def _matches(stored_hash: str | None, secret: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "The password must have at least {count} characters."),
            field="password",
            count=MIN_PASSWORD_LENGTH,
        )


def normalize_pin(pin: str) -> str:
    """Full-width digits typed through a Chinese input method count as the same PIN."""
    return unicodedata.normalize("NFKC", pin).strip()


def validate_pin(pin: str) -> str:
    """The PIN in canonical form, or InvalidInput."""
    pin = normalize_pin(pin)
    if not (pin.isascii() and pin.isdigit() and len(pin) in PIN_LENGTHS):
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A PIN is 4 to 6 digits."), field="pin")
    return pin


def authenticate(db: Database, name: str, secret: str, *, now: datetime | None = None) -> Actor:
    """Sign a staff member in with their password or PIN.

    Runs its own transaction on purpose: a failed attempt must be counted (and
    may lock the account) even though the sign-in itself fails."""
    now = now or datetime.now(timezone.utc)
    failure: AuthenticationFailed | None = None
    with unit_of_work(db) as session:
        staff = session.scalar(sa.select(Staff).where(Staff.name == name.strip(), Staff.active.is_(True)))
        if staff is None:
            raise AuthenticationFailed(QT_TRANSLATE_NOOP("errors", "Wrong name, password or PIN."))
        if staff.locked_until is not None and staff.locked_until > now:
            minutes = shop_time.minutes_until(staff.locked_until, now)
            raise AuthenticationFailed(
                QT_TRANSLATE_NOOP(
                    "errors",
                    "{name} is locked after too many wrong attempts. Try again in {minutes} min, or ask the owner to reset the PIN.",
                ),
                name=staff.name,
                minutes=minutes,
            )
        if _matches(staff.password_hash, secret) or _matches(staff.pin_hash, normalize_pin(secret)):
            staff.failed_attempts = 0
            staff.locked_until = None
            return Actor(staff.id, staff.name, staff.role)
        staff.failed_attempts += 1
        left = MAX_FAILED_ATTEMPTS - staff.failed_attempts
        if left <= 0:
            staff.failed_attempts = 0
            staff.locked_until = now + LOCKOUT
            audit.record(session, None, "staff.locked_out", "staff", staff.id, name=staff.name)
            failure = AuthenticationFailed(
                QT_TRANSLATE_NOOP(
                    "errors", "Too many wrong attempts: {name} is locked for {minutes} min."
                ),
                name=staff.name,
                minutes=int(LOCKOUT.total_seconds() // 60),
            )
        else:
            failure = AuthenticationFailed(
                QT_TRANSLATE_NOOP("errors", "Wrong name, password or PIN. Attempts left before a lock-out: {left}."),
                left=left,
            )
    raise failure
