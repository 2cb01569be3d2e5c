"""Can Qt open a window here? Checked before the QApplication is made, so that a PC without a
desktop session or without Qt's system libraries gets a message naming what is missing (and
exit status 2) instead of Qt's own abort.

``gui_problem()`` is what `crmdesk` runs before it starts the app: instant checks only (the
display variables on Linux, and which shared libraries Qt's platform plugin lacks, by ldd).
``main()`` -- `python -m crmdesk.qt_check`, also run by tools/check_qt.py for `make run` and
`make test` -- adds a real start of a QApplication in a child process and shows Qt's message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

EXIT_NO_GUI = 2
PROBE = "from PySide6.QtWidgets import QApplication; QApplication([])"
# Platform plugins that draw into memory or straight onto the hardware: no display server needed.
NO_DISPLAY_NEEDED = {"offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay"}
NO_DISPLAY = (
    "cannot open its window: there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set). "
    "Start it from a desktop session. Without a screen, the commands still work (crmdesk --help), "
    "and crmdesk --screenshot window.png renders the window to a picture."
)
NO_X_DISPLAY = (
    "cannot open its window: QT_QPA_PLATFORM is {platform}, which needs an X display, and DISPLAY is not set. "
    "Start it from a desktop session, or unset QT_QPA_PLATFORM."
)
MISSING_LIBRARIES = (
    "cannot open its window: Qt's {platform} platform plugin needs libraries this system lacks: {libraries}.\n"
    "Install the OS packages (Debian, Ubuntu): sudo apt-get install {packages}"
)


def platform_name(requested: str | None = None) -> str:
    """The platform plugin Qt will load: QT_QPA_PLATFORM's first choice without its options ('' = Qt's default)."""
    text = os.environ.get("QT_QPA_PLATFORM", "") if requested is None else requested
    return text.split(";")[0].split(":")[0].strip().lower()


def debian_package(soname: str) -> str:
    """Debian's name for the package of a shared library: libxcb-icccm.so.4 -> libxcb-icccm4."""
    match = re.match(r"(lib[\w.+-]*?)\.so\.(\d+)", soname)
    if not match:
        return soname
    base, major = match.group(1).lower(), match.group(2)
    return f"{base}-{major}" if base[-1].isdigit() else f"{base}{major}"


def missing_libraries(platform: str) -> list[str]:
    """Shared libraries that Qt's platform plugin needs and this system lacks (via ldd; Linux only)."""
    if not sys.platform.startswith("linux") or shutil.which("ldd") is None:
        return []
    try:
        import PySide6
    except ImportError:
        return []
    qt = Path(PySide6.__file__).parent / "Qt"
    name = platform or "xcb"
    candidates = [qt / "plugins" / "platforms" / f"libq{name}.so"]
    if name == "xcb":
        candidates += sorted((qt / "lib").glob("libQt6XcbQpa.so*"))[:1]
    missing: set[str] = set()
    for binary in candidates:
        if binary.exists():
            try:
                output = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=30).stdout
            except (OSError, subprocess.SubprocessError):
                continue
            missing.update(re.findall(r"^\s*(\S+) => not found", output, flags=re.MULTILINE))
    return sorted(missing)


def display_problem(platform: str) -> str | None:
    """Why no window can open for lack of a display server, or None (only Linux needs one set in the environment)."""
    if not sys.platform.startswith("linux") or platform in NO_DISPLAY_NEEDED:
        return None
    has_x, has_wayland = bool(os.environ.get("DISPLAY")), bool(os.environ.get("WAYLAND_DISPLAY"))
    if platform == "" and not (has_x or has_wayland):
        return NO_DISPLAY
    if platform == "xcb" and not has_x:
        return NO_X_DISPLAY.format(platform=platform)
    return None


def library_problem(platform: str, libraries: list[str]) -> str | None:
    if not libraries:
        return None
    packages = " ".join(sorted({debian_package(lib) for lib in libraries}))
    return MISSING_LIBRARIES.format(platform=platform or "xcb", libraries=", ".join(libraries), packages=packages)


def gui_problem(platform: str | None = None) -> str | None:
    """What keeps Qt from starting here, in words a person can act on, or None. Quick: no Qt is started.

    ``platform``: the platform plugin that will be used (e.g. "offscreen" for a screenshot); default:
    the one QT_QPA_PLATFORM asks for."""
    name = platform_name(platform)
    problem = display_problem(name)
    if problem is not None or (name == "" and os.environ.get("WAYLAND_DISPLAY")):
        return problem  # in a Wayland session Qt may well not use its X11 plugin: leave the choice to Qt
    return library_problem(name, missing_libraries(name))


def main() -> int:
    """The full check for a developer's machine: the quick checks, then a real QApplication in a child process."""
    problem = gui_problem()
    if problem is not None:
        print(f"crmdesk {problem}", file=sys.stderr)
        return EXIT_NO_GUI
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    if result.returncode == 0:
        return 0
    output = (result.stdout + result.stderr).strip()
    libraries = sorted(set(re.findall(r"(lib[\w.+-]+\.so\.\d+)[^\n]*No such file", output)))
    print(output[-2000:], file=sys.stderr)
    print(f"\ncrmdesk {library_problem(platform_name(), libraries) or 'cannot start Qt (see the message above).'}",
          file=sys.stderr)
    return EXIT_NO_GUI


if __name__ == "__main__":
    raise SystemExit(main())
