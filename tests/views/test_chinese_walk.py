"""Every screen of a real-looking store, in Chinese: no English word left, values included.

Walks the demo store: every area and tab of the main window (the counter with a busy member
open), every dialog, and the member's profile tabs. Labels, buttons, headers and the cells
of every column that is not data (statuses, kinds, payment methods, reasons) must be Chinese;
a Latin word is allowed only in data: names, codes, numbers, what a person typed.
"""

from __future__ import annotations

from crmdesk.views.main_window import MainWindow
from tests.views.screens import every_area, every_dialog_shown
from tests.views.walk import untranslated


def test_every_area_in_chinese_values_included(qtbot, translators, demo_state) -> None:  # type: ignore[no-untyped-def]
    translators.install("zh_CN")
    window = MainWindow(demo_state)
    qtbot.addWidget(window)
    window.show()
    found = [(where, text) for _area in every_area(window, demo_state) for where, text in untranslated(window)]
    found = list(dict.fromkeys(found))  # every area holds the window's other areas: name each text once
    assert not found, "English left in the Chinese interface:\n" + "\n".join(map(str, found))


def test_every_dialog_in_chinese_values_included(qtbot, translators, demo_state) -> None:  # type: ignore[no-untyped-def]
    translators.install("zh_CN")
    found = [(name, where, text) for name, dialog in every_dialog_shown(qtbot, demo_state) for where, text in untranslated(dialog)]
    found = list(dict.fromkeys(found))
    assert not found, "English left in the Chinese interface:\n" + "\n".join(map(str, found))
