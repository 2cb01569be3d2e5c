"""Check that Qt can start here, and name the OS packages to install when it cannot."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PROBE = "from PySide6.QtWidgets import QApplication; QApplication([])"


def debian_package(soname: str) -> str:
    """Debian's name for the package of a shared library: libxcb-icccm.so.4 -> libxcb-icccm4."""
    match = re.match(r"(lib[\w.+-]*?)\.so\.(\d+)", soname)
    if not match:
        return soname
    base, major = match.group(1).lower(), match.group(2)
    return f"{base}-{major}" if base[-1].isdigit() else f"{base}{major}"


def missing_libraries(platform: str) -> list[str]:
    """Shared libraries that Qt's platform plugin needs and this system lacks (via ldd)."""
    if not sys.platform.startswith("linux") or shutil.which("ldd") is None:
        return []
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    plugin = "libqxcb.so" if platform in ("", "xcb") else f"libq{platform}.so"
    candidates = [qt / "plugins" / "platforms" / plugin, *sorted((qt / "lib").glob("libQt6XcbQpa.so*"))[:1]]
    missing: set[str] = set()
    for binary in candidates:
        if binary.exists():
            output = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
            missing.update(re.findall(r"^\s*(\S+) => not found", output, flags=re.MULTILINE))
    return sorted(missing)


def main() -> int:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if sys.platform.startswith("linux") and platform != "offscreen" and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        print(
            "crmdesk needs a desktop session to open its window (no DISPLAY or WAYLAND_DISPLAY is set).\n"
            "Without a screen, try: .venv/bin/crmdesk --demo --screenshot window.png",
            file=sys.stderr,
        )
        return 1
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    if result.returncode == 0:
        return 0
    output = (result.stdout + result.stderr).strip()
    libraries = sorted(set(missing_libraries(platform)) | set(re.findall(r"(lib[\w.+-]+\.so\.\d+)[^\n]*No such file", output)))
    print(output[-2000:], file=sys.stderr)
    if libraries:
        packages = " ".join(sorted({debian_package(lib) for lib in libraries}))
        print(f"\nQt cannot start: missing {', '.join(libraries)}.\nInstall the OS packages: sudo apt-get install {packages}", file=sys.stderr)
    else:
        print("\nQt cannot start (see the message above).", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
