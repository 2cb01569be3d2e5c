"""Customer insight where staff meet members: the member list's columns and filters, the counter's segment and
churn badges, and the profile's summary."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt

from crmdesk import shop_time
from crmdesk.models import Member, MemberInsight
from crmdesk.services import insight_rules as rules
from crmdesk.services import members
from crmdesk.services.member_query import COLUMNS, MemberFilter
from crmdesk.services.members import MemberInput
from crmdesk.services.uow import unit_of_work
from crmdesk.views.counter_page import CounterPage
from crmdesk.views.member_list import ColumnsDialog, MemberListPage, PercentBox
from crmdesk.views.member_profile import MemberProfileDialog
from tests.services.test_member_query_insight import add_run, insight_row
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

PEOPLE = (("张三", "13812345678"), ("李四", "13912345678"), ("王五", "15012345678"), ("赵六", "18612340000"),
          ("钱七", "13712349999"))


def _visit(days_ago: int) -> datetime:
    """Noon on the shop's day ``days_ago`` days before today, as stored."""
    day = shop_time.today() - timedelta(days=days_ago)
    return datetime.combine(day, time(12, 0), tzinfo=shop_time.SHOP_ZONE)


@pytest.fixture
def people(db, owner) -> dict[str, int]:  # type: ignore[no-untyped-def]  # noqa: F811
    """Five members; figures from a refresh yesterday for four of them, the fifth never bought."""
    with unit_of_work(db) as session:
        ids = {name: members.register(session, owner, MemberInput(name=name, phone=phone)).id for name, phone in PEOPLE}
    with unit_of_work(db) as session:
        session.execute(sa.insert(MemberInsight), [
            insight_row(ids["张三"], "champions", "A", "active", p_alive=0.95, value_fen=500_000),
            insight_row(ids["李四"], "recall", "B", "at_risk", alert="gap", usual=4.0, now=19.0, p_alive=0.4, value_fen=80_000),
            insight_row(ids["王五"], "retain", "A", "lapsed", alert="spend", usual=60_000.0, now=8_000.0, p_alive=0.1234,
                        value_fen=20_050),
            insight_row(ids["赵六"], "newcomer", None, "cooling"),  # drifting by its stage alone; no model estimate
        ])
        add_run(session, shop_time.today() - timedelta(days=1))
        for name, days_ago in (("张三", 2), ("李四", 20), ("王五", 3), ("赵六", 9)):
            session.execute(sa.update(Member).where(Member.id == ids[name]).values(last_visit_at=_visit(days_ago)))
    return ids


def _show(qtbot, page: MemberListPage) -> None:  # type: ignore[no-untyped-def]
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    qtbot.waitExposed(page)


def _names(page: MemberListPage) -> list[str]:
    return [page.model.row_at(row).name for row in range(page.model.rowCount())]  # type: ignore[union-attr]


# --------------------------------------------------------------------------- the member list


def test_the_list_shows_the_figures(qtbot, owner_state, people) -> None:
    page = MemberListPage(owner_state)
    _show(qtbot, page)
    model = page.model

    def cell(name: str, column: str) -> str:
        row = _names(page).index(name)
        return model.data(model.index(row, COLUMNS.index(column)))

    assert [cell("李四", c) for c in ("segment", "abc", "stage", "p_alive", "value")] == [
        "Recall (high value)", "B: the next 15%", "At risk", "40%", "¥800.00"]
    assert [cell("赵六", c) for c in ("segment", "abc", "stage", "p_alive", "value")] == ["Newcomer", "", "Cooling", "", ""]
    assert [cell("钱七", c) for c in ("segment", "abc", "stage", "p_alive", "value")] == [""] * 5
    for column in ("p_alive", "value"):
        alignment = model.data(model.index(0, COLUMNS.index(column)), Qt.ItemDataRole.TextAlignmentRole)
        assert alignment == int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    assert model.data(model.index(0, COLUMNS.index("segment")), Qt.ItemDataRole.TextAlignmentRole) is None
    assert model.headerData(COLUMNS.index("p_alive"), Qt.Orientation.Horizontal) == "Still a customer"
    row = _names(page).index("李四")
    assert model.data(model.index(row, COLUMNS.index("abc")), Qt.ItemDataRole.ToolTipRole) == "B: the next 15%"
    # Segment and stage are shown at first; the rest are a tick away.
    visible = page.visible_columns()
    assert {"segment", "stage"} <= set(visible) and not {"abc", "p_alive", "value"} & set(visible)
    dialog = ColumnsDialog(visible, page)
    qtbot.addWidget(dialog)
    assert dialog.boxes["segment"].isChecked() and not dialog.boxes["value"].isChecked()
    assert dialog.boxes["p_alive"].text() == "Still a customer"
    page.apply_columns([*visible, "abc", "p_alive", "value"], remember=True)
    again = MemberListPage(owner_state)
    qtbot.addWidget(again)
    assert {"abc", "p_alive", "value"} <= set(again.visible_columns())
    # No index to sort the figures by: the order stays.
    model.sort(COLUMNS.index("segment"), Qt.SortOrder.DescendingOrder)
    assert model.sort_key == "member_no"


