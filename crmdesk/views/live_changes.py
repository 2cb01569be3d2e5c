"""The screens follow what other tills commit: one background thread waits on services.live's feed and
hands each batch of changes to the UI thread as ``changed(Changes)``; screens look at whether it touches
what they show (their member, their complaint, the list, the board) and read it again.

Notices that arrive close together are handed over together (COALESCE_S), so a busy minute or a large
import refreshes a screen a few times, not once per row.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from crmdesk.db import Database
from crmdesk.services import live
from crmdesk.views.background import BackgroundThread

COALESCE_S = 0.25


class _FeedThread(BackgroundThread):
    found = Signal(object)

    def __init__(self, feed: live.ChangeFeed) -> None:
        super().__init__()
        self._feed = feed

    def run(self) -> None:
        while not self.should_cancel():
            changes = self._feed.wait(1.0)
            if changes and not self.should_cancel():
                changes = changes | self._feed.wait(COALESCE_S)
                self.found.emit(changes)
        self._feed.wait(0)  # closed: lets the feed drop its connection on this thread


class LiveChanges(QObject):
    """Started by the running program (app.py); screens connect to ``changed``."""

    changed = Signal(object)  # live.Changes

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        path = db.sqlite_path
        self._feed = live.ChangeFeed(db.url, str(path) if path is not None else None)
        self._thread = _FeedThread(self._feed)
        self._thread.found.connect(self.changed)

    def start(self) -> None:
        self._thread.start_kept()

    def stop(self) -> None:
        self._thread.cancel()
        self._feed.close()
        self._thread.wait(3_000)


def follow(state: object, handler) -> None:  # type: ignore[no-untyped-def]
    """Call ``handler(changes)`` (a screen's bound method: it stops with the screen) on what other tills commit,
    when the program follows them (not in a screenshot or a test that did not ask for it)."""
    feed = getattr(state, "live_changes", None)
    if feed is not None:
        feed.changed.connect(handler)


class ShownRefresh(QObject):
    """Reads a screen again after others' changes: at once when it is on show, at most every ``interval_ms`` (a
    busy shop commits every few seconds; a list or a board need not flicker with each), else when next shown."""

    def __init__(self, screen: QWidget, read_again: Callable[[], None], interval_ms: int = 1_000) -> None:
        super().__init__(screen)
        self._screen = screen
        self._read_again = read_again
        self._stale = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._due)
        screen.installEventFilter(self)

    def changed(self) -> None:
        self._stale = True
        if self._screen.isVisible() and not self._timer.isActive():
            self._timer.start()

    def _due(self) -> None:
        if self._stale and self._screen.isVisible():
            self._stale = False
            self._read_again()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        # getattr: Qt may still filter for a screen whose Python side is being taken apart (at the end of a window)
        if watched is getattr(self, "_screen", None) and event.type() == QEvent.Type.Show and self._stale:
            self._timer.start(0)
        return False
