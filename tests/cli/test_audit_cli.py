"""`crmdesk audit list|export` end to end: filters, JSON and the plain table, the owner alone, exports audited."""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path

import pytest

from crmdesk import shop_time
from tests.cli.test_cli import dump, initialised, run  # noqa: F401 - the fixture


@pytest.fixture
def shop(capsys, monkeypatch, initialised: Path) -> Path:  # type: ignore[no-untyped-def]
    """A member whose points a supervisor corrected, whose wallet the owner corrected, and a cashier."""
    db = str(initialised)
    for name, role, pin in (("值班经理", "supervisor", "2468"), ("收银员小李", "cashier", "1234")):
        code, _, err = run(capsys, "--db", db, "staff", "add", name, "--role", role, "--pin-stdin", stdin=pin + "\n",
                           monkeypatch=monkeypatch)
        assert code == 0, err
    for argv in (("member", "add", "--name", "张三", "--phone", "13812345678"),
                 ("member", "add", "--name", "李四", "--phone", "13987654321"),
                 ("--as", "值班经理", "points", "adjust", "13812345678", "50", "--reason", "补录积分"),
                 ("wallet", "adjust", "13812345678", "--principal", "10", "--reason", "收银差错更正"),
                 ("--as", "收银员小李", "wallet", "topup", "13987654321", "100")):
        code, _, err = run(capsys, "--db", db, *argv)
        assert code == 0, (argv, err)
    return initialised


def _json(capsys, db: Path, *argv: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    code, out, err = run(capsys, "--db", str(db), "audit", "list", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_list_as_json_newest_first_with_labels_staff_and_members(capsys, shop: Path) -> None:  # type: ignore[no-untyped-def]
    document = _json(capsys, shop)
    events = document["events"]
    assert document["total"] == len(events) >= 8
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)
    adjust = next(e for e in events if e["action"] == "points.adjust")
    assert adjust["staff"] == "值班经理" and adjust["label"] == "Adjusted points by hand" and adjust["sensitive"] is True
    assert adjust["member"]["name"] == "张三" and adjust["member"]["member_no"].startswith("M")
    assert adjust["details"] == {"points": 50, "reason": "补录积分"} and adjust["summary"] == "points: 50; reason: 补录积分"
    assert adjust["at"].endswith("+08:00")  # the shop's clock
    topup = next(e for e in events if e["action"] == "wallet.topup")
    assert (topup["staff"], topup["member"]["name"], topup["sensitive"]) == ("收银员小李", "李四", False)


def test_filters_narrow_the_list(capsys, shop: Path) -> None:  # type: ignore[no-untyped-def]
    def actions(*argv: str) -> list[str]:
        return [e["action"] for e in _json(capsys, shop, *argv)["events"]]

    assert actions("--action", "wallet.") == ["wallet.topup", "wallet.adjust"]
    assert actions("--action", "wallet.adjust") == ["wallet.adjust"]
    assert actions("--staff", "值班经理") == ["points.adjust"]
    assert actions("--member", "13812345678") == ["wallet.adjust", "points.adjust", "member.add"]
    assert actions("--sensitive") == ["wallet.adjust", "points.adjust"]
    today = shop_time.today().isoformat()
    assert len(actions("--from", today, "--to", today)) == _json(capsys, shop)["total"]
    assert actions("--to", "2000-01-01") == []
    limited = _json(capsys, shop, "--limit", "2", "--offset", "1")
    assert len(limited["events"]) == 2 and limited["events"][0] == _json(capsys, shop)["events"][1]


def test_the_plain_table(capsys, shop: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", str(shop), "audit", "list", "--action", "points.")
    assert code == 0, err
    header, line, summary = out.splitlines()
    assert header.split() == ["Time", "Staff", "Action", "Member", "Details"]
    assert "值班经理" in line and "Adjusted points by hand (points.adjust) [sensitive]" in line and "张三" in line
    assert line.endswith("points: 50; reason: 补录积分")
    assert header.index("Staff") == line.index("值班经理")  # the columns line up, Chinese names included
    assert summary == "Showing 1 of 1 event."
    code, out, _ = run(capsys, "--db", str(shop), "audit", "list", "--action", "nothing.")
    assert (code, out) == (0, "No events match.\n")


def test_only_the_owner_reads_the_log(capsys, shop: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = dump(shop)
    for name in ("值班经理", "收银员小李"):
        code, out, err = run(capsys, "--db", str(shop), "--as", name, "audit", "list")
        assert (code, out) == (5, "") and f"{name} may not read the audit log" in err
        code, out, err = run(capsys, "--db", str(shop), "--as", name, "audit", "export", "--out", str(tmp_path / "a.csv"))
        assert (code, out) == (5, "") and "may not read the audit log" in err
    assert not (tmp_path / "a.csv").exists() and dump(shop) == before


def test_wrong_input_is_refused_and_changes_nothing(capsys, shop: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = dump(shop)
    code, _, err = run(capsys, "--db", str(shop), "audit", "list", "--from", "2026-03-02", "--to", "2026-03-01")
    assert code == 2 and "comes after the last day" in err
    code, _, err = run(capsys, "--db", str(shop), "audit", "list", "--member", "13700000000")
    assert code == 3 and "No member" in err
    code, _, err = run(capsys, "--db", str(shop), "audit", "list", "--limit", "0")
    assert code == 2 and "from 1 to 1000" in err
    code, _, err = run(capsys, "--db", str(shop), "audit", "export", "--out", str(tmp_path / "log.pdf"))
    assert code == 2 and ".csv or .xlsx" in err
    assert dump(shop) == before and not (tmp_path / "log.pdf").exists()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_is_owner_readable_only_and_itself_audited(capsys, shop: Path, tmp_path: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / f"log{suffix}"
    code, out, err = run(capsys, "--db", str(shop), "audit", "export", "--action", "wallet.", "--out", str(target))
    assert code == 0, err
    assert out == f"Wrote 2 events to {target}.\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    if suffix == ".csv":
        with target.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    else:
        from openpyxl import load_workbook

        rows = [list(row) for row in load_workbook(target).active.iter_rows(values_only=True)]
    assert rows[0][:4] == ["Time", "Staff", "Action", "Action code"]
    assert [row[3] for row in rows[1:]] == ["wallet.topup", "wallet.adjust"]
    staff, label, action, member_no, member, details, sensitive = rows[2][1:]
    assert (staff, label, action, member, sensitive) == ("王店长", "Corrected stored value by hand", "wallet.adjust", "张三", "yes")
    assert member_no.startswith("M") and details.endswith("principal: ¥10.00; bonus: ¥0.00; reason: 收银差错更正")
    (recorded,) = _json(capsys, shop, "--action", "audit.export")["events"]
    assert recorded["staff"] == "王店长" and recorded["sensitive"] is True
    assert recorded["details"] == {"file": target.name, "rows": 2, "criteria": {"action": "wallet."}}
