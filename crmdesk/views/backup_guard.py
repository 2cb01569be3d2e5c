"""Backups nobody has to think of, while the app is open.

Every minute the guard asks whether a backup is due (services/backups.due: none for a day, or half an
hour of changes) and takes it off the UI thread; it takes one more at close when something changed.
After the day's first backup it anonymises the members past the owner's retention period. It also
notices a restore made from another window or till and says so, so the screens are reopened on the
restored data. The status bar listens to ``statusChanged``.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog

from crmdesk import shop_time
from crmdesk.errors import CrmdeskError
from crmdesk.failures import log_unexpected
from crmdesk.services import backups
from crmdesk.views.background import TaskThread
from crmdesk.views.state import AppState

CHECK_EVERY_MS = 60_000


class BackupGuard(QObject):
    statusChanged = Signal()  # noqa: N815 - Qt signal naming
    restoredElsewhere = Signal(object)  # noqa: N815 - when (datetime) the data was restored elsewhere

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._thread: TaskThread | None = None
        self._seen_restore: datetime | None = None
        self._seen_known = False  # the newest restore when this window started is read with the first tick
        self.last_error: CrmdeskError | None = None  # the last automatic backup's failure, shown in the status bar
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_EVERY_MS)
        self._timer.timeout.connect(self.tick)

    @property
    def automatic(self) -> bool:
        """Backups are taken here for a database file; a server's are the server's (or `crmdesk backup`)."""
        return self._state.db.is_sqlite

    def start(self) -> None:
        self._timer.start()
        QTimer.singleShot(2_000, self.tick)  # the start-up backup, once the window is up

    def stop(self) -> None:
        self._timer.stop()

    def busy(self) -> bool:
        return self._thread is not None

    def tick(self) -> None:
        """Whether the data was restored elsewhere and whether a backup is due, read off the UI thread (a till on
        the server asks the server)."""
        db, backing_up = self._state.db, self.automatic and not self.busy()
        self._state.operations.run(lambda: (backups.last_restore_at(db), backups.due(db) if backing_up else None),
                                   lambda answer: self._ticked(*answer), lambda _error: None, key="backup-tick", owner=self)

    def _ticked(self, latest_restore: datetime | None, reason: str | None) -> None:
        self._notice_restore(latest_restore)
        self.statusChanged.emit()  # "no backup for 3 days" can become true by the clock alone
        if reason is not None and self.automatic and not self.busy():
            self.back_up(reason)

    def acknowledge_restore(self) -> None:
        """A restore made in this window: nothing to tell."""
        db = self._state.db
        self._state.operations.run(lambda: backups.last_restore_at(db), self._acknowledged, lambda _error: None, owner=self)

    def _acknowledged(self, latest: datetime | None) -> None:
        self._seen_restore, self._seen_known = latest, True

    def _notice_restore(self, latest: datetime | None) -> None:
        if not self._seen_known:
            self._acknowledged(latest)  # the first look: what was restored before this window is not news
            return
        if latest is not None and (self._seen_restore is None or latest > self._seen_restore):
            self._seen_restore = latest
            self.restoredElsewhere.emit(latest)

    def back_up(self, reason: str) -> None:
        db = self._state.db

        def work() -> object:
            info = backups.take_backup(db, reason)
            if reason == "daily":
                _apply_retention(self._state)
            return info

        self._thread = TaskThread(work)
        self._thread.succeeded.connect(self._done)
        self._thread.failed.connect(self._failed)
        self._thread.start_kept()

    def _done(self, _info: object) -> None:
        self._thread = None
        self.last_error = None
        self.statusChanged.emit()

    def _failed(self, error: CrmdeskError) -> None:
        self._thread = None
        self.last_error = error
        self.statusChanged.emit()

    def at_close(self) -> None:
        """The last backup of the session, when anything changed since the newest copy."""
        self.stop()
        if self._thread is not None:
            self._thread.wait()
        if not self.automatic:
            return
        newest = next(iter(backups.list_backups(backups.backup_folder(self._state.db))), None)
        if newest is None or backups.changed_since(self._state.db, newest.created_at):
            # A large store takes some seconds: say why the program has not gone yet.
            note = QProgressDialog(self.tr("Backing up before closing…"), "", 0, 0)
            note.setCancelButton(None)
            note.setMinimumDuration(0)
            note.show()
            QCoreApplication.processEvents()
            try:
                backups.take_backup(self._state.db, "close")
            except Exception as exc:  # noqa: BLE001 - closing must not fail; the failure is kept in the error log
                log_unexpected(exc)
            finally:
                note.close()


def _apply_retention(state: AppState) -> int:
    """Anonymise the members closed longer than the owner's retention period (nothing when it is off)."""
    from crmdesk.services import privacy, safety_settings
    from crmdesk.services import staff as staff_service
    from crmdesk.services.uow import read_session, unit_of_work

    with read_session(state.db) as session:
        if safety_settings.get(session).retention_years <= 0:
            return 0
        owner = staff_service.actor_for(session, None)
    with unit_of_work(state.db) as session:
        erased = privacy.anonymise_due(session, owner, shop_time.today())
    if erased:
        privacy.settle_storage(state.db)  # no earlier copy of the erased pages stays in the write-ahead log
    return erased
