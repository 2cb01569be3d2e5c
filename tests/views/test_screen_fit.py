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
from crmdesk.app import create_application
from crmdesk.views.screen import COUNTER_SCREENS, largest_content, pretend_screen
from crmdesk.views.state import AppState
from tests.views.screens import every_area, every_dialog_shown
from tests.views.fit import out_of_view, settle

SCREENS = [pytest.param(size, id=f"{size.width()}x{size.height()}") for size in COUNTER_SCREENS]
LANGUAGES = ["zh_CN", "en"]


@pytest.fixture(params=SCREENS)
def screen(request: pytest.FixtureRequest, qapp) -> Iterator[QSize]:  # type: ignore[no-untyped-def]
    """A pretended counter screen, and the program's own look (style sheet, fonts): sizes as a shop sees them."""
    style, font = qapp.styleSheet(), qapp.font()
    create_application()
    pretend_screen(request.param)
    yield request.param
    pretend_screen(None)
    qapp.setStyleSheet(style)
    qapp.setFont(font)


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
    problems = [f"{where}: {problem}" for where in every_area(window, demo_state) for problem in out_of_view(window)]
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
    problems = [f"{where}: {problem}" for where, dialog in every_dialog_shown(qtbot, demo_state) for problem in out_of_view(dialog)]
    assert not problems, "\n".join(problems)


def test_popups_are_left_where_qt_puts_them(qtbot, screen) -> None:  # type: ignore[no-untyped-def]
    """A menu or a drop-down list near the bottom is placed by Qt; the fitter must not push it up over
    the control that opened it (only windows and dialogs have a title bar to allow for)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QMenu

    menu = QMenu()
    qtbot.addWidget(menu)
    menu.addAction("一")
    bottom = largest_content(menu).height() + 20 - menu.sizeHint().height()
    menu.popup(QPoint(100, bottom))
    settle()
    assert menu.pos().y() == bottom
    menu.close()
