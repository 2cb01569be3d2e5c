"""Settings → This computer → Connect to server…: the setup's line fills the fields (and leaves the screen),
a server is tested off the UI thread and its problem shown in words, a good one is remembered for the next
start, and only the owner may change it."""

from __future__ import annotations

import os

import pytest

from crmdesk import preferences
from crmdesk.services import server
from crmdesk.views.server_dialog import ConnectServerDialog
from crmdesk.views.settings_page import ComputerTab
from crmdesk.views.state import AppState
from tests.services.test_members import cashier, db, owner, store_template  # noqa: F401 F811 - fast fixtures

LINE = "crmdesk connect postgresql+psycopg://crmdesk:s3cret-pw@shop-pc:5433/shopdata"


@pytest.fixture
def dialog(qtbot, db, owner) -> ConnectServerDialog:  # type: ignore[no-untyped-def]
    shown = ConnectServerDialog(owner, db.describe())
    qtbot.addWidget(shown)
    return shown


def test_the_setup_line_fills_the_fields_and_leaves_the_screen(qtbot, dialog: ConnectServerDialog) -> None:  # type: ignore[no-untyped-def]
    dialog.line_edit.setText(LINE)
    assert (dialog.host_edit.text(), dialog.port_box.value(), dialog.database_edit.text(), dialog.user_edit.text(),
            dialog.password_edit.text()) == ("shop-pc", 5433, "shopdata", "crmdesk", "s3cret-pw")
    qtbot.waitUntil(lambda: dialog.line_edit.text() == "")
    assert dialog.password_edit.echoMode() == dialog.password_edit.EchoMode.Password


def test_missing_fields_are_named_at_once(dialog: ConnectServerDialog) -> None:
    dialog.host_edit.setText("")
    dialog._run(save=False)
    assert "Give the server" in dialog.result_label.text()
    assert dialog.test_button.isEnabled()


def test_a_server_that_is_not_there_is_told_and_nothing_is_kept(qtbot, dialog: ConnectServerDialog) -> None:  # type: ignore[no-untyped-def]
    dialog.host_edit.setText("127.0.0.1")
    dialog.port_box.setValue(1)
    dialog.till_edit.setText("")
    dialog._run(save=True)
    assert "Give this till a name" in dialog.result_label.text()  # named before anything is tried
    dialog.till_edit.setText("02")
    dialog._run(save=True)
    assert not dialog.connect_button.isEnabled()  # busy while it connects, on its own thread
    qtbot.waitUntil(lambda: dialog.connect_button.isEnabled(), timeout=15_000)
    assert "no database server is listening on port 1" in dialog.result_label.text()
    assert preferences.load().server_url == "" and not dialog.chosen


def test_only_the_owner_may_choose_the_server(qapp, db, owner, cashier) -> None:  # type: ignore[no-untyped-def]
    assert ComputerTab(AppState(db, owner, "en")).server_button.isEnabled()
    assert not ComputerTab(AppState(db, cashier, "en")).server_button.isEnabled()


def test_going_back_to_the_own_file(qtbot, db, owner) -> None:  # type: ignore[no-untyped-def]
    server.remember_server(server.server_url(LINE))
    shown = ConnectServerDialog(owner, "shop-pc")
    qtbot.addWidget(shown)
    assert shown.host_edit.text() == "shop-pc" and shown.own_file_button.isEnabled()
    shown.use_own_file()
    assert preferences.load().server_url == "" and shown.chosen


@pytest.mark.skipif(not os.environ.get("CRMDESK_TEST_POSTGRES_URL"), reason="needs a scratch PostgreSQL")
def test_a_good_server_is_remembered_for_the_next_start(qtbot, dialog: ConnectServerDialog) -> None:  # type: ignore[no-untyped-def]
    from tests.services.test_server import scratch_server

    with scratch_server() as url:
        dialog.line_edit.setText(server.till_line(url))
        dialog.till_edit.setText("收银台3")
        dialog._run(save=True)
        qtbot.waitUntil(lambda: dialog.chosen or "refused" in dialog.result_label.text(), timeout=15_000)
        assert dialog.chosen and "next start" in dialog.result_label.text()
        assert server.remembered_server() == url and preferences.load().till == "收银台3"
