"""The audit log tab: pages from the database, filters narrow the rows, labels are translated, export writes a
file and is itself recorded, and only the owner gets the tab."""

from __future__ import annotations

import csv
import os
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QDate, Qt, QTranslator

from crmdesk.models import AuditEvent
from crmdesk.services import audit, members
from crmdesk.services.audit import AuditFilter
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.audit_tab import COLUMNS, AuditTab
from crmdesk.views.settings_page import SettingsPage
from crmdesk.views.state import AppState
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

START = datetime(2026, 3, 1, 2, tzinfo=UTC)  # 10:00 on 1 March, the shop's clock


@pytest.fixture
def state(qapp, db, owner) -> AppState:  # type: ignore[no-untyped-def]
    return AppState(db, owner, "en")


@pytest.fixture
def log(db, cashier) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Two members and a day's events by three people; the ids of the members."""
    with unit_of_work(db) as session:
        zhang = members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000")).id
        li = members.register(session, cashier, members.MemberInput(name="李四", phone="13900139000")).id
    events = [
        ("收银员小李", "wallet.topup", zhang, {"amount_fen": 10_000, "bonus_fen": 0}),
        ("值班经理", "points.adjust", li, {"points": 30, "reason": "补录"}),
        ("王店长", "wallet.adjust", zhang, {"principal_fen": -500, "bonus_fen": 0, "reason": "更正"}),
        ("王店长", "credit.limit", li, {"limit_fen": 30_000}),
    ]
    with unit_of_work(db) as session:
        for n, (staff, action, member_id, details) in enumerate(events):
            session.add(AuditEvent(at=START + timedelta(hours=n), staff_name=staff, action=action, entity_type="member",
                                   entity_id=member_id, details=details))
        # The next day, by the program itself.
        session.add(AuditEvent(at=START + timedelta(days=1), staff_name="", action="wallet.pin_locked", entity_type="member",
                               entity_id=zhang, details={}))
    return {"zhang": zhang, "li": li}


def _tab(qtbot, state: AppState) -> AuditTab:  # type: ignore[no-untyped-def]
    tab = AuditTab(state)
    qtbot.addWidget(tab)
    tab.resize(900, 600)
    tab.show()
    qtbot.waitExposed(tab)
    return tab


def _column(tab: AuditTab, key: str) -> list[str]:
    model = tab.model
    return [model.index(row, COLUMNS.index(key)).data() for row in range(model.rowCount())]


def _choose(box, data) -> None:  # type: ignore[no-untyped-def]
    index = box.findData(data)
    assert index >= 0, (data, [box.itemData(i) for i in range(box.count())])
    box.setCurrentIndex(index)


def test_the_table_shows_the_log_newest_first_in_shop_time(qtbot, state, log) -> None:  # type: ignore[no-untyped-def]
    tab = _tab(qtbot, state)
    with read_session(state.db) as session:
        assert tab.model.rowCount() == audit.count_events(session, state.actor, AuditFilter())
    tab.action_box.setCurrentIndex(tab.action_box.findData("wallet."))
    tab.apply_filter()
    assert _column(tab, "at") == ["2026-03-02 10:00:00", "2026-03-01 12:00:00", "2026-03-01 10:00:00"]
    assert _column(tab, "staff") == ["(automatic)", "王店长", "收银员小李"]
    assert _column(tab, "label") == ["Payment PIN locked after wrong tries", "Corrected stored value by hand",
                                     "Topped up stored value"]
    assert _column(tab, "member")[1].endswith("张三")
    assert _column(tab, "details")[1] == "principal: -¥5.00; bonus: ¥0.00; reason: 更正"
    bold = [tab.model.index(row, 0).data(Qt.ItemDataRole.FontRole) for row in range(3)]
    assert [font is not None and font.bold() for font in bold] == [False, True, False]  # the correction by hand stands out
    assert tab.count_label.text() == "3 events"


def test_filters_narrow_the_rows(qtbot, state, log) -> None:  # type: ignore[no-untyped-def]
    tab = _tab(qtbot, state)
    everything = tab.model.rowCount()
    _choose(tab.staff_box, "王店长")
    qtbot.waitUntil(lambda: tab.model.rowCount() < everything)  # the filter follows the boxes by itself
    assert set(_column(tab, "label")) >= {"Corrected stored value by hand", "Changed a credit limit"}
    assert set(_column(tab, "staff")) == {"王店长"}
    _choose(tab.action_box, "credit.limit")
    tab.apply_filter()
    assert _column(tab, "label") == ["Changed a credit limit"]
    tab.clear_filters()
    assert tab.model.rowCount() == everything

    tab.member_edit.setText("张三")
    tab.apply_filter()
    assert {text.split()[-1] for text in _column(tab, "member")} == {"张三"}
    assert set(_column(tab, "label")) == {"Registered a member", "Topped up stored value", "Corrected stored value by hand",
                                          "Payment PIN locked after wrong tries"}
    tab.from_edit.setDate(QDate(2026, 3, 2))
    tab.to_edit.setDate(QDate(2026, 3, 2))
    tab.apply_filter()
    assert _column(tab, "label") == ["Payment PIN locked after wrong tries"]
    tab.clear_filters()

    tab.from_edit.setDate(QDate(2026, 3, 1))
    tab.to_edit.setDate(QDate(2026, 3, 1))
    tab.sensitive_box.setChecked(True)
    tab.apply_filter()
    assert _column(tab, "label") == ["Corrected stored value by hand", "Adjusted points by hand"]
    assert tab.model.audit_filter == AuditFilter(date_from=date(2026, 3, 1), date_to=date(2026, 3, 1), sensitive_only=True)

    tab.from_edit.setDate(QDate(2026, 3, 2))
    assert not tab.apply_filter()  # the first day after the last: said, and the list stays as it was
    assert tab.message.isVisible() and "comes after" in tab.message.text()
    assert tab.model.rowCount() == 2


