"""In the app, a failure no screen caught shows a message box with what to do, never a traceback."""

from __future__ import annotations

import sqlite3
import sys
import threading

import pytest
from PySide6.QtWidgets import QPushButton

from crmdesk.views import failure_hook


@pytest.fixture
def shown(monkeypatch, qapp):  # type: ignore[no-untyped-def]
    messages: list[str] = []
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setattr(failure_hook.QMessageBox, "critical", lambda _parent, _title, text: messages.append(text))
    failure_hook.install_failure_hook()
    return messages


@pytest.mark.qt_no_exception_capture
def test_a_busy_database_behind_a_button_becomes_a_message(qtbot, shown: list[str]) -> None:  # type: ignore[no-untyped-def]
    button = QPushButton("save")
    qtbot.addWidget(button)

    def save() -> None:
        raise sqlite3.OperationalError("database is locked")

    button.clicked.connect(save)
    button.click()
    qtbot.waitUntil(lambda: bool(shown))
    assert "The database is busy" in shown[0] and "Traceback" not in shown[0]


@pytest.mark.qt_no_exception_capture
def test_a_worker_threads_failure_is_shown_in_the_gui_thread(qtbot, shown: list[str], isolated_data_dir) -> None:  # type: ignore[no-untyped-def]
    def work() -> None:
        raise RuntimeError("张三 13812345678")

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(shown))
    assert "RuntimeError" in shown[0] and "张三" not in shown[0]
    assert "张三" in (isolated_data_dir / "errors.log").read_text(encoding="utf-8")
