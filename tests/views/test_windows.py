"""The main window, sign-in, first-start wizard and settings, driven offscreen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from crmdesk.models import Staff
from crmdesk.services import store
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.login_dialog import LoginDialog
from crmdesk.views.common import format_fen
from crmdesk.views.main_window import MainWindow
from crmdesk.views.setup_wizard import SetupWizard
from crmdesk.views.staff_dialogs import AddStaffDialog
from tests.conftest import OWNER_NAME, OWNER_PASSWORD


def test_main_window_lists_working_areas_and_who_is_signed_in(qtbot, owner_state) -> None:
    window = MainWindow(owner_state)
    qtbot.addWidget(window)
    assert [window.nav.item(i).text().split()[0] for i in range(window.nav.count())] == [
        "Counter", "Members", "Offers", "Complaints", "Dashboard", "Money", "Settings"]
    assert OWNER_NAME in window.staff_label.text() and "Owner" in window.staff_label.text()
    assert str(owner_state.db.sqlite_path) in window.database_label.text()
    window.show_view("overview")
    assert window.overview_page.sales.value.text() == format_fen(0)
    assert window.overview_page.new_members.value.text() == "0"


def test_ctrl_number_switches_area(qtbot, owner_state) -> None:
    window = MainWindow(owner_state)
    qtbot.addWidget(window)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    assert window.current_area() == "money"
    qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentWidget() is window.settings_page
    window.show_view("staff")
    assert window.settings_page.currentWidget() is window.settings_page.staff_tab


def test_only_owners_see_the_staff_list(qtbot, owner_state, cashier) -> None:
    window = MainWindow(owner_state)
    qtbot.addWidget(window)
    assert window.settings_page.staff_tab is not None
    owner_state.sign_in(cashier)
    assert window.settings_page.staff_tab is None
    assert window.page("members") is None  # cashiers work at the counter, not in the member list
    assert window.page("complaints") is not None  # ... and follow the complaints they logged
    assert window.page("money") is None  # credit limits and the overdue list are for supervisors
    assert "收银员小李" in window.staff_label.text()
    store_tab = window.settings_page.store_tab
    assert store_tab.name_edit.isReadOnly() and not store_tab.save_button.isVisibleTo(store_tab)


def test_owner_saves_store_details(qtbot, owner_state) -> None:
    window = MainWindow(owner_state)
    qtbot.addWidget(window)
    tab = window.settings_page.store_tab
    tab.name_edit.setText("好邻居超市 · 幸福路店")
    tab.address_edit.setText("幸福路 8 号")
    tab.save()
    assert tab.status.text() == "Saved."
    with read_session(owner_state.db) as session:
        assert store.get_store(session).address == "幸福路 8 号"


def test_add_staff_dialog_creates_an_account_and_keeps_input_on_errors(qtbot, owner_state) -> None:
    window = MainWindow(owner_state)
    qtbot.addWidget(window)
    staff_tab = window.settings_page.staff_tab
    created = []

    def submit(name, role, pin, password):  # type: ignore[no-untyped-def]
        created.append(name)
        from crmdesk.services import staff as staff_service
        from crmdesk.services.uow import unit_of_work

        with unit_of_work(owner_state.db) as session:
            staff_service.add_staff(session, owner_state.actor, name, role, pin=pin, password=password)

    dialog = AddStaffDialog(staff_tab, submit)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("收银员小周")
    dialog.pin_edit.setText("1357")
    dialog.pin_repeat.setText("1358")
    dialog.accept()
    assert created == [] and dialog.message.text() == "The two PINs differ."
    dialog.pin_repeat.setText("1357")
    dialog.pin_edit.setText("1357")
    dialog.password_edit.setText("short")
    dialog.accept()
    assert "at least 8" in dialog.message.text()
    dialog.password_edit.clear()
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted
    staff_tab.reload()
    assert "收银员小周" in [staff_tab.table.item(r, 0).text() for r in range(staff_tab.table.rowCount())]


def test_login_dialog_refuses_a_wrong_pin_then_signs_in(qtbot, db, owner, cashier) -> None:
    dialog = LoginDialog(db)
    qtbot.addWidget(dialog)
    dialog.staff_box.setCurrentIndex(dialog.staff_box.findData(cashier.name))
    dialog.secret_edit.setText("0000")
    dialog.accept()
    assert dialog.actor is None and "lock-out: 4" in dialog.message.text()
    assert dialog.secret_edit.text() == ""
    qtbot.keyClicks(dialog.secret_edit, "1234")
    dialog.accept()
    assert dialog.actor == cashier
    # The next sign-in on this computer starts at the same person.
    again = LoginDialog(db)
    qtbot.addWidget(again)
    assert again.staff_box.currentData() == cashier.name


def test_login_dialog_owner_password(qtbot, db, owner) -> None:
    dialog = LoginDialog(db)
    qtbot.addWidget(dialog)
    dialog.staff_box.setCurrentIndex(dialog.staff_box.findData(OWNER_NAME))
    dialog.secret_edit.setText(OWNER_PASSWORD)
    dialog.accept()
    assert dialog.actor == owner


def test_setup_wizard_creates_the_owner(qtbot, db) -> None:
    wizard = SetupWizard(db)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.page(wizard.pageIds()[0]).store_name.setText("街角便利店")
    wizard.next()
    page = wizard.owner_page
    page.owner_name.setText("陈老板")
    page.password.setText("corner-shop-1")
    page.repeat.setText("corner-shop-2")
    assert not page.validatePage() and page.message.text() == "The two passwords differ."
    page.repeat.setText("corner-shop-1")
    page.pin.setText("12")
    assert not page.validatePage() and "4 to 6 digits" in page.message.text()
    with read_session(db) as session:
        assert not store.is_initialised(session)
    page.pin.setText("2580")
    assert page.validatePage()
    assert wizard.actor is not None and wizard.actor.name == "陈老板"
    with read_session(db) as session:
        assert store.get_store(session).store_name == "街角便利店"
        assert session.scalar(sa.select(sa.func.count()).select_from(Staff)) == 1


def test_status_bar_texts_are_labels(qtbot, owner_state) -> None:
    window = MainWindow(owner_state)
    qtbot.addWidget(window)
    labels = window.statusBar().findChildren(QLabel)
    assert window.database_label in labels and window.staff_label in labels


def test_switching_language_rebuilds_the_window_in_chinese(qtbot, qapp, translators, owner_state) -> None:
    from crmdesk import preferences
    from crmdesk.app import Application

    controller = Application(qapp, owner_state, translators)
    first = controller.open_window("settings")  # replaced and deleted by the switch below
    first.settings_page.computer_tab.language_box.setCurrentIndex(
        first.settings_page.computer_tab.language_box.findData("zh_CN")
    )
    first.settings_page.computer_tab.apply()
    qtbot.waitUntil(lambda: controller.window is not first)
    qtbot.addWidget(controller.window)
    assert preferences.load().language == "zh_CN"
    assert controller.window.nav.item(6).text().startswith("设置")
    assert controller.window.pages.currentWidget() is controller.window.settings_page


def test_login_dialog_starts_at_the_owner_on_a_new_computer(qtbot, db, owner, cashier) -> None:
    dialog = LoginDialog(db)
    qtbot.addWidget(dialog)
    assert dialog.staff_box.currentData() == OWNER_NAME


def test_the_navigation_counts_overdue_complaints(qtbot, owner_state) -> None:
    from crmdesk.services import complaints

    window = MainWindow(owner_state)
    qtbot.addWidget(window)
    row = [window.nav.item(i).text().split()[0] for i in range(window.nav.count())].index("Complaints")
    assert "overdue" not in window.nav.item(row).text()
    long_ago = datetime.now(UTC) - timedelta(days=3)
    with unit_of_work(owner_state.db) as session:
        complaints.log_complaint(session, owner_state.actor, complaints.ComplaintInput(
            channel="counter", category="expired", description="酸奶过期", walk_in_name="李女士", received_at=long_ago))
    window.refresh_overdue()
    assert "1 overdue" in window.nav.item(row).text()
