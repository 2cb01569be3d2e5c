"""Database work off the UI thread: the counter's look-ups, profile loads and sales run on one worker thread, in
the order they were asked for, and their results (or failures, explained for a person) come back to the UI
thread by signal. The screen stays responsive -- the cashier keeps typing, the scanner keeps scanning -- and
a small busy hint shows when something takes longer than a blink (``busyChanged``).

A call given a ``key`` is superseded by the next call with the same key: the search box asks again with every
keystroke, and only the answer to the latest question is shown.

``Operations(threaded=False)`` runs each call at once on the caller's thread (screenshots, and tests that
drive a screen step by step); the running program uses a thread (app.py).
"""

from __future__ import annotations

import gc
import queue
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, QThread, QTimer, Signal

from crmdesk.errors import CrmdeskError
from crmdesk.services.uow import read_session, unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crmdesk.db import Database

BUSY_AFTER_MS = 250  # longer than a blink: the busy hint shows
COLLECT_EVERY_MS = 500  # how often the UI thread looks whether a cycle collection is due


class _Worker(QThread):
    finished_call = Signal(int, bool, object)  # call number, succeeded, result or error

    def __init__(self) -> None:
        super().__init__()
        self.calls: queue.Queue[tuple[int, Callable[[], Any]] | None] = queue.Queue()

    def run(self) -> None:
        from crmdesk.failures import explain

        while True:
            call = self.calls.get()
            if call is None:
                return
            number, work = call
            try:
                result = work()
            except Exception as exc:  # noqa: BLE001 - every failure becomes a message, none ends the worker
                self.finished_call.emit(number, False, explain(exc))
            else:
                self.finished_call.emit(number, True, result)


class _MainThreadCollector:
    """Python's cycle collector runs on whichever thread happens to allocate; on the worker it could free a screen's
    Qt objects off the UI thread, which Qt does not survive. While a worker runs, automatic collection is off and
    this collects on the UI thread instead, by the same thresholds, checked every COLLECT_EVERY_MS."""

    holders = 0
    timer: QTimer | None = None

    @classmethod
    def hold(cls) -> None:
        if cls.holders == 0:
            gc.disable()
            cls.timer = QTimer()
            cls.timer.setInterval(COLLECT_EVERY_MS)
            cls.timer.timeout.connect(cls.collect)
            cls.timer.start()
        cls.holders += 1

    @classmethod
    def release(cls) -> None:
        cls.holders -= 1
        if cls.holders == 0:
            if cls.timer is not None:
                cls.timer.stop()
                cls.timer = None
            gc.enable()

    @staticmethod
    def collect() -> None:
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if thresholds[generation] and counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return


class Operations(QObject):
    busyChanged = Signal(bool)  # noqa: N815 - True once work has run longer than BUSY_AFTER_MS; False when idle

    def __init__(self, *, threaded: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threaded = threaded
        self._next = 0
        self._pending: dict[int, tuple[Callable[[Any], None], Callable[[CrmdeskError], None] | None, str | None]] = {}
        self._latest: dict[str, int] = {}  # key -> the number of the newest call with it
        self._busy = False
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(BUSY_AFTER_MS)
        self._busy_timer.timeout.connect(self._show_busy)
        self._worker: _Worker | None = None

    @property
    def threaded(self) -> bool:
        return self._threaded

    @property
    def idle(self) -> bool:
        return not self._pending

    def run(self, work: Callable[[], Any], done: Callable[[Any], None],
            failed: Callable[[CrmdeskError], None] | None = None, *, key: str | None = None,
            owner: QObject | None = None) -> None:
        """Run ``work()`` off the UI thread; then ``done(result)`` -- or ``failed(error)`` -- on the UI thread, unless
        a newer call with the same ``key`` came meanwhile, or the ``owner`` (the dialog the answer is for) is gone."""
        if owner is not None:
            done, failed = _while_alive(owner, done), (_while_alive(owner, failed) if failed is not None else None)
        self._next += 1
        number = self._next
        if key is not None:
            self._latest[key] = number
        if not self._threaded:
            from crmdesk.failures import explain

            try:
                result = work()
            except Exception as exc:  # noqa: BLE001 - as the worker does
                self._deliver(number, False, explain(exc), (done, failed, key))
            else:
                self._deliver(number, True, result, (done, failed, key))
            return
        if self._worker is None:
            self._worker = _Worker()
            self._worker.finished_call.connect(self._finished)
            _MainThreadCollector.hold()
            self._worker.start()
        self._pending[number] = (done, failed, key)
        if not self._busy_timer.isActive() and not self._busy:
            self._busy_timer.start()
        self._worker.calls.put((number, work))

    def read(self, db: Database, question: Callable[[Session], Any], done: Callable[[Any], None],
             failed: Callable[[CrmdeskError], None] | None = None, *, key: str | None = None,
             owner: QObject | None = None) -> None:
        """``run`` for a question of the database: ``question(session)`` in one read-only session."""
        def work() -> Any:
            with read_session(db) as session:
                return question(session)

        self.run(work, done, failed, key=key, owner=owner)

    def write(self, db: Database, change: Callable[[Session], Any], done: Callable[[Any], None],
              failed: Callable[[CrmdeskError], None], *, owner: QObject | None = None) -> None:
        """``run`` for a change: ``change(session)`` in one transaction (all of it or nothing)."""
        def work() -> Any:
            with unit_of_work(db) as session:
                return change(session)

        self.run(work, done, failed, owner=owner)

    def forget(self, *keys: str) -> None:
        """The answers still on their way for these keys are not wanted any more (the cashier pressed Esc)."""
        for key in keys:
            self._next += 1
            self._latest[key] = self._next

    def _finished(self, number: int, succeeded: bool, value: object) -> None:
        callbacks = self._pending.pop(number, None)
        if not self._pending:
            self._busy_timer.stop()
            if self._busy:
                self._busy = False
                self.busyChanged.emit(False)
        if callbacks is not None:
            self._deliver(number, succeeded, value, callbacks)

    def _deliver(self, number: int, succeeded: bool, value: object, callbacks) -> None:  # type: ignore[no-untyped-def]
        done, failed, key = callbacks
        if key is not None and self._latest.get(key) != number:
            return  # superseded: a newer question was asked
        if succeeded:
            done(value)
        elif failed is not None:
            failed(value)  # type: ignore[arg-type]
        else:
            raise value  # type: ignore[misc]  # the failure hook shows it (views/failure_hook.py)

    def _show_busy(self) -> None:
        if self._pending and not self._busy:
            self._busy = True
            self.busyChanged.emit(True)

    def stop(self) -> None:
        """End the worker after the calls already asked for."""
        if self._worker is not None:
            self._worker.calls.put(None)
            self._worker.wait(10_000)
            self._worker = None
            _MainThreadCollector.release()


def _while_alive(owner: QObject, call: Callable[[Any], None]) -> Callable[[Any], None]:
    """``call``, done only while ``owner`` still exists: a dialog closed and deleted before its answer came."""
    def guarded(value: Any) -> None:
        if shiboken6.isValid(owner):
            call(value)
    return guarded
