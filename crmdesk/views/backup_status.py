"""The status bar's word on backups: when the last good one was taken, red when none for 3 days, when
the second place is gone or the last automatic backup failed. Clicking it opens Backup and restore."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtWidgets import QPushButton, QWidget

from crmdesk import shop_time
from crmdesk.services import backups
from crmdesk.views.common import error_text
from crmdesk.views.state import AppState

WARNING_STYLE = "QPushButton { color: #b71c1c; font-weight: bold; }"


class BackupStatusButton(QPushButton):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.setFlat(True)
        self.warning = False
        self.refresh()

    def refresh(self) -> None:
        db = self._state.db
        if not db.is_sqlite:
            self._show(self.tr("Backups: on the server"), self.tr("Back the server up with pg_dump, or run 'crmdesk backup'."), False)
            return
        # The copies on disk and the backup rules, read off the UI thread.
        self._state.operations.run(lambda: backups.status(db), self._show_status, lambda _error: None,
                                   key=f"backup-status-{id(self)}", owner=self)

    def _show_status(self, status: backups.BackupStatus) -> None:
        guard = self._state.backup_guard
        failure = guard.last_error if guard is not None else None
        last = status.last_good
        when = self._when(last.created_at) if last is not None else ""
        if failure is not None:
            self._show(self.tr("Backup failed"), error_text(failure), True)
        elif last is None:
            self._show(self.tr("No backup yet"), self.tr("Settings → Backup and restore → Back up now."), True)
        elif status.stale:
            days = (shop_time.now() - last.created_at).days
            self._show(self.tr("No backup for %n day(s)", "", days), self.tr("Last good backup: {when}").format(when=when), True)
        elif status.second_place_missing and status.second_place is not None:
            since = status.second_place.missing_since
            self._show(self.tr("Second place missing"),
                       self.tr("{folder} cannot be reached since {since}: plug in the stick or check the drive.").format(
                           folder=status.second_place.folder, since=shop_time.format_time(since) if since else "-"), True)
        else:
            self._show(self.tr("Backed up {when}").format(when=when), str(last.path), False)

    @staticmethod
    def _when(moment) -> str:  # type: ignore[no-untyped-def]
        local = shop_time.to_shop(moment)
        today = shop_time.today()
        if local.date() == today:
            return local.strftime("%H:%M")
        if local.date() == today - timedelta(days=1):
            return local.strftime("%m-%d %H:%M")
        return local.strftime("%Y-%m-%d")

    def _show(self, text: str, tip: str, warning: bool) -> None:
        self.warning = warning
        self.setText(text)
        self.setToolTip(tip)
        self.setStyleSheet(WARNING_STYLE if warning else "")
