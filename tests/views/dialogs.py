"""Building the dialogs that read what they show before they open (their ``setup``), as the counter and the
member's money tabs do on the operations thread -- here at once, for tests that drive a dialog directly."""

from __future__ import annotations

from typing import Any

from crmdesk.services.members import MemberProfile
from crmdesk.services.uow import read_session
from crmdesk.views.state import AppState


def built(dialog_class: Any, state: AppState, profile: MemberProfile, parent: Any = None) -> Any:
    with read_session(state.reading_db()) as session:
        return dialog_class(state, profile, dialog_class.setup(session, profile), parent)


def care_form(dialog_class: Any, state: AppState, parent: Any = None, *, member_id: int | None = None) -> Any:
    """The complaint form or the survey for a member (or a walk-in customer), its choices read first."""
    with read_session(state.db) as session:
        return dialog_class(state, dialog_class.setup(session, member_id), parent)
