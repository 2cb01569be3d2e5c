"""Importing members from a file: choose it, preview what happens row by row, import in the background.

The dialog only shows and delegates: checking and importing are
services.imports.plan_import / apply_import, run off the UI thread in a
QThread with their own session; results come back by signal. Cancelling the
import rolls its one transaction back, so the database stays as it was.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressDialog,
    QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from crmdesk.db import Database
from crmdesk.errors import CrmdeskError
from crmdesk.services import backups, imports
from crmdesk.services.auth import can
from crmdesk.services.import_engine import Action, ImportCancelled, ImportSteps
from crmdesk.services.members import display_phone
from crmdesk.services.uow import Actor, read_session, unit_of_work
from crmdesk.views.common import error_text, mark_data
from crmdesk.views.state import AppState

PREVIEW_ROWS = 200
ACTION_COLOURS = {
    Action.INVALID: "#fbe3e4",
    Action.UPDATE: "#fff4d6",
    Action.NEW: "#e6f4ea",
}


def translate_error(template: str) -> str:
    return QCoreApplication.translate("errors", template)


class _Worker(QObject):
    """Checks a file (no plan given) or imports a plan, in a thread of its own."""

    progressed = Signal(int, int)
    planned = Signal(object)  # the plan
    imported = Signal(object)  # (result, rejects path or None)
    failed = Signal(object)  # the exception
    cancelled = Signal()
    done = Signal()

    def __init__(self, steps: ImportSteps, db: Database, actor: Actor, path: Path, plan: object | None, skip_invalid: bool,
                 cancel: threading.Event) -> None:
        super().__init__()
        self._steps = steps
        self._db = db
        self._actor = actor
        self._path = path
        self._plan = plan
        self._skip_invalid = skip_invalid
        self._cancel = cancel

    @Slot()
    def run(self) -> None:
        steps = self._steps
        try:
            if self._plan is None:
                with read_session(self._db) as session:  # checking reads only: the tills are never held up by it
                    plan = steps.plan(session, self._path, progress=self.progressed.emit, should_cancel=self._cancel.is_set)
                self.planned.emit(plan)
            else:
                backups.before_import(self._db, self._path)
                with unit_of_work(self._db, bulk=True) as session:
                    result = steps.apply(session, self._actor, self._plan, skip_invalid=self._skip_invalid,
                                         progress=self.progressed.emit, should_cancel=self._cancel.is_set)
                    # The rejected rows go beside the file for the person to correct; written before
                    # the commit, so when that fails nothing is imported either.
                    rejects = (steps.write_rejects(result.plan, self._path, translate=translate_error)
                               if steps.has_invalid(result.plan) else None)
                self.imported.emit((result, rejects))
        except ImportCancelled:
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - shown to the person, never lost in a thread
            self.failed.emit(exc)
        finally:
            self.done.emit()


@dataclass(frozen=True)
class PreviewRow:
    """One line of the preview table: its action (for the colour), the cells, and the details in the last column."""

    action: Action
    values: list[str]
    details: list[str]


class ImportMembersDialog(QDialog):
    """Choose a members file, check it, see the preview, import it with progress and cancel. The purchases dialog
    is this one with the purchase import's steps, columns and texts."""

    importFinished = Signal(object)  # the import's result, so views showing members can reload
    steps: ImportSteps = imports.STEPS

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.path: Path | None = None
        self.plan: imports.ImportPlan | None = None
        self.result: imports.ImportResult | None = None
        self.rejects_path: Path | None = None
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._cancel = threading.Event()
        self._progress: QProgressDialog | None = None
        self.setWindowTitle(self.tr("Import members"))
        self.resize(980, 640)

        layout = QVBoxLayout(self)
        intro = QLabel(self.tr(
            "A CSV (UTF-8 or GBK) or Excel file from the old system, one member per row. Headers in Chinese or "
            "English: 卡号, 会员编号, 姓名, 手机, 性别, 生日, 入会日期, 积分, 标签, 备注. Members already in crmdesk are "
            "found by card number, member number or phone."
        ))
        intro.setWordWrap(True)
        intro.setObjectName("hintLabel")
        layout.addWidget(intro)

        file_row = QHBoxLayout()
        self.file_edit = QLineEdit()
        self.file_edit.setReadOnly(True)
        self.file_edit.setPlaceholderText(self.tr("No file chosen"))
        file_row.addWidget(self.file_edit, 1)
        self.choose_button = QPushButton(self.tr("&Choose file…"))
        self.choose_button.clicked.connect(self.choose_file)
        file_row.addWidget(self.choose_button)
        self.check_button = QPushButton(self.tr("Chec&k"))
        self.check_button.clicked.connect(self.check)
        file_row.addWidget(self.check_button)
        layout.addLayout(file_row)

        self.counts_label = QLabel()
        self.counts_label.setObjectName("countsLabel")
        layout.addWidget(self.counts_label)
        self.file_warnings = QLabel()
        self.file_warnings.setWordWrap(True)
        self.file_warnings.setObjectName("hintLabel")
        self.file_warnings.hide()
        layout.addWidget(self.file_warnings)

        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels([
            self.tr("Row"), self.tr("Action"), self.tr("Name"), self.tr("Card number"), self.tr("Phone"), self.tr("Details"),
        ])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        self.table.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.shown_label = QLabel()
        self.shown_label.setObjectName("hintLabel")
        layout.addWidget(self.shown_label)

        self.message = QLabel()
        self.message.setObjectName("errorLabel")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        layout.addWidget(self.message)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.hide()
        layout.addWidget(self.summary)

        self.permission_hint = QLabel(self.tr("You can check a file; importing it takes a supervisor or the owner."))
        self.permission_hint.setObjectName("hintLabel")
        self.permission_hint.setVisible(not self._allowed())
        layout.addWidget(self.permission_hint)
        bottom = QHBoxLayout()
        self.skip_box = QCheckBox(self.tr("&Skip invalid rows (they are written to a file beside the original)"))
        self.skip_box.toggled.connect(self._update_buttons)
        bottom.addWidget(self.skip_box, 1)
        self.import_button = QPushButton(self.tr("&Import"))
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.start_import)
        bottom.addWidget(self.import_button)
        self.close_button = QPushButton(self.tr("Close"))
        self.close_button.clicked.connect(self.reject)
        bottom.addWidget(self.close_button)
        layout.addLayout(bottom)
        self._update_buttons()

    # ------------------------------------------------------------------ state

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def _update_buttons(self) -> None:
        self.choose_button.setEnabled(not self.busy)
        self.check_button.setEnabled(not self.busy and self.path is not None)
        self.import_button.setEnabled(not self.busy and self._can_import())

    def _allowed(self) -> bool:
        return can(self._state.actor, self.steps.permission)

    def _can_import(self) -> bool:
        if self.plan is None or not self._allowed():
            return False
        return self._writes(self.plan) > 0 and (self.plan.counts.invalid == 0 or self.skip_box.isChecked())

    def _writes(self, plan: imports.ImportPlan) -> int:
        """How many rows importing the plan would write."""
        return plan.counts.new + plan.counts.update

    # ------------------------------------------------------------------ actions

    def choose_file(self) -> None:
        title, filters = self._file_prompt()
        name, _filter = QFileDialog.getOpenFileName(self, title, str(self.path.parent) if self.path else "", filters)
        if name:
            self.load_file(Path(name))

    def _file_prompt(self) -> tuple[str, str]:
        return self.tr("Choose a members file"), self.tr("Members files (*.csv *.txt *.xlsx);;All files (*)")

    def load_file(self, path: Path) -> None:
        """Show this file and check it in the background."""
        self.path = Path(path)
        self.file_edit.setText(str(self.path))
        mark_data(self.file_edit)
        self.check()

    def check(self) -> None:
        if self.path is None or self.busy:
            return
        self.plan = None
        self.result = None
        self._clear_messages()
        self._show_plan(None)
        self._run(_Worker(self.steps, self._state.db, self._state.actor, self.path, None, False, self._new_cancel()),
                  self.tr("Checking the file…"))

    def start_import(self) -> None:
        if self.busy or self.path is None or self.plan is None or not self._can_import():
            return
        self._clear_messages()
        worker = _Worker(self.steps, self._state.db, self._state.actor, self.path, self.plan, self.skip_box.isChecked(),
                         self._new_cancel())
        self._run(worker, self._importing_text())

    def _importing_text(self) -> str:
        return self.tr("Importing members…")

    def cancel(self) -> None:
        """Stop the check or import under way; an import then leaves the database as it was."""
        self._cancel.set()

    # ------------------------------------------------------------------ background work

    def _new_cancel(self) -> threading.Event:
        self._cancel = threading.Event()
        return self._cancel

    def _run(self, worker: _Worker, label: str) -> None:
        thread = QThread(self)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self._on_progress)
        worker.planned.connect(self._on_planned)
        worker.imported.connect(self._on_imported)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.done.connect(thread.quit)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        progress = QProgressDialog(label, self.tr("Cancel"), 0, 0, self)
        progress.setWindowTitle(self.windowTitle())
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)
        progress.setAutoReset(False)
        progress.setAutoClose(False)
        progress.canceled.connect(self.cancel)
        self._progress = progress
        self._update_buttons()
        thread.start()

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.setMaximum(max(total, 1))
            self._progress.setValue(min(done, max(total, 1)))

    def _on_thread_finished(self) -> None:
        if self._progress is not None:
            self._progress.canceled.disconnect(self.cancel)
            self._progress.hide()
            self._progress.deleteLater()
            self._progress = None
        if self._thread is not None:
            self._thread.deleteLater()
        # The worker lives in the finished thread; dropping the last reference deletes it.
        self._thread = self._worker = None
        self._update_buttons()

    @Slot(object)
    def _on_planned(self, plan: imports.ImportPlan) -> None:
        self.plan = plan
        self._show_plan(plan)

    @Slot(object)
    def _on_imported(self, outcome: tuple[imports.ImportResult, Path | None]) -> None:
        result, rejects = outcome
        self.result = result
        self.rejects_path = rejects
        self.plan = None  # written: a new check would show these rows unchanged
        self._show_plan(result.plan, keep_counts=True)
        self.summary.setText("\n".join(self._summary_lines(result, rejects)))
        self.summary.show()
        self.importFinished.emit(result)

    def _summary_lines(self, result: imports.ImportResult, rejects: Path | None) -> list[str]:
        lines = [self.tr("Imported: {new} new, {updated} updated, {unchanged} unchanged.").format(
            new=result.new, updated=result.updated, unchanged=result.unchanged)]
        if rejects is not None:
            lines.append(self.tr("{count} invalid rows were skipped; they are in {path} with their reasons.").format(
                count=result.skipped, path=rejects))
        return lines

    @Slot(object)
    def _on_failed(self, error: Exception) -> None:
        if isinstance(error, CrmdeskError):
            text = error_text(error)
        else:
            text = self.tr("Something went wrong; nothing was changed: {detail}").format(detail=error)
        self.message.setText(text)
        self.message.show()

    @Slot()
    def _on_cancelled(self) -> None:
        self.message.setText(self.tr("Cancelled; the database is as it was."))
        self.message.show()

    def wait(self, msecs: int = 30_000) -> None:
        """Block until the work under way has finished (closing the dialog, tests)."""
        if self._thread is not None:
            self._thread.wait(msecs)

    def reject(self) -> None:
        if self.busy:
            self.cancel()
            self.wait()
        super().reject()

    # ------------------------------------------------------------------ showing the plan

    def _clear_messages(self) -> None:
        self.message.hide()
        self.summary.hide()

    def _action_label(self, action: Action) -> str:
        return {
            Action.NEW: self.tr("New"),
            Action.UPDATE: self.tr("Update"),
            Action.UNCHANGED: self.tr("Unchanged"),
            Action.INVALID: self.tr("Invalid"),
        }[action]

    def _show_plan(self, plan: Any, *, keep_counts: bool = False) -> None:
        self.table.setRowCount(0)
        self.file_warnings.hide()
        self.shown_label.clear()
        if plan is None:
            self.counts_label.clear()
            self._update_buttons()
            return
        counts = plan.counts
        self.counts_label.setText(self._counts_text(plan))
        if plan.warnings:
            self.file_warnings.setText("\n".join(w.describe(translate_error) for w in plan.warnings))
            self.file_warnings.show()
        preview = self._preview(plan)
        self.table.setRowCount(len(preview))
        last = self.table.columnCount() - 1  # the details
        for index, row in enumerate(preview):
            colour = ACTION_COLOURS.get(row.action)
            for column, text in enumerate([*row.values, "\n".join(row.details)]):
                item = QTableWidgetItem(text)
                if colour:
                    item.setBackground(QBrush(QColor(colour)))
                    item.setForeground(QBrush(QColor("#202124")))
                if column == last and row.details:
                    item.setToolTip("\n".join(row.details))
                self.table.setItem(index, column, item)
        for column in range(last):
            self.table.resizeColumnToContents(column)
        self.table.resizeRowsToContents()
        if counts.total > len(preview):
            self.shown_label.setText(self._shown_text(len(preview), counts.total))
        if not keep_counts and counts.invalid and not self.skip_box.isChecked():
            self.message.setText(self.tr("Correct the invalid rows in the file and check again, or skip them."))
            self.message.show()
        elif not keep_counts and self._writes(plan) == 0:
            self.message.setText(self._nothing_text())
            self.message.show()
        self._update_buttons()

    # What the members import shows; the purchases dialog says the same of receipts.

    def _counts_text(self, plan: imports.ImportPlan) -> str:
        counts = plan.counts
        return self.tr("{total} rows: {new} new, {update} to update, {unchanged} unchanged, {invalid} invalid").format(
            total=counts.total, new=counts.new, update=counts.update, unchanged=counts.unchanged, invalid=counts.invalid)

    def _preview(self, plan: imports.ImportPlan) -> list[PreviewRow]:
        """Invalid rows first, so the ones to correct are always in view; then the file's order."""
        preview = []
        for row in sorted(plan.rows, key=lambda r: (r.action is not Action.INVALID, r.row))[:PREVIEW_ROWS]:
            details = [p.describe(translate_error) for p in row.errors]
            details += [f"{c.column}: {c.old or '—'} → {c.new}" for c in row.changes]
            details += [p.reason(translate_error) for p in row.warnings]
            preview.append(PreviewRow(row.action, [str(row.row), self._action_label(row.action), row.name, row.card_no or "",
                                                   display_phone(row.phone)], details))
        return preview

    def _shown_text(self, shown: int, total: int) -> str:
        return self.tr("Showing {shown} of {total} rows, invalid rows first.").format(shown=shown, total=total)

    def _nothing_text(self) -> str:
        return self.tr("Nothing to import: every member in the file is already in crmdesk as it is.")
