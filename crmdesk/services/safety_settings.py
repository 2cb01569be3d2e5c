"""The owner's data-safety settings (DataSafetySettings, one row): backup rotation, the second place, retention."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from crmdesk.errors import InvalidInput
from crmdesk.models import SAFETY_SETTINGS_ROW_ID, DataSafetySettings
from crmdesk.services import audit
from crmdesk.services.auth import Permission, require
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

MAX_KEEP = 366
MAX_RETENTION_YEARS = 30


@dataclass(frozen=True)
class SafetyRules:
    keep_daily: int = 12
    keep_weekly: int = 10
    keep_monthly: int = 9
    second_place: str = ""  # a folder on a USB stick or a network drive; empty: none
    retention_years: int = 0  # anonymise members closed longer than this; 0: never


def get(session: Session) -> SafetyRules:
    row = session.get(DataSafetySettings, SAFETY_SETTINGS_ROW_ID)
    if row is None:
        return SafetyRules()
    return SafetyRules(row.keep_daily, row.keep_weekly, row.keep_monthly, row.second_place, row.retention_years)


def save(session: Session, actor: Actor, rules: SafetyRules) -> SafetyRules:
    require(actor, Permission.MANAGE_BACKUPS)
    for name in ("keep_daily", "keep_weekly", "keep_monthly"):
        value = getattr(rules, name)
        if not 0 <= value <= MAX_KEEP:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Keep between 0 and {most} copies."), field=name, most=MAX_KEEP)
    if not 0 <= rules.retention_years <= MAX_RETENTION_YEARS:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "Keep closed members' data between 0 (always) and {most} years."),
            field="retention_years", most=MAX_RETENTION_YEARS,
        )
    second = rules.second_place.strip()
    if second and not Path(second).is_absolute():
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "The second place must be a full folder path, such as E:\\crmdesk or /media/usb/crmdesk."),
            field="second_place",
        )
    rules = SafetyRules(rules.keep_daily, rules.keep_weekly, rules.keep_monthly, second, rules.retention_years)
    row = session.get(DataSafetySettings, SAFETY_SETTINGS_ROW_ID)
    if row is None:
        row = DataSafetySettings(id=SAFETY_SETTINGS_ROW_ID)
        session.add(row)
    before = get(session) if row.keep_daily is not None else SafetyRules()
    for name, value in asdict(rules).items():
        setattr(row, name, value)
    changed = {name: value for name, value in asdict(rules).items() if getattr(before, name) != value}
    if changed:
        audit.record(session, actor, "backup.settings", "data_safety_settings", SAFETY_SETTINGS_ROW_ID, **changed)
    return rules
