"""Check that Qt can start here, and name the OS package to install when it cannot."""

from __future__ import annotations

import os
import subprocess
import sys

# Libraries Qt needs that minimal Linux installs lack, and the Debian/Ubuntu package of each.
PACKAGES = {
    "libEGL": "libegl1",
    "libGL.so": "libgl1",
    "libxkbcommon.so": "libxkbcommon0",
    "libxkbcommon-x11": "libxkbcommon-x11-0",
    "libfontconfig": "libfontconfig1",
    "libdbus": "libdbus-1-3",
    "xcb-cursor": "libxcb-cursor0",
    "libxcb-icccm": "libxcb-icccm4",
    "libxcb-keysyms": "libxcb-keysyms1",
    "libxcb-shape": "libxcb-shape0",
}
PROBE = "from PySide6.QtWidgets import QApplication; QApplication([])"


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
    output = result.stdout + result.stderr
    missing = sorted({package for marker, package in PACKAGES.items() if marker in output})
    if "xcb" in output and not missing:
        missing = ["libxcb-cursor0", "libxkbcommon-x11-0", "libxcb-icccm4", "libxcb-keysyms1", "libxcb-shape0"]
    print(output.strip()[-2000:], file=sys.stderr)
    if missing:
        print(f"\nQt cannot start: install the OS package(s): sudo apt-get install {' '.join(missing)}", file=sys.stderr)
    else:
        print("\nQt cannot start (see the message above).", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
