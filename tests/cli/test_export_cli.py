"""`crmdesk export members` end to end."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from crmdesk.cli import main
from crmdesk.db import open_database, sqlite_url
from crmdesk.models import MemberStatus, Role
from crmdesk.services import demo
from crmdesk.services import member_query as mq
from crmdesk.services import staff as staff_service
from crmdesk.services import store as store_service
from crmdesk.services.member_query import MemberFilter
from crmdesk.services.staff import actor_for
from crmdesk.services.uow import read_session, unit_of_work


def run(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo store with an owner, made once for the module (the commands only read it)."""
    db_path = tmp_path_factory.mktemp("cli-export") / "store.sqlite"
    db = open_database(sqlite_url(db_path))
    try:
        with unit_of_work(db) as session:
            owner = store_service.initialise(session, owner_name="王店长", owner_password="cli-owner-pass")
            staff_service.add_staff(session, owner, "值班经理", Role.SUPERVISOR, pin="2468")
        with unit_of_work(db) as session:
            demo.fill_demo_store(session, members=150, seed=2, today=date(2026, 11, 22))
    finally:
        db.dispose()
    return db_path


def _csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def _count(db_path: Path, flt: MemberFilter) -> int:
    db = open_database(sqlite_url(db_path))
    try:
        with read_session(db) as session:
            return mq.count(session, flt)
    finally:
        db.dispose()


def test_export_filtered_and_sorted_csv(capsys, store: Path, tmp_path: Path) -> None:
    out = tmp_path / "老顾客.csv"
    code, stdout, err = run(capsys, "export", "members", "--db", str(store), "--status", "active", "--tag", "老顾客",
                            "--sort", "spend", "--desc", "--out", str(out))
    assert code == 0, err
    rows = _csv(out)
    expected = _count(store, MemberFilter(statuses=(MemberStatus.ACTIVE,), tags=("老顾客",)))
    assert stdout.strip() == f"Wrote {expected} members to {out}." and len(rows) == expected > 0
    assert all(row["Status"] == "Active" and "老顾客" in row["Tags"] for row in rows)
    spends = [int(row["Spend"].replace(".", "")) for row in rows]
    assert spends == sorted(spends, reverse=True)


def test_export_xlsx_by_tier_with_chosen_columns_as_json(capsys, store: Path, tmp_path: Path) -> None:
    out = tmp_path / "silver.xlsx"
    code, stdout, err = run(capsys, "--db", str(store), "export", "members", "--tier", "银卡", "--columns", "name,tier,spend",
                            "--min-spend", "1000", "--out", str(out), "--json")
    assert code == 0, err
    report = json.loads(stdout)
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0] == ("Name", "Tier", "Spend")
    assert report["rows"] == len(rows) - 1 > 0 and report["criteria"]["spend_min_fen"] == 100_000
    assert all(tier == "银卡" and spend >= 1000 for _name, tier, spend in rows[1:])


def test_export_a_saved_group_narrowed_by_options(capsys, store: Path, tmp_path: Path) -> None:
    db = open_database(sqlite_url(store))
    try:
        with unit_of_work(db) as session:
            mq.save_filter(session, actor_for(session), "常来的", MemberFilter(statuses=(MemberStatus.ACTIVE,)))
    finally:
        db.dispose()
    out = tmp_path / "group.csv"
    code, _, err = run(capsys, "--db", str(store), "export", "members", "--group", "常来的", "--birth-month", "3",
                       "--last-visit-after", "2026-01-01", "--out", str(out))
    assert code == 0, err
    rows = _csv(out)
    assert len(rows) == _count(store, MemberFilter(statuses=(MemberStatus.ACTIVE,), birth_month=3,
                                                   last_visit_from=date(2026, 1, 2)))
    assert all(row["Birthday"][5:7] == "03" and row["Last visit"] >= "2026-01-02" for row in rows)


def test_last_visit_before_excludes_that_day(capsys, store: Path, tmp_path: Path) -> None:
    out = tmp_path / "lapsed.csv"
    code, _, err = run(capsys, "--db", str(store), "export", "members", "--last-visit-before", "2026-06-01",
                       "--sort", "last_visit", "--out", str(out))
    assert code == 0, err
    visits = [datetime.strptime(row["Last visit"], "%Y-%m-%d %H:%M") for row in _csv(out)]
    assert visits and max(visits) < datetime(2026, 6, 1) and visits == sorted(visits)
    assert max(visits) > datetime(2026, 6, 1) - timedelta(days=60)


@pytest.mark.parametrize(
    ("options", "code", "message"),
    [
        (["--birth-month", "13"], 2, "from 1 to 12"),
        (["--joined-from", "2026-13-01"], 2, "--joined-from needs a date like 2026-11-22"),
        (["--joined-from", "2026-02-01", "--joined-to", "2026-01-01"], 2, "reversed"),
        (["--min-spend", "lots"], 2, "not an amount in yuan"),
        (["--status", "asleep"], 2, "Unknown member status 'asleep'"),
        (["--tier", "白金"], 2, "no tier named '白金'"),
        (["--sort", "shoe_size"], 2, "Cannot sort by 'shoe_size'"),
        (["--columns", "name,shoe_size"], 2, "Unknown columns: shoe_size"),
        (["--group", "没有这个组"], 3, "no saved group named"),
    ],
)
def test_bad_input_is_explained_and_writes_nothing(capsys, store: Path, tmp_path: Path, options: list[str], code: int,
                                                   message: str) -> None:
    out = tmp_path / "x.csv"
    got, stdout, err = run(capsys, "--db", str(store), "export", "members", *options, "--out", str(out))
    assert (got, stdout) == (code, "") and message in err
    assert not out.exists()


def test_wrong_file_type_is_refused(capsys, store: Path, tmp_path: Path) -> None:
    code, _, err = run(capsys, "--db", str(store), "export", "members", "--out", str(tmp_path / "members.pdf"))
    assert code == 2 and ".csv or .xlsx" in err and list(tmp_path.iterdir()) == []
    code, _, err = run(capsys, "--db", str(store), "export", "members", "--out", str(tmp_path / "missing" / "members.csv"))
    assert code == 2 and "does not exist" in err and list(tmp_path.iterdir()) == []


def test_only_the_owner_may_export(capsys, store: Path, tmp_path: Path) -> None:
    code, out, err = run(capsys, "--db", str(store), "export", "members", "--as", "值班经理",
                         "--out", str(tmp_path / "members.csv"))
    assert (code, out) == (5, "") and "may not export members' data" in err and list(tmp_path.iterdir()) == []
