"""What the open application knows: the database, who is signed in, the language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from crmdesk.db import Database
from crmdesk.services.uow import Actor
from crmdesk.views.operations import Operations

if TYPE_CHECKING:
    from crmdesk.views.backup_guard import BackupGuard
    from crmdesk.views.live_changes import LiveChanges
    from crmdesk.views.server_link import ServerLink


class ActorSignals(QObject):
    changed = Signal()  # another person signed in
    restored = Signal()  # the data was replaced by a backup here: the screens reopen on it
    backedUp = Signal()  # noqa: N815 - a backup was taken by hand: the status bar shows it


@dataclass
class AppState:
    db: Database
    actor: Actor
    language: str

    def __post_init__(self) -> None:
        self.signals = ActorSignals()
        # The automatic backups of this window's database (views/backup_guard.py); None in a screenshot or a test.
        self.backup_guard: BackupGuard | None = None
        # The running program, not a screenshot or a test: its background work runs -- the dashboard refreshes the
        # customer figures once a day, the POS hand-off folder is watched.
        self.live = False
        # What other tills commit, for the screens to follow (views/live_changes.py); None: they do not.
        self.live_changes: LiveChanges | None = None
        # Where the counter's database work runs: at once here (screenshots, tests driving a screen step by step);
        # the running program gives it a thread of its own (views/operations.py, app.py).
        self.operations = Operations(threaded=False)
        # A till on the shop's server: online, or offline on the member cache with its sales queued
        # (views/server_link.py); None on this computer's own file.
        self.link: ServerLink | None = None

    def reading_db(self) -> Database:
        """Where the counter reads members: the database, or this computer's member cache while the server is away."""
        return self.link.reading_db() if self.link is not None else self.db

    def sign_in(self, actor: Actor) -> None:
        self.actor = actor
        self.signals.changed.emit()
