"""Building the dialogs that read what they show before they open (their ``setup``), as the counter, the complaints
board and the member's money tabs do: on the state's operations (at once for tests that drive a dialog step by
step; on its thread, waited for here, for the tests that watch the UI thread)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication

from crmdesk.services.members import MemberProfile
from crmdesk.views.state import AppState


def _read(state: AppState, question: Callable[[Any], Any], db: Any = None) -> Any:
    answers: list[Any] = []
    failures: list[Exception] = []
    state.operations.read(db or state.db, question, answers.append, failures.append)
    while not answers and not failures:
        QCoreApplication.processEvents()
    if failures:
        raise failures[0]
    return answers[0]


def built(dialog_class: Any, state: AppState, profile: MemberProfile, parent: Any = None) -> Any:
    return dialog_class(state, profile, _read(state, lambda session: dialog_class.setup(session, profile), state.reading_db()),
                        parent)


def care_form(dialog_class: Any, state: AppState, parent: Any = None, *, member_id: int | None = None) -> Any:
    """The complaint form or the survey for a member (or a walk-in customer), its choices read first."""
    return dialog_class(state, _read(state, lambda session: dialog_class.setup(session, member_id)), parent)


def with_setup(dialog_class: Any, state: AppState, parent: Any = None) -> Any:
    """A dialog whose ``setup(session)`` needs nothing but the database (the top-up bonus's tiers)."""
    return dialog_class(state, _read(state, dialog_class.setup), parent)
