"""What the open application knows: the database, who is signed in, the language."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from crmdesk.db import Database
from crmdesk.services.uow import Actor


class ActorSignals(QObject):
    changed = Signal()


@dataclass
class AppState:
    db: Database
    actor: Actor
    language: str

    def __post_init__(self) -> None:
        self.signals = ActorSignals()

    def sign_in(self, actor: Actor) -> None:
        self.actor = actor
        self.signals.changed.emit()
