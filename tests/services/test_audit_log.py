"""The audit log read back: sensitive operations appear with who did them and to which member; filters by
staff, action, the shop's days and member; paging; the owner alone reads and exports it; every action the
code records has a label."""

from __future__ import annotations

import ast
import csv
import os
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk import i18n
from crmdesk.errors import InvalidInput, PermissionDenied
from crmdesk.i18n import printing_language
from crmdesk.models import AuditEvent, CardStatus, ComplaintCategory, ComplaintChannel, MemberStatus, SurveyDimension
from crmdesk.reports.documents import MemberListRequest, MemberReportRequest, make_document
from crmdesk.services import audit, audit_actions, complaints, credit, exports, loyalty, members, purchases, wallet
from crmdesk.services.audit import AuditFilter
from crmdesk.services.exports import ExportCancelled
from crmdesk.services.member_query import MemberFilter
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

CODE = Path(__file__).resolve().parents[2] / "crmdesk"


@pytest.fixture
def member(db, cashier):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000"))


def _events(db, actor, flt: AuditFilter = AuditFilter(), limit: int = 100) -> list[audit.AuditRow]:  # type: ignore[no-untyped-def]  # noqa: B008
    with read_session(db) as session:
        return audit.list_events(session, actor, flt, limit=limit)


def _add(db, at: datetime, action: str, staff: str = "王店长", entity_type: str = "member", entity_id: int | None = None,
         **details: object) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        session.add(AuditEvent(at=at, staff_id=None, staff_name=staff, action=action, entity_type=entity_type,
                               entity_id=entity_id, details=details))


# --------------------------------------------------------------------------- the sensitive operations


def test_each_sensitive_operation_is_in_the_log_with_its_staff_and_member(db, owner, supervisor, member, tmp_path) -> None:  # type: ignore[no-untyped-def]
    today = datetime.now(UTC)
    # A debt to write off: credit granted, a purchase on credit.
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member.id, 50_000)
    with unit_of_work(db) as session:
        purchases.record_purchase(session, supervisor, member.id, till="01", amount_fen=8_800, credit_fen=8_800,
                                  occurred_at=today, now=today)
    # The sensitive operations, each through its service.
    make_document(db, owner, MemberReportRequest(member.id, full_phones=True))  # one member's report, full phone numbers
    make_document(db, owner, MemberListRequest(full_phones=True))  # the member list printed with full phone numbers
    with read_session(db) as session:
        rows = exports.export_members(session, MemberFilter(), "member_no", False, tmp_path / "members.csv", actor=owner)
    with unit_of_work(db) as session:
        exports.record_export(session, owner, tmp_path / "members.csv", rows, MemberFilter())
    with unit_of_work(db) as session:
        credit.write_off(session, owner, member.id, reason="顾客已搬走")
    with unit_of_work(db) as session:
        loyalty.adjust(session, supervisor, member.id, 120, reason="补录积分")
    with unit_of_work(db) as session:
        wallet.adjust(session, owner, member.id, principal_fen=1_000, reason="收银差错更正")

    sensitive = _events(db, owner, AuditFilter(sensitive_only=True))
    found = {(row.action, row.staff_name, row.member_no, row.member_name) for row in sensitive}
    who = ("王店长", member.member_no, "张三")
    assert found == {
        ("report.full_phones", *who),
        ("member.print_list", "王店长", "", ""),  # a list of everyone: no one member
        ("member.export", "王店长", "", ""),
        ("credit.write_off", *who),
        ("points.adjust", "值班经理", member.member_no, "张三"),
        ("wallet.adjust", *who),
    }
    assert all(row.sensitive for row in sensitive)
    by_action = {row.action: row for row in sensitive}
    assert by_action["credit.write_off"].summary == "ledger entry: {}; amount: ¥88.00; reason: 顾客已搬走".format(
        by_action["credit.write_off"].details["entry"])
    assert by_action["wallet.adjust"].action_label == "Corrected stored value by hand"
    assert by_action["member.print_list"].details["full_phones"] is True
    # Everything else (registering, the credit limit, the plain statement of rows) is in the full log, not the sensitive one.
    everything = {row.action for row in _events(db, owner)}
    assert {"member.add", "credit.limit"} <= everything and not {"member.add", "credit.limit"} & set(by_action)
    # The member's own events: by member, whatever kind of entity names them.
    mine = {row.action for row in _events(db, owner, AuditFilter(member_ids=(member.id,)))}
    assert mine == {"member.add", "credit.limit", "report.full_phones", "credit.write_off", "points.adjust", "wallet.adjust"}


