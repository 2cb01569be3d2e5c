"""`crmdesk backup`, `backup list`, `backup settings`, `restore` and `check` end to end."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from crmdesk.cli import main

OWNER_PASSWORD = "cli-owner-pass"


def run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def shop(capsys, monkeypatch, db_path: Path) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.StringIO(OWNER_PASSWORD + "\n"))
    code, _, err = run(capsys, "--db", str(db_path), "init", "--owner", "王店长", "--password-stdin")
    assert code == 0, err
    for phone in ("13812345678", "13912345678"):
        code, _, err = run(capsys, "--db", str(db_path), "member", "add", "--name", "顾客", "--phone", phone)
        assert code == 0, err
    code, _, err = run(capsys, "--db", str(db_path), "purchase", "add", "--member", "13812345678", "--amount", "88.00")
    assert code == 0, err
    return str(db_path)


def test_backup_list_check_and_restore(capsys, monkeypatch, shop: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", shop, "backup", "--json")
    assert code == 0, err
    made = json.loads(out)
    assert made["members"] == 2 and made["verified"] and Path(made["path"]).exists()
    code, out, _ = run(capsys, "--db", shop, "backup", "list", "--json")
    assert code == 0 and [item["sha256"] for item in json.loads(out)] == [made["sha256"]]

    code, out, _ = run(capsys, "--db", shop, "check")
    assert code == 0 and "Checked 2 members: the data is sound." in out

    connection = sqlite3.connect(shop)
    connection.execute("UPDATE member SET total_spend_fen = 1 WHERE phone = '+8613812345678'")
    connection.commit()
    connection.close()
    code, out, _ = run(capsys, "--db", shop, "check")
    assert code == 9
    assert "Total spend differs from the purchases: stored ¥0.01, its source gives ¥88.00" in out and "--repair" in out
    code, out, _ = run(capsys, "--db", shop, "check", "--json")
    assert code == 9 and json.loads(out)["findings"][0]["kind"] == "spend"

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = run(capsys, "--db", shop, "restore", made["path"])
    assert code == 2 and "--yes" in err  # no terminal to confirm at
    code, out, err = run(capsys, "--db", shop, "restore", made["path"], "--yes")
    assert code == 0, err
    assert "Restored 2 members" in out and "before-restore" in out and "reopen" in out
    code, out, _ = run(capsys, "--db", shop, "check")
    assert code == 0


def test_check_repair_puts_figures_right(capsys, shop: str) -> None:  # type: ignore[no-untyped-def]
    connection = sqlite3.connect(shop)
    connection.execute("UPDATE member SET visit_count = 4")
    connection.commit()
    connection.close()
    code, out, err = run(capsys, "--db", shop, "check", "--repair")
    assert code == 0, err
    assert "Repaired 2 figures" in out and "the data is sound" in out


def test_only_the_owner_checks_and_restores(capsys, monkeypatch, shop: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.StringIO("2468\n"))
    code, _, err = run(capsys, "--db", shop, "staff", "add", "小王", "--role", "supervisor", "--pin-stdin")
    assert code == 0, err
    for argv in (("check",), ("restore", "x.sqlite.gz", "--yes"), ("backup", "settings", "--keep-daily", "3")):
        code, _, err = run(capsys, "--db", shop, "--as", "小王", *argv)
        assert code == 5 and "ask the owner" in err


def test_backup_settings_and_a_second_place(capsys, shop: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    usb = tmp_path / "usb"
    code, out, err = run(capsys, "--db", shop, "backup", "settings", "--keep-daily", "5", "--second-place", str(usb), "--json")
    assert code == 0, err
    assert json.loads(out)["keep_daily"] == 5 and json.loads(out)["second_place"] == str(usb)
    code, out, _ = run(capsys, "--db", shop, "backup")
    assert code == 0 and "second place" in out and "not reachable" in out
    code, _, err = run(capsys, "--db", shop, "backup", "settings", "--second-place", "relative/folder")
    assert code == 2 and "full folder path" in err


def test_backup_to_a_folder_that_is_a_file_is_refused(capsys, shop: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "--db", shop, "backup", "--to", str(blocker))
    assert code == 2 and "is a file" in err
