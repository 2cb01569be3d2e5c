"""The Qt binding in use keeps Python's reference counts intact (PySide6 6.12.0 did not, and aborted)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class Emitter(QObject):
    changed = Signal(int)


def test_signals_leave_reference_counts_alone() -> None:
    emitter = Emitter()
    received: list[int] = []
    emitter.changed.connect(received.append)
    before = sys.getrefcount(True), sys.getrefcount(None)
    for value in range(2_000):
        emitter.changed.emit(value)
    assert len(received) == 2_000
    after = sys.getrefcount(True), sys.getrefcount(None)
    assert abs(after[0] - before[0]) < 50 and abs(after[1] - before[1]) < 50
