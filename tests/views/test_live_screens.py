"""Screens that follow the other tills: a sale recorded elsewhere shows on the counter, the member list, an open
profile and the complaints board within a couple of seconds, without a reload button -- and without taking the
cashier's typing, the list's scroll or a half-edited profile away."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.services import complaints, members, purchases
from crmdesk.services.complaints import ComplaintInput
from crmdesk.services.members import MemberInput
from crmdesk.services.uow import unit_of_work
from crmdesk.views.complaints_page import ComplaintsPage
from crmdesk.views.counter_page import CounterPage
from crmdesk.views.live_changes import LiveChanges
from crmdesk.views.member_list import MemberListPage
from crmdesk.views.member_profile import MemberProfileDialog
from crmdesk.views.state import AppState
from tests.services.test_members import cashier, db, owner, store_template  # noqa: F401 - fast fixtures

SEEN_WITHIN_MS = 5_000  # the feed polls an SQLite file every second; the screens read again within another


@pytest.fixture
def zhang(db, cashier) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        for number in range(40):  # a list long enough to scroll
            members.register(session, cashier, MemberInput(name=f"会员{number}", phone=f"1390000{number:04d}"))
        return members.register(session, cashier, MemberInput(name="张三", phone="13800138000",
                                                               birthday=date(1985, 6, 2))).id


@pytest.fixture
def following(qapp, db, owner) -> Iterator[AppState]:  # type: ignore[no-untyped-def]
    state = AppState(db, owner, "en")
    state.live_changes = LiveChanges(db)
    state.live_changes.start()
    yield state
    state.live_changes.stop()


@pytest.fixture
def other_till(db_path: Path) -> Iterator[Database]:
    """Another till on the same database: its own engine and connections."""
    database = open_database(sqlite_url(db_path))
    yield database
    database.dispose()


def sell(till: Database, actor, member_id: int, fen: int) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(till) as session:
        purchases.record_purchase(session, actor, member_id, till="02", amount_fen=fen)


def test_the_counter_shows_another_tills_sale_and_keeps_the_cashiers_typing(  # type: ignore[no-untyped-def]
        qtbot, following, other_till, zhang, owner) -> None:
    page = CounterPage(following)
    qtbot.addWidget(page)
    page.show()
    page.open_member(zhang)
    assert page.points_label.text() == "0"
    qtbot.keyClicks(page.search_edit, "1390")  # the cashier starts on the next customer
    sell(other_till, owner, zhang, 20_000)
    qtbot.waitUntil(lambda: page.points_label.text() != "0", timeout=SEEN_WITHIN_MS)
    assert page.profile is not None and page.profile.points_balance > 0
    assert page.search_edit.text() == "1390" and page.search_edit.hasFocus()


def test_the_member_list_reads_the_new_figures_in_place(qtbot, following, other_till, zhang, owner) -> None:  # type: ignore[no-untyped-def]
    page = MemberListPage(following)
    qtbot.addWidget(page)
    page.resize(1000, 400)
    page.show()
    qtbot.waitExposed(page)
    row = next(r for r in range(page.model.rowCount()) if page.model.row_at(r).id == zhang)
    column = page.model.columnCount() and [i for i in range(page.model.columnCount())
                                            if page.model.headerData(i, Qt.Orientation.Horizontal) == "Points"][0]
    page.table.scrollToBottom()
    scrolled = page.table.verticalScrollBar().value()
    assert scrolled > 0 and page.model.index(row, column).data() == "0"
    sell(other_till, owner, zhang, 30_000)
    qtbot.waitUntil(lambda: page.model.index(row, column).data() != "0", timeout=SEEN_WITHIN_MS)
    # Read in place, not from the top (a row's height may settle by one step as the new figures are drawn).
    assert abs(page.table.verticalScrollBar().value() - scrolled) <= 1


def test_an_open_profile_follows_without_losing_what_is_being_edited(  # type: ignore[no-untyped-def]
        qtbot, following, other_till, zhang, owner) -> None:
    dialog = MemberProfileDialog(following, zhang)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name_edit.setText("张三（改名中）")
    before = dialog.summary.text()
    sell(other_till, owner, zhang, 10_000)
    qtbot.waitUntil(lambda: dialog.summary.text() != before, timeout=SEEN_WITHIN_MS)
    assert "1 visits" in dialog.summary.text() or "visits" in dialog.summary.text()
    assert dialog.profile is not None and dialog.profile.visit_count == 1
    assert dialog.name_edit.text() == "张三（改名中）"


def test_the_complaints_board_shows_a_complaint_logged_at_another_till(  # type: ignore[no-untyped-def]
        qtbot, following, other_till, zhang, owner) -> None:
    page = ComplaintsPage(following)
    qtbot.addWidget(page)
    page.show()
    before = page.board.model.rowCount()
    with unit_of_work(other_till) as session:
        complaints.log_complaint(session, owner, ComplaintInput(channel="counter", category="quality",
                                                                description="排骨有异味", member_id=zhang))
    qtbot.waitUntil(lambda: page.board.model.rowCount() == before + 1, timeout=SEEN_WITHIN_MS)


def test_a_hidden_screen_reads_again_when_it_is_next_shown(qtbot, following, other_till, zhang, owner) -> None:  # type: ignore[no-untyped-def]
    page = MemberListPage(following)
    qtbot.addWidget(page)
    reads = []
    page.live._read_again = lambda: reads.append(1)  # counted instead of read
    sell(other_till, owner, zhang, 5_000)
    qtbot.wait(2_500)
    assert reads == []  # not shown: nothing read meanwhile
    page.show()
    qtbot.waitUntil(lambda: reads == [1], timeout=2_000)