def test_the_filter_bar_filters_on_the_figures(qtbot, owner_state, people) -> None:
    page = MemberListPage(owner_state)
    _show(qtbot, page)
    assert page.segment_box.itemText(0) == "Any segment" and page.segment_box.count() == 1 + len(rules.SEGMENTS)
    assert [page.stage_box.itemData(i) for i in range(1, page.stage_box.count())] == list(rules.STAGES)
    assert page.abc_box.itemText(1) == "A: the core (80% of spend)"

    page.segment_box.setCurrentIndex(page.segment_box.findData("recall"))
    assert page.apply_filter() and _names(page) == ["李四"]
    page.clear_filters()
    page.stage_box.setCurrentIndex(page.stage_box.findData("lapsed"))
    assert page.apply_filter() and _names(page) == ["王五"]
    page.clear_filters()
    page.abc_box.setCurrentIndex(page.abc_box.findData("A"))
    assert page.apply_filter() and _names(page) == ["张三", "王五"]
    page.clear_filters()
    page.p_alive_max.setValue(40)
    assert page.apply_filter() and _names(page) == ["李四", "王五"]
    page.value_min.setText("800")
    assert page.apply_filter() and _names(page) == ["李四"]
    assert page.current_filter() == MemberFilter(p_alive_max_pct=40, value_min_fen=80_000)
    page.value_min.setText("lots")
    assert not page.apply_filter() and "not an amount in yuan" in page.message.text()
    assert _names(page) == ["李四"]  # the list stays as it was
    page.clear_filters()
    assert page.model.rowCount() == 5 and page.p_alive_max.text() == "—" and page.value_min.text() == ""
    assert page.segment_box.currentIndex() == page.stage_box.currentIndex() == page.abc_box.currentIndex() == 0
    page.alert_box.setChecked(True)  # ticking filters after the short pause, as typing does
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    assert _names(page) == ["李四", "王五"] and page.current_filter() == MemberFilter(alerts=rules.ALERTS)


def test_groups_and_dashboard_filters_come_back_into_the_widgets(qtbot, owner_state, people) -> None:
    page = MemberListPage(owner_state)
    _show(qtbot, page)
    flt = MemberFilter(segments=("retain",), stages=("lapsed",), abc_classes=("A",), alerts=rules.ALERTS, p_alive_max_pct=20,
                       value_min_fen=10_000)
    page.show_filter(flt)
    assert _names(page) == ["王五"] and page.current_filter() == flt
    page.save_group("挽留")
    assert not page.refused
    page.clear_filters()
    page.group_box.setCurrentIndex(page.group_box.findText("挽留"))
    page.group_box.activated.emit(page.group_box.currentIndex())
    assert page.segment_box.currentData() == "retain" and page.stage_box.currentData() == "lapsed"
    assert page.abc_box.currentData() == "A" and page.alert_box.isChecked()
    assert page.p_alive_max.value() == 20 and page.value_min.text() == "100.00" and _names(page) == ["王五"]
    # The dashboard's "away far longer than usual": the box is ticked and keeps to that kind of alert.
    page.show_filter(MemberFilter(alerts=("gap",)))
    assert page.alert_box.isChecked() and _names(page) == ["李四"]
    page.search_edit.setText("李")
    assert page.apply_filter() and page.current_filter() == MemberFilter(alerts=("gap",), text="李")
    page.clear_filters()
    page.alert_box.setChecked(True)
    assert page.current_filter() == MemberFilter(alerts=rules.ALERTS)


def test_the_percent_box_steps_in_tens_from_any(qtbot) -> None:
    box = PercentBox()
    qtbot.addWidget(box)
    assert box.percent() is None and box.text() == "—"
    seen = []
    for _step in range(3):
        box.stepBy(1)
        seen.append(box.percent())
    assert seen == [0, 10, 20]
    box.setValue(25)
    box.stepBy(-1)
    assert box.percent() == 20
    box.setValue(5)
    box.stepBy(-1)
    assert box.percent() == 0
    box.stepBy(-1)
    assert box.percent() is None
    box.set_percent(95)
    box.stepBy(3)
    assert box.percent() == 100
    box.set_percent(None)
    assert box.value() == -1