def test_a_list_printed_without_full_phones_is_not_sensitive(db, owner, member) -> None:  # type: ignore[no-untyped-def]
    make_document(db, owner, MemberListRequest(full_phones=False))
    (row,) = _events(db, owner, AuditFilter(action="member.print_list"))
    assert not row.sensitive and row.details["full_phones"] is False
    assert _events(db, owner, AuditFilter(sensitive_only=True)) == []


def test_actions_other_engineers_add_are_sensitive_and_labelled() -> None:
    for action in ("database.restore", "member.erase", "member.export_data", "audit.export"):
        assert action in audit_actions.SENSITIVE
        assert audit_actions.action_label(action) != action
    assert audit_actions.action_label("database.restore") == "Restored the database from a backup"
    for action in ("database.repair", "backup.settings", "backup.create", "member.consent", "privacy.retention"):
        assert audit_actions.action_label(action) != action
    assert audit_actions.action_label("shelf.restock") == "shelf.restock"  # unknown: its own name


# --------------------------------------------------------------------------- every recorded action has a label

# Tables whose rows the shared list editor (complaints.add_entry and friends) adds, renames, switches on and off.
ENTRY_TABLES = (ComplaintChannel.__tablename__, ComplaintCategory.__tablename__, SurveyDimension.__tablename__)


