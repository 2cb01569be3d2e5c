"""Complaints and surveys from the command line, end to end: exit statuses, messages, an unchanged database on errors."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crmdesk.models.offer import OfferKind
from crmdesk.services import complaints, loyalty, members, offers
from crmdesk.services.uow import unit_of_work
from tests.cli.test_cli import run

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TABLES = ("complaint", "complaint_event", "complaint_resolution", "complaint_follow_up", "complaint_attachment", "points_entry",
          "coupon", "survey_response", "survey_score", "audit_event")


@pytest.fixture
def store(db, owner, cashier, supervisor, db_path: Path) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        members.register(session, owner, members.MemberInput(name="张三", phone="13812345678"))
        offers.create_offer(session, owner, offers.OfferInput(name="致歉券", kind=OfferKind.AMOUNT_OFF, reduction_fen=1_000,
                                                               coupon_required=True))
    db.dispose()
    return str(db_path)


def state(path: str) -> tuple:
    """Row counts of every table a complaint or survey touches, and each complaint's status and points."""
    with sqlite3.connect(path) as conn:
        counts = tuple(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES)
        rows = conn.execute("SELECT id, status, owner_staff_id, resolved_at, closed_at FROM complaint ORDER BY id").fetchall()
        balances = conn.execute("SELECT id, points_balance FROM member ORDER BY id").fetchall()
    conn.close()
    return counts, rows, balances


def refused(capsys, store: str, code: int, message: str, *argv: str) -> None:  # type: ignore[no-untyped-def]
    before = state(store)
    status, out, err = run(capsys, "--db", store, *argv)
    assert (status, out) == (code, ""), err
    assert message in err and err.startswith("crmdesk: ")
    assert state(store) == before


def add(capsys, store: str, *argv: str) -> dict:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", store, "complaint", "add", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_log_with_a_photo_list_and_show_the_timeline(capsys, store: str, tmp_path: Path) -> None:
    photo = tmp_path / "排骨.png"
    photo.write_bytes(PNG)
    logged = add(capsys, store, "--member", "13812345678", "--category", "Expired or spoiled goods", "--channel", "phone",
                 "--description", "买到过期酸奶", "--request", "退款", "--attach", str(photo))
    assert (logged["status"], logged["priority"], logged["customer"], logged["category"], logged["channel"]) == (
        "new", "high", "张三", "expired", "phone")
    walk_in = add(capsys, store, "--name", "李女士", "--phone", "13900000000", "--category", "other", "--description", "想买无糖饮料",
                  "--time", "2026-01-05T09:30")
    assert (walk_in["customer"], walk_in["walk_in_phone"], walk_in["received_at"]) == ("李女士", "+8613900000000", "2026-01-05T01:30:00+00:00")
    code, out, _ = run(capsys, "--db", store, "complaint", "list", "--json")
    document = json.loads(out)
    assert document["counts"]["by_status"]["new"] == 2 and document["counts"]["overdue"] == 1  # the January one
    assert [c["id"] for c in document["complaints"]] == [walk_in["id"], logged["id"]]
    code, out, _ = run(capsys, "--db", store, "complaint", "list", "--overdue", "--json")
    assert [c["id"] for c in json.loads(out)["complaints"]] == [walk_in["id"]]
    code, out, _ = run(capsys, "--db", store, "complaint", "list", "--category", "expired")
    assert code == 0 and "Open 2, overdue 1" in out and "买到过期酸奶" in out and "想买无糖饮料" not in out
    code, out, _ = run(capsys, "--db", store, "complaint", "show", str(logged["id"]), "--json")
    detail = json.loads(out)
    assert [(e["kind"], e["to_status"]) for e in detail["timeline"]] == [("logged", "new")]
    assert [(a["file_name"], a["mime_type"], a["size_bytes"]) for a in detail["attachments"]] == [("排骨.png", "image/png", len(PNG))]
    code, out, _ = run(capsys, "--db", store, "complaint", "show", str(logged["id"]))
    assert code == 0 and "logged - → new" in out and "attachment" in out


