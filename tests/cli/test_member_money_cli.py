"""The member-list money options on the command line: export (and print) by stored value, debt and overdue."""

from __future__ import annotations

from pathlib import Path

from crmdesk.db import open_database, sqlite_url
from crmdesk.services import credit
from crmdesk.services import member_query as mq
from crmdesk.services.member_query import MemberFilter
from crmdesk.services.uow import read_session
from tests.cli.test_export_cli import _csv, run, store  # noqa: F401 - the module's demo store


def test_export_by_stored_value_debt_and_overdue(capsys, store: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "money.csv"
    code, _, err = run(capsys, "export", "members", "--db", str(store), "--min-stored-value", "100", "--columns",
                       "member_no,name,wallet,owed", "--sort", "owed", "--desc", "--out", str(out))
    assert code == 0, err
    rows = _csv(out)
    assert list(rows[0]) == ["Member no.", "Name", "Stored value", "Owed"]
    assert rows and all(float(row["Stored value"]) >= 100 for row in rows)
    db = open_database(sqlite_url(store))
    try:
        with read_session(db) as session:
            assert len(rows) == mq.count(session, MemberFilter(wallet_min_fen=10_000))
            overdue = {row.member_no for row in credit.overdue_members(session)}
            owing = mq.count(session, MemberFilter(owes=True))
    finally:
        db.dispose()
    code, _, err = run(capsys, "export", "members", "--db", str(store), "--owes", "--overdue", "--out", str(out))
    assert code == 0, err
    assert {row["Member no."] for row in _csv(out)} == overdue and 0 < len(overdue) <= owing
    code, _, err = run(capsys, "export", "members", "--db", str(store), "--min-stored-value", "-1", "--out", str(out))
    assert code != 0 and "cannot be negative" in err
