"""Command-line commands, one module per area.

Each module has ``register(add_command)``; ``add_command(name, help, handler,
within=None)`` makes a sub-command (with --db/--database-url/--as) and returns
its parser. A handler takes (db, args) and returns the exit status. Modules are
found by listing this package, so a new area needs no edit elsewhere.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from types import ModuleType


def modules() -> Iterator[ModuleType]:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            if hasattr(module, "register"):  # helpers (common, handlers registered elsewhere) have none
                yield module