def test_work_a_complaint_to_closure_with_goodwill_posted_once(capsys, store: str) -> None:
    complaint_id = str(add(capsys, store, "--member", "13812345678", "--category", "quality", "--description", "水果坏了")["id"])

    def update(*argv: str, actor: str = "值班经理") -> dict:
        code, out, err = run(capsys, "--db", store, "--as", actor, "complaint", "update", complaint_id, *argv, "--json")
        assert code == 0, err
        return json.loads(out)

    assert update("--assign", "收银员小李", "--department", "生鲜部")["status"] == "assigned"
    assert update("--status", "in_progress", "--note", "去看了同批次", actor="收银员小李")["first_response_at"] is not None
    update("--note", "电话联系了顾客", "--contact", actor="收银员小李")
    resolved = update("--remedy", "apology", "--goodwill-points", "100", "--told", "--note", "赠送积分致歉")
    assert resolved["status"] == "resolved"
    code, out, _ = run(capsys, "--db", store, "points", "show", "13812345678", "--json")
    assert json.loads(out)["balance"] == 100
    # The same command again changes nothing: the complaint is resolved already.
    refused(capsys, store, 4, "is resolved; it cannot be moved to resolved", "--as", "值班经理", "complaint", "update", complaint_id,
            "--remedy", "apology", "--goodwill-points", "100")
    # Reopened and resolved again with the same goodwill: refused; an explicit additional remedy posts it.
    refused(capsys, store, 4, "already compensated", "--as", "值班经理", "complaint", "update", complaint_id, "--reopen", "又来投诉",
            "--goodwill-points", "100")
    update("--reopen", "又来投诉", "--goodwill-points", "30", "--additional")
    code, out, _ = run(capsys, "--db", store, "points", "show", "13812345678", "--json")
    assert json.loads(out)["balance"] == 130
    assert update("--follow-up-score", "4", "--follow-up-method", "phone", "--comment", "满意")["status"] == "followed_up"
    assert update("--status", "closed", actor="收银员小李")["status"] == "closed"
    code, out, _ = run(capsys, "--db", store, "complaint", "show", complaint_id, "--json")
    detail = json.loads(out)
    assert code == 0
    assert [e["kind"] for e in detail["timeline"]] == [
        "logged", "assigned", "status", "contact", "resolved", "reopened", "resolved", "followed_up", "closed"]
    assert [(r["goodwill_points"], r["customer_told"]) for r in detail["resolutions"]] == [(100, True), (30, False)]
    assert [(f["satisfaction"], f["comment"]) for f in detail["follow_ups"]] == [(4, "满意")]


def test_a_coupon_as_the_remedy(capsys, store: str) -> None:
    complaint_id = str(add(capsys, store, "--member", "13812345678", "--category", "price", "--description", "多收了钱")["id"])
    code, out, err = run(capsys, "--db", store, "complaint", "update", complaint_id, "--coupon-offer", "致歉券", "--refund", "2.50",
                         "--told", "--json")
    assert code == 0, err
    code, out, _ = run(capsys, "--db", store, "complaint", "show", complaint_id, "--json")
    resolution = json.loads(out)["resolutions"][0]
    assert resolution["remedies"] == ["refund", "coupon"] and resolution["refund_fen"] == 250 and len(resolution["coupon_code"]) == 10


