"""The member profile's purchase history (paged, with totals) and points (ledger, lots, adjustments)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crmdesk.services import members, purchases
from crmdesk.services.uow import unit_of_work
from crmdesk.shop_time import SHOP_ZONE
from crmdesk.views.member_profile import PURCHASES_PAGE, MemberProfileDialog
from crmdesk.views.state import AppState
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

START = datetime(2025, 3, 1, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def member_id(db, cashier):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member = members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000")).id
        for day in range(PURCHASES_PAGE + 5):  # ¥10, ¥11, ... one a day
            purchases.record_purchase(session, cashier, member, receipt_no=f"R{day:03d}", till="01",
                                      amount_fen=1_000 + 100 * day, occurred_at=START + timedelta(days=day))
        purchases.refund(session, cashier, original_till="01", original_receipt="R000", refund_receipt="F1",
                         amount_fen=500, occurred_at=START + timedelta(days=60))
    return member


def open_profile(qtbot, state, member_id) -> MemberProfileDialog:  # type: ignore[no-untyped-def]
    dialog = MemberProfileDialog(state, member_id)
    qtbot.addWidget(dialog)
    return dialog


def test_purchases_tab_pages_newest_first_with_totals(qtbot, cashier_state, member_id) -> None:  # type: ignore[no-untyped-def]
    dialog = open_profile(qtbot, cashier_state, member_id)
    table = dialog.purchases_table
    assert table.rowCount() == PURCHASES_PAGE
    # Newest first: the refund, then the last sale.
    assert [table.item(0, c).text() for c in (1, 3, 4, 5)] == ["Refund", "F1", "-¥5.00", "-5 (taken back with the refund)"]
    assert table.item(1, 3).text() == "R054" and table.item(1, 4).text() == "¥64.00"
    spend = sum(1_000 + 100 * d for d in range(PURCHASES_PAGE + 5)) - 500
    text = dialog.purchase_totals_label.text()
    assert "Visits: 55" in text and f"Spend: ¥{spend // 100:,}.{spend % 100:02d}" in text
    assert f"Average basket: ¥{spend // 55 // 100}.{spend // 55 % 100:02d}" in text
    assert f"First visit: {START.astimezone(SHOP_ZONE).strftime('%Y-%m-%d %H:%M')}" in text
    assert not dialog.previous_page_button.isEnabled() and dialog.next_page_button.isEnabled()
    dialog.next_page_button.click()
    assert table.rowCount() == 6 and table.item(5, 3).text() == "R000"
    assert dialog.purchase_page_label.text() == "51–56" and not dialog.next_page_button.isEnabled()
    dialog.previous_page_button.click()
    assert table.rowCount() == PURCHASES_PAGE and dialog.purchase_offset == 0


def test_points_tab_shows_ledger_and_lots(qtbot, cashier_state, member_id) -> None:  # type: ignore[no-untyped-def]
    dialog = open_profile(qtbot, cashier_state, member_id)
    assert dialog.ledger_table.rowCount() == 56
    assert [dialog.ledger_table.item(0, c).text() for c in (1, 2, 3)] == ["Refund", "-5", "F1"]
    assert dialog.ledger_table.item(0, 5).text() == "收银员小李"
    assert dialog.lots_table.rowCount() >= 1 and dialog.lots_table.item(0, 1).text() == "2026-12-31"
    assert dialog.points_balance_label.text() == f"Balance: {dialog.profile.points_balance:,} points"


def test_adjust_points_is_denied_to_a_cashier(qtbot, cashier_state, member_id) -> None:  # type: ignore[no-untyped-def]
    dialog = open_profile(qtbot, cashier_state, member_id)
    assert dialog.adjust_button.isHidden()
    before = dialog.profile.points_balance
    dialog.adjust_points(100, "old card")  # the service refuses even if the button were there
    assert dialog.refused
    assert "may not adjust points" in dialog.message.text() and dialog.profile.points_balance == before


def test_a_supervisor_adjusts_points_with_a_reason(qtbot, db, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    dialog = open_profile(qtbot, AppState(db, supervisor, "en"), member_id)
    assert not dialog.adjust_button.isHidden()
    before = dialog.profile.points_balance
    dialog.adjust_points(100, "  ")
    assert dialog.refused
    assert "Give the reason" in dialog.message.text()
    dialog.adjust_points(100, "points lost in the old system")
    assert not dialog.refused
    assert dialog.profile.points_balance == before + 100
    assert [dialog.ledger_table.item(0, c).text() for c in (1, 2, 4, 5)] == [
        "Adjustment", "+100", "points lost in the old system", "值班经理"]
