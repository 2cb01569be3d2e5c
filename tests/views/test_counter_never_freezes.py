"""The counter never waits on the database: with 300 ms added to every query (a busy server, a far network) the
cashier keeps typing while a member is looked up, the counter says it is looking, a sale goes through once
(Enter pressed again changes nothing) and says why it waits when the wait is long."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from crmdesk.models import Purchase
from crmdesk.services import members
from crmdesk.services.members import MemberInput
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.counter_page import CounterPage
from crmdesk.views.operations import Operations
from crmdesk.views.purchase_dialogs import PurchaseDialog
from crmdesk.views.state import AppState
from tests.services.test_members import cashier, db, owner, store_template  # noqa: F401 - fast fixtures

LATENCY_S = 0.3


@pytest.fixture
def zhang(db, cashier) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, cashier, MemberInput(name="张三", phone="13800138000")).id


@pytest.fixture
def slow_counter(qtbot, qapp, db, cashier, zhang) -> Iterator[CounterPage]:  # type: ignore[no-untyped-def]
    """The counter as the running program has it (its database work on a thread), every query 300 ms late."""
    state = AppState(db, cashier, "en")
    state.operations = Operations(threaded=True)
    queries: list[float] = []

    def late(*_args: object) -> None:
        queries.append(time.monotonic())
        time.sleep(LATENCY_S)

    sa.event.listen(db.engine, "before_cursor_execute", late)
    page = CounterPage(state)
    qtbot.addWidget(page)
    page.show()
    page.queries = queries  # type: ignore[attr-defined]
    yield page
    qtbot.waitUntil(lambda: state.operations.idle, timeout=20_000)
    state.operations.stop()
    sa.event.remove(db.engine, "before_cursor_execute", late)


def sale_dialog(qtbot, page: CounterPage, member_id: int) -> PurchaseDialog:  # type: ignore[no-untyped-def]
    """F5's dialog for the member, once the slow counter has shown them and is idle."""
    page.open_member(member_id)
    qtbot.waitUntil(lambda: page.profile is not None, timeout=15_000)
    qtbot.waitUntil(lambda: page._state.operations.idle, timeout=15_000)
    dialog = PurchaseDialog(page._state, page.profile, page)
    qtbot.addWidget(dialog)
    dialog.open()
    return dialog


def test_the_cashier_keeps_typing_while_a_member_is_looked_up(qtbot, slow_counter: CounterPage, zhang: int) -> None:  # type: ignore[no-untyped-def]
    page = slow_counter
    qtbot.keyClicks(page.search_edit, "13800138000")
    qtbot.keyClick(page.search_edit, Qt.Key.Key_Return)  # a scanner's Enter: the look-up starts
    started = time.monotonic()
    qtbot.keyClicks(page.search_edit, "9")  # typed while the database is still answering -- and taken back
    qtbot.keyClick(page.search_edit, Qt.Key.Key_Backspace)
    took = time.monotonic() - started
    assert took < LATENCY_S, f"two keystrokes waited {took:.2f} s for the database"
    assert page.search_edit.text() == "13800138000"
    assert page.profile is None  # not there yet: the answer is on its way
    qtbot.waitUntil(lambda: page.busy_label.isVisible(), timeout=2_000)  # "Looking it up…" once it takes long
    qtbot.waitUntil(lambda: page.profile is not None, timeout=15_000)
    assert page.profile.id == zhang and len(page.queries) >= 4  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: not page.busy_label.isVisible(), timeout=15_000)


def test_a_slow_sale_goes_through_once_and_says_why_it_waits(qtbot, slow_counter: CounterPage, db, zhang: int) -> None:  # type: ignore[no-untyped-def]
    page = slow_counter
    dialog = sale_dialog(qtbot, page, zhang)
    dialog.amount_edit.setText("88")
    dialog.receipt_edit.setText("SLOW-1")
    dialog.accept()
    assert dialog.recording and not dialog.ok_button.isEnabled() and dialog.isVisible()
    dialog.accept()  # Enter again, impatiently
    dialog.reject()  # and Esc: the sale on its way is not abandoned
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: "Waiting for the database" in dialog.message.text(), timeout=5_000)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=20_000)
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.result_value is not None
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase).where(Purchase.receipt_no == "SLOW-1")) == 1


