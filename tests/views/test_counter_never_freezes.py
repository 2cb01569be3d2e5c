"""The counter never waits on the database: with 300 ms added to every query (a busy server, a far network) the
cashier keeps typing while a member is looked up, the counter says it is looking, a sale goes through once
(Enter pressed again changes nothing) and says why it waits when the wait is long."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

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
from tests.views.dialogs import built

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
    slow = {"on": True}  # off while a test sets the scene (registers a member, builds a dialog): not what it tests

    def late(*_args: object) -> None:
        if slow["on"]:
            queries.append(time.monotonic())
            time.sleep(LATENCY_S)

    sa.event.listen(db.engine, "before_cursor_execute", late)
    page = CounterPage(state)
    qtbot.addWidget(page)
    page.show()
    page.queries = queries  # type: ignore[attr-defined]
    page.slow = slow  # type: ignore[attr-defined]
    yield page
    qtbot.waitUntil(lambda: state.operations.idle, timeout=20_000)
    state.operations.stop()
    sa.event.remove(db.engine, "before_cursor_execute", late)


class watch_the_ui_thread(list):  # noqa: N801 - used like a function
    """Every statement the program runs on the UI thread from now on, with the frames that ran it (to name it when
    a test fails); ``stop()`` ends the watch."""

    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self._engine = db.engine
        sa.event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, _connection, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if threading.current_thread() is not threading.main_thread():
            return
        stack = traceback.extract_stack()[:-1]  # not this watch's own frame
        # Whose question: the nearest screen (crmdesk/views, crmdesk/app.py) or the test setting the scene.
        asker = next((frame for frame in reversed(stack) if "/tests/" in frame.filename or "/crmdesk/views/" in frame.filename
                      or frame.filename.endswith("/crmdesk/app.py")), None)
        if asker is not None and "/tests/" not in asker.filename:
            frames = [f"{Path(frame.filename).stem}.{frame.name}:{frame.lineno}" for frame in stack if "/crmdesk/" in frame.filename]
            self.append(f"{statement[:60]} <- {' / '.join(frames)}")

    def stop(self) -> None:
        sa.event.remove(self._engine, "before_cursor_execute", self._seen)


def sale_dialog(qtbot, page: CounterPage, member_id: int) -> PurchaseDialog:  # type: ignore[no-untyped-def]
    """F5's dialog for the member, once the counter has shown them and is idle (the scene set without latency)."""
    page.slow["on"] = False  # type: ignore[attr-defined]
    page.open_member(member_id)
    qtbot.waitUntil(lambda: page.profile is not None, timeout=15_000)
    qtbot.waitUntil(lambda: page._state.operations.idle, timeout=15_000)
    dialog = built(PurchaseDialog, page._state, page.profile, page)
    qtbot.waitUntil(lambda: page._state.operations.idle, timeout=15_000)  # the first points preview
    page.slow["on"] = True  # type: ignore[attr-defined]
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
    page.slow["on"] = False  # type: ignore[attr-defined]
    with unit_of_work(db) as session:
        li = members.register(session, cashier, MemberInput(name="李四", phone="13900139000")).id
    page.open_member(zhang)
    qtbot.waitUntil(lambda: page.profile is not None and page._state.operations.idle, timeout=15_000)
    page.slow["on"] = True  # type: ignore[attr-defined]
    page.search_edit.setText("13900139000")
    page.submit()  # the scanner's Enter for the next customer
    page.record_purchase()  # F5 at once: the member on screen is still the last one
    assert page.purchase_dialog is None
    qtbot.waitUntil(lambda: page.profile is not None and page.profile.id == li, timeout=15_000)
    page.record_purchase()
    qtbot.waitUntil(lambda: page.purchase_dialog is not None, timeout=15_000)  # once its setup is read
    assert page.purchase_dialog.profile.id == li
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


