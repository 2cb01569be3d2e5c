"""Registering a new member at the counter: phone, name, the blank card, Enter.

Keyboard only, in a few seconds: Enter moves phone → name → birthday → card, and
Enter on the card field (a scanner ends with it) registers. A phone that cannot be a
mobile number is refused as Enter leaves it, not at the end. The birthday is
optional (Enter skips it). Ctrl+Enter registers from any field. "More details"
(gender, tags, marketing consent) stays folded away unless asked for (Ctrl+D). If the phone or a very similar name and
birthday is already registered, the dialog shows who and offers to open that
member instead, or, for a similar name only, to register anyway.
"""

from __future__ import annotations

import re
import unicodedata

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton,
    QVBoxLayout, QWidget,
)

from crmdesk.errors import CrmdeskError
from crmdesk.models import Gender, MarketingConsent
from crmdesk.services import cards as cards_service
from crmdesk.services import members as members_service
from crmdesk.services.members import DuplicateMember, MemberInput, display_phone
from crmdesk.services.uow import unit_of_work
from crmdesk.views.common import WritingDialog, error_text, mark_data
from crmdesk.views.state import AppState

CJK = re.compile(r"[\u3400-\u9fff]")


def split_prefill(text: str) -> tuple[str, str, str]:
    """(phone, name, card) guessed from what was typed into the counter's search box.

    A blank card's number goes to the card field, something with seven or more
    digits to the phone, a name written in Chinese or with capitals to the name.
    Lower-case Latin letters are most likely pinyin initials (zs), not a name."""
    text = " ".join((text or "").split())
    plain = unicodedata.normalize("NFKC", text)
    if cards_service.is_valid_issued_number(plain):
        return "", "", plain
    digits = re.sub(r"[\s\-()+]", "", plain)
    if digits.isdigit() and len(digits) >= 7:
        return text, "", ""
    if CJK.search(text) or (any(ch.isalpha() for ch in text) and text != text.lower() and not any(ch.isdigit() for ch in text)):
        return "", text, ""
    return "", "", ""