def test_f5_straight_after_a_scan_waits_for_the_new_member(qtbot, slow_counter: CounterPage, db, cashier, zhang) -> None:  # type: ignore[no-untyped-def]
    page = slow_counter
    with unit_of_work(db) as session:
        li = members.register(session, cashier, MemberInput(name="李四", phone="13900139000")).id
    page.open_member(zhang)
    qtbot.waitUntil(lambda: page.profile is not None and page._state.operations.idle, timeout=15_000)
    page.search_edit.setText("13900139000")
    page.submit()  # the scanner's Enter for the next customer
    page.record_purchase()  # F5 at once: the member on screen is still the last one
    assert page.purchase_dialog is None
    qtbot.waitUntil(lambda: page.profile is not None and page.profile.id == li, timeout=15_000)
    page.record_purchase()
    assert page.purchase_dialog is not None and page.purchase_dialog.profile.id == li
    page.purchase_dialog.reject()


def test_esc_while_a_member_is_on_the_way_opens_nobody(qtbot, slow_counter: CounterPage, zhang) -> None:  # type: ignore[no-untyped-def]
    page = slow_counter
    page.search_edit.setText("13800138000")
    page.submit()
    page.clear()
    qtbot.waitUntil(lambda: page._state.operations.idle, timeout=15_000)
    assert page.profile is None and page.search_edit.text() == ""


def test_the_member_list_scrolls_while_its_pages_are_read(qtbot, qapp, db, owner, cashier, zhang) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.views.member_list import MemberListPage

    with unit_of_work(db) as session:
        for number in range(120):
            members.register(session, cashier, MemberInput(name=f"会员{number}", phone=f"1390000{number:04d}"))
    state = AppState(db, owner, "en")
    state.operations = Operations(threaded=True)
    page = MemberListPage(state)
    page.model._rows.page_size = 40  # three pages and a bit: the last is read on scrolling there
    page.model.refresh()
    qtbot.addWidget(page)
    page.resize(1000, 500)
    page.show()
    qtbot.waitUntil(lambda: page.model.index(0, 1).data() not in (None, ""), timeout=10_000)

    def late(*_args: object) -> None:
        time.sleep(LATENCY_S)

    sa.event.listen(db.engine, "before_cursor_execute", late)
    try:
        started = time.monotonic()
        page.table.scrollToBottom()
        qapp.processEvents()
        took = time.monotonic() - started
        assert took < LATENCY_S, f"scrolling waited {took:.2f} s for the database"
        last = page.model.rowCount() - 1
        assert page.model.index(last, 1).data() in (None, "")  # on its way
        qtbot.waitUntil(lambda: page.model.index(last, 1).data() not in (None, ""), timeout=15_000)
    finally:
        qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
        state.operations.stop()
        sa.event.remove(db.engine, "before_cursor_execute", late)


def test_typing_the_amount_never_waits_for_the_points_preview(qtbot, slow_counter: CounterPage, zhang: int) -> None:  # type: ignore[no-untyped-def]
    page = slow_counter
    dialog = sale_dialog(qtbot, page, zhang)
    started = time.monotonic()
    qtbot.keyClicks(dialog.amount_edit, "88.50")  # five keystrokes, each asking what the sale would earn
    took = time.monotonic() - started
    assert took < LATENCY_S, f"typing the amount waited {took:.2f} s for the database"
    qtbot.waitUntil(lambda: "Earns 88 points" in dialog.preview_label.text(), timeout=15_000)  # the newest answer
    dialog.reject()