def test_no_counter_key_asks_the_database_on_the_ui_thread(qtbot, qapp, db, owner, cashier, zhang) -> None:  # type: ignore[no-untyped-def]
    """Every counter action, from the scan to the last dialog's Enter, reads and writes on the operations thread:
    a query seen on the UI thread fails the test, naming it."""
    from crmdesk.models import OfferKind
    from crmdesk.services import credit, offers

    with unit_of_work(db) as session:
        credit.set_limit(session, owner, zhang, 100_000)
        gift = offers.create_offer(session, owner, offers.OfferInput(name="积分换鸡蛋", kind=OfferKind.GIFT, gift="鸡蛋",
                                                                     points_cost=10)).id
    state = AppState(db, cashier, "en")
    state.operations = Operations(threaded=True)
    on_ui_thread = watch_the_ui_thread(db)
    page = CounterPage(state)
    qtbot.addWidget(page)
    page.show()

    def settled() -> None:
        qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
        qapp.processEvents()
        qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)

    def opened(slot: str):  # type: ignore[no-untyped-def]
        qtbot.waitUntil(lambda: getattr(page, slot) is not None and getattr(page, slot).isVisible(), timeout=15_000)
        settled()
        return getattr(page, slot)

    def closed(dialog) -> None:  # type: ignore[no-untyped-def]
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=15_000)
        settled()
        assert dialog.result() == QDialog.DialogCode.Accepted, page.hint_label.text()

    try:
        qtbot.keyClicks(page.search_edit, "13800138000")
        qtbot.keyClick(page.search_edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: page.profile is not None, timeout=15_000)
        settled()

        page.record_purchase()  # F5, cash
        dialog = opened("purchase_dialog")
        qtbot.keyClicks(dialog.amount_edit, "300")
        dialog.accept()
        closed(dialog)
        page.record_purchase()  # F5 on credit: the IOU's charge is read after it
        dialog = opened("purchase_dialog")
        dialog.payment_box.setCurrentIndex(dialog.payment_box.findData("credit"))
        qtbot.keyClicks(dialog.amount_edit, "50")
        dialog.accept()
        closed(dialog)
        assert "on credit" in page.result_label.text()

        page.refund()  # F6
        dialog = opened("refund_dialog")
        qtbot.keyClicks(dialog.amount_edit, "10")
        dialog.accept()
        closed(dialog)

        page.redeem()  # F7
        dialog = opened("redeem_dialog")
        qtbot.keyClicks(dialog.points_edit, "100")
        dialog.accept()
        closed(dialog)

        page.top_up()  # F10: the bonus is previewed as the amount is typed
        dialog = opened("money_dialog")
        qtbot.keyClicks(dialog.amount_edit, "200")
        settled()
        dialog.accept()
        closed(dialog)
        page.repay()  # F11
        dialog = opened("money_dialog")
        qtbot.keyClicks(dialog.amount_edit, "20")
        dialog.accept()
        closed(dialog)

        with qtbot.waitSignal(page.offers.applied, timeout=15_000):
            page.offers.apply_offer(gift)  # the offers panel
        settled()

        page.log_complaint()  # F8
        dialog = opened("complaint_dialog")
        dialog.category_box.setCurrentIndex(1)
        dialog.description_edit.setPlainText("找错零钱")
        dialog.save()
        closed(dialog)
        page.take_survey()  # F9
        dialog = opened("survey_dialog")
        for key in (Qt.Key.Key_5, Qt.Key.Key_4):
            qtbot.keyClick(qapp.focusWidget() or dialog, key)
        dialog.save()
        closed(dialog)

        page.card_action()  # F3: a card for the member
        dialog = page.card_dialog
        assert dialog is not None
        dialog.accept()
        closed(dialog)
        page.report_lost()  # F4, confirmed
        page.lost_box.accept()
        page._lost_done(True, page.profile.active_card.number)
        settled()
        assert "reported lost" in page.hint_label.text()

        page.new_member()  # F2
        dialog = page.new_member_dialog
        qtbot.keyClicks(dialog.phone_edit, "13900139000")
        dialog.name_edit.setText("李四")
        dialog.submit()
        closed(dialog)
        qtbot.waitUntil(lambda: page.profile is not None and page.profile.name == "李四", timeout=15_000)
        settled()
    finally:
        on_ui_thread.stop()
        settled()
        state.operations.stop()
    assert on_ui_thread == []


def test_the_member_profile_reads_and_writes_off_the_ui_thread(qtbot, qapp, db, owner, zhang) -> None:  # type: ignore[no-untyped-def]
    """Opening a member's profile, paging their purchases and the money tabs, saving their details and adjusting
    their points: every read and write on the operations thread."""
    from crmdesk.services import purchases
    from crmdesk.views.member_profile import PURCHASES_PAGE, MemberProfileDialog

    with unit_of_work(db) as session:
        for number in range(PURCHASES_PAGE + 5):  # two pages
            purchases.record_purchase(session, owner, zhang, till="01", amount_fen=1_000 + number, payment_method="cash")
    state = AppState(db, owner, "en")
    state.operations = Operations(threaded=True)
    on_ui_thread = watch_the_ui_thread(db)
    try:
        dialog = MemberProfileDialog(state, zhang)
        qtbot.addWidget(dialog)
        # Its answer is delivered by the event loop: until then only Close works (nothing to save over).
        assert dialog.profile is None and not dialog.tabs.isEnabled() and not dialog.merge_button.isEnabled()
        dialog.show()
        qtbot.waitUntil(lambda: dialog.profile is not None and state.operations.idle, timeout=15_000)
        assert dialog.purchases_table.rowCount() > 0 and dialog.next_page_button.isEnabled()
        dialog.next_page_button.click()
        qtbot.waitUntil(lambda: dialog.purchase_offset > 0 and state.operations.idle, timeout=15_000)
        for tab in (dialog.wallet_tab, dialog.credit_tab):
            dialog.tabs.setCurrentWidget(tab)
            qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
        dialog.address_edit.setText("幸福路 8 号")
        dialog.save()  # a change too: written on the operations thread, then the member read again
        qtbot.waitUntil(lambda: dialog.saved_label.text() == "Saved." and state.operations.idle, timeout=15_000)
        dialog.adjust_points(100, "old card")
        qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
        assert not dialog.refused and dialog.profile.points_balance >= 100
    finally:
        on_ui_thread.stop()
        qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
        state.operations.stop()
    assert on_ui_thread == []


