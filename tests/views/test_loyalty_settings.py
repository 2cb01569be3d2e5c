"""Settings: the owner's points rules and tiers tabs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtWidgets import QMessageBox, QTableWidgetItem

from crmdesk.models import ExpiryMode
from crmdesk.services import loyalty, members, purchases
from crmdesk.services import tiers as tiers_service
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.settings_page import SettingsPage
from crmdesk.views.state import AppState
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures


@pytest.fixture
def settings(qtbot, owner_state):  # type: ignore[no-untyped-def]
    page = SettingsPage(owner_state)
    qtbot.addWidget(page)
    return page


def test_the_tabs_are_for_the_owner_only(qtbot, db, supervisor, owner_state) -> None:  # type: ignore[no-untyped-def]
    page = SettingsPage(AppState(db, supervisor, "en"))
    qtbot.addWidget(page)
    assert page.rules_tab is None and page.tiers_tab is None
    page._state.sign_in(owner_state.actor)
    page.refresh_for_actor()
    assert page.rules_tab is not None and page.indexOf(page.tiers_tab) >= 0
    page._state.sign_in(supervisor)
    page.refresh_for_actor()
    assert page.rules_tab is None and page.tiers_tab is None


def test_rules_tab_shows_the_defaults_saves_and_purchases_then_earn_by_them(qtbot, settings, db, cashier) -> None:  # type: ignore[no-untyped-def]
    tab = settings.rules_tab
    assert (tab.points_per_yuan.value(), tab.redeem_points.value(), tab.bonus_multiplier.value()) == (1, 100, 200)
    assert tab.expiry_mode.currentData() is ExpiryMode.CALENDAR and not tab.expiry_months.isEnabled()
    tab.points_per_yuan.setValue(2)
    tab.redeem_points.setValue(50)
    tab.expiry_mode.setCurrentIndex(tab.expiry_mode.findData(ExpiryMode.ROLLING))
    assert tab.expiry_months.isEnabled()
    tab.expiry_months.setValue(6)
    tab.weekday_boxes[6].setChecked(True)  # Sunday
    tab.bonus_dates.setText("2026-11-11， 2026-10-01")
    tab.add_category("烟酒", 0)
    tab.add_category("生鲜", 150)
    tab.save()
    assert not tab.refused, tab.message.text()
    assert "Saved" in tab.status.text()
    with read_session(db) as session:
        rules = loyalty.get_rules(session)
    assert rules == loyalty.Rules(2, 50, ExpiryMode.ROLLING, 6, (6,), ("2026-10-01", "2026-11-11"), 200,
                                  (("烟酒", 0), ("生鲜", 150)))

    # A purchase now earns by the new rules: ¥50 of tobacco earns nothing, ¥20 of fresh food 2 x 1.5 per ¥1.
    monday = datetime(2025, 3, 3, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    with unit_of_work(db) as session:
        member_id = members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000")).id
        result = purchases.record_purchase(
            session, cashier, member_id, receipt_no="R1", till="01", amount_fen=7_000, occurred_at=monday,
            lines=(purchases.LineInput(name="烟", category="烟酒", amount_fen=5_000),
                   purchases.LineInput(name="鱼", category="生鲜", amount_fen=2_000)))
    assert result.points == 60
    with read_session(db) as session:
        assert loyalty.open_lots(session, member_id)[0].expires_on.isoformat() == "2025-09-03"


def test_rules_tab_shows_what_is_wrong_and_saves_nothing(qtbot, settings, db) -> None:  # type: ignore[no-untyped-def]
    tab = settings.rules_tab
    tab.bonus_dates.setText("2026-13-01")
    tab.save()
    assert tab.refused and "'2026-13-01' is not a date" in tab.message.text()
    tab.bonus_dates.setText("")
    tab.add_category("烟酒", 0)
    tab.add_category("烟酒", 50)
    tab.save()
    assert tab.refused and "listed twice" in tab.message.text()
    tab.categories.setItem(1, 1, QTableWidgetItem("lots"))
    tab.save()
    assert tab.refused and "whole number of percent" in tab.message.text()
    with read_session(db) as session:
        assert loyalty.get_rules(session) == loyalty.Rules()


def test_tiers_tab_validates_saves_and_runs_the_review(qtbot, settings, db, cashier, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tab = settings.tiers_tab
    assert tab.table.rowCount() == 4
    assert [tab.table.item(3, c).text() for c in range(4)] == ["钻石", "20000", "200", "5"]
    colour = tab.table.item(3, tab.COLOUR)
    assert colour.text() == "" and colour.background().color().name() == "#4fb3d9"  # a swatch, not a code
    tab.table.item(2, tab.THRESHOLD).setText("1000")  # gold below silver
    tab.save()
    assert tab.refused and "'金卡' must need more 12-month spend than '银卡'" in tab.message.text()
    tab.table.item(2, tab.THRESHOLD).setText("3000")
    tab.table.item(2, tab.DISCOUNT).setText("2.5")
    tab.add_tier()
    tab.table.item(4, tab.NAME).setText("黑卡")
    tab.table.item(4, tab.THRESHOLD).setText("50000")
    tab.save()
    assert not tab.refused, tab.message.text()
    with read_session(db) as session:
        saved = tiers_service.list_tiers(session)
    assert [(t.name, t.min_spend_fen, t.discount_bp) for t in saved][2:] == [("金卡", 300_000, 250), ("钻石", 2_000_000, 500),
                                                                              ("黑卡", 5_000_000, 0)]

    # A member lifted to silver by a purchase; the owner then raises the silver threshold: the review moves them down.
    with unit_of_work(db) as session:
        member_id = members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000")).id
        assert purchases.record_purchase(session, cashier, member_id, receipt_no="R1", till="01", amount_fen=250_000).new_tier == "银卡"
    tab.load()
    assert tab.table.item(1, tab.MEMBERS).text() == "1"
    tab.table.item(1, tab.THRESHOLD).setText("2600")
    tab.save()
    assert not tab.refused, tab.message.text()
    assert tab.table.item(1, tab.MEMBERS).text() == "1"  # saving thresholds moves nobody
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    tab.ask_review()
    assert tab.status.text() == "Tier review done: 0 members moved up, 1 moved down."
    assert tab.table.item(0, tab.MEMBERS).text() == "1"

    # Removing the tier a member is in asks first; yes moves them down.
    with unit_of_work(db) as session:
        assert purchases.record_purchase(session, cashier, member_id, receipt_no="R3", till="01", amount_fen=100_000).new_tier == "金卡"
    tab.load()
    assert tab.table.item(2, tab.MEMBERS).text() == "1"
    tab.table.setCurrentCell(2, 0)
    tab.remove_tier()
    tab.save()
    assert not tab.refused, tab.message.text()
    tab.load()
    assert [tab.table.item(r, 0).text() for r in range(tab.table.rowCount())] == ["普通", "银卡", "钻石", "黑卡"]
    assert tab.table.item(1, tab.MEMBERS).text() == "1"
