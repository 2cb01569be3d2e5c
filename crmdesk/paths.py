"""Where crmdesk finds its resources and keeps its data.

One place for both, so the program behaves the same from a source checkout and
from the frozen (PyInstaller) folder, which may be read-only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "crmdesk"


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def _bundle_root() -> Path:
    if is_frozen():
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return Path(__file__).resolve().parent.parent


def resource_path(*parts: str) -> Path:
    """Path of a file under resources/ (icons, translations, fonts)."""
    return _bundle_root().joinpath("resources", *parts)


def package_path(*parts: str) -> Path:
    """Path of a file shipped inside the crmdesk package (migrations)."""
    return Path(__file__).resolve().parent.joinpath(*parts)


def data_dir() -> Path:
    """Per-user data directory; CRMDESK_DATA_DIR overrides it (portable installs, tests)."""
    override = os.environ.get("CRMDESK_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    path = data_dir() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path
