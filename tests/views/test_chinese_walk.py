"""Every screen of a real-looking store, in Chinese: no English word left, values included.

Walks the demo store: every area and tab of the main window (the counter with a busy member
open), every dialog, and the member's profile tabs. Labels, buttons, headers and the cells
of every column that is not data (statuses, kinds, payment methods, reasons) must be Chinese;
a Latin word is allowed only in data: names, codes, numbers, what a person typed.
"""

from __future__ import annotations

from crmdesk.views.main_window import MainWindow
from tests.views.conftest import busy_member
from tests.views.fit import each_tab, settle
from tests.views.screens import every_dialog
from tests.views.walk import untranslated


def test_every_area_in_chinese_values_included(qtbot, translators, demo_state) -> None:  # type: ignore[no-untyped-def]
    translators.install("zh_CN")
    window = MainWindow(demo_state)
    qtbot.addWidget(window)
    window.show()
    found = []
    for key, _page in list(window._areas):
        window.show_view(key)
        settle()
        if key == "counter":
            window.page("counter").open_member(busy_member(demo_state.db))
            settle()
        for tab in each_tab(window.pages.currentWidget()):
            found += [(where, text) for where, text in untranslated(window)]
    found = list(dict.fromkeys(found))  # every area holds the window's other areas: name each text once
    assert not found, "English left in the Chinese interface:\n" + "\n".join(map(str, found))


def test_every_dialog_in_chinese_values_included(qtbot, translators, demo_state) -> None:  # type: ignore[no-untyped-def]
    translators.install("zh_CN")
    found = []
    for name, make in every_dialog(demo_state):
        dialog = make()
        qtbot.addWidget(dialog)
        dialog.show()
        settle()
        for tab in each_tab(dialog):
            found += [(name, where, text) for where, text in untranslated(dialog)]
        dialog.close()
    found = list(dict.fromkeys(found))
    assert not found, "English left in the Chinese interface:\n" + "\n".join(map(str, found))
