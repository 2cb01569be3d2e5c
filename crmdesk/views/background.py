"""A thread for long work started from a screen (an export, a document), kept alive by itself.

Running threads are held here, not by the page or dialog that started them, so closing
that window mid-way never destroys a running thread; ``cancel()`` asks the work to stop
(the work polls ``should_cancel``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ClassVar

from PySide6.QtCore import QObject, QThread, Signal


class BackgroundThread(QThread):
    _running: ClassVar[set[BackgroundThread]] = set()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def should_cancel(self) -> bool:
        return self._cancel.is_set()

    def start_kept(self) -> None:
        BackgroundThread._running.add(self)
        self.finished.connect(self._release)
        self.start()

    def _release(self) -> None:
        self.wait()  # "finished" comes just before the thread ends; let it end before the object can go
        BackgroundThread._running.discard(self)


class TaskThread(BackgroundThread):
    """Runs one function off the UI thread: its result comes back by ``succeeded``, a failure (already
    explained for a person, see failures.explain) by ``failed``."""

    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, work: Callable[[], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work

    def run(self) -> None:
        from crmdesk.failures import explain

        try:
            result = self._work()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message, none ends the thread unseen
            self.failed.emit(explain(exc))
            return
        self.succeeded.emit(result)
