"""Build the one-folder package: `make package`, or `python installer/build.py [--dist DIR]`.

Runs PyInstaller on installer/crmdesk.spec, adds the Linux desktop entry, and prints the
folder's size with its largest parts. Works the same on Windows and Linux.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def largest_parts(folder: Path, count: int = 8) -> list[tuple[int, str]]:
    """The biggest files and first-level folders inside the package's _internal folder."""
    inside = folder / "_internal" if (folder / "_internal").is_dir() else folder
    parts = [(folder_size(p) if p.is_dir() else p.stat().st_size, p.relative_to(folder).as_posix())
             for p in inside.iterdir() if not p.is_symlink()]  # links point into PySide6/Qt/lib, counted there
    return sorted(parts, reverse=True)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dist", default=str(ROOT / "dist"), help="where the crmdesk folder goes (default: dist/)")
    parser.add_argument("--work", default=str(ROOT / "build" / "pyinstaller"), help="PyInstaller's scratch folder")
    args = parser.parse_args()
    dist, work = Path(args.dist).resolve(), Path(args.work).resolve()
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                    "--distpath", str(dist), "--workpath", str(work), str(ROOT / "installer" / "crmdesk.spec")],
                   check=True, cwd=ROOT)
    folder = dist / "crmdesk"
    if sys.platform.startswith("linux"):
        shutil.copy2(ROOT / "installer" / "crmdesk.desktop", folder / "crmdesk.desktop")
        shutil.copy2(ROOT / "resources" / "icons" / "crmdesk.png", folder / "crmdesk.png")
    elapsed = time.monotonic() - started
    print(f"Built {folder} in {elapsed:.0f} s: {folder_size(folder) / 1e6:.0f} MB")
    for size, name in largest_parts(folder):
        print(f"  {size / 1e6:8.1f} MB  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