def test_refusals_print_a_message_exit_non_zero_and_change_nothing(capsys, store: str, tmp_path: Path) -> None:
    complaint_id = str(add(capsys, store, "--member", "13812345678", "--category", "quality", "--description", "x")["id"])
    big = tmp_path / "scan.pdf"
    big.write_bytes(b"%" * (complaints.MAX_ATTACHMENT_BYTES + 1))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    base = ("complaint", "add", "--category", "quality", "--description", "y")
    refused(capsys, store, 3, "No member with the card, member number or phone 13700000000", *base, "--member", "13700000000")
    refused(capsys, store, 2, "an attachment may have at most 10 MB", *base, "--attach", str(big))
    refused(capsys, store, 2, "not a photo or a PDF scan", *base, "--attach", str(text))
    refused(capsys, store, 2, "Cannot read the file", *base, "--attach", str(tmp_path / "missing.png"))
    refused(capsys, store, 3, "Nothing in the list is called 'parking'", "complaint", "add", "--category", "parking", "--description", "y")
    update = ("complaint", "update", complaint_id)
    refused(capsys, store, 4, "is new; it cannot be moved to followed up", *update, "--follow-up-score", "4")
    refused(capsys, store, 2, "Nothing to change", *update)
    refused(capsys, store, 2, "positive number of points", *update, "--goodwill-points", "-5")
    refused(capsys, store, 2, "at most 10 MB", *update, "--attach", str(big))
    refused(capsys, store, 3, "No complaint with id 999", "complaint", "update", "999", "--note", "x")
    refused(capsys, store, 3, "No complaint with id 999", "complaint", "show", "999")
    assert run(capsys, "--db", store, "--as", "收银员小李", *update, "--remedy", "apology")[0] == 0  # the cashier takes it
    refused(capsys, store, 2, "6 is not on the scale", *update, "--follow-up-score", "6")
    refused(capsys, store, 2, "0 is not on the scale", *update, "--follow-up-score", "0")
    refused(capsys, store, 4, "has had no follow-up yet", *update, "--status", "closed")
    refused(capsys, store, 5, "may not close a complaint without its follow-up", "--as", "收银员小李", *update, "--skip-follow-up", "打不通")
    # A refused step takes the earlier steps of the same command back with it.
    refused(capsys, store, 4, "has had no follow-up yet", *update, "--note", "先记一笔", "--status", "closed")
    code, out, err = run(capsys, "--db", store, "--as", "值班经理", *update, "--skip-follow-up", "顾客不接电话", "--json")
    assert code == 0 and json.loads(out)["status"] == "closed", err


def test_monthly_figures_as_json(capsys, store: str) -> None:
    add(capsys, store, "--member", "13812345678", "--category", "quality", "--description", "x")
    month = f"{loyalty.local_day(datetime.now(UTC)):%Y-%m}"
    code, out, err = run(capsys, "--db", store, "complaint", "figures", "--month", month, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert (document["month"], document["received"]) == (month, 1)
    assert [(c["code"], c["count"]) for c in document["by_category"]][:2] == [("quality", 1), ("expired", 0)]
    code, out, _ = run(capsys, "--db", store, "complaint", "figures", "--month", month)
    assert code == 0 and f"{month}: 1 complaint\n" in out and "Product quality 1" in out
    refused(capsys, store, 2, "is not a month", "complaint", "figures", "--month", "2026-13")


def test_surveys_from_the_command_line(capsys, store: str) -> None:
    code, out, err = run(capsys, "--db", store, "--as", "收银员小李", "survey", "add", "--member", "13812345678", "--score", "attitude=5",
                         "--score", "Checkout speed=4", "--comment", "很好", "--time", "2026-10-05T10:00", "--json")
    assert code == 0, err
    assert json.loads(out)["scores"] == [["attitude", 5], ["checkout", 4]]
    assert run(capsys, "--db", store, "survey", "add", "--score", "attitude=3", "--score", "checkout=2", "--time", "2026-10-06T10:00")[0] == 0
    assert run(capsys, "--db", store, "survey", "add", "--score", "checkout=5", "--time", "2026-09-06T10:00")[0] == 0
    code, out, _ = run(capsys, "--db", store, "survey", "summary", "--month", "2026-10", "--json")
    document = json.loads(out)
    # October: attitude 5, 3 -> 4.0; checkout 4, 2 -> 3.0 (September 5.0: a drop of 2.0, flagged). 4 and 5: two of four.
    assert document["satisfaction_rate"] == {"numerator": 2, "denominator": 4, "value": 0.5}
    rows = {d["code"]: d for d in document["dimensions"]}
    assert (rows["attitude"]["mean"], rows["checkout"]["mean"], rows["checkout"]["change"], rows["checkout"]["dropped"]) == (4.0, 3.0, -2.0, True)
    code, out, _ = run(capsys, "--db", store, "survey", "summary", "--month", "2026-10")
    assert code == 0 and "2 responses" in out and "dropped" in out
    refused(capsys, store, 2, "0 is not on the scale", "survey", "add", "--score", "attitude=0")
    refused(capsys, store, 3, "Nothing in the list is called 'smell'", "survey", "add", "--score", "smell=3")
    refused(capsys, store, 2, "not a question and a score", "survey", "add", "--score", "attitude")
