"""Qt's start is checked before the QApplication: a missing display or missing libraries are named, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crmdesk import qt_check


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
    assert qt_check.debian_package(soname) == package


def _without_display() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="only Linux needs a display named in the environment")
def test_the_app_without_a_display_says_so_and_exits_2(tmp_path: Path) -> None:
    target = tmp_path / "store.sqlite"
    result = subprocess.run([sys.executable, "-m", "crmdesk", "--db", str(target)], env=_without_display(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == qt_check.EXIT_NO_GUI == 2, result.stderr
    assert "there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)" in result.stderr
    assert "qt.qpa" not in result.stderr and "Traceback" not in result.stderr
    assert not target.exists()  # checked before anything else


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="display variables are a Linux matter")
def test_the_quick_check_by_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert "no display" in (qt_check.display_problem("") or "")
    assert "needs an X display" in (qt_check.display_problem("xcb") or "")
    assert qt_check.display_problem("offscreen") is None
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert qt_check.display_problem("") is None
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb:dpi=96")
    assert qt_check.platform_name() == "xcb"


def test_missing_libraries_name_the_packages() -> None:
    message = qt_check.library_problem("xcb", ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"])
    assert message is not None and "sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0" in message
    assert qt_check.library_problem("xcb", []) is None


def test_the_developer_check_passes_offscreen() -> None:
    env = {**_without_display(), "QT_QPA_PLATFORM": "offscreen"}
    tool = Path(__file__).parents[1] / "tools" / "check_qt.py"
    result = subprocess.run([sys.executable, str(tool)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
