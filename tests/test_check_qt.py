"""The set-up check names the Debian package of a missing Qt library."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("check_qt", Path(__file__).parents[1] / "tools" / "check_qt.py")
check_qt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_qt)


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libEGL.so.1", "libegl1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
    ],
)
def test_debian_package_names(soname: str, package: str) -> None:
    assert check_qt.debian_package(soname) == package
