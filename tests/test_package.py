"""The frozen build, as a shop gets it: PyInstaller's one-folder package, run with an empty
environment and a fresh data directory (no Python, no .venv, nothing of this checkout).

Building takes a minute or two, so it runs only when asked: CRMDESK_TEST_PACKAGE=1 (.ci/run
sets it). CRMDESK_PACKAGE_DIR=dist/crmdesk tests a folder `make package` built already.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from crmdesk import __version__
from tests.reports.pdf_tools import all_text, fonts

ROOT = Path(__file__).resolve().parent.parent
WINDOWS = sys.platform == "win32"

pytestmark = [
    pytest.mark.package,
    pytest.mark.skipif(not (os.environ.get("CRMDESK_TEST_PACKAGE") or os.environ.get("CRMDESK_PACKAGE_DIR")),
                       reason="set CRMDESK_TEST_PACKAGE=1 to build the package and run it (.ci/run does)"),
]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = os.environ.get("CRMDESK_PACKAGE_DIR")
    if built:
        return Path(built).resolve()
    scratch = tmp_path_factory.mktemp("package")
    subprocess.run([sys.executable, str(ROOT / "installer" / "build.py"), "--dist", str(scratch / "dist"),
                    "--work", str(scratch / "work")], check=True, cwd=ROOT)
    return scratch / "dist" / "crmdesk"


def run(package: Path, home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The packaged executable with nothing but a home, a data directory and the offscreen screen."""
    env = {"HOME": str(home), "CRMDESK_DATA_DIR": str(home / "data"), "QT_QPA_PLATFORM": "offscreen"}
    if WINDOWS:
        env["SYSTEMROOT"] = os.environ.get("SYSTEMROOT", r"C:\Windows")
    executable = package / ("crmdesk-cli.exe" if WINDOWS else "crmdesk")
    return subprocess.run([str(executable), *argv], env=env, cwd=home, capture_output=True, text=True,
                          encoding="utf-8", timeout=300)


def test_the_packaged_program_runs_without_python(package: Path, tmp_path: Path) -> None:
    before = sorted(p.relative_to(package).as_posix() for p in package.rglob("*"))
    store = tmp_path / "store.sqlite"

    version = run(package, tmp_path, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"crmdesk {__version__}"

    demo = run(package, tmp_path, "demo", "--db", str(store), "--members", "200")
    assert demo.returncode == 0, demo.stderr  # the bundled Alembic migrations built the schema

    shot = tmp_path / "members.png"
    screenshot = run(package, tmp_path, "--lang", "zh_CN", "--db", str(store), "--view", "members", "--size", "1024x768",
                     "--screenshot", str(shot))
    assert screenshot.returncode == 0, screenshot.stderr
    with Image.open(shot) as image:
        assert image.size == (1024 - 2, 768 - 40 - 32)  # maximised on that screen: taskbar and title bar taken off

    pdf_path = tmp_path / "member.pdf"
    report = run(package, tmp_path, "--lang", "zh_CN", "report", "member", "M00000001", "--db", str(store),
                 "--out", str(pdf_path))
    assert report.returncode == 0, report.stderr
    with sqlite3.connect(store) as connection:
        (name,) = connection.execute("SELECT name FROM member WHERE member_no = 'M00000001'").fetchone()
    pdf = pdf_path.read_bytes()
    assert name in all_text(pdf) and "会员报告" in all_text(pdf)
    assert fonts(pdf) and all(fonts(pdf).values())

    assert (tmp_path / "data").is_dir()  # settings and caches went to the data directory ...
    assert sorted(p.relative_to(package).as_posix() for p in package.rglob("*")) == before  # ... not into the program
