"""The command line end to end: exit statuses, messages, and an unchanged database on errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crmdesk import __version__
from crmdesk.cli import main

OWNER_PASSWORD = "cli-owner-pass"


def run(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def dump(path: Path) -> list[str]:
    """Every schema object and row of a SQLite database, as SQL: equal dumps mean nothing changed."""
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


@pytest.fixture
def initialised(capsys, monkeypatch, db_path: Path) -> Path:  # type: ignore[no-untyped-def]
    code, _, err = run(capsys, "--db", str(db_path), "init", "--owner", "王店长", "--store-name", "好邻居超市",
                       "--password-stdin", stdin=OWNER_PASSWORD + "\n", monkeypatch=monkeypatch)
    assert code == 0, err
    return db_path


def test_version_from_an_installed_console_script() -> None:
    result = subprocess.run([sys.executable, "-m", "crmdesk", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"crmdesk {__version__}"


def test_init_then_show_the_store_as_json(capsys, initialised: Path) -> None:
    code, out, _ = run(capsys, "store", "show", "--json", "--db", str(initialised))
    assert code == 0
    assert json.loads(out)["store_name"] == "好邻居超市"


def test_database_from_the_environment(capsys, monkeypatch, initialised: Path) -> None:
    monkeypatch.setenv("CRMDESK_DB", str(initialised))
    code, out, _ = run(capsys, "staff", "list", "--json")
    assert code == 0 and [row["name"] for row in json.loads(out)] == ["王店长"]


def test_init_twice_is_refused(capsys, monkeypatch, initialised: Path) -> None:
    code, _, err = run(capsys, "--db", str(initialised), "init", "--owner", "别人", "--password-stdin",
                       stdin="another-pass-1\n", monkeypatch=monkeypatch)
    assert code == 4 and "already set up" in err


def test_init_with_a_short_password_leaves_the_database_empty(capsys, monkeypatch, db_path: Path) -> None:
    code, _, err = run(capsys, "--db", str(db_path), "init", "--owner", "王店长", "--password-stdin",
                       stdin="short\n", monkeypatch=monkeypatch)
    assert code == 2 and "at least 8 characters" in err
    code, _, err = run(capsys, "--db", str(db_path), "store", "show")
    assert code == 7 and "no owner yet" in err


def test_init_without_a_terminal_or_stdin_flag_explains(capsys, monkeypatch, db_path: Path) -> None:
    code, _, err = run(capsys, "init", "--owner", "王店长", "--db", str(db_path), stdin="", monkeypatch=monkeypatch)
    assert code == 2 and "--password-stdin" in err


def test_a_database_in_a_missing_folder_is_refused_without_creating_anything(capsys, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "store.sqlite"
    code, out, err = run(capsys, "--db", str(target), "staff", "list")
    assert code == 7 and "does not exist" in err and out == ""
    assert not target.parent.exists()


def test_a_file_that_is_not_a_database_is_refused_untouched(capsys, tmp_path: Path) -> None:
    target = tmp_path / "photo.jpg"
    target.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 200)
    code, _, err = run(capsys, "store", "show", "--db", str(target))
    assert code == 7 and "not a crmdesk database" in err
    assert target.read_bytes() == b"\xff\xd8\xff\xe0" + b"\x00" * 200


def test_staff_add_list_disable_and_refusals(capsys, monkeypatch, initialised: Path) -> None:
    db = str(initialised)
    code, _, err = run(capsys, "staff", "add", "收银员小王", "--role", "cashier", "--pin-stdin", "--db", db,
                       stdin="1111\n", monkeypatch=monkeypatch)
    assert code == 0, err
    # A cashier may not manage staff, and the refusal changes nothing.
    code, _, err = run(capsys, "--as", "收银员小王", "--db", db, "staff", "add", "新人", "--pin-stdin",
                       stdin="2222\n", monkeypatch=monkeypatch)
    assert code == 5 and "may not manage staff" in err
    code, _, err = run(capsys, "--db", db, "--as", "收银员小王", "store", "set", "--name", "改名")
    assert code == 5
    code, out, _ = run(capsys, "--db", db, "staff", "list", "--json")
    assert sorted(row["name"] for row in json.loads(out)) == ["收银员小王", "王店长"]
    code, _, _ = run(capsys, "--db", db, "staff", "disable", "收银员小王")
    assert code == 0
    code, out, _ = run(capsys, "--db", db, "staff", "list", "--json")
    assert {row["name"]: row["active"] for row in json.loads(out)} == {"收银员小王": False, "王店长": True}
    code, _, err = run(capsys, "--db", db, "staff", "disable", "没有这个人")
    assert code == 3 and "No staff member called" in err
    code, _, err = run(capsys, "--db", db, "--as", "没有这个人", "store", "set", "--phone", "1")
    assert code == 3


def test_store_set_changes_only_what_is_given(capsys, initialised: Path) -> None:
    db = str(initialised)
    assert run(capsys, "--db", db, "store", "set", "--address", "幸福路 8 号")[0] == 0
    _, out, _ = run(capsys, "--db", db, "store", "show", "--json")
    assert json.loads(out) | {} == {**json.loads(out), "store_name": "好邻居超市", "address": "幸福路 8 号"}


def _screenshot(db: Path, lang: str, target: Path, view: str = "overview") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "crmdesk", "--db", str(db), "--lang", lang, "--view", view, "--screenshot", str(target)],
        capture_output=True, text=True, env=env, timeout=120,
    )


def test_screenshot_in_both_languages(initialised: Path, tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QImage

    images = {}
    for lang in ("en", "zh_CN"):
        target = tmp_path / f"window-{lang}.png"
        result = _screenshot(initialised, lang, target, view="settings")
        assert result.returncode == 0, result.stderr
        image = QImage(str(target))
        # The window as it opens maximised on a 1280×800 screen: less the taskbar and the title bar.
        assert (image.width(), image.height()) == (1280 - 2, 800 - 40 - 32)
        images[lang] = image
    assert images["en"] != images["zh_CN"]


def test_screenshot_of_an_uninitialised_database_explains(db_path: Path, tmp_path: Path) -> None:
    result = _screenshot(db_path, "en", tmp_path / "x.png")
    assert result.returncode == 7 and "no owner yet" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_demo_fills_an_empty_database_and_refuses_to_overwrite(capsys, db_path: Path) -> None:
    db = str(db_path)
    code, out, err = run(capsys, "--db", db, "demo", "--members", "40", "--seed", "5", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["members"] == 40 and summary["purchases"] > 0
    before = db_path.read_bytes()
    code, _, err = run(capsys, "--db", db, "demo", "--members", "40")
    assert code == 4 and "--force" in err
    code, out, _ = run(capsys, "--db", db, "staff", "list", "--json")
    assert "店长" in [row["name"] for row in json.loads(out)]
    code, out, err = run(capsys, "--db", db, "demo", "--members", "30", "--force", "--json")
    assert code == 0 and json.loads(out)["members"] == 30
    assert db_path.read_bytes() != before


def test_demo_rejects_a_bad_member_count(capsys, db_path: Path) -> None:
    code, _, err = run(capsys, "--db", str(db_path), "demo", "--members", "0")
    assert code == 2 and "from 1 to" in err