class NewMemberDialog(WritingDialog):
    """The fast registration form. After ``exec``/``open`` is accepted, ``member_id`` is the member to
    open: the new one, or the existing one the cashier chose (``opened_existing``)."""

    def __init__(self, state: AppState, parent: QWidget | None = None, prefill: str = "") -> None:
        super().__init__(parent)
        self._state = state
        self.member_id: int | None = None
        self.opened_existing = False
        self.duplicate: DuplicateMember | None = None
        self.setWindowTitle(self.tr("New member"))
        self.setMinimumWidth(520)

        layout = QVBoxLayout(self)
        hint = QLabel(self.tr("Enter moves to the next field. Scan the blank card, or press Enter on the card field to register without one."))
        hint.setObjectName("hintLabel")
        hint.setWordWrap(True)
        layout.addWidget(hint)

        form = QFormLayout()
        self.phone_edit = QLineEdit()
        self.phone_edit.setPlaceholderText(self.tr("mobile, e.g. 138 0013 8000; +852 … outside the mainland"))
        form.addRow(self.tr("&Phone:"), self.phone_edit)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(self.tr("e.g. 张三"))
        form.addRow(self.tr("&Name:"), self.name_edit)
        self.birthday_edit = QLineEdit()
        self.birthday_edit.setPlaceholderText(self.tr("optional, e.g. 1985-06-02 or 19850602"))
        form.addRow(self.tr("&Birthday:"), self.birthday_edit)
        self.card_edit = QLineEdit()
        self.card_edit.setPlaceholderText(self.tr("scan the blank card (optional)"))
        form.addRow(self.tr("&Card:"), self.card_edit)
        layout.addLayout(form)

        self.details_button = QPushButton(self.tr("More details (Ctrl+D)"))
        self.details_button.setCheckable(True)
        self.details_button.setAutoDefault(False)
        self.details_button.toggled.connect(self._show_details)
        layout.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.details = QWidget()
        details_form = QFormLayout(self.details)
        details_form.setContentsMargins(0, 0, 0, 0)
        self.gender_box = QComboBox()
        for gender, label in ((Gender.UNKNOWN, self.tr("Not given")), (Gender.FEMALE, self.tr("Female")), (Gender.MALE, self.tr("Male"))):
            self.gender_box.addItem(label, gender)
        details_form.addRow(self.tr("&Gender:"), self.gender_box)
        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText(self.tr("separated by commas, e.g. 老顾客, 宝妈"))
        details_form.addRow(self.tr("&Tags:"), self.tags_edit)
        self.consent_box = QComboBox()
        for consent, label in ((MarketingConsent.NONE, self.tr("No marketing messages")),
                               (MarketingConsent.SMS, self.tr("Offers by SMS")),
                               (MarketingConsent.EMAIL, self.tr("Offers by e-mail"))):
            self.consent_box.addItem(label, consent)
        details_form.addRow(self.tr("&Marketing:"), self.consent_box)
        # Consent is kept with when and who took it (个人信息保护法); the member sees it so on the profile.
        self.consent_note = QLabel(self.tr("Recorded now, by {name}").format(name=state.actor.name))
        self.consent_note.setObjectName("hintLabel")
        self.consent_note.setWordWrap(True)
        self.consent_note.hide()
        details_form.addRow("", self.consent_note)
        self.consent_box.currentIndexChanged.connect(
            lambda _index: self.consent_note.setVisible(self.consent_box.currentData() is not MarketingConsent.NONE))
        self.details.hide()
        layout.addWidget(self.details)

        self.message = QLabel()
        self.message.setObjectName("errorLabel")
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)

        self.duplicate_panel = QFrame()
        self.duplicate_panel.setObjectName("duplicatePanel")
        duplicate_layout = QVBoxLayout(self.duplicate_panel)
        duplicate_layout.setContentsMargins(0, 0, 0, 0)
        self.existing_list = QListWidget()
        mark_data(self.existing_list)
        self.existing_list.setMaximumHeight(110)
        self.existing_list.itemActivated.connect(lambda _item: self.open_existing())
        duplicate_layout.addWidget(self.existing_list)
        duplicate_buttons = QHBoxLayout()
        self.open_existing_button = QPushButton(self.tr("Open existing member (Ctrl+O)"))
        self.open_existing_button.clicked.connect(self.open_existing)
        self.register_anyway_button = QPushButton(self.tr("Register anyway (Ctrl+R)"))
        self.register_anyway_button.clicked.connect(lambda: self.submit(confirm_similar=True))
        duplicate_buttons.addWidget(self.open_existing_button)
        duplicate_buttons.addWidget(self.register_anyway_button)
        duplicate_buttons.addStretch(1)
        duplicate_layout.addLayout(duplicate_buttons)
        self.duplicate_panel.hide()
        layout.addWidget(self.duplicate_panel)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.save_button = self.register_button = QPushButton(self.tr("Register (Ctrl+Enter)"))
        self.register_button.clicked.connect(lambda: self.submit())
        self.cancel_button = QPushButton(self.tr("Cancel (Esc)"))
        self.cancel_button.clicked.connect(self.reject)
        for button in (self.register_button, self.cancel_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        for button in (self.open_existing_button, self.register_anyway_button, self.register_button, self.cancel_button):
            button.setAutoDefault(True)  # Enter on a focused button presses it

        self.phone_edit.returnPressed.connect(lambda: self._check_phone() and self._next(self.name_edit))
        self.phone_edit.editingFinished.connect(self._check_phone)
        self.name_edit.returnPressed.connect(lambda: self._next(self.birthday_edit))
        self.birthday_edit.returnPressed.connect(lambda: self._check_birthday() and self._next(self.card_edit))
        self.card_edit.returnPressed.connect(lambda: self.submit())
        self.tags_edit.returnPressed.connect(lambda: self.submit())
        for keys, slot in ((("Ctrl+Return", "Ctrl+Enter"), lambda: self.submit()),
                           (("Ctrl+D",), lambda: self.details_button.toggle()),
                           (("Ctrl+O",), self.open_existing),
                           (("Ctrl+R",), lambda: self.register_anyway_button.isVisible() and self.submit(confirm_similar=True))):
            for key in keys:
                QShortcut(QKeySequence(key), self).activated.connect(slot)

        phone, name, card = split_prefill(prefill)
        self.phone_edit.setText(phone)
        self.name_edit.setText(name)
        self.card_edit.setText(card)
        first_empty = next((edit for edit in (self.phone_edit, self.name_edit) if not edit.text().strip()), self.card_edit)
        first_empty.setFocus(Qt.FocusReason.OtherFocusReason)

    # ------------------------------------------------------------------ keyboard

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        # The fields decide what Enter does (next field or register); no default button steals it.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            event.accept()
            return
        super().keyPressEvent(event)

    def _next(self, edit: QLineEdit) -> None:
        edit.setFocus(Qt.FocusReason.TabFocusReason)
        edit.selectAll()

    def _check_phone(self) -> bool:
        """Say at once when the phone cannot be a mobile number (nine digits, a landline), not at the end."""
        try:
            if members_service.normalize_phone(self.phone_edit.text()) is None:
                return self._fail(self.tr("Enter the member's mobile number."), self.phone_edit)
        except CrmdeskError as exc:
            return self._fail(error_text(exc), self.phone_edit)
        self.message.hide()
        return True

    def _check_birthday(self) -> bool:
        """A birthday that cannot be one (2月30日, next year) is refused as Enter leaves it."""
        try:
            members_service.parse_birthday(self.birthday_edit.text())
        except CrmdeskError as exc:
            return self._fail(error_text(exc), self.birthday_edit)
        self.message.hide()
        return True

    def _show_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_button.setText(self.tr("Fewer details (Ctrl+D)") if shown else self.tr("More details (Ctrl+D)"))
        if shown:
            self.gender_box.setFocus()
        self.adjustSize()

    def _fail(self, text: str, field: QWidget | None = None) -> bool:
        """Show what is wrong and put the cursor where it is; False, for the callers' checks."""
        self.message.setText(text)
        self.message.show()
        if field is not None:
            if not field.isVisible() and field in (self.gender_box, self.tags_edit, self.consent_box):
                self.details_button.setChecked(True)
            field.setFocus()
            if isinstance(field, QLineEdit):
                field.selectAll()
        return False

    # ------------------------------------------------------------------ registering

    def submit(self, *, confirm_similar: bool = False) -> None:
        phone, name = self.phone_edit.text().strip(), self.name_edit.text().strip()
        if not phone:
            self._fail(self.tr("Enter the member's mobile number."), self.phone_edit)
            return
        if not name:
            self._fail(self.tr("Enter the member's name."), self.name_edit)
            return
        if not self._check_birthday():
            return
        data = MemberInput(
            name=name,
            phone=phone,
            gender=self.gender_box.currentData(),
            birthday=members_service.parse_birthday(self.birthday_edit.text()),
            tags=(self.tags_edit.text(),),
            marketing_consent=self.consent_box.currentData(),
            source="counter",
        )
        db, actor, card_number = self._state.db, self._state.actor, self.card_edit.text().strip() or None

        def work() -> int:
            with unit_of_work(db) as session:
                return members_service.register(session, actor, data, card_number=card_number,
                                                confirm_similar=confirm_similar).id

        def registered(member_id: int) -> None:
            self.member_id = member_id
            self.opened_existing = False

        def refused(exc: CrmdeskError) -> None:
            if isinstance(exc, DuplicateMember):
                self._show_duplicate(exc)
                return
            fields = {"phone": self.phone_edit, "name": self.name_edit, "card_number": self.card_edit,
                      "birthday": self.birthday_edit, "tags": self.tags_edit}
            self.duplicate_panel.hide()
            self._fail(error_text(exc), fields.get(getattr(exc, "field", None) or ""))

        self.write_once(self._state, work, registered, refused)  # Enter again while on its way: one registration

    def _show_duplicate(self, exc: DuplicateMember) -> None:
        self.duplicate = exc
        self._fail(error_text(exc))
        self.existing_list.clear()
        for brief in exc.existing:
            parts = [brief.member_no, brief.name, display_phone(brief.phone)]
            if brief.card_number:
                parts.append(brief.card_number)
            item = QListWidgetItem("   ".join(part for part in parts if part))
            item.setData(Qt.ItemDataRole.UserRole, brief.id)
            self.existing_list.addItem(item)
        self.existing_list.setCurrentRow(0)
        self.register_anyway_button.setVisible(not exc.blocking)
        self.duplicate_panel.show()
        self.open_existing_button.setFocus()

    def open_existing(self) -> None:
        if self.duplicate is None or not self.duplicate_panel.isVisible():
            return
        item = self.existing_list.currentItem() or self.existing_list.item(0)
        if item is None:
            return
        self.member_id = int(item.data(Qt.ItemDataRole.UserRole))
        self.opened_existing = True
        self.accept()
