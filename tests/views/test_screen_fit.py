"""Every area and every dialog fits the counter PCs' screens: 1024×768 and 1366×768 with a taskbar.

The main window is shown as it opens there (maximised); each dialog is shown as the program
shows it. A button, field or the status bar outside the visible area fails the test, with the
list of what is out of view and where.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSize

from crmdesk.services import staff
from crmdesk.models import Role
from crmdesk.services.uow import Actor, read_session
from crmdesk.views.main_window import MainWindow
from crmdesk.views.screen import COUNTER_SCREENS, install_screen_fitter, largest_content, pretend_screen
from crmdesk.views.state import AppState
from tests.views.conftest import busy_member
from tests.views.screens import every_dialog
from tests.views.fit import each_tab, out_of_view, settle

SCREENS = [pytest.param(size, id=f"{size.width()}x{size.height()}") for size in COUNTER_SCREENS]
LANGUAGES = ["zh_CN", "en"]


@pytest.fixture(params=SCREENS)
def screen(request: pytest.FixtureRequest, qapp) -> Iterator[QSize]:  # type: ignore[no-untyped-def]
    install_screen_fitter(qapp)
    pretend_screen(request.param)
    yield request.param
    pretend_screen(None)


def _open_main_window(qtbot, state: AppState) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.resize(largest_content(window))
    window.show()
    settle()
    return window


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_area_fits(qtbot, translators, demo_state, screen, language) -> None:  # type: ignore[no-untyped-def]
    translators.install(language)
    window = _open_main_window(qtbot, demo_state)
    problems = []
    for key, _page in list(window._areas):
        window.show_view(key)
        settle()
        if key == "counter":
            counter = window.page("counter")
            counter.open_member(busy_member(demo_state.db))
            counter._show_result("积分 +1,234；现有积分 99,999。" * 3)
            settle()
        for tab in each_tab(window.pages.currentWidget()):
            problems += [f"{key}/{tab}: {problem}" for problem in out_of_view(window)]
    assert not problems, "\n".join(problems)


def test_a_cashier_starts_at_the_counter_and_it_fits(qtbot, demo_state, screen) -> None:  # type: ignore[no-untyped-def]
    with read_session(demo_state.db) as session:
        cashier = next(s for s in staff.list_staff(session) if s.role is Role.CASHIER)
    demo_state.sign_in(Actor(cashier.id, cashier.name, cashier.role))
    window = _open_main_window(qtbot, demo_state)
    window.show_view(window.start_area())
    assert window.current_area() == "counter"
    assert not out_of_view(window)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_dialog_fits(qtbot, translators, demo_state, screen, language) -> None:  # type: ignore[no-untyped-def]
    translators.install(language)
    problems = []
    for name, make in every_dialog(demo_state):
        dialog = make()
        qtbot.addWidget(dialog)
        dialog.show()
        settle()
        for tab in each_tab(dialog):
            problems += [f"{name}{'/' + tab if tab else ''}: {problem}" for problem in out_of_view(dialog)]
        if name == "complaint detail":
            for make_action in (dialog.assign_dialog, dialog.note_dialog, dialog.priority_dialog, dialog.resolve_dialog,
                                dialog.follow_up_dialog, dialog.close_dialog, dialog.reopen_dialog):
                action = make_action()
                qtbot.addWidget(action)
                action.show()
                settle()
                problems += [f"{name} → {type(action).__name__}: {p}" for p in out_of_view(action)]
                action.close()
        dialog.close()
    assert not problems, "\n".join(problems)
