"""Store settings and the first-start set-up of a new database."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import Conflict, InvalidInput
from crmdesk.models import STORE_ROW_ID, Role, Staff, StoreSettings, Tier
from crmdesk.services import audit
from crmdesk.services.auth import Permission, require, validate_password, validate_pin
from crmdesk.services.staff import clean_name, new_staff
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

MAX_STORE_NAME = 100
MSG_STORE_NAME_TOO_LONG = QT_TRANSLATE_NOOP("errors", "The store name may have at most {count} characters.")

# Default tiers (name, rank, 12-month spend in fen, points multiplier %, discount bp, colour).
DEFAULT_TIERS = (
    ("普通", 0, 0, 100, 0, "#8c8c8c"),
    ("银卡", 1, 2_000_00, 100, 0, "#a8a9ad"),
    ("金卡", 2, 8_000_00, 150, 200, "#d4af37"),
    ("钻石", 3, 20_000_00, 200, 500, "#4fb3d9"),
)


@dataclass(frozen=True)
class StoreInfo:
    store_name: str
    address: str
    phone: str
    card_prefix: str
    is_demo: bool


def is_initialised(session: Session) -> bool:
    """A database is set up once it has an owner."""
    return session.scalar(sa.select(Staff.id).where(Staff.role == Role.OWNER).limit(1)) is not None


def _settings_row(session: Session) -> StoreSettings:
    row = session.get(StoreSettings, STORE_ROW_ID)
    if row is None:
        row = StoreSettings(id=STORE_ROW_ID, store_name="", address="", phone="", card_prefix="29", is_demo=False)
        session.add(row)
        session.flush()
    return row


def get_store(session: Session) -> StoreInfo:
    row = session.get(StoreSettings, STORE_ROW_ID)
    if row is None:
        return StoreInfo("", "", "", "29", False)
    return StoreInfo(row.store_name, row.address, row.phone, row.card_prefix, row.is_demo)


def update_store(session: Session, actor: Actor, *, store_name: str, address: str, phone: str) -> StoreInfo:
    require(actor, Permission.CHANGE_SETTINGS)
    store_name = " ".join(store_name.split())
    if not store_name:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Enter the store's name."), field="store_name")
    limits = (
        ("store_name", store_name, MAX_STORE_NAME, MSG_STORE_NAME_TOO_LONG),
        ("address", address, 300, QT_TRANSLATE_NOOP("errors", "The address may have at most {count} characters.")),
        ("phone", phone, 40, QT_TRANSLATE_NOOP("errors", "The phone number may have at most {count} characters.")),
    )
    for field, value, limit, message in limits:
        if len(value) > limit:
            raise InvalidInput(message, field=field, count=limit)
    row = _settings_row(session)
    before = {"store_name": row.store_name, "address": row.address, "phone": row.phone}
    row.store_name, row.address, row.phone = store_name, address.strip(), phone.strip()
    after = {"store_name": row.store_name, "address": row.address, "phone": row.phone}
    changed = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changed:
        audit.record(session, actor, "store.update", "store_settings", row.id, changed=changed)
    return get_store(session)


def validate_setup(*, owner_name: str, owner_password: str, store_name: str = "", owner_pin: str | None = None) -> None:
    """Everything ``initialise`` checks that needs no database: a caller runs it before it creates one,
    so that a refused set-up leaves nothing behind."""
    clean_name(owner_name)
    validate_password(owner_password)
    if owner_pin:
        validate_pin(owner_pin)
    if len(" ".join(store_name.split())) > MAX_STORE_NAME:
        raise InvalidInput(MSG_STORE_NAME_TOO_LONG, field="store_name", count=MAX_STORE_NAME)


def initialise(
    session: Session, *, owner_name: str, owner_password: str, store_name: str = "", owner_pin: str | None = None
) -> Actor:
    """First start: create the owner account, the store settings and the default tiers."""
    validate_setup(owner_name=owner_name, owner_password=owner_password, store_name=store_name, owner_pin=owner_pin)
    if session.scalar(sa.select(Staff.id).limit(1)) is not None:
        raise Conflict(QT_TRANSLATE_NOOP("errors", "This database is already set up; sign in as its owner."))
    owner = new_staff(session, owner_name, Role.OWNER, pin=owner_pin, password=owner_password)
    actor = Actor(owner.id, owner.name, owner.role)
    row = _settings_row(session)
    row.store_name = " ".join(store_name.split())
    if session.scalar(sa.select(Tier.id).limit(1)) is None:
        for name, rank, spend, multiplier, discount, colour in DEFAULT_TIERS:
            session.add(
                Tier(name=name, rank=rank, min_spend_fen=spend, points_multiplier_pct=multiplier,
                     discount_bp=discount, colour=colour)
            )
    audit.record(session, actor, "store.initialise", "staff", owner.id, owner=owner.name)
    return actor