def test_pages_come_from_the_database(qtbot, state, log) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(state.db) as session:
        session.add_all(AuditEvent(at=START - timedelta(minutes=n), staff_name="收银员小李", action="points.redeem",
                                   entity_type="member", entity_id=log["li"], details={"points": n}) for n in range(1, 1201))
    tab = _tab(qtbot, state)
    assert tab.model.rowCount() > 1200
    assert tab.model.pages_fetched <= 2  # only what is on screen was read
    tab.table.scrollToBottom()
    qtbot.wait(50)
    assert tab.model.pages_fetched <= 4
    last = tab.model.row_at(tab.model.rowCount() - 1)
    assert last is not None and last.details == {"points": 1200}


def test_action_labels_are_translated(qtbot, state, log) -> None:  # type: ignore[no-untyped-def]
    class Chinese(QTranslator):
        WORDS = {("audit", "Adjusted points by hand"): "手工调整积分", ("audit", "Stored value (all)"): "储值（全部）",
                 ("audit", "Action"): "操作"}

        def translate(self, context, source, disambiguation=None, n=-1):  # type: ignore[no-untyped-def]
            return self.WORDS.get((context, source), "")

    translator = Chinese()
    QCoreApplication.installTranslator(translator)
    try:
        tab = _tab(qtbot, state)
        items = [tab.action_box.itemText(i) for i in range(tab.action_box.count())]
        assert "手工调整积分" in items and "储值（全部）" in items
        assert tab.action_box.itemData(items.index("手工调整积分")) == "points.adjust"
        assert tab.model.headerData(COLUMNS.index("label"), Qt.Orientation.Horizontal) == "操作"
        _choose(tab.action_box, "points.adjust")
        tab.apply_filter()
        assert _column(tab, "label") == ["手工调整积分"]
    finally:
        QCoreApplication.removeTranslator(translator)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_writes_the_filtered_rows_and_is_recorded(qtbot, state, log, tmp_path: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    tab = _tab(qtbot, state)
    _choose(tab.action_box, "wallet.")
    tab.apply_filter()
    target = tmp_path / f"audit{suffix}"
    thread = tab.start_export(str(target))
    assert thread is not None
    qtbot.waitUntil(lambda: tab._export is None, timeout=10_000)
    assert tab.last_export_message == f"Exported 3 events to {target}."
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    if suffix == ".csv":
        with target.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    else:
        from openpyxl import load_workbook

        rows = [list(row) for row in load_workbook(target).active.iter_rows(values_only=True)]
    assert [row[3] for row in rows[1:]] == ["wallet.pin_locked", "wallet.adjust", "wallet.topup"]
    with read_session(state.db) as session:
        (recorded,) = audit.list_events(session, state.actor, AuditFilter(action="audit.export"))
    assert recorded.details == {"file": target.name, "rows": 3, "criteria": {"action": "wallet."}}
    tab.clear_filters()
    assert "Exported the audit log" in _column(tab, "label")  # the list shows the export at once


def test_the_tab_is_the_owners(qtbot, state, log, owner, supervisor, cashier) -> None:  # type: ignore[no-untyped-def]
    page = SettingsPage(state)
    qtbot.addWidget(page)
    titles = [page.tabText(i) for i in range(page.count())]
    assert "Audit log" in titles and isinstance(page.widget(titles.index("Audit log")), AuditTab)
    for other in (supervisor, cashier):
        state.sign_in(other)
        page.refresh_for_actor()
        assert "Audit log" not in [page.tabText(i) for i in range(page.count())] and page.audit_tab is None
    state.sign_in(owner)
    page.refresh_for_actor()
    assert [page.tabText(i) for i in range(page.count())].count("Audit log") == 1


def test_a_supervisor_shown_the_tab_anyway_reads_nothing(qtbot, db, supervisor, log) -> None:  # type: ignore[no-untyped-def]
    tab = _tab(qtbot, AppState(db, supervisor, "en"))
    assert tab.model.rowCount() == 0
    assert tab.message.isVisible() and "may not read the audit log" in tab.message.text()
