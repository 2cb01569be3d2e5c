"""The counter's satisfaction survey (F9): one row per question, scored 5 (very satisfied) to 1.

Made for a queue: the highlighted question takes the digit a cashier presses (5 … 1)
and the next question lights up, so "55454" then Enter records a whole survey in a
few seconds. 0 or Delete leaves a question unanswered, the arrow keys move between
questions and answers, and the mouse works as well. Questions left out are simply
not asked; the service refuses a survey with no answer at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup, QComboBox, QFormLayout, QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
    QVBoxLayout, QWidget,
)

from crmdesk.errors import CrmdeskError
from crmdesk.services import care_forms, surveys
from crmdesk.services.care_forms import SurveyForm
from crmdesk.services.complaints import ChoiceInfo
from crmdesk.services.members import MemberProfile
from crmdesk.services.surveys import SCALE, SurveyInfo, SurveyInput
from crmdesk.services.uow import unit_of_work
from crmdesk.views.common import WritingDialog, error_text, mark_data
from crmdesk.views.complaint_form import member_line, translated
from crmdesk.views.state import AppState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SCORE_KEYS = {getattr(Qt.Key, f"Key_{score}"): score for score, _label in SCALE}
SKIP_KEYS = (Qt.Key.Key_0, Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
STYLE = """
QPushButton#scoreButton { min-width: 64px; min-height: 30px; font-size: 15px; }
QPushButton#scoreButton:checked { background: #1f3d36; color: #ffffff; border: 1px solid #1f3d36; border-radius: 4px; }
QFrame#currentQuestion { background: #dcebe5; border-radius: 6px; }
QLabel#scaleHeading { color: #50625c; }
"""


@dataclass
class _Question:
    dimension: ChoiceInfo
    label: QLabel
    group: QButtonGroup
    buttons: dict[int, QPushButton]  # score -> its button

    @property
    def score(self) -> int | None:
        checked = self.group.checkedId()
        return checked if checked > 0 else None


class SurveyDialog(WritingDialog):
    """One survey response. When it is accepted, ``recorded`` holds it and ``surveyRecorded`` has carried its id."""

    surveyRecorded = Signal(int)

    @staticmethod
    def setup(session: Session, member_id: int | None) -> SurveyForm:
        """What the dialog shows when it opens (read off the UI thread, then the dialog is built with it)."""
        return care_forms.survey_form(session, member_id)

    def __init__(self, state: AppState, form: SurveyForm, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.member_id = form.member_id
        self.recorded: SurveyInfo | None = None
        self.request_id = uuid.uuid4().hex  # saved again after a network failure: recorded once (services/requests.py)
        dimensions, channels = form.dimensions, form.channels
        self.member: MemberProfile | None = form.member

        self.setWindowTitle(self.tr("Satisfaction survey"))
        self.setMinimumWidth(680)
        self.setStyleSheet(STYLE)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        hint = QLabel(self.tr("Press 5 to 1 for the highlighted question (5 = very satisfied, 1 = very dissatisfied); 0 skips it. Enter saves, Esc cancels."))
        hint.setObjectName("hintLabel")
        hint.setWordWrap(True)
        layout.addWidget(hint)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.member_label: QLabel | None = None
        if self.member is not None:
            self.member_label = QLabel(member_line(self.member))
            self.member_label.setStyleSheet("font-weight: bold;")
            mark_data(self.member_label)
            form.addRow(self.tr("Member:"), self.member_label)
        self.channel_box = QComboBox()
        for channel in channels:
            self.channel_box.addItem(translated("complaints", channel.name), channel.code)
        self.channel_box.setCurrentIndex(max(0, self.channel_box.findData("counter")))
        self.channel_box.setMinimumWidth(200)
        form.addRow(self.tr("C&hannel:"), self.channel_box)
        layout.addLayout(form)

        # The questions: a heading row with the scale, then one row per question.
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(0, 1)
        for column, (score, label) in enumerate(SCALE, start=1):
            heading = QLabel(translated("surveys", label))
            heading.setObjectName("scaleHeading")
            heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
            heading.setWordWrap(True)
            grid.addWidget(heading, 0, column)
        self.questions: list[_Question] = []
        self._row_frames: list[QFrame] = []
        for row, dimension in enumerate(dimensions, start=1):
            frame = QFrame()  # the highlight behind the current question's row
            grid.addWidget(frame, row, 0, 1, len(SCALE) + 1)
            self._row_frames.append(frame)
            name = QLabel(translated("surveys", dimension.name))
            name.setContentsMargins(8, 0, 8, 0)
            grid.addWidget(name, row, 0)
            group = QButtonGroup(self)
            group.setExclusive(True)
            buttons: dict[int, QPushButton] = {}
            for column, (score, label) in enumerate(SCALE, start=1):
                button = QPushButton(str(score))
                button.setObjectName("scoreButton")
                button.setCheckable(True)
                button.setAutoDefault(False)
                button.setToolTip(translated("surveys", label))
                button.setAccessibleName(f"{translated('surveys', dimension.name)}: {score} {translated('surveys', label)}")
                button.installEventFilter(self)
                group.addButton(button, score)
                buttons[score] = button
                grid.addWidget(button, row, column, Qt.AlignmentFlag.AlignCenter)
            group.idClicked.connect(lambda _score, row=row - 1: self._answered(row))
            self.questions.append(_Question(dimension, name, group, buttons))
        layout.addLayout(grid)
        self.scores_message = self._error_label()
        layout.addWidget(self.scores_message)

        comment_form = QFormLayout()
        self.comment_edit = QLineEdit()
        self.comment_edit.setMaxLength(surveys.MAX_COMMENT)
        self.comment_edit.setPlaceholderText(self.tr("optional: what the customer said"))
        comment_form.addRow(self.tr("C&omment:"), self.comment_edit)
        layout.addLayout(comment_form)

        self.message = self._error_label()
        layout.addWidget(self.message)
        buttons_row = QHBoxLayout()
        buttons_row.addStretch(1)
        self.save_button = QPushButton(self.tr("Save (Enter)"))
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton(self.tr("Cancel (Esc)"))
        self.cancel_button.clicked.connect(self.reject)
        for button in (self.save_button, self.cancel_button):
            button.setAutoDefault(True)  # Enter on a focused button presses it
            buttons_row.addWidget(button)
        layout.addLayout(buttons_row)
        for key in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(key), self).activated.connect(self.save)
        for widget in (self.channel_box, self.comment_edit, self.save_button, self.cancel_button):
            widget.installEventFilter(self)  # focus there: no question is highlighted (digits go nowhere)

        self.current_row = -1
        self.go_to(0)

    @staticmethod
    def _error_label() -> QLabel:
        label = QLabel()
        label.setObjectName("errorLabel")
        label.setWordWrap(True)
        label.hide()
        return label

    # ------------------------------------------------------------------ moving between questions

    def go_to(self, row: int) -> None:
        """Make a question the current one (highlighted, focused); past the last one, go to the comment."""
        if row >= len(self.questions):
            self._highlight(-1)
            self.comment_edit.setFocus(Qt.FocusReason.TabFocusReason)
            return
        row = max(0, row)
        if not self.questions:
            return
        question = self.questions[row]
        target = question.group.checkedButton() or question.buttons[SCALE[0][0]]
        target.setFocus(Qt.FocusReason.TabFocusReason)
        self._highlight(row)

    def _highlight(self, row: int) -> None:
        if row == self.current_row:
            return
        self.current_row = row
        for index, (frame, question) in enumerate(zip(self._row_frames, self.questions, strict=True)):
            current = index == row
            frame.setObjectName("currentQuestion" if current else "")
            frame.style().unpolish(frame)
            frame.style().polish(frame)
            font = question.label.font()
            font.setBold(current)
            question.label.setFont(font)

    def _row_of(self, widget: QObject) -> int:
        return next((i for i, q in enumerate(self.questions) if widget in q.buttons.values()), -1)

    def press_score(self, score: int) -> None:
        """What a digit key does: answer the current question and move to the next."""
        row = self.current_row
        if not 0 <= row < len(self.questions):
            return
        self.questions[row].buttons[score].setChecked(True)
        self._answered(row)

    def skip(self) -> None:
        """Leave the current question unanswered and move on."""
        row = self.current_row
        if not 0 <= row < len(self.questions):
            return
        group = self.questions[row].group
        group.setExclusive(False)
        for button in group.buttons():
            button.setChecked(False)
        group.setExclusive(True)
        self.go_to(row + 1)

    def _answered(self, row: int) -> None:
        self.scores_message.hide()
        self.go_to(row + 1)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        row = self._row_of(watched) if event.type() in (QEvent.Type.FocusIn, QEvent.Type.KeyPress) else -1
        if row < 0:
            if event.type() == QEvent.Type.FocusIn:
                self._highlight(-1)
            return super().eventFilter(watched, event)
        if event.type() == QEvent.Type.FocusIn:
            self._highlight(row)
            return False
        key, modifiers = event.key(), event.modifiers()  # type: ignore[attr-defined]
        if modifiers not in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier):
            return super().eventFilter(watched, event)
        self._highlight(row)
        if key in SCORE_KEYS:
            self.press_score(SCORE_KEYS[key])
        elif key in SKIP_KEYS:
            self.skip()
        elif key == Qt.Key.Key_Up:
            self.go_to(max(0, row - 1))
        elif key == Qt.Key.Key_Down:
            self.go_to(row + 1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            # Along the row without changing the answer (Space or a digit answers).
            order = [button for _score, button in sorted(self.questions[row].buttons.items(), reverse=True)]
            index = order.index(watched) + (1 if key == Qt.Key.Key_Right else -1)  # type: ignore[arg-type]
            order[max(0, min(index, len(order) - 1))].setFocus(Qt.FocusReason.TabFocusReason)
        else:
            return super().eventFilter(watched, event)
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            self.save()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ saving

    def scores(self) -> tuple[tuple[str, int], ...]:
        return tuple((q.dimension.code, q.score) for q in self.questions if q.score is not None)

    def survey_input(self) -> SurveyInput:
        return SurveyInput(scores=self.scores(), member_id=self.member_id, channel=str(self.channel_box.currentData() or ""),
                           comment=self.comment_edit.text())

    def save(self) -> None:
        """Record the answers in one transaction, off the UI thread; a refusal keeps the dialog open with nothing
        written, and saving again after the connection broke records them once."""
        if self.saving:
            return
        self.scores_message.hide()
        self.message.hide()
        db, actor, data, request_id = self._state.db, self._state.actor, self.survey_input(), self.request_id

        def work() -> SurveyInfo:
            with unit_of_work(db) as session:
                return surveys.add_response(session, actor, data, request_id=request_id)

        def recorded(info: SurveyInfo) -> None:
            self.recorded = info
            self.surveyRecorded.emit(info.id)

        self.write_once(self._state, work, recorded, self._refused, self.surveyRecorded.emit)

    def _refused(self, error: CrmdeskError) -> None:
        field = getattr(error, "field", None)
        label = self.scores_message if field == "scores" else self.message
        label.setText(error_text(error))
        label.show()
        if field == "scores":
            self.go_to(0)
        elif field == "comment":
            self.comment_edit.setFocus()
        elif field == "channel":
            self.channel_box.setFocus()

    def accept(self) -> None:
        self.save()
