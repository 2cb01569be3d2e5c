"""Recording who did what. Called by the services that change data, inside their transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from crmdesk.models import AuditEvent
from crmdesk.services.uow import Actor


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: int | None = None,
    **details: Any,
) -> None:
    session.add(
        AuditEvent(
            staff_id=actor.staff_id if actor else None,
            staff_name=actor.name if actor else "",
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            details=details,
        )
    )