def _options(node: ast.expr, module: ast.Module) -> set[str]:
    """Every action string an expression can give."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _options(node.body, module) | _options(node.orelse, module)
    if isinstance(node, ast.Name):  # action = "saved_filter.add" ... audit.record(..., action, ...)
        return {assign.value.value for assign in ast.walk(module) if isinstance(assign, ast.Assign)
                and isinstance(assign.value, ast.Constant) and isinstance(assign.value.value, str)
                and any(isinstance(t, ast.Name) and t.id == node.id for t in assign.targets)}
    if isinstance(node, ast.JoinedStr):
        results = {""}
        for part in node.values:
            if isinstance(part, ast.Constant):
                choices = {str(part.value)}
            elif ast.unparse(part.value) == "model.__tablename__":
                choices = set(ENTRY_TABLES)
            elif ast.unparse(part.value) == "status.value":
                choices = {status.value for status in CardStatus if status is not CardStatus.ACTIVE}
            else:
                choices = _options(part.value, module)
            results = {start + choice for start in results for choice in choices}
        return results
    raise AssertionError(f"cannot tell which actions {ast.unparse(node)} records; teach this test")


def recorded_actions() -> set[str]:
    """Every action string crmdesk records: audit.record(...) calls and rows inserted into audit_event in bulk."""
    actions: set[str] = set()
    for path in CODE.rglob("*.py"):
        module = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(module):
            if isinstance(node, ast.Call) and len(node.args) >= 3 and (
                    (isinstance(node.func, ast.Attribute) and node.func.attr == "record"
                     and isinstance(node.func.value, ast.Name) and node.func.value.id == "audit")
                    or (path.name == "audit.py" and isinstance(node.func, ast.Name) and node.func.id == "record")):
                options = _options(node.args[2], module)
                assert options, f"{path}: {ast.unparse(node)}"
                actions |= options
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "action" and isinstance(value, ast.Constant):
                        actions.add(value.value)
    return actions


def test_every_action_the_code_records_has_a_label() -> None:
    actions = recorded_actions()
    assert len(actions) >= 60 and {"member.add", "wallet.topup", "credit.write_off", "report.full_phones",
                                    "complaint_category.off", "card.lost", "saved_filter.update"} <= actions
    missing = sorted(actions - set(audit_actions.ACTION_LABELS))
    assert missing == [], f"actions without a label in services/audit_actions.py: {missing}"


def test_every_correction_by_hand_and_every_export_is_sensitive() -> None:
    """There is no credit correction by hand today (a debt shrinks by repayment, refund or write-off); one added
    later, like every other .adjust, .write_off or export, must join the sensitive actions."""
    hand_made = {a for a in recorded_actions() if a.endswith((".adjust", ".write_off", ".export", ".export_data", ".erase"))}
    assert {"points.adjust", "wallet.adjust", "credit.write_off", "member.export", "audit.export"} <= hand_made
    assert hand_made <= audit_actions.SENSITIVE


# --------------------------------------------------------------------------- filters and pages


def test_days_are_the_shops_days_and_both_ends_count(db, owner) -> None:  # type: ignore[no-untyped-def]
    # 23:30 and 00:10 on the shop's clock (UTC+8) on either side of midnight of 1 March.
    _add(db, datetime(2026, 3, 1, 15, 30, tzinfo=UTC), "points.adjust", entity_id=1, points=5)
    _add(db, datetime(2026, 3, 1, 16, 10, tzinfo=UTC), "points.adjust", entity_id=1, points=6)
    _add(db, datetime(2026, 2, 28, 16, 0, tzinfo=UTC), "points.redeem", entity_id=1, points=7)  # 00:00 on 1 March
    def points(first: date | None, last: date | None) -> list[int]:
        flt = AuditFilter(action="points.", date_from=first, date_to=last)
        return [row.details["points"] for row in _events(db, owner, flt)]

    assert points(date(2026, 3, 1), date(2026, 3, 1)) == [5, 7]
    assert points(date(2026, 3, 2), None) == [6]
    assert points(None, date(2026, 2, 28)) == []
    assert points(date(2026, 2, 28), date(2026, 3, 2)) == [6, 5, 7]
    with pytest.raises(InvalidInput, match="comes after"):
        _events(db, owner, AuditFilter(date_from=date(2026, 3, 2), date_to=date(2026, 3, 1)))


def test_staff_and_action_exact_or_by_prefix(db, owner) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2026, 3, 1, 4, tzinfo=UTC)
    _add(db, at, "wallet.topup", staff="收银员小李", entity_id=1, amount_fen=10_000)
    _add(db, at + timedelta(minutes=1), "wallet.adjust", staff="王店长", entity_id=1, principal_fen=-500)
    _add(db, at + timedelta(minutes=2), "wallet_bonus.x", staff="王店长")  # starts with "wallet" but not "wallet."
    _add(db, at + timedelta(minutes=3), "wallet.pin_locked", staff="", entity_id=1)  # done by the program itself
    assert [r.action for r in _events(db, owner, AuditFilter(action="wallet."))] == ["wallet.pin_locked", "wallet.adjust",
                                                                                    "wallet.topup"]
    assert [r.action for r in _events(db, owner, AuditFilter(action="wallet.*"))][-1] == "wallet.topup"
    assert [r.action for r in _events(db, owner, AuditFilter(action="wallet.topup"))] == ["wallet.topup"]
    assert [r.action for r in _events(db, owner, AuditFilter(action="wallet"))] == []  # exact without the dot
    assert [r.action for r in _events(db, owner, AuditFilter(staff="收银员小李"))] == ["wallet.topup"]
    assert [r.action for r in _events(db, owner, AuditFilter(staff=""))] == ["wallet.pin_locked"]
    assert [r.action for r in _events(db, owner, AuditFilter(staff="王店长", action="wallet."))] == ["wallet.adjust"]
    with read_session(db) as session:
        assert "wallet.adjust" in audit.actions_present(session, owner)
        assert audit.actions_present(session, owner) == sorted(set(audit.actions_present(session, owner)))
        assert {"", "王店长", "收银员小李"} <= set(audit.staff_names_present(session, owner))


def test_a_member_by_key_or_by_search_text_and_in_the_details(db, owner, cashier, member) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        other = members.register(session, cashier, members.MemberInput(name="李四", phone="13900139000"))
    at = datetime(2026, 3, 1, 4, tzinfo=UTC)
    _add(db, at, "complaint.log", entity_type="complaint", entity_id=9, member_id=member.id, category="price")
    _add(db, at, "offer.apply", entity_type="offer", entity_id=3, member_id=other.id, discount_fen=500)
    _add(db, at, "purchase.frozen_override", entity_type="purchase", entity_id=4, member=member.id, amount_fen=100)
    _add(db, at, "staff.add", entity_type="staff", entity_id=member.id, name="新人")  # a staff id equal to the member's
    mine = _events(db, owner, AuditFilter(member_ids=(member.id,)))
    assert {row.action for row in mine} == {"member.add", "complaint.log", "purchase.frozen_override"}
    complaint = next(row for row in mine if row.action == "complaint.log")
    assert (complaint.member_id, complaint.member_no, complaint.member_name) == (member.id, member.member_no, "张三")
    # The category by its name (the default's English one here); the member is in its own column, not repeated.
    assert complaint.summary == "category: Price or checkout error"
    assert {row.action for row in _events(db, owner, AuditFilter(member_text="张三"))} == {row.action for row in mine}
    assert {row.action for row in _events(db, owner, AuditFilter(member_text="9000"))} == {"member.add", "offer.apply"}
    assert _events(db, owner, AuditFilter(member_text="nobody-like-this")) == []
    assert _events(db, owner, AuditFilter(member_ids=())) == []


# --------------------------------------------------------------------------- coded values in the reader's language


def _events_in_chinese(db, actor, flt: AuditFilter) -> list[audit.AuditRow]:  # type: ignore[no-untyped-def]
    with printing_language("zh_CN"), read_session(db) as session:
        return audit.list_events(session, actor, flt, translate=i18n.translate)


def test_a_status_change_reads_in_the_interfaces_language(qapp, db, owner, supervisor, member) -> None:  # type: ignore[no-untyped-def]
    # qapp first: translating needs an application object, and a process has only one.
    with unit_of_work(db) as session:
        members.set_status(session, supervisor, member.id, MemberStatus.CLOSED, reason="搬家了")
    (row,) = _events_in_chinese(db, owner, AuditFilter(action="member.status"))
    assert row.details == {"old": "active", "new": "closed", "reason": "搬家了"}  # the log keeps the codes
    assert row.summary == "原为：正常；新：已注销；原因：搬家了"
    (english,) = _events(db, owner, AuditFilter(action="member.status"))
    assert english.summary == "was: Active; new: Closed; reason: 搬家了"  # the command line's English


def test_a_top_up_names_its_payment_method_in_chinese(qapp, db, owner, cashier, member) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        wallet.top_up(session, cashier, member.id, 20_000, payment_method="wechat")
    (row,) = _events_in_chinese(db, owner, AuditFilter(action="wallet.topup"))
    assert row.details["payment_method"] == "wechat"
    assert "支付方式：微信支付" in row.summary and "wechat" not in row.summary
    (english,) = _events(db, owner, AuditFilter(action="wallet.topup"))
    assert english.summary.endswith("paid by: WeChat Pay")
    # A method from another system is shown as it is.
    _add(db, datetime(2026, 3, 1, 4, tzinfo=UTC), "credit.repay", entity_id=member.id, payment_method="unionpay_qr")
    (repay,) = _events_in_chinese(db, owner, AuditFilter(action="credit.repay"))
    assert repay.summary == "支付方式：unionpay_qr"


def test_a_complaint_names_its_category_and_channel_not_their_codes(qapp, db, owner, cashier, member) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        complaints.add_category(session, owner, "价签与售价不符", code="shelf_tag")
    with unit_of_work(db) as session:
        for category in ("shelf_tag", "price", "shelf_tag"):
            complaints.log_complaint(session, cashier, complaints.ComplaintInput(
                channel="counter", category=category, description="结账价格比货架上的贵", member_id=member.id))
    lookups: list[str] = []

    def keep(_conn, _cursor, statement, _parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "FROM complaint_category" in statement or "FROM complaint_channel" in statement:
            lookups.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        rows = _events_in_chinese(db, owner, AuditFilter(action="complaint.log"))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)
    assert len(lookups) == 1  # the names of the whole page in one query, not one per row
    assert [row.details["category"] for row in rows] == ["shelf_tag", "price", "shelf_tag"]
    # The shop's own category by its name; the defaults (stored in English) in Chinese.
    assert [row.summary for row in rows] == ["类别：价签与售价不符；渠道：服务台；附件数：0",
                                             "类别：价格或结账差错；渠道：服务台；附件数：0",
                                             "类别：价签与售价不符；渠道：服务台；附件数：0"]
    assert _events(db, owner, AuditFilter(action="complaint.log"))[0].summary == (
        "category: 价签与售价不符; channel: Counter; attachments: 0")
    # A code no longer in the list reads as it is.
    _add(db, datetime(2026, 3, 1, 4, tzinfo=UTC), "complaint.log", entity_type="complaint", entity_id=99, category="gone")
    assert "类别：gone" in [row.summary for row in _events_in_chinese(db, owner, AuditFilter(action="complaint.log"))]


def test_each_coded_value_reads_through_its_services_labels() -> None:
    """English (the command line) from the same tables: statuses, kinds, priorities, reasons, programs' own words."""
    def text(action: str, **details: object) -> str:
        return audit_actions.summary(details, action=action)

    assert text("backup.create", file="a.db", reason="before-restore") == "file: a.db; reason: before a restore"
    assert text("points.adjust", reason="manual") == "reason: manual"  # a reason a person typed stays as typed
    assert text("member.import", new=3) == "new: 3"  # a count, not a status
    assert text("complaint.priority", changed=["normal", "urgent"]) == "changed: normal → urgent"
    assert text("complaint_category.update", changed={"default_priority": ["low", "high"]}) == (
        "changed: default_priority=low → high")
    assert text("complaint.resolve", remedies=["refund", "apology"]) == "remedies: refund, apology"
    assert text("complaint.follow_up", method="visit") == "method: in person"
    assert text("offer.add", name="周末满减", kind="amount_off") == "name: 周末满减; kind: Spend and save (满减)"
    assert text("member.update", fields=["phone", "source"]) == "fields: Phone, Source"
    assert text("member.export", criteria={"statuses": ["frozen"]}) == "filter: statuses=Frozen"
    assert text("audit.export", criteria={"action": "wallet."}) == "filter: action=Stored value (all)"
    assert text("report.full_phones", document="member_report") == "document: Member report"
    assert text("money.settings", draw_order="principal_first") == "spent first: Principal first"
    assert text("credit.freeze", reason="overdue 40 days") == "reason: overdue 40 days"
    chinese = {("ledger", "overdue {days} days"): "逾期 {days} 天", ("terms", "before a restore"): "恢复前",
               ("complaints", "urgent"): "紧急", ("complaints", "normal"): "普通"}

    def in_chinese(action: str, **details: object) -> str:
        return audit_actions.summary(details, lambda context, source: chinese.get((context, source), source), action=action)

    assert in_chinese("credit.freeze", reason="overdue 40 days") == "reason: 逾期 40 天"
    assert in_chinese("backup.create", reason="before-restore") == "reason: 恢复前"
    assert in_chinese("complaint.priority", changed=["normal", "urgent"]) == "changed: 普通 → 紧急"


