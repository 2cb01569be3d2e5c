"""Settings → Backup and restore (the owner's): the copies with their time, size and members, backing up
now, restoring a copy, how copies are kept and the second place they go to, how long closed members'
data is kept, and the data check with its repair."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox,
    QProgressDialog, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from crmdesk import shop_time
from crmdesk.errors import CrmdeskError
from crmdesk.services import backups, data_check, privacy, safety_settings
from crmdesk.services.backups import BackupInfo
from crmdesk.services.safety_settings import SafetyRules
from crmdesk.services.uow import read_session
from crmdesk.views.background import TaskThread
from crmdesk.views.common import error_text, mark_data, mark_data_columns, show_error
from crmdesk.views.state import AppState


def size_text(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB" if size >= 1_048_576 else f"{max(1, round(size / 1024))} KB"


def reason_text(reason: str) -> str:
    source = backups.REASONS.get(reason)
    return QCoreApplication.translate("terms", source) if source else reason


def finding_text(finding: data_check.Finding) -> str:
    """One finding of the data check as a person reads it, in the interface's language."""
    what = QCoreApplication.translate("check", data_check.FINDINGS[finding.kind])
    parts = [finding.member_no or "", what]
    if finding.expected is not None:
        parts.append(QCoreApplication.translate("check", "stored {cached}, its source gives {expected}").format(
            cached=finding.shown(finding.cached), expected=finding.shown(finding.expected)))
    if finding.detail:
        parts.append(finding.detail)
    return " · ".join(part for part in parts if part)


