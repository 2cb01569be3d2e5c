"""The app's last line: an exception no screen caught becomes a message box, never a traceback.

Screens catch crmdesk's own errors where they happen. What slips past them (a busy database, a
full disk, a failure nobody expected) reaches ``sys.excepthook`` (or ``threading.excepthook`` from
a worker thread); both pass it through ``failures.explain`` and show the result in the GUI thread.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from crmdesk.failures import explain
from crmdesk.views.common import error_text


class _Relay(QObject):
    failed = Signal(object)


_relay: _Relay | None = None


def install_failure_hook() -> None:
    global _relay
    if _relay is None:
        _relay = _Relay()
        _relay.failed.connect(_show, Qt.ConnectionType.QueuedConnection)
    sys.excepthook = _on_exception
    threading.excepthook = _on_thread_exception


def _on_exception(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        QCoreApplication.quit()
        return
    if exc.__traceback__ is None:
        exc = exc.with_traceback(tb)
    failure = explain(exc)  # logs the unexpected ones before anything else can fail
    assert _relay is not None
    _relay.failed.emit(failure)


def _on_thread_exception(info: threading.ExceptHookArgs) -> None:
    if info.exc_value is not None:
        _on_exception(info.exc_type, info.exc_value, info.exc_traceback)


def _show(failure: object) -> None:
    parent = QApplication.activeWindow()
    QMessageBox.critical(parent, QCoreApplication.translate("app", "Something went wrong"), error_text(failure))  # type: ignore[arg-type]
