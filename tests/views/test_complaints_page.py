"""The complaints area offscreen: board counts, filters and paging, monthly figures, satisfaction, settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from PySide6.QtCore import Qt

from crmdesk.models import ComplaintStatus, FollowUpMethod, Priority, Remedy
from crmdesk.services import complaint_figures, complaints, members, purchases, surveys
from crmdesk.services.complaints import ComplaintInput, FollowUpInput, RemedyInput
from crmdesk.services.loyalty import SHOP_ZONE
from crmdesk.services.surveys import SurveyInput
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views import complaints_page
from crmdesk.views.complaint_detail import ComplaintDetailDialog
from crmdesk.views.complaints_page import COLUMNS, ComplaintsPage, duration_text
from crmdesk.views.state import AppState

S = ComplaintStatus


def log(db, actor, *, received_at=None, **fields) -> int:  # type: ignore[no-untyped-def]
    fields.setdefault("channel", "counter")
    fields.setdefault("category", "quality")
    fields.setdefault("description", "买的排骨有异味")
    now = datetime.now(UTC)
    with unit_of_work(db) as session:
        return complaints.log_complaint(session, actor, ComplaintInput(received_at=received_at or now, **fields), now=now).id


def act(db, operation, actor, *args, **kwargs):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return operation(session, actor, *args, **kwargs)


def member(db, actor, name: str, phone: str) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, actor, members.MemberInput(name=name, phone=phone)).id


def shown_ids(page: ComplaintsPage) -> list[int]:
    model = page.board.model
    return [model.data(model.index(row, 0), Qt.ItemDataRole.UserRole) for row in range(model.rowCount())]


@pytest.fixture
def board(db, owner, cashier):  # type: ignore[no-untyped-def]
    """Three overdue complaints (no reply after 3 days), two fresh ones, one resolved, one closed."""
    days_ago = datetime.now(UTC) - timedelta(days=3)
    late = [log(db, cashier, received_at=days_ago + timedelta(minutes=n), category="expired") for n in range(3)]
    fresh = [log(db, cashier, category=category) for category in ("quality", "other")]
    resolved = log(db, cashier, category="price", channel="phone")
    act(db, complaints.resolve, owner, resolved, RemedyInput((Remedy.APOLOGY,)))
    closed = log(db, cashier, category="price", channel="phone")
    act(db, complaints.resolve, owner, closed, RemedyInput((Remedy.APOLOGY,)))
    act(db, complaints.record_follow_up, owner, closed, FollowUpInput(satisfaction=4))
    act(db, complaints.close, owner, closed)
    return {"late": late, "fresh": fresh, "resolved": resolved, "closed": closed}


def test_the_board_counts_filters_and_lists_by_next_deadline(qtbot, owner_state, board) -> None:  # type: ignore[no-untyped-def]
    page = ComplaintsPage(owner_state)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.overdueChanged) as overdue:
        page.refresh()
    assert overdue.args == [3]
    tiles = page.board
    assert (tiles.open_tile.count, tiles.overdue_tile.count) == (5, 3)
    assert {s: t.count for s, t in tiles.status_tiles.items()} == {
        S.NEW: 5, S.ASSIGNED: 0, S.IN_PROGRESS: 0, S.RESOLVED: 1, S.FOLLOWED_UP: 0, S.CLOSED: 1}
    assert tiles.overdue_tile.property("alert") == "true" and tiles.open_tile.property("alert") == "false"

    # Open complaints only, the next deadline first: the late ones (oldest first), then the fresh ones.
    assert shown_ids(page) == board["late"] + board["fresh"]
    assert tiles.open_tile.isChecked()
    model = tiles.model
    late_row, fresh_row = 0, 3
    assert model.index(late_row, COLUMNS.index("overdue")).data() == "! no reply"
    assert model.index(late_row, 0).data(Qt.ItemDataRole.ForegroundRole).color().name() == "#b3261e"
    assert model.index(late_row, COLUMNS.index("overdue")).data(Qt.ItemDataRole.DecorationRole) is not None
    assert model.index(fresh_row, COLUMNS.index("overdue")).data() == ""
    assert model.index(fresh_row, 0).data(Qt.ItemDataRole.BackgroundRole) is None
    assert model.index(fresh_row, COLUMNS.index("customer")).data() == "Walk-in customer"
    assert model.index(fresh_row, COLUMNS.index("category")).data() == "Product quality"
    assert model.index(fresh_row, COLUMNS.index("owner")).data() == "Nobody yet"
    assert model.headerData(COLUMNS.index("due"), Qt.Orientation.Horizontal) == "Resolve by"

    # The overdue tile filters; so does the check box; a status tile shows that status.
    tiles.overdue_tile.click()
    assert shown_ids(page) == board["late"] and tiles.overdue_check.isChecked() and tiles.overdue_tile.isChecked()
    assert not tiles.open_tile.isChecked()
    tiles.status_tiles[S.RESOLVED].click()
    assert shown_ids(page) == [board["resolved"]] and not tiles.overdue_check.isChecked()
    assert model.index(0, 0).data(Qt.ItemDataRole.ForegroundRole).color().name() == "#8c8c8c"  # done: greyed

    # The filter widgets, applied (the timer is skipped in tests).
    tiles.status_box.setCurrentIndex(tiles.status_box.findData(complaints_page.STATUS_ALL))
    tiles.apply_filter()
    assert model.total == 7 and "7 complaints" == tiles.count_label.text()
    tiles.channel_box.setCurrentIndex(tiles.channel_box.findData("phone"))
    tiles.apply_filter()
    assert set(shown_ids(page)) == {board["resolved"], board["closed"]}
    tiles.clear_filters()
    tiles.category_box.setCurrentIndex(tiles.category_box.findData("expired"))
    tiles.overdue_check.setChecked(True)
    tiles.apply_filter()
    assert shown_ids(page) == board["late"]
    tiles.clear_filters()
    tiles.order_box.setCurrentIndex(1)  # newest first
    tiles.apply_filter()
    assert shown_ids(page)[0] == board["fresh"][-1]
    today = datetime.now(SHOP_ZONE).date()
    tiles.clear_filters()
    tiles.status_box.setCurrentIndex(tiles.status_box.findData(complaints_page.STATUS_ALL))
    tiles.order_box.setCurrentIndex(0)
    tiles.from_edit.setDate(today - timedelta(days=4))
    tiles.to_edit.setDate(today - timedelta(days=2))
    tiles.apply_filter()
    assert shown_ids(page) == board["late"]


def test_the_board_reads_pages_not_the_whole_table(qtbot, owner_state, cashier, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for n in range(40):
        log(owner_state.db, cashier, description=f"投诉 {n}")
    monkeypatch.setattr(complaints_page, "PAGE_SIZE", 5)
    page = ComplaintsPage(owner_state)
    qtbot.addWidget(page)
    page.resize(1200, 330)
    page.show()
    qtbot.waitExposed(page)
    qtbot.waitUntil(lambda: page.board.model.pages_fetched > 0)  # painting the visible rows reads their pages
    model = page.board.model
    assert model.rowCount() == 40
    assert 0 in model.fetched_offsets and max(model.fetched_offsets) < 35
    assert model.pages_fetched < 8  # what the view shows, not all eight pages
    assert model.info_at(39) is not None and 35 in model.fetched_offsets
    assert len({info.id for info in (model.info_at(row) for row in range(40)) if info}) == 40


def test_double_click_or_enter_opens_the_complaint_and_changes_refresh_the_board(qtbot, owner_state, board) -> None:  # type: ignore[no-untyped-def]
    page = ComplaintsPage(owner_state)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitExposed(page)
    table = page.board.table
    table.selectRow(3)
    table.setFocus()
    with qtbot.waitSignal(page.board.complaintOpened) as opened:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert opened.args == [board["fresh"][0]]
    dialog = page.board.detail_dialog
    assert isinstance(dialog, ComplaintDetailDialog) and dialog.complaint_id == board["fresh"][0]
    dialog.close()
    dialog = page.board.open_row(0)
    assert dialog is not None and dialog.complaint_id == board["late"][0]
    with qtbot.waitSignal(page.overdueChanged) as overdue:
        dialog.start_work()  # a first response: no longer late on the reply
    assert not dialog.refused
    assert overdue.args == [3]  # still past the resolution deadline
    assert page.board.status_tiles[S.IN_PROGRESS].count == 1
    dialog.close()


def test_new_complaint_opens_the_form_and_shows_what_was_logged(qtbot, owner_state) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.views.complaint_form import ComplaintFormDialog

    page = ComplaintsPage(owner_state)
    qtbot.addWidget(page)
    page.board.new_complaint()
    form = page.board.form_dialog
    assert isinstance(form, ComplaintFormDialog) and form.member_id is None  # a walk-in customer's
    assert form.name_edit is not None and form.category_box.count() > 0
    complaint_id = log(owner_state.db, owner_state.actor)
    form.complaintLogged.emit(complaint_id)
    assert shown_ids(page) == [complaint_id]
    assert f"Complaint {complaint_id} logged." in page.board.message.text()
    form.reject()


def test_duration_texts() -> None:
    assert duration_text(None) == "—"
    assert duration_text(timedelta(minutes=40)) == "40 min"
    assert duration_text(timedelta(hours=3)) == "3 h"
    assert duration_text(timedelta(hours=26, minutes=30)) == "26 h 30 min"
    assert duration_text(timedelta(days=3, hours=4, minutes=40)) == "3 d 5 h"


# --------------------------------------------------------------------------- monthly figures


def _at(first: date, day: int, hour: int) -> datetime:
    return datetime.combine(first + timedelta(days=day), time(hour), tzinfo=SHOP_ZONE)


def test_the_figures_tab_shows_a_hand_made_month(qtbot, owner_state, cashier) -> None:  # type: ignore[no-untyped-def]
    """Two months ago (local):
    c1  A  quality counter  day 1 09:00  started +2 h, resolved +24 h, followed up (4) and closed
    c2  -  price   phone    day 5 10:00  contacted +4 h, resolved +10 h (same day: on time), followed up (2)
    c3  B  attitude box     day 10 12:00 nothing (late on both deadlines now)
    c4  A  other   letter   day 21 15:00 nothing (late on both deadlines now)
    A bought something on day 6 (after c1's resolution); B never did.
    """
    db, owner = owner_state.db, owner_state.actor
    first = complaint_figures.add_months(datetime.now(SHOP_ZONE).date().replace(day=1), -2)
    a, b = member(db, owner, "张三", "13812345678"), member(db, owner, "李四", "13900000000")

    def logged(received: datetime, category: str, channel: str, member_id: int | None) -> int:
        with unit_of_work(db) as session:
            return complaints.log_complaint(session, cashier, ComplaintInput(
                channel=channel, category=category, description="投诉", member_id=member_id, received_at=received), now=received).id

    c1 = logged(_at(first, 0, 9), "quality", "counter", a)
    act(db, complaints.start_work, owner, c1, now=_at(first, 0, 11))
    act(db, complaints.resolve, owner, c1, RemedyInput((Remedy.EXCHANGE,)), now=_at(first, 1, 9))
    act(db, complaints.record_follow_up, owner, c1, FollowUpInput(satisfaction=4, done_at=_at(first, 2, 9)), now=_at(first, 2, 9))
    act(db, complaints.close, owner, c1, now=_at(first, 2, 10))
    c2 = logged(_at(first, 4, 10), "price", "phone", None)
    act(db, complaints.add_note, owner, c2, "打过电话", contact=True, now=_at(first, 4, 14))
    act(db, complaints.resolve, owner, c2, RemedyInput((Remedy.REFUND,), refund_fen=500), now=_at(first, 4, 20))
    act(db, complaints.record_follow_up, owner, c2, FollowUpInput(satisfaction=2, method=FollowUpMethod.SMS,
                                                                  done_at=_at(first, 6, 9)), now=_at(first, 6, 9))
    logged(_at(first, 9, 12), "attitude", "box", b)
    logged(_at(first, 20, 15), "other", "letter", a)
    with unit_of_work(db) as session:
        purchases.record_purchase(session, owner, a, receipt_no="R1", till="01", amount_fen=3_000, occurred_at=_at(first, 5, 9))

    page = ComplaintsPage(owner_state)
    qtbot.addWidget(page)
    assert page.figures.month() == complaint_figures.add_months(first, 1)  # opens on the last full month
    page.show_tab("figures")
    page.figures.show_month(first)
    texts = page.figures.figure_texts()
    assert texts["received"] == "4"
    assert (texts["first_response"], texts["resolution"]) == ("3 h", "17 h")  # medians of 2 h, 4 h and 24 h, 10 h
    assert (texts["response_on_time"], texts["response_on_time_detail"]) == ("50 %", "2 of 4")
    assert (texts["resolved_on_time"], texts["resolved_on_time_detail"]) == ("50 %", "2 of 4")
    assert (texts["follow_up"], texts["follow_up_detail"]) == ("100 %", "2 of 2")
    assert (texts["satisfaction"], texts["satisfaction_detail"]) == ("3.0 / 5", "2 follow-ups")
    assert texts["repeat"] == "1"

    def rows(table) -> dict[str, str]:  # type: ignore[no-untyped-def]
        return {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}

    by_category = rows(page.figures.category_table)
    assert (by_category["Product quality"], by_category["Price or checkout error"], by_category["Waiting time"]) == ("1", "1", "0")
    assert rows(page.figures.channel_table) == {"Counter": "1", "Phone": "1", "Suggestion box": "1", "Online message": "0",
                                                "Letter": "1"}
    repeat = page.figures.repeat_table
    assert (repeat.item(0, 1).text(), repeat.item(0, 2).text(), repeat.item(0, 3).text()) == ("张三", "2", "2")
    came_back = page.figures.came_back_table
    assert [came_back.item(r, 1).text() for r in range(2)] == ["1", "1"]  # members resolved / not resolved yet
    assert [came_back.item(r, 2).text() for r in range(2)] == ["100 %  (1/1)", "0 %  (0/1)"]
    assert [came_back.item(r, 2).data(Qt.ItemDataRole.UserRole) for r in range(2)] == [1.0, 0.0]  # the bars' lengths
    assert "as they stand" in page.figures.as_of_label.text()


# --------------------------------------------------------------------------- satisfaction


def test_the_satisfaction_tab_flags_a_drop(qtbot, owner_state, cashier) -> None:  # type: ignore[no-untyped-def]
    db = owner_state.db
    month = complaint_figures.add_months(datetime.now(SHOP_ZONE).date().replace(day=1), -1)
    before = complaint_figures.add_months(month, -1)

    def take(first: date, day: int, scores: dict[str, int], comment: str = "") -> None:
        with unit_of_work(db) as session:
            surveys.add_response(session, cashier, SurveyInput(scores=tuple(scores.items()), comment=comment,
                                                               taken_at=_at(first, day, 12)))

    take(before, 2, {"attitude": 5, "checkout": 4})
    take(before, 9, {"attitude": 5, "checkout": 4})
    take(month, 3, {"attitude": 3, "checkout": 4})
    take(month, 8, {"attitude": 4, "checkout": 5, "price": 2}, comment="收银太慢")
    page = ComplaintsPage(owner_state)
    qtbot.addWidget(page)
    page.show_tab("satisfaction")
    tab = page.satisfaction
    assert tab.month() == month and tab.summary is not None
    assert tab.responses_tile.value.text() == "2"
    assert (tab.rate_tile.value.text(), tab.rate_tile.detail.text()) == ("60 %", "3 of 5")
    assert tab.alerts_tile.value.text() == "1"
    assert not tab.alert_label.isHidden() and "Service attitude (−1.50)" in tab.alert_label.text()
    rows = {tab.dimension_table.item(r, 0).text(): r for r in range(tab.dimension_table.rowCount())}
    attitude, checkout = rows["Service attitude"], rows["Checkout speed"]
    assert [tab.dimension_table.item(attitude, c).text() for c in (1, 2, 3, 4, 6)] == ["2", "3.50", "5.00", "−1.50", "! dropped"]
    assert [tab.dimension_table.item(checkout, c).text() for c in (2, 4, 6)] == ["4.50", "+0.50", ""]
    assert tab.recent_table.rowCount() == 4
    assert tab.recent_table.item(0, 4).text() == "收银太慢"
    assert tab.recent_table.item(0, 3).text() == "Service attitude 4, Checkout speed 5, Price 2"  # in the questions' order


# --------------------------------------------------------------------------- settings


def test_settings_tab_only_for_the_owner(qtbot, db, owner, cashier, supervisor) -> None:  # type: ignore[no-untyped-def]
    for actor, has in ((owner, True), (supervisor, False), (cashier, False)):
        page = ComplaintsPage(AppState(db, actor, "en"))
        qtbot.addWidget(page)
        assert (page.settings is not None) == has
        assert page.tabs.count() == (4 if has else 3)
    state = AppState(db, cashier, "en")
    page = ComplaintsPage(state)
    qtbot.addWidget(page)
    state.sign_in(owner)
    assert page.settings is not None and page.tabs.count() == 4


def test_the_settings_widget_adds_and_changes_entries(qtbot, owner_state) -> None:  # type: ignore[no-untyped-def]
    page = ComplaintsPage(owner_state)
    qtbot.addWidget(page)
    page.show_tab("settings")
    widget = page.settings
    assert widget is not None
    widget.add_category("停车问题", 2, Priority.HIGH)
    assert not widget.refused
    with read_session(owner_state.db) as session:
        added = complaints.find_category(session, "停车问题")
    assert (added.resolution_days, added.default_priority, added.active) == (2, Priority.HIGH, True)
    selected = widget.selected_category()
    assert selected is not None and selected.code == added.code
    row = widget.category_table.currentRow()
    assert [widget.category_table.item(row, c).text() for c in (0, 2, 3)] == ["停车问题", "2 days", "high"]
    assert "Added 停车问题." in widget.status.text()

    widget.add_category("停车问题")  # the same name again: refused, nothing added
    assert widget.refused
    assert "already in the list" in widget.message.text() and not widget.message.isHidden()
    with read_session(owner_state.db) as session:
        assert sum(c.name == "停车问题" for c in complaints.list_categories(session, include_inactive=True)) == 1

    widget.update_category(added.code, resolution_days=0)
    assert not widget.refused
    assert widget.category_table.item(widget.category_table.currentRow(), 2).text() == "same day"
    widget.toggle_category()
    with read_session(owner_state.db) as session:
        assert not complaints.find_category(session, added.code).active
    assert widget.toggle_category_button.text() == "Switch on"
    # The board's category filter lists it (switched off entries too: old complaints use them).
    page.board.reload_choices()
    assert page.board.category_box.findData(added.code) >= 0

    widget.channels.add("微信群")
    assert not widget.channels.refused
    assert widget.channels.selected() is not None and widget.channels.selected().name == "微信群"
    widget.channels.rename("counter", "服务台")
    assert not widget.channels.refused
    widget.dimensions.set_active("price", False)
    assert not widget.dimensions.refused
    widget.hours_spin.setValue(12)
    widget.save_first_response_hours()
    assert not widget.refused
    widget.alert_spin.setValue(0.5)
    widget.save_drop_alert()
    assert not widget.refused
    with read_session(owner_state.db) as session:
        assert complaints.find_channel(session, "counter").name == "服务台"
        assert not surveys.find_dimension(session, "price").active
        assert complaints.get_settings(session).first_response_hours == 12
        assert surveys.drop_alert_centi(session) == 50


def test_the_settings_widget_shows_a_refusal(qtbot, db, owner, supervisor) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.views.complaint_settings import ComplaintSettingsWidget

    widget = ComplaintSettingsWidget(AppState(db, supervisor, "en"))  # placed somewhere it should not be
    qtbot.addWidget(widget)
    widget.add_category("停车问题")
    assert widget.refused
    assert "may not change the complaint and survey settings" in widget.message.text()
    with read_session(db) as session:
        assert all(c.name != "停车问题" for c in complaints.list_categories(session, include_inactive=True))