class BackupTab(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._thread: TaskThread | None = None
        self._progress: QProgressDialog | None = None
        self._copies: list[BackupInfo] = []
        self._due: list[privacy.DueMember] = []
        layout = QVBoxLayout(self)

        top = QHBoxLayout()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        mark_data(self.status_label)
        top.addWidget(self.status_label, 1)
        self.backup_button = QPushButton(self.tr("&Back up now"))
        self.backup_button.clicked.connect(self.back_up_now)
        self.restore_button = QPushButton(self.tr("&Restore this copy…"))
        self.restore_button.clicked.connect(self.restore_selected)
        self.restore_file_button = QPushButton(self.tr("Restore from a &file…"))
        self.restore_file_button.clicked.connect(self.restore_from_file)
        for button in (self.backup_button, self.restore_button, self.restore_file_button):
            top.addWidget(button)
        layout.addLayout(top)

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels([self.tr("Taken"), self.tr("Why"), self.tr("Size"), self.tr("Members")])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (0, 2, 3):
            self.table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        mark_data_columns(self.table, 0, 2, 3)
        layout.addWidget(self.table, 1)

        lower = QHBoxLayout()
        lower.addWidget(self._build_keeping(), 3)
        lower.addWidget(self._build_check(), 2)
        layout.addLayout(lower)
        self.load()

    def _build_keeping(self) -> QGroupBox:
        box = QGroupBox(self.tr("Keeping copies"))
        form = QFormLayout(box)
        self.daily_spin, self.weekly_spin, self.monthly_spin = (self._spin(0, safety_settings.MAX_KEEP) for _ in range(3))
        keep_row = QHBoxLayout()
        for label, spin in ((self.tr("daily"), self.daily_spin), (self.tr("weekly"), self.weekly_spin),
                            (self.tr("monthly"), self.monthly_spin)):
            keep_row.addWidget(spin)
            keep_row.addWidget(QLabel(label))
        keep_row.addStretch(1)
        form.addRow(self.tr("After today and yesterday, keep:"), keep_row)
        place_row = QHBoxLayout()
        self.second_place_edit = QLineEdit()
        self.second_place_edit.setPlaceholderText(self.tr("a folder on a USB stick or network drive"))
        browse = QPushButton(self.tr("Br&owse…"))
        browse.clicked.connect(self._choose_second_place)
        place_row.addWidget(self.second_place_edit, 1)
        place_row.addWidget(browse)
        place_label = QLabel(self.tr("&Second place:"))
        place_label.setBuddy(self.second_place_edit)
        form.addRow(place_label, place_row)
        self.retention_spin = self._spin(0, safety_settings.MAX_RETENTION_YEARS)
        self.retention_spin.setSpecialValueText(self.tr("keep always"))
        self.retention_spin.setSuffix(self.tr(" years"))
        form.addRow(self.tr("Anonymise members closed for more than:"), self.retention_spin)
        due_row = QHBoxLayout()
        self.due_label = QLabel()
        self.due_button = QPushButton(self.tr("&List…"))
        self.due_button.clicked.connect(self.list_due)
        due_row.addWidget(self.due_label, 1)
        due_row.addWidget(self.due_button)
        form.addRow("", due_row)
        self.keeping_message = QLabel()
        self.keeping_message.setWordWrap(True)
        self.keeping_message.hide()
        save = QPushButton(self.tr("Sa&ve"))
        save.clicked.connect(self.save_settings)
        form.addRow(self.keeping_message, save)
        return box

    def _build_check(self) -> QGroupBox:
        box = QGroupBox(self.tr("Is the data sound?"))
        column = QVBoxLayout(box)
        self.check_label = QLabel(self.tr("Checks the file, every balance against its ledger, and states that cannot be."))
        self.check_label.setWordWrap(True)
        column.addWidget(self.check_label)
        row = QHBoxLayout()
        self.check_button = QPushButton(self.tr("&Check now"))
        self.check_button.clicked.connect(self.check_now)
        self.repair_button = QPushButton(self.tr("Re&pair figures"))
        self.repair_button.setToolTip(self.tr("Recomputes the figures that come from a ledger; a backup is taken first."))
        self.repair_button.clicked.connect(self.repair)
        self.repair_button.setEnabled(False)
        row.addWidget(self.check_button)
        row.addWidget(self.repair_button)
        row.addStretch(1)
        column.addLayout(row)
        column.addStretch(1)
        return box

    @staticmethod
    def _spin(low: int, high: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        return spin

    # --- showing ---------------------------------------------------------------------------------

    def load(self) -> None:
        """The backup and retention rules, who is due for anonymising (read off the UI thread) and the copies."""
        db, today = self._state.db, shop_time.today()

        def read() -> tuple[safety_settings.SafetyRules, list[privacy.DueMember], backups.BackupStatus | None]:
            with read_session(db) as session:
                rules, due = safety_settings.get(session), privacy.members_due_for_anonymising(session, today)
            return rules, due, backups.status(db) if db.is_sqlite else None

        self._state.operations.run(read, lambda answer: self._show(*answer), lambda error: show_error(self, error), key=f"backups-{id(self)}",
                                   owner=self)

    def _show(self, rules: safety_settings.SafetyRules, due: list[privacy.DueMember], status: backups.BackupStatus | None) -> None:
        db = self._state.db
        self.daily_spin.setValue(rules.keep_daily)
        self.weekly_spin.setValue(rules.keep_weekly)
        self.monthly_spin.setValue(rules.keep_monthly)
        self.second_place_edit.setText(rules.second_place)
        self.retention_spin.setValue(rules.retention_years)
        self._due = due
        blocked = sum(1 for member in self._due if member.blocked)
        self.due_label.setText(
            self.tr("Nobody is due for anonymising.") if not self._due else
            self.tr("{count} closed members are due for anonymising with the next daily backup ({blocked} hold money "
                    "and wait).").format(count=len(self._due), blocked=blocked))
        self.due_label.setWordWrap(True)
        self.due_button.setVisible(bool(self._due))
        self._copies = backups.list_backups(backups.backup_folder(db))
        self.table.setRowCount(len(self._copies))
        for row, info in enumerate(self._copies):
            cells = (shop_time.format_time(info.created_at), reason_text(info.reason), size_text(info.size),
                     "" if info.members is None else str(info.members))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        if self._copies:
            self.table.selectRow(0)
        self._show_status(status)
        self._update_buttons()

    def _show_status(self, status: backups.BackupStatus | None) -> None:
        folder = backups.backup_folder(self._state.db)
        if status is None:
            self.status_label.setText(self.tr("The database is on a server: back it up there, or with 'crmdesk backup' "
                                              "(pg_dump) into {folder}.").format(folder=folder))
            return
        lines = [self.tr("Copies are kept in {folder}.").format(folder=folder)]
        if status.last_good is not None:
            lines.append(self.tr("Last good backup: {when}.").format(when=shop_time.format_time(status.last_good.created_at)))
        else:
            lines.append(self.tr("No backup yet."))
        place = status.second_place
        if place is not None and status.second_place_missing:
            since = shop_time.format_time(place.missing_since) if place.missing_since else ""
            lines.append(self.tr("The second place {folder} cannot be reached (since {since}): plug in the stick "
                                 "or check the drive.").format(folder=place.folder, since=since or "-"))
        elif place is not None and place.last_ok_at is not None:
            lines.append(self.tr("Last copy to the second place: {when}.").format(when=shop_time.format_time(place.last_ok_at)))
        self.status_label.setText("\n".join(lines))
        self.status_label.setStyleSheet("color: #b71c1c;" if status.warning else "")

    def _update_buttons(self) -> None:
        idle = self._thread is None
        self.backup_button.setEnabled(idle)
        self.restore_button.setEnabled(idle and self._state.db.is_sqlite and self.selected() is not None)
        self.restore_file_button.setEnabled(idle and self._state.db.is_sqlite)
        self.check_button.setEnabled(idle)

    def selected(self) -> BackupInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return self._copies[rows[0].row()] if rows else None

    # --- acting ----------------------------------------------------------------------------------

    def _run(self, work, done, label: str) -> None:  # type: ignore[no-untyped-def]
        self._progress = QProgressDialog(label, "", 0, 0, self)
        self._progress.setCancelButton(None)
        self._progress.setWindowModality(Qt.WindowModality.WindowModal)
        self._progress.setMinimumDuration(300)
        self._thread = TaskThread(work)
        self._thread.succeeded.connect(lambda result: self._finish(done, result))
        self._thread.failed.connect(self._fail)
        self._update_buttons()
        self._thread.start_kept()

    def _finish(self, done, result: object) -> None:  # type: ignore[no-untyped-def]
        self._end()
        done(result)

    def _fail(self, error: CrmdeskError) -> None:
        self._end()
        self.load()
        show_error(self, error)

    def _end(self) -> None:
        self._thread = None
        if self._progress is not None:
            self._progress.close()
            self._progress = None
        self._update_buttons()

    def back_up_now(self) -> None:
        db, actor = self._state.db, self._state.actor
        self._run(lambda: backups.take_backup(db, "manual", actor=actor), self._backed_up, self.tr("Backing up…"))

    def _backed_up(self, info: BackupInfo) -> None:
        self.load()
        self.status_label.setText(self.tr("Backed up {members} members to {file} ({size}), checked.").format(
            members=info.members or 0, file=info.path.name, size=size_text(info.size)) + "\n" + self.status_label.text())
        self._state.signals.backedUp.emit()

    def restore_selected(self) -> None:
        info = self.selected()
        if info is not None:
            self._confirm_and_restore(info.path, shop_time.format_time(info.created_at), info.members)

    def restore_from_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, self.tr("Restore from a file"), str(backups.backup_folder(self._state.db)),
                                              self.tr("crmdesk backups (*.sqlite.gz *.sqlite)"))
        if name:
            self._confirm_and_restore(Path(name), Path(name).name, None)

    def _confirm_and_restore(self, path: Path, when: str, members: int | None) -> None:
        count = self.tr("{count} members").format(count=members) if members is not None else self.tr("its members")
        answer = QMessageBox.question(
            self, self.tr("Restore a backup"),
            self.tr("Replace all the data with the copy of {when} ({count})?\n\nWhat is there now is backed up first. "
                    "Other tills and windows reopen on the restored data.").format(when=when, count=count),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        db, actor = self._state.db, self._state.actor

        def work() -> object:
            result = backups.restore(db, path, actor)
            return result, data_check.run(db)

        self._run(work, self._restored, self.tr("Restoring…"))

    def _restored(self, outcome: tuple[backups.RestoreResult, data_check.Report]) -> None:
        result, report = outcome
        verdict = (self.tr("The data check finds it sound.") if report.sound
                   else self.tr("The data check found {count} problems: see 'Check now'.").format(count=len(report.findings)))
        QMessageBox.information(self, self.tr("Restored"), self.tr(
            "Restored {members} members from {file}. The data as it was is kept as {safety}.\n{verdict}").format(
            members=result.members, file=result.restored_from.name, safety=result.safety_copy.name, verdict=verdict))
        self._state.signals.restored.emit()

    def list_due(self) -> None:
        """Who the retention rule will anonymise, before it runs."""
        waits = self.tr("holds money: waits")
        lines = [f"{member.member_no}  {member.name}  {shop_time.format_date(member.closed_at)}"
                 + (f"  ({waits})" if member.blocked else "") for member in self._due]
        box = QMessageBox(QMessageBox.Icon.Information, self.tr("Due for anonymising"),
                          self.tr("{count} closed members, longest closed first. Their names, phones and notes are "
                                  "removed; purchases and balances stay.").format(count=len(self._due)),
                          QMessageBox.StandardButton.Close, self)
        box.setDetailedText("\n".join(lines))
        box.exec()

    def save_settings(self) -> None:
        rules = SafetyRules(self.daily_spin.value(), self.weekly_spin.value(), self.monthly_spin.value(),
                            self.second_place_edit.text(), self.retention_spin.value())
        actor = self._state.actor

        def saved(_none: None) -> None:
            self.keeping_message.setText(self.tr("Saved."))
            self.keeping_message.setStyleSheet("")
            self.keeping_message.show()
            self.load()

        def refused(exc: CrmdeskError) -> None:
            self.keeping_message.setText(error_text(exc))
            self.keeping_message.setStyleSheet("color: #b71c1c;")
            self.keeping_message.show()

        # Saved on the operations thread, like every change the screens make.
        self._state.operations.write(self._state.db, lambda session: safety_settings.save(session, actor, rules), saved, refused,
                                     owner=self)

    def _choose_second_place(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Second place for backups"), self.second_place_edit.text())
        if folder:
            self.second_place_edit.setText(folder)

    def check_now(self) -> None:
        db = self._state.db
        self._run(lambda: data_check.run(db), self._checked, self.tr("Checking the data…"))

    def _checked(self, report: data_check.Report) -> None:
        self._show_report(report)

    def _show_report(self, report: data_check.Report, repaired: dict[str, int] | None = None) -> None:
        lines = []
        if repaired:
            lines.append(self.tr("Repaired {count} figures from their sources.").format(count=sum(repaired.values())))
        if report.sound:
            lines.append(self.tr("Checked {count} members: the data is sound.").format(count=report.checked_members))
        else:
            lines.append(self.tr("{count} problems found:").format(count=len(report.findings)))
            lines += [finding_text(finding) for finding in report.findings[:12]]
            if len(report.findings) > 12:
                lines.append(self.tr("… and {count} more ('crmdesk check' lists them all).").format(count=len(report.findings) - 12))
        self.check_label.setText("\n".join(lines))
        self.check_label.setStyleSheet("" if report.sound else "color: #b71c1c;")
        self.repair_button.setEnabled(bool(report.repairable))

    def repair(self) -> None:
        db, actor = self._state.db, self._state.actor
        self._run(lambda: data_check.repair(db, actor), self._repaired, self.tr("Repairing…"))

    def _repaired(self, result: data_check.RepairResult) -> None:
        self.load()
        self._show_report(result.after, result.repaired)
