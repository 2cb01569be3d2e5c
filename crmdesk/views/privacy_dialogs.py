"""Privacy requests from the member profile: the member's copy of their data, and erasing their personal data.

The rules live in services/privacy.py; these widgets only ask, show and hand over. The copy is written
in the background (a long history makes a long PDF); erasing one member is quick and runs at once.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from crmdesk import shop_time
from crmdesk.errors import CrmdeskError
from crmdesk.services import privacy
from crmdesk.services.members import MemberProfile, display_phone
from crmdesk.services.uow import unit_of_work
from crmdesk.views.background import BackgroundThread
from crmdesk.views.common import error_text, format_fen, mark_data
from crmdesk.views.state import AppState


def consent_text(label: str, at: datetime | None, by: str) -> str:
    """短信 · 2026-12-05 14:02 · 收银员小王: what was agreed, when, and who recorded it."""
    return " · ".join(part for part in (label, shop_time.format_time(at), by) if part)


def _failure_text(exc: Exception) -> str:
    """What a person is told about a failure outside crmdesk's rules (the disk, the folder)."""
    try:
        from crmdesk.failures import explain
    except ImportError:  # pragma: no cover - older checkouts
        return str(exc)
    return error_text(explain(exc))


class ExportDataThread(BackgroundThread):
    """Writes the member's copy (JSON and PDF) off the UI thread; the two paths, or what went wrong, come back by signal."""

    succeeded = Signal(str, str)
    failed = Signal(str)

    def __init__(self, state: AppState, member_id: int, folder: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.member_id = member_id
        self.folder = folder

    def run(self) -> None:
        try:
            exported = privacy.export_member_data(self._state.db, self._state.actor, self.member_id, self.folder,
                                                  should_cancel=self.should_cancel)
        except CrmdeskError as exc:
            self.failed.emit(error_text(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a full disk or a read-only folder must reach the person, not kill the thread
            self.failed.emit(_failure_text(exc))
            return
        self.succeeded.emit(str(exported.json_path), str(exported.pdf_path))


class EraseMemberDialog(QDialog):
    """Names the member, says what goes and what stays, and erases once the member's name is typed.

    A refusal (money still held, a wrong name, no permission) is shown in the dialog, which stays open;
    after an erasure ``erased`` holds what was done."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.profile = profile
        self.erased: privacy.ErasedMember | None = None
        self.setWindowTitle(self.tr("Erase personal data"))
        self.setMinimumWidth(520)

        layout = QVBoxLayout(self)
        who = QLabel(" · ".join(part for part in (profile.name, profile.member_no, display_phone(profile.phone)) if part))
        who.setObjectName("pageHeading")
        who.setWordWrap(True)
        mark_data(who)
        layout.addWidget(who)
        intro = QLabel(self.tr("The member asked for their personal data to be erased. This cannot be undone; "
                               "give the member their copy of the data first if they want one."))
        intro.setWordWrap(True)
        layout.addWidget(intro)

        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        removed = QGroupBox(self.tr("Removed"))
        removed_layout = QVBoxLayout(removed)
        self.removed_label = QLabel("\n".join("• " + line for line in (
            self.tr("Name, phone, gender, birthday, address, e-mail, company, notes and tags"),
            self.tr("Marketing consent, consent to keeping data, the payment PIN"),
            self.tr("What was written in their complaints and survey answers, and the photos attached"),
            self.tr("The old values of these fields in the change history; the name and phone in the audit log"),
        )))
        self.removed_label.setWordWrap(True)
        removed_layout.addWidget(self.removed_label)
        kept = QGroupBox(self.tr("Kept, so the shop's figures stay right"))
        kept_layout = QVBoxLayout(kept)
        self.kept_label = QLabel("\n".join("• " + line for line in (
            self.tr("The member number, join date and tier; the cards, stopped"),
            self.tr("Purchases and receipts; the points, stored-value and credit ledgers"),
            self.tr("Complaints' categories, dates and outcomes; survey scores; coupons and offers used"),
        )))
        self.kept_label.setWordWrap(True)
        kept_layout.addWidget(self.kept_label)
        body_layout.addWidget(removed)
        body_layout.addWidget(kept)
        after = QLabel(self.tr("The membership is closed and listed as “{label}” from now on.").format(
            label=privacy.erased_name(profile.member_no)))
        after.setWordWrap(True)
        body_layout.addWidget(after)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        scroll.setMinimumHeight(300)  # all of it in view on a counter screen, where the dialog still fits
        layout.addWidget(scroll, 1)

        self.money_note = QLabel()
        self.money_note.setObjectName("errorLabel")
        self.money_note.setWordWrap(True)
        wallet, owed = profile.wallet_fen, profile.credit_owed_fen
        if wallet > 0 and owed > 0:
            self.money_note.setText(self.tr("The member still has {wallet} of stored value and owes {owed}: cash out the stored "
                                            "value and settle or write off the debt first.").format(
                wallet=format_fen(wallet), owed=format_fen(owed)))
        elif wallet > 0:
            self.money_note.setText(self.tr("The member still has {amount} of stored value: cash out the stored value first.").format(
                amount=format_fen(wallet)))
        elif owed > 0:
            self.money_note.setText(self.tr("The member still owes {amount}: settle or write off the debt first.").format(
                amount=format_fen(owed)))
        self.money_note.setVisible(bool(self.money_note.text()))
        layout.addWidget(self.money_note)

        confirm_row = QHBoxLayout()
        prompt = QLabel(self.tr("Type the member's name to confirm:"))
        self.confirm_edit = QLineEdit()
        self.confirm_edit.setPlaceholderText(profile.name)
        prompt.setBuddy(self.confirm_edit)
        confirm_row.addWidget(prompt)
        confirm_row.addWidget(self.confirm_edit, 1)
        layout.addLayout(confirm_row)

        self.message = QLabel()
        self.message.setObjectName("errorLabel")
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)

        buttons = QDialogButtonBox()
        self.erase_button = QPushButton(self.tr("&Erase personal data"))
        self.erase_button.setEnabled(False)
        self.erase_button.setAutoDefault(False)
        buttons.addButton(self.erase_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setDefault(True)
        self.erase_button.clicked.connect(self.erase)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.confirm_edit.textChanged.connect(self._typed)
        self.confirm_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _typed(self, text: str) -> None:
        """The button wakes up when the name (or the member number) is typed; the service checks it again."""
        wanted = {" ".join(self.profile.name.split()).casefold(), self.profile.member_no.casefold()}
        self.erase_button.setEnabled(" ".join(text.split()).casefold() in wanted)
        self.message.hide()

    refused = False  # the erasure was refused: the reason is on show and nothing changed

    def erase(self) -> None:
        """Erase as the signed-in staff member, on the operations thread; a refusal is shown here and nothing changes."""
        db, actor, member_id, typed = self._state.db, self._state.actor, self.profile.id, self.confirm_edit.text()
        self.refused = False

        def work() -> object:
            with unit_of_work(db) as session:
                erased = privacy.erase_member(session, actor, member_id, confirm_name=typed)
            privacy.settle_storage(db)  # the erased values leave the file's free pages too
            return erased

        def done(erased: object) -> None:
            self.erased = erased
            self.accept()

        def failed(exc: CrmdeskError) -> None:
            self.refused = True
            self.money_note.hide()  # the refusal says it all
            self.message.setText(error_text(exc))
            self.message.show()

        self._state.operations.run(work, done, failed, owner=self)
