"""A till whose server goes away: it says so, finds members in this computer's copy, keeps each sale here with
its receipt number, refuses what needs the server's balances (with the reason), and when the server is back
sends the kept sales -- each once -- and says so. Always on an SQLite "server" told to be away; on a real
PostgreSQL stopped mid-test where this machine can stop and start it (CI)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt

from crmdesk.db import Database, open_database
from crmdesk.models import Purchase
from crmdesk.services import members, offline
from crmdesk.services.members import MemberInput
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views import server_link
from crmdesk.views.counter_page import CounterPage
from crmdesk.views.purchase_dialogs import PurchaseDialog
from crmdesk.views.server_link import ServerLink
from crmdesk.views.state import AppState
from tests.services.test_members import cashier, db, owner, store_template  # noqa: F401 - fast fixtures

PG_URL = os.environ.get("CRMDESK_TEST_POSTGRES_URL")
CARD = "2900000000018"


def _members(database: Database, actor) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(database) as session:
        members.register(session, actor, MemberInput(name="李四", phone="13900139000"))
        return members.register(session, actor, MemberInput(name="张三", phone="13800138000"), card_number=CARD).id


def _till(qtbot, database: Database, actor, folder: Path, monkeypatch) -> CounterPage:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(server_link, "PROBE_EVERY_MS", 200)
    state = AppState(database, actor, "en")
    state.link = ServerLink(database, folder)
    state.link.start()
    qtbot.waitUntil(lambda: offline.cache_path(folder).exists(), timeout=10_000)
    page = CounterPage(state)
    qtbot.addWidget(page)
    page.show()
    return page


def _sell(qtbot, page: CounterPage, amount: str, receipt: str = "") -> PurchaseDialog:  # type: ignore[no-untyped-def]
    page.record_purchase()
    dialog = page.purchase_dialog
    assert dialog is not None
    dialog.amount_edit.setText(amount)
    dialog.receipt_edit.setText(receipt)
    qtbot.keyClick(dialog.amount_edit, Qt.Key.Key_Return)
    return dialog


def test_a_till_keeps_selling_while_its_server_is_away(qtbot, db, cashier, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    zhang = _members(db, cashier)
    page = _till(qtbot, db, cashier, tmp_path, monkeypatch)
    link = page._state.link
    assert link is not None and not link.offline
    answers = {"away": True}
    monkeypatch.setattr(ServerLink, "_server_answers", lambda self: not answers["away"])
    link.went_away()  # as when a call found the server gone
    assert page.offline_label.isVisible() and "works offline" in page.offline_label.text()
    page.search_edit.setText(CARD)
    page.submit()
    assert page.profile is not None and page.profile.id == zhang  # from this computer's copy
    dialog = _sell(qtbot, page, "66.60", "R-OFF-1")
    assert not dialog.isVisible() and dialog.queued is not None and dialog.queued.receipt_no == "R-OFF-1"
    assert "kept on this till" in page.result_label.text() and "1 waiting" in page.offline_label.text()
    page.refund()
    assert "cannot be reached" in page.result_label.text() and page.refund_dialog is None
    page.record_purchase()
    wallet_try = page.purchase_dialog
    assert wallet_try is not None
    wallet_try.reject()
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase)) == 0
    answers["away"] = False  # the server is back
    qtbot.waitUntil(lambda: not link.offline, timeout=10_000)
    qtbot.waitUntil(lambda: "The server is back" in page.result_label.text(), timeout=10_000)
    assert not page.offline_label.isVisible()
    with read_session(db) as session:
        sent = session.execute(sa.select(Purchase.receipt_no, Purchase.amount_fen, Purchase.member_id)).all()
    assert [tuple(p) for p in sent] == [("R-OFF-1", 6_660, zhang)]
    link.stop()


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.skipif(not PG_URL or not shutil.which("pg_lsclusters") or os.geteuid() != 0,
                    reason="needs a scratch PostgreSQL this machine can stop and start (Debian's pg_ctlcluster, as root)")
def test_the_server_stopped_mid_shift_loses_and_doubles_nothing(qtbot, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.services.staff import actor_for
    from tests.reliability.tills import fresh_database

    database, _url = fresh_database(tmp_path, "postgresql")
    version, cluster = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True,
                                      check=True).stdout.split()[:2]
    try:
        with read_session(database) as session:
            actor = actor_for(session)
        zhang = _members(database, actor)
        (tmp_path / "till").mkdir()
        page = _till(qtbot, database, actor, tmp_path / "till", monkeypatch)
        page.open_member(zhang)
        _sell(qtbot, page, "10", "R-1")  # online
        subprocess.run(["pg_ctlcluster", version, cluster, "stop", "-m", "fast"], check=True, capture_output=True)
        page.search_edit.setText("13800138000")
        page.submit()  # fails on the server, answered from the copy
        qtbot.waitUntil(lambda: page._state.link.offline, timeout=15_000)  # type: ignore[union-attr]
        assert page.profile is not None and page.profile.id == zhang
        for number in range(2, 5):
            dialog = _sell(qtbot, page, str(10 * number), f"R-{number}")
            assert dialog.queued is not None
        subprocess.run(["pg_ctlcluster", version, cluster, "start"], check=True, capture_output=True)
        qtbot.waitUntil(lambda: not page._state.link.offline, timeout=30_000)  # type: ignore[union-attr]
        qtbot.waitUntil(lambda: "The server is back" in page.result_label.text(), timeout=10_000)
        with read_session(database) as session:
            receipts = sorted(session.scalars(sa.select(Purchase.receipt_no)).all())
        assert receipts == ["R-1", "R-2", "R-3", "R-4"]
        page._state.link.stop()  # type: ignore[union-attr]
    finally:
        subprocess.run(["pg_ctlcluster", version, cluster, "start"], capture_output=True)
        database.dispose()
