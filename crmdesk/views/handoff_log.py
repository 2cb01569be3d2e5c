"""The hand-off log: the latest files the till handed off through the hand-off folder, and the problems.

Read from the log services/handoff.py keeps in the data folder (a few hundred short lines, read at
once); the status bar's hand-off button (handoff_status.py) and Settings → This computer open it.
``entry_summary`` and ``reason_text`` say one entry in the interface's language for both.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, QUrl, SignalInstance
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from crmdesk import shop_time
from crmdesk.services import handoff
from crmdesk.services.handoff import Handoff, Outcome
from crmdesk.texts import QT_TRANSLATE_NOOP
from crmdesk.views.common import mark_data, mark_data_columns

SHOWN = 200  # entries the dialog lists, newest first
OUTCOME_LABELS = {
    Outcome.DONE: QT_TRANSLATE_NOOP("handoff", "Imported"),
    Outcome.REJECTED: QT_TRANSLATE_NOOP("handoff", "Rows rejected"),
    Outcome.UNREADABLE: QT_TRANSLATE_NOOP("handoff", "Not read"),
    Outcome.PROBLEM: QT_TRANSLATE_NOOP("handoff", "Problem"),
    Outcome.RESUMED: QT_TRANSLATE_NOOP("handoff", "Folder back"),
}
# Entries a person has to look at: nothing of the file was imported, or the hand-off is held up.
ATTENTION = frozenset({Outcome.UNREADABLE, Outcome.PROBLEM})
ATTENTION_COLOUR = "#b71c1c"  # as the backup warning on the status bar
COLUMNS = 7
COUNT_COLUMNS = (2, 3, 4)
DATA_COLUMNS = (0, 1, 2, 3, 4, 6)  # time, file, the counts, where it went or why: data, not interface text


def _tr(text: str) -> str:
    return QCoreApplication.translate("handoff", text)


def outcome_label(outcome: Outcome) -> str:
    return _tr(OUTCOME_LABELS[outcome])


def reason_text(entry: Handoff) -> str:
    """The entry's reason or problem in the interface's language (in English when no translation fits)."""
    if not entry.template:
        return ""
    try:
        return QCoreApplication.translate("errors", entry.template).format(**entry.params)
    except (KeyError, IndexError, ValueError):  # a message of another crmdesk version
        return entry.reason


def entry_summary(entry: Handoff) -> str:
    """One line for the status bar: the file and what became of it, or the problem."""
    if entry.outcome is Outcome.DONE:
        return QCoreApplication.translate("handoff", "{file} — {imported} imported, {unchanged} unchanged").format(
            file=entry.file, imported=entry.imported, unchanged=entry.unchanged)
    if entry.outcome is Outcome.REJECTED:
        return QCoreApplication.translate("handoff", "{file} — {imported} imported, {rejected} rejected").format(
            file=entry.file, imported=entry.imported, rejected=entry.rejected)
    if entry.outcome is Outcome.UNREADABLE:
        return QCoreApplication.translate("handoff", "{file} — not read: {reason}").format(
            file=entry.file, reason=reason_text(entry))
    if entry.outcome is Outcome.RESUMED:
        return QCoreApplication.translate("handoff", "the folder can be reached again")
    return reason_text(entry)


def _details(entry: Handoff) -> str:
    """Where the file went (and its rejects file), as seen from the hand-off folder, or why it was not imported."""
    moved_to, companion = handoff.shown_path(entry.moved_to, entry.folder), handoff.shown_path(entry.companion, entry.folder)
    if entry.outcome in (Outcome.DONE, Outcome.REJECTED):
        return "  +  ".join(path for path in (moved_to, companion) if path)
    if entry.outcome is Outcome.UNREADABLE:
        return f"{reason_text(entry)}  →  {moved_to}"
    return reason_text(entry)


class HandoffLogDialog(QDialog):
    """The latest hand-offs of one folder (all folders when none is named), newest first."""

    def __init__(self, folder: str = "", parent: QWidget | None = None, *, updates: SignalInstance | None = None) -> None:
        super().__init__(parent)
        self._folder = folder
        self.setWindowTitle(self.tr("Hand-off log"))
        layout = QVBoxLayout(self)
        heading = QHBoxLayout()
        heading.addWidget(QLabel(self.tr("Hand-off folder:")))
        self.folder_label = QLabel(folder or self.tr("none chosen on this computer"))
        self.folder_label.setWordWrap(True)
        if folder:
            mark_data(self.folder_label)
        heading.addWidget(self.folder_label, 1)
        layout.addLayout(heading)
        self.table = QTableWidget(0, COLUMNS)
        self.table.setHorizontalHeaderLabels([
            self.tr("Time"), self.tr("File"), self.tr("Imported"), self.tr("Unchanged"), self.tr("Rejected"),
            self.tr("Result"), self.tr("Where it went, or why"),
        ])
        mark_data_columns(self.table, *DATA_COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        self.empty_label = QLabel(self.tr("Nothing handed off yet."))
        self.empty_label.setObjectName("hintLabel")
        layout.addWidget(self.empty_label)
        buttons = QHBoxLayout()
        self.open_button = QPushButton(self.tr("&Open the folder"))
        self.open_button.setEnabled(bool(folder))
        self.open_button.clicked.connect(self.open_folder)
        refresh = QPushButton(self.tr("&Refresh"))
        refresh.clicked.connect(self.reload)
        close = QPushButton(self.tr("Close"))
        close.setDefault(True)
        close.clicked.connect(self.accept)
        buttons.addWidget(self.open_button)
        buttons.addWidget(refresh)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        if updates is not None:
            updates.connect(self._handed_off)  # a hand-off while the log is open shows at once
        self.resize(900, 460)
        self.reload()

    def _handed_off(self, _entry: object) -> None:
        self.reload()

    def reload(self) -> None:
        entries = handoff.recent_handoffs(SHOWN, folder=self._folder or None)
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            # Counts for a file that was imported (also one imported but not filed away, a problem).
            counted = entry.outcome in (Outcome.DONE, Outcome.REJECTED) or bool(entry.imported or entry.unchanged)
            counts = [str(n) if counted else "" for n in (entry.imported, entry.unchanged, entry.rejected)]
            values = (shop_time.format_time(entry.at), entry.file, *counts, outcome_label(entry.outcome), _details(entry))
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                if column in COUNT_COLUMNS:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column == COLUMNS - 1:
                    item.setToolTip(text)
                if entry.outcome in ATTENTION:
                    item.setForeground(QColor(ATTENTION_COLOUR))
                self.table.setItem(row, column, item)
        self.empty_label.setVisible(not entries)

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self._folder))