def test_pages_newest_first_with_a_count(db, owner) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 3, 1, 4, tzinfo=UTC)
    for n in range(25):
        _add(db, start + timedelta(minutes=n), "points.adjust", entity_id=1, points=n)
    flt = AuditFilter(action="points.adjust")
    with read_session(db) as session:
        assert audit.count_events(session, owner, flt) == 25
        pages = [audit.list_events(session, owner, flt, limit=10, offset=offset) for offset in (0, 10, 20)]
        assert [len(page) for page in pages] == [10, 10, 5]
        assert [row.details["points"] for page in pages for row in page] == list(range(24, -1, -1))
        chunks = list(audit.iter_events(session, owner, flt, chunk=7))
        assert [len(chunk) for chunk in chunks] == [7, 7, 7, 4]
        assert [row.details["points"] for chunk in chunks for row in chunk] == list(range(24, -1, -1))
    for n in range(5):  # events of the same moment are neither repeated nor lost between chunks
        _add(db, start, "points.redeem", entity_id=1, points=n)
    with read_session(db) as session:
        chunks = list(audit.iter_events(session, owner, AuditFilter(action="points.redeem"), chunk=2))
        assert [len(chunk) for chunk in chunks] == [2, 2, 1]
        assert sorted(row.details["points"] for chunk in chunks for row in chunk) == [0, 1, 2, 3, 4]
        for limit in (0, audit.MAX_PAGE + 1):
            with pytest.raises(InvalidInput):
                audit.list_events(session, owner, flt, limit=limit)


