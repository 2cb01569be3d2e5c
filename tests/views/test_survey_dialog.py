"""The counter's satisfaction survey, offscreen: digits from the keyboard, the mouse, skipping, refusals."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QDialog

from crmdesk.services import members, surveys
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.survey_dialog import SurveyDialog
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures
from tests.views.dialogs import care_form

DIMENSIONS = ["attitude", "checkout", "quality", "price", "environment"]  # the default questions, in order


@pytest.fixture
def member_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, owner, members.MemberInput(name="张三", phone="13812345678")).id


def open_survey(qtbot, state, **kwargs) -> SurveyDialog:  # type: ignore[no-untyped-def]
    dialog = care_form(SurveyDialog, state, **kwargs)
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.show()
        dialog.activateWindow()
    return dialog


def keys(qtbot, text: str) -> None:  # type: ignore[no-untyped-def]
    """Press keys one at a time, each to whatever has the focus then (the dialog moves it on)."""
    for char in text:
        qtbot.keyClick(QApplication.focusWidget(), char)


def press(qtbot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(QApplication.focusWidget(), key, modifier)


def responses(db) -> list[surveys.SurveyInfo]:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return surveys.recent_responses(session)


def test_a_cashier_types_five_digits_and_enter(qtbot, cashier_state, member_id) -> None:  # type: ignore[no-untyped-def]
    dialog = open_survey(qtbot, cashier_state, member_id=member_id)
    assert [q.dimension.code for q in dialog.questions] == DIMENSIONS
    assert dialog.member_label is not None and dialog.member_label.text().startswith("张三")
    assert dialog.channel_box.currentData() == "counter"
    assert dialog.current_row == 0 and dialog.questions[0].buttons[5].hasFocus()  # ready for the first digit
    # The scale's words head the columns, 5 (very satisfied) first.
    assert [dialog.questions[0].buttons[s].toolTip() for s in (5, 1)] == ["Very satisfied", "Very dissatisfied"]

    keys(qtbot, "554")
    assert dialog.current_row == 3 and dialog.questions[3].buttons[5].hasFocus()  # the highlight follows
    keys(qtbot, "54")
    assert dialog.comment_edit.hasFocus()  # after the last question: the optional comment
    event = QInputMethodEvent()
    event.setCommitString("收银很快")
    QApplication.sendEvent(dialog.comment_edit, event)
    with qtbot.waitSignal(dialog.surveyRecorded, timeout=2000) as recorded:
        press(qtbot, Qt.Key.Key_Return)
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Accepted

    (info,) = responses(cashier_state.db)
    assert recorded.args == [info.id] and dialog.recorded == info
    assert dict(info.scores) == {"attitude": 5, "checkout": 5, "quality": 4, "price": 5, "environment": 4}
    assert (info.member_id, info.channel, info.comment, info.staff_name) == (member_id, "counter", "收银很快", cashier_state.actor.name)


def test_questions_can_be_skipped_revisited_and_answered_with_the_mouse(qtbot, cashier_state) -> None:  # type: ignore[no-untyped-def]
    dialog = open_survey(qtbot, cashier_state)
    assert dialog.member_label is None
    keys(qtbot, "50")  # attitude 5, checkout skipped
    assert dialog.current_row == 2
    press(qtbot, Qt.Key.Key_Up)
    press(qtbot, Qt.Key.Key_Up)
    assert dialog.current_row == 0 and dialog.questions[0].buttons[5].hasFocus()  # back on the answered one
    keys(qtbot, "4")  # changes the answer
    assert dialog.questions[0].score == 4 and dialog.current_row == 1
    press(qtbot, Qt.Key.Key_Right)  # along the row without answering
    assert dialog.questions[1].buttons[4].hasFocus() and dialog.questions[1].score is None
    press(qtbot, Qt.Key.Key_Down)
    qtbot.mouseClick(dialog.questions[2].buttons[2], Qt.MouseButton.LeftButton)
    assert dialog.questions[2].score == 2 and dialog.current_row == 3
    keys(qtbot, "1")
    press(qtbot, Qt.Key.Key_Space)  # Space answers the focused button: 5 for the last question
    dialog.channel_box.setCurrentIndex(dialog.channel_box.findData("phone"))
    assert dialog.scores() == (("attitude", 4), ("quality", 2), ("price", 1), ("environment", 5))
    with qtbot.waitSignal(dialog.surveyRecorded, timeout=2000):
        press(qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    (info,) = responses(cashier_state.db)
    assert dict(info.scores) == {"attitude": 4, "quality": 2, "price": 1, "environment": 5}
    assert (info.member_id, info.channel, info.comment) == (None, "phone", "")


def test_a_survey_without_any_score_is_refused(qtbot, cashier_state, member_id) -> None:  # type: ignore[no-untyped-def]
    dialog = open_survey(qtbot, cashier_state, member_id=member_id)
    keys(qtbot, "5")
    press(qtbot, Qt.Key.Key_Up)
    keys(qtbot, "0")  # the one answer taken back
    dialog.comment_edit.setText("没意见")
    dialog.comment_edit.setFocus()
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.isVisible() and dialog.recorded is None
    assert not dialog.scores_message.isHidden() and dialog.scores_message.text() == "Score at least one question."
    assert dialog.current_row == 0 and dialog.questions[0].buttons[5].hasFocus()  # back to the first question
    assert responses(cashier_state.db) == []

    keys(qtbot, "3")  # answering clears the message; now it is recorded
    assert dialog.scores_message.isHidden()
    with qtbot.waitSignal(dialog.surveyRecorded, timeout=2000):
        dialog.save_button.click()
    assert [dict(r.scores) for r in responses(cashier_state.db)] == [{"attitude": 3}]


def test_only_questions_in_use_are_asked(qtbot, cashier_state, owner) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(cashier_state.db) as session:
        surveys.set_dimension_active(session, owner, "price", False)
        surveys.add_dimension(session, owner, "停车方便", code="parking")
    dialog = open_survey(qtbot, cashier_state)
    assert [q.dimension.code for q in dialog.questions] == ["attitude", "checkout", "quality", "environment", "parking"]
    assert dialog.questions[4].label.text() == "停车方便"  # a name the owner typed shows as typed
    keys(qtbot, "45321")
    with qtbot.waitSignal(dialog.surveyRecorded, timeout=2000):
        press(qtbot, Qt.Key.Key_Return)
    (info,) = responses(cashier_state.db)
    assert dict(info.scores) == {"attitude": 4, "checkout": 5, "quality": 3, "environment": 2, "parking": 1}


def test_escape_cancels_without_writing(qtbot, cashier_state) -> None:  # type: ignore[no-untyped-def]
    dialog = open_survey(qtbot, cashier_state)
    keys(qtbot, "55")
    press(qtbot, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Rejected
    assert responses(cashier_state.db) == []
