"""The benchmark runs end to end at a small size, so it never rots (timings are not asserted)."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

from crmdesk.bench.run import format_table, report_json, run_bench
from crmdesk.bench.synthetic import build_store
from crmdesk.cli import main
from crmdesk.services.cards import is_valid_issued_number
from crmdesk.services.search_keys import name_search_keys


def test_synthetic_store_is_valid_data(tmp_path: Path) -> None:
    result = build_store(tmp_path / "s.sqlite", members=500, purchases_per_member=3, seed=2)
    assert (result.members, result.cards, result.purchases) == (500, 500, 1500)
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    rows = conn.execute("SELECT m.name, m.name_pinyin, m.name_initials, m.phone, c.number FROM member m JOIN card c ON c.member_id = m.id").fetchall()
    assert len({phone for *_rest, phone, _card in rows}) == 500
    for name, pinyin, initials, _phone, card in rows:
        assert (pinyin, initials) == name_search_keys(name)
        assert is_valid_issued_number(card)
    visits, spend = conn.execute("SELECT sum(visit_count), sum(total_spend_fen) FROM member").fetchone()
    assert visits == 1500 and spend == conn.execute("SELECT sum(amount_fen) FROM purchase").fetchone()[0]
    assert conn.execute("SELECT count(*) FROM member WHERE (visit_count = 0) != (last_visit_at IS NULL)").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM member WHERE tier_id IS NULL").fetchone()[0] == 0


def test_small_bench_reports_every_figure(qapp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = run_bench(2_000, 2, seed=3)
    names = [figure.name for figure in report.figures]
    for expected in ("card lookup (service)", "card lookup (raw sqlite3 floor)", "search: pinyin initials",
                     "member list: first screen", "naive: preload all into QStandardItemModel",
                     "record purchase (points + tier)", "import purchases from CSV", "import members from CSV", "peak memory (RSS)",
                     "top up (bonus rules, cap)", "pay from the wallet (purchase + points)",
                     "  floor: raw sqlite3 insert + update, durable commit", "credit aging, 2,000 accounts",
                     "member list: overdue filter (count + first page)"):
        assert expected in names
    for figure in report.figures:
        assert figure.samples or figure.value is not None or figure.note, figure.name
    money = {figure.name: figure for figure in report.figures}
    assert "x the durable-commit floor (p50)" in money["top up (bonus rules, cap)"].note
    assert money["credit aging, 2,000 accounts"].note.endswith("members owing")
    table = format_table(report)
    assert "card lookup (service)" in table and "target" in table
    json.dumps(report_json(report))


def test_bench_refuses_a_tiny_store(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["bench", "--members", "10"]) == 2
    assert "at least 100" in capsys.readouterr().err


def test_synthetic_balances_are_backed_by_the_ledger(tmp_path: Path) -> None:
    build_store(tmp_path / "s.sqlite", members=300, seed=4)
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    mismatched = conn.execute(
        "SELECT count(*) FROM member m WHERE m.points_balance <> (SELECT coalesce(sum(points), 0) FROM points_entry p WHERE p.member_id = m.id)"
    ).fetchone()[0]
    assert mismatched == 0


def test_synthetic_credit_accounts_are_consistent(tmp_path: Path) -> None:
    """Every member's cached debt is their credit ledger's sum; repayments settle the oldest charges first."""
    result = build_store(tmp_path / "s.sqlite", members=400, seed=6, credit_accounts=300)
    assert (result.credit_accounts, result.credit_entries) == (300, 300 * 3 + 300)
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    assert conn.execute("SELECT count(*) FROM credit_account").fetchone()[0] == 300
    mismatched = conn.execute(
        "SELECT count(*) FROM member m WHERE m.credit_owed_fen <> (SELECT coalesce(sum(amount_fen), 0) FROM credit_entry e WHERE e.member_id = m.id)"
    ).fetchone()[0]
    assert mismatched == 0
    settled = conn.execute(
        "SELECT e.member_id, -e.amount_fen, (SELECT sum(s.amount_fen) FROM credit_settlement s WHERE s.settled_by_id = e.id) "
        "FROM credit_entry e WHERE e.kind = 'repayment'").fetchall()
    assert settled and all(repaid == total for _member, repaid, total in settled)
    # Oldest first: a charge is settled only when every older charge of the member is settled in full.
    rows = conn.execute(
        "SELECT c.member_id, c.id, c.amount_fen, coalesce((SELECT sum(s.amount_fen) FROM credit_settlement s WHERE s.charge_id = c.id), 0) "
        "FROM credit_entry c WHERE c.kind = 'charge' ORDER BY c.member_id, c.due_on, c.id").fetchall()
    by_member: dict[int, list[tuple[int, int]]] = {}
    for member_id, _charge, amount, done in rows:
        by_member.setdefault(member_id, []).append((amount, done))
    for charges in by_member.values():
        for (older_amount, older_done), (_amount, done) in itertools.pairwise(charges):
            assert done == 0 or older_done == older_amount


def test_the_large_import_runs_in_a_process_of_its_own(qapp, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Only when named; here with a file just large enough to be imported in two parts."""
    monkeypatch.setenv("CRMDESK_BENCH_LARGE_ROWS", "21000")
    kept = tmp_path / "kept.sqlite"
    report = run_bench(200, 1, seed=4, keep=kept, only=("large-import",))
    (figure,) = [f for f in report.figures if f.name.startswith("import 21,000 purchase rows")]
    assert figure.unit == "MB" and figure.target == 500 and figure.value and figure.value > 0
    assert "rows/s" in figure.note
    conn = sqlite3.connect(kept)
    assert conn.execute("SELECT count(*) FROM purchase WHERE receipt_no LIKE 'L%'").fetchone()[0] == 21_000
    conn.close()
    assert not list(tmp_path.glob("bench-large-purchases.csv"))