def test_the_filters_read_through_the_indexes(db, owner) -> None:  # type: ignore[no-untyped-def]
    """The queries the filters make are index searches, not a scan of the whole log (SQLite's plan)."""
    statements: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "FROM audit_event" in statement and statement.lstrip().startswith("SELECT"):
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        for flt in (AuditFilter(action="wallet."), AuditFilter(action="wallet.adjust"), AuditFilter(member_ids=(1, 2)),
                    AuditFilter(date_from=date(2026, 3, 1)), AuditFilter(sensitive_only=True)):
            statements.clear()
            _events(db, owner, flt)
            (statement, parameters), = statements
            with db.engine.connect() as connection:
                plan = " / ".join(row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            assert "SEARCH audit_event USING" in plan and "SCAN audit_event" not in plan, (flt, plan)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)


# --------------------------------------------------------------------------- the owner's only


def test_only_the_owner_reads_or_exports_the_log(db, cashier, supervisor, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "exports"
    folder.mkdir()
    for actor in (cashier, supervisor):
        with read_session(db) as session:
            for read in (lambda s: audit.count_events(s, actor, AuditFilter()),
                         lambda s: audit.list_events(s, actor, AuditFilter()),
                         lambda s: audit.actions_present(s, actor), lambda s: audit.staff_names_present(s, actor),
                         lambda s: audit.export_events(s, actor, AuditFilter(), folder / "log.csv")):
                with pytest.raises(PermissionDenied, match="may not read the audit log"):
                    read(session)
    assert list(folder.iterdir()) == []


# --------------------------------------------------------------------------- export


def test_csv_export_owner_only_file_formula_safe_and_audited(db, owner, member, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A staff name a spreadsheet would run as a formula ("CSV injection") is written as text.
    _add(db, datetime(2026, 3, 1, 15, 30, tzinfo=UTC), "points.adjust", staff="=HYPERLINK(1)", entity_id=member.id, points=5,
         reason="补录")
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "log.csv"
    flt = AuditFilter(action="points.")
    with read_session(db) as session:
        rows = audit.export_events(session, owner, flt, target)
    with unit_of_work(db) as session:
        audit.record_export(session, owner, target, rows, flt)
    assert rows == 1
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM Excel and WPS need
    with target.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["Time", "Staff", "Action", "Action code", "Member no.", "Member", "Details", "Sensitive"]
    assert table[1] == ["2026-03-01 23:30:00", "'=HYPERLINK(1)", "Adjusted points by hand", "points.adjust", member.member_no,
                        "张三", "points: 5; reason: 补录", "yes"]
    (recorded,) = _events(db, owner, AuditFilter(action="audit.export"))
    assert recorded.sensitive and recorded.staff_name == "王店长"
    assert recorded.details == {"file": "log.csv", "rows": 1, "criteria": {"action": "points."}}
    assert [p.name for p in folder.iterdir()] == ["log.csv"]  # no temporary file left


def test_xlsx_export_keeps_times_as_times_and_translates(db, owner, member, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    words = {"Time": "时间", "Adjusted points by hand": "手工调整积分", "points": "积分", "{label}: {value}": "{label}：{value}"}
    _add(db, datetime(2026, 3, 1, 15, 30, tzinfo=UTC), "points.adjust", entity_id=member.id, points=5)
    target = tmp_path / "log.xlsx"
    with read_session(db) as session:
        assert audit.export_events(session, owner, AuditFilter(action="points."), target,
                                   translate=lambda _context, text: words.get(text, text)) == 1
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    sheet = load_workbook(target).active
    header, row = list(sheet.iter_rows(values_only=True))
    assert header[0] == "时间"
    assert row[0] == datetime(2026, 3, 1, 23, 30) and row[2:7] == ("手工调整积分", "points.adjust", member.member_no, "张三",
                                                                     "积分：5")


def test_a_cancelled_or_refused_export_leaves_no_file(db, owner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "exports"
    folder.mkdir()
    with read_session(db) as session:
        with pytest.raises(ExportCancelled):
            audit.export_events(session, owner, AuditFilter(), folder / "log.xlsx", should_cancel=lambda: True)
        with pytest.raises(InvalidInput, match=r"\.csv or \.xlsx"):
            audit.export_events(session, owner, AuditFilter(), folder / "log.pdf")
    assert list(folder.iterdir()) == []