def test_the_export_writes_the_figures_as_shown(qtbot, owner_state, people, tmp_path: Path) -> None:
    page = MemberListPage(owner_state)
    _show(qtbot, page)
    page.show_filter(MemberFilter(stages=("at_risk", "lapsed", "cooling")))
    page.apply_columns(["name", "segment", "stage", "p_alive", "value"])
    target = tmp_path / "流失.csv"
    with qtbot.waitSignal(page.start_export(str(target)).succeeded, timeout=10_000):  # type: ignore[union-attr]
        pass
    qtbot.waitUntil(lambda: page.export_button.isEnabled())
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows == [["Name", "Segment", "Stage", "Still a customer", "12-month value"],
                    ["李四", "Recall (high value)", "At risk", "40%", "800.00"],
                    ["王五", "Retain (high value)", "Lapsed", "12%", "200.50"],
                    ["赵六", "Newcomer", "Cooling", "", ""]]


# --------------------------------------------------------------------------- the counter


@pytest.fixture
def counter(qtbot, cashier_state, people) -> CounterPage:  # type: ignore[no-untyped-def]
    widget = CounterPage(cashier_state)
    qtbot.addWidget(widget)
    widget.resize(1024, 700)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_a_drifting_regular_gets_a_churn_badge(qtbot, counter, people) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClicks(counter.search_edit, "13912345678")  # 李四's phone
    qtbot.keyClick(counter.search_edit, Qt.Key.Key_Return)
    assert counter.profile is not None and counter.profile.id == people["李四"]
    assert counter.segment_badge.isVisible() and counter.segment_badge.text() == "Recall (high value)"
    assert counter.segment_badge.toolTip() == "Frequent and high spend but not lately: call them back."
    assert counter.churn_badge.isVisible()
    assert counter.churn_badge.text() == "Churn alert: usually every 4 days; 20 days now"  # counted to today
    counter.open_member(people["王五"])
    assert counter.churn_badge.text() == "Churn alert: monthly spend fell from ¥600.00 to ¥80.00"
    counter.open_member(people["赵六"])  # no alert, but cooling: away longer than their own rhythm
    assert counter.churn_badge.isVisible() and counter.churn_badge.text() == "Cooling: last visit 9 days ago"
    counter.open_member(people["张三"])
    assert counter.segment_badge.text() == "Top value" and not counter.churn_badge.isVisible()


def test_no_badges_without_figures(qtbot, counter, people) -> None:  # type: ignore[no-untyped-def]
    counter.open_member(people["李四"])
    assert counter.churn_badge.isVisible()
    counter.open_member(people["钱七"])  # never bought
    assert counter.figures is None
    assert not counter.segment_badge.isVisible() and not counter.churn_badge.isVisible()
    assert counter.name_label.text() == "钱七"
    qtbot.keyClick(counter.search_edit, Qt.Key.Key_Escape)
    assert counter.figures is None and counter.profile is None


def test_a_member_back_since_the_refresh_is_not_flagged(qtbot, counter, db, people) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    with unit_of_work(db) as session:
        session.execute(sa.update(Member).where(Member.id == people["李四"]).values(last_visit_at=_visit(0)))
    counter.open_member(people["李四"])
    assert counter.segment_badge.isVisible() and not counter.churn_badge.isVisible()


# --------------------------------------------------------------------------- the profile


def test_the_profile_sums_up_the_figures(qtbot, owner_state, people) -> None:
    dialog = MemberProfileDialog(owner_state, people["李四"])
    qtbot.addWidget(dialog)
    lines = dialog.insight_label.text().split("\n")
    as_of = (shop_time.today() - timedelta(days=1)).isoformat()
    assert lines == [
        f"Customer insight as of {as_of}: Recall (high value) · ABC class B: the next 15% · At risk",
        "Still a customer: 40% · expected purchases in 12 months: 12.0 · 12-month value: ¥800.00",
        "Churn alert: Away far longer than usual (usually every 4 days; 19 days now)",
    ]
    assert not dialog.insight_label.isHidden()
    newcomer = MemberProfileDialog(owner_state, people["赵六"])
    qtbot.addWidget(newcomer)
    assert newcomer.insight_label.text().split("\n")[1:] == [
        "Still a customer, expected purchases and 12-month value: not yet reliable."]
    assert "ABC class —" in newcomer.insight_label.text()
    never = MemberProfileDialog(owner_state, people["钱七"])
    qtbot.addWidget(never)
    assert never.insight_label.isHidden() and never.figures is None