def test_the_screens_that_follow_other_tills_read_off_the_ui_thread(qtbot, qapp, db, owner, zhang) -> None:  # type: ignore[no-untyped-def]
    """What another till's work refreshes -- the complaints board and its figures, a complaint's detail, the money
    overview, the dashboard, the member list and the offers -- is read on the operations thread."""
    from crmdesk.services import complaints
    from crmdesk.services.complaints import ComplaintInput
    from crmdesk.views.complaint_detail import ComplaintDetailDialog
    from crmdesk.views.complaints_page import ComplaintsPage
    from crmdesk.views.dashboard_page import DashboardPage
    from crmdesk.views.member_list import MemberListPage
    from crmdesk.views.money_page import MoneyPage
    from crmdesk.views.offers_page import OffersPage

    with unit_of_work(db) as session:
        complaint = complaints.log_complaint(session, owner, ComplaintInput(
            channel="counter", category="price", description="找错零钱", member_id=zhang)).id
    state = AppState(db, owner, "en")
    state.operations = Operations(threaded=True)
    on_ui_thread = watch_the_ui_thread(db)
    try:
        screens = [ComplaintsPage(state), MoneyPage(state), DashboardPage(state), ComplaintDetailDialog(state, complaint),
                   MemberListPage(state), OffersPage(state)]
        for screen in screens:
            qtbot.addWidget(screen)
            screen.show()
        qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
        detail = screens[3]
        assert detail.detail is not None and detail.note_button.isEnabled()
        board = screens[0]
        board.board.refresh_counts()
        board.board.reload_choices()
        for tab in range(board.tabs.count()):
            board.tabs.setCurrentIndex(tab)
            qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
        detail.reload()
        screens[1].refresh()
        screens[2].load()
        screens[4].refresh()
        screens[4].model.reread()  # what a sale at another till does to the member list
        screens[5].refresh()
        qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
        assert board.board.counts is not None and board.board.counts.open == 1
    finally:
        on_ui_thread.stop()
        qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
        state.operations.stop()
    assert on_ui_thread == []


def test_switching_staff_signs_in_off_the_ui_thread(qtbot, db, owner, cashier) -> None:  # type: ignore[no-untyped-def]
    """The staff list and the check of the PIN (a slow hash, on purpose) run on the operations thread: a cashier
    handing over the till does not freeze it."""
    from crmdesk.views.login_dialog import LoginDialog

    operations = Operations(threaded=True)
    on_ui_thread = watch_the_ui_thread(db)
    try:
        dialog = LoginDialog(db, current=cashier.name, operations=operations)
        qtbot.addWidget(dialog)
        assert dialog.staff_box.count() == 0 and not dialog.sign_in_button.isEnabled()  # the list is on its way
        qtbot.waitUntil(lambda: dialog.staff_box.count() > 0, timeout=15_000)
        assert dialog.staff_box.currentData() == cashier.name
        dialog.secret_edit.setText("1234")
        dialog.accept()
        qtbot.waitUntil(lambda: dialog.actor is not None, timeout=15_000)
        assert dialog.actor == cashier and dialog.result() == QDialog.DialogCode.Accepted
    finally:
        on_ui_thread.stop()
        qtbot.waitUntil(lambda: operations.idle, timeout=15_000)
        operations.stop()
    assert on_ui_thread == []


@pytest.fixture
def watched_owner(qtbot, qapp, demo_db) -> Iterator[tuple[AppState, watch_the_ui_thread]]:  # type: ignore[no-untyped-def]
    """The owner of a demo store with the database work on its own thread, and the watch on the UI thread."""
    from crmdesk.services import staff

    with read_session(demo_db) as session:
        state = AppState(demo_db, staff.actor_for(session), "en")
    state.operations = Operations(threaded=True)
    on_ui_thread = watch_the_ui_thread(demo_db)
    yield state, on_ui_thread
    on_ui_thread.stop()
    qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
    state.operations.stop()


def test_every_area_of_the_window_reads_off_the_ui_thread(qtbot, watched_owner) -> None:  # type: ignore[no-untyped-def]
    """The owner's window on a demo store, every area and every tab shown in turn (the counter with a member open):
    nothing is read on the UI thread."""
    from crmdesk.views.main_window import MainWindow
    from tests.views.screens import every_area

    state, on_ui_thread = watched_owner
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.show()
    for where in every_area(window, state):
        qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
        assert where
    qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
    assert on_ui_thread == [], "\n".join(on_ui_thread)


def test_every_dialog_reads_off_the_ui_thread(qtbot, watched_owner) -> None:  # type: ignore[no-untyped-def]
    """Every dialog the program shows, opened (and, where the screenshots do, acted in) as the owner: what it reads
    and writes runs on the operations thread."""
    from tests.views.screens import every_dialog

    state, on_ui_thread = watched_owner
    for name, make in every_dialog(state):
        dialog = make()
        qtbot.addWidget(dialog)
        qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
        assert name
        dialog.close()
    qtbot.waitUntil(lambda: state.operations.idle, timeout=15_000)
    assert on_ui_thread == [], "\n".join(on_ui_thread)
