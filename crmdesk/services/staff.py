"""Staff accounts: listing, adding, disabling, resetting PINs and passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import MSG_NOT_INITIALISED, Conflict, InvalidInput, NotFound, NotInitialised
from crmdesk.models import Role, Staff
from crmdesk.services import audit
from crmdesk.services.auth import Permission, hash_secret, require, validate_password, validate_pin
from crmdesk.services.search_keys import name_search_keys
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

MAX_NAME_LENGTH = 60


@dataclass(frozen=True)
class StaffInfo:
    id: int
    name: str
    role: Role
    active: bool
    has_password: bool
    has_pin: bool
    locked: bool


def _info(staff: Staff, now: datetime) -> StaffInfo:
    return StaffInfo(
        id=staff.id,
        name=staff.name,
        role=staff.role,
        active=staff.active,
        has_password=staff.password_hash is not None,
        has_pin=staff.pin_hash is not None,
        locked=staff.locked_until is not None and staff.locked_until > now,
    )


def list_staff(session: Session, *, active_only: bool = False) -> list[StaffInfo]:
    """Active staff first, each part in pinyin order of the names (李娜 before 王芳 before 张伟)."""
    query = sa.select(Staff)
    if active_only:
        query = query.where(Staff.active.is_(True))
    now = datetime.now(timezone.utc)
    people = [_info(staff, now) for staff in session.scalars(query)]
    return sorted(people, key=lambda person: (not person.active, name_search_keys(person.name)[0], person.name))


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Enter the staff member's name."), field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "A name may have at most {count} characters."), field="name", count=MAX_NAME_LENGTH
        )
    return name


def new_staff(session: Session, name: str, role: Role, *, pin: str | None, password: str | None) -> Staff:
    """Create an account after validating it; callers check permissions and audit."""
    name = clean_name(name)
    if pin:
        pin = validate_pin(pin)
    if password:
        validate_password(password)
    if not pin and not password:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Give the new account a PIN or a password."), field="pin")
    if session.scalar(sa.select(Staff.id).where(Staff.name == name)) is not None:
        raise Conflict(
            QT_TRANSLATE_NOOP("errors", "There is already a staff member called {name}; choose another name."), name=name
        )
    staff = Staff(
        name=name,
        role=role,
        pin_hash=hash_secret(pin) if pin else None,
        password_hash=hash_secret(password) if password else None,
        active=True,
        failed_attempts=0,
    )
    session.add(staff)
    session.flush()
    return staff


def add_staff(
    session: Session, actor: Actor, name: str, role: Role, *, pin: str | None = None, password: str | None = None
) -> StaffInfo:
    require(actor, Permission.MANAGE_STAFF)
    staff = new_staff(session, name, role, pin=pin, password=password)
    audit.record(session, actor, "staff.add", "staff", staff.id, name=staff.name, role=role.value)
    return _info(staff, datetime.now(timezone.utc))


def _get(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No staff member with id {id}."), id=staff_id)
    return staff


def find_by_name(session: Session, name: str) -> StaffInfo:
    staff = session.scalar(sa.select(Staff).where(Staff.name == " ".join(name.split())))
    if staff is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No staff member called {name}."), name=name)
    return _info(staff, datetime.now(timezone.utc))


def set_active(session: Session, actor: Actor, staff_id: int, active: bool) -> StaffInfo:
    require(actor, Permission.MANAGE_STAFF)
    staff = _get(session, staff_id)
    if not active:
        if staff.id == actor.staff_id:
            raise Conflict(QT_TRANSLATE_NOOP("errors", "You cannot disable your own account."))
        if staff.role is Role.OWNER and _active_owner_count(session) <= 1:
            raise Conflict(QT_TRANSLATE_NOOP("errors", "{name} is the only owner; the store needs at least one."), name=staff.name)
    staff.active = active
    audit.record(session, actor, "staff.enable" if active else "staff.disable", "staff", staff.id, name=staff.name)
    return _info(staff, datetime.now(timezone.utc))


def reset_pin(session: Session, actor: Actor, staff_id: int, new_pin: str) -> StaffInfo:
    """Give an account a new PIN and lift any lock-out."""
    require(actor, Permission.MANAGE_STAFF)
    new_pin = validate_pin(new_pin)
    staff = _get(session, staff_id)
    staff.pin_hash = hash_secret(new_pin)
    staff.failed_attempts = 0
    staff.locked_until = None
    audit.record(session, actor, "staff.reset_pin", "staff", staff.id, name=staff.name)
    return _info(staff, datetime.now(timezone.utc))


def set_password(session: Session, actor: Actor, staff_id: int, new_password: str) -> StaffInfo:
    """Anyone may change their own password; only an owner may set someone else's."""
    if staff_id != actor.staff_id:
        require(actor, Permission.MANAGE_STAFF)
    validate_password(new_password)
    staff = _get(session, staff_id)
    staff.password_hash = hash_secret(new_password)
    staff.failed_attempts = 0
    staff.locked_until = None
    audit.record(session, actor, "staff.set_password", "staff", staff.id, name=staff.name)
    return _info(staff, datetime.now(timezone.utc))


def _active_owner_count(session: Session) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(Staff).where(Staff.role == Role.OWNER, Staff.active.is_(True))
    ) or 0


def actor_for(session: Session, name: str | None = None) -> Actor:
    """The account a command-line call acts as: the named one, or else the first owner.

    Whoever can run commands on the database file already holds all its data, so
    the command line does not ask for a password; the audit log records the name."""
    query = sa.select(Staff).where(Staff.active.is_(True))
    if name:
        staff = session.scalar(query.where(Staff.name == name))
        if staff is None:
            raise NotFound(QT_TRANSLATE_NOOP("errors", "No active staff member called {name}."), name=name)
    else:
        staff = session.scalar(query.where(Staff.role == Role.OWNER).order_by(Staff.id))
        if staff is None:
            raise NotInitialised(MSG_NOT_INITIALISED)
    return Actor(staff.id, staff.name, staff.role)
