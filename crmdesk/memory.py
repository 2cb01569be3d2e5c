"""Keeping Python's garbage collector out of the till's way."""

from __future__ import annotations

import gc


def settle_after_startup() -> None:
    """What is alive once the program has started (modules, mapped classes, compiled statements, the windows)
    stays alive until it ends. Collected once and then frozen out of the collector's reach, those objects are
    no longer walked by every full collection, so the pauses a sale can meet stay short."""
    gc.collect()
    gc.freeze()
