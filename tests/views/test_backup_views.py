"""Backups in the app: the owner's Backup and restore tab, the status bar's word on backups, and the guard that
backs up by itself, at close, and notices a restore made elsewhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from PySide6.QtWidgets import QMessageBox

from crmdesk import shop_time
from crmdesk.models import Member
from crmdesk.services import backups, members, purchases
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views import backup_tab
from crmdesk.views.backup_guard import BackupGuard
from crmdesk.views.backup_status import BackupStatusButton
from crmdesk.views.backup_tab import BackupTab
from crmdesk.views.settings_page import SettingsPage
from crmdesk.views.state import AppState
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures


def add_member(db, actor, name: str, phone: str) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member = members.register(session, actor, members.MemberInput(name=name, phone=phone))
        purchases.record_purchase(session, actor, member.id, till="01", amount_fen=1_000)
        return member.id


def member_count(db) -> int:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Member)) or 0


def wait_idle(qtbot, tab: BackupTab) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: tab._thread is None, timeout=20_000)


@pytest.fixture
def owner_here(qapp, db, owner) -> AppState:  # type: ignore[no-untyped-def]
    return AppState(db, owner, "en")


def test_the_tab_is_the_owners(qapp, db, owner, supervisor, cashier) -> None:  # type: ignore[no-untyped-def]
    for actor, shown in ((owner, True), (supervisor, False), (cashier, False)):
        page = SettingsPage(AppState(db, actor, "en"))
        assert (page.backup_tab is not None) is shown
        page.deleteLater()


def test_back_up_now_lists_the_copy_and_restore_brings_the_data_back(qtbot, monkeypatch, owner_here: AppState, cashier) -> None:  # type: ignore[no-untyped-def]
    db = owner_here.db
    add_member(db, cashier, "张三", "13800138000")
    tab = BackupTab(owner_here)
    qtbot.addWidget(tab)
    assert tab.table.rowCount() == 0 and "No backup yet" in tab.status_label.text()
    tab.back_up_now()
    wait_idle(qtbot, tab)
    assert tab.table.rowCount() == 1 and tab.table.item(0, 3).text() == "1"
    assert tab.table.item(0, 1).text() == "by hand" and "Last good backup" in tab.status_label.text()

    add_member(db, cashier, "李四", "13900139000")
    assert member_count(db) == 2
    monkeypatch.setattr(backup_tab.QMessageBox, "question", lambda *_a, **_k: QMessageBox.StandardButton.No)
    tab.restore_selected()
    assert tab._thread is None and member_count(db) == 2  # declined: nothing happens

    told: list[str] = []
    monkeypatch.setattr(backup_tab.QMessageBox, "question", lambda *_a, **_k: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(backup_tab.QMessageBox, "information", lambda _p, _t, text: told.append(text))
    with qtbot.waitSignal(owner_here.signals.restored, timeout=20_000):
        tab.restore_selected()
    assert member_count(db) == 1
    assert "Restored 1 members" in told[0] and "before-restore" in told[0] and "sound" in told[0]


def test_settings_are_checked_and_saved(qtbot, owner_here: AppState, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tab = BackupTab(owner_here)
    qtbot.addWidget(tab)
    tab.second_place_edit.setText("usb")
    tab.save_settings()
    assert tab.keeping_message.isVisibleTo(tab) and "full folder path" in tab.keeping_message.text()
    tab.second_place_edit.setText(str(tmp_path))
    tab.daily_spin.setValue(5)
    tab.save_settings()
    assert tab.keeping_message.text() == "Saved."
    fresh = BackupTab(owner_here)
    qtbot.addWidget(fresh)
    assert fresh.daily_spin.value() == 5 and fresh.second_place_edit.text() == str(tmp_path)


def test_check_and_repair_from_the_tab(qtbot, owner_here: AppState, cashier) -> None:  # type: ignore[no-untyped-def]
    db = owner_here.db
    member_id = add_member(db, cashier, "张三", "13800138000")
    tab = BackupTab(owner_here)
    qtbot.addWidget(tab)
    tab.check_now()
    wait_idle(qtbot, tab)
    assert "the data is sound" in tab.check_label.text() and not tab.repair_button.isEnabled()
    with db.engine.begin() as connection:
        connection.execute(sa.update(Member).where(Member.id == member_id).values(visit_count=9))
    tab.check_now()
    wait_idle(qtbot, tab)
    assert "Visit count differs from the purchases" in tab.check_label.text() and tab.repair_button.isEnabled()
    tab.repair()
    wait_idle(qtbot, tab)
    assert "Repaired 1 figures" in tab.check_label.text() and "sound" in tab.check_label.text()
    assert tab.table.item(0, 1).text() == "before a repair"


def test_the_status_button_turns_red_without_a_recent_backup(qtbot, owner_here: AppState) -> None:  # type: ignore[no-untyped-def]
    button = BackupStatusButton(owner_here)
    qtbot.addWidget(button)
    assert button.warning and button.text() == "No backup yet"
    backups.take_backup(owner_here.db, "daily")
    button.refresh()
    assert not button.warning and button.text().startswith("Backed up ")
    backups.take_backup(owner_here.db, "daily", now=shop_time.now() - timedelta(days=5))
    for info in backups.list_backups(backups.backup_folder(owner_here.db))[:1]:
        info.path.unlink()  # only the old copy is left
    button.refresh()
    assert button.warning and button.text() == "No backup for 5 day(s)"


def test_the_guard_backs_up_when_due_and_at_close_when_something_changed(qtbot, owner_here: AppState, cashier) -> None:  # type: ignore[no-untyped-def]
    db = owner_here.db
    guard = BackupGuard(owner_here)
    owner_here.backup_guard = guard
    with qtbot.waitSignal(guard.statusChanged, timeout=20_000, check_params_cb=lambda *a: not guard.busy()):
        guard.tick()  # none yet: the day's backup
    qtbot.waitUntil(lambda: not guard.busy(), timeout=20_000)
    folder = backups.backup_folder(db)
    assert [b.reason for b in backups.list_backups(folder)] == ["daily"]
    guard.tick()
    assert not guard.busy()  # nothing due a moment later
    guard.at_close()
    assert len(backups.list_backups(folder)) == 1  # nothing changed: no copy at close
    add_member(db, cashier, "张三", "13800138000")
    guard.at_close()
    assert [b.reason for b in backups.list_backups(folder)][0] == "close"


def test_the_guard_notices_a_restore_made_elsewhere(qtbot, owner_here: AppState, owner) -> None:  # type: ignore[no-untyped-def]
    info = backups.take_backup(owner_here.db, "manual")
    guard = BackupGuard(owner_here)
    seen: list[object] = []
    guard.restoredElsewhere.connect(seen.append)
    guard.tick()
    qtbot.waitUntil(lambda: not guard.busy(), timeout=20_000)
    assert seen == []
    backups.restore(owner_here.db, info.path, owner)  # another window's restore
    guard.tick()
    qtbot.waitUntil(lambda: not guard.busy(), timeout=20_000)
    assert len(seen) == 1
    guard.tick()
    qtbot.waitUntil(lambda: not guard.busy(), timeout=20_000)
    assert len(seen) == 1  # told once


def test_members_due_for_anonymising_are_listed_before_the_rule_runs(qtbot, monkeypatch, owner_here: AppState, cashier, owner) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.models import MemberChange, MemberStatus
    from crmdesk.services import safety_settings
    from crmdesk.services.safety_settings import SafetyRules

    db = owner_here.db
    gone = add_member(db, cashier, "老顾客", "13700137000")
    with unit_of_work(db) as session:
        members.set_status(session, owner, gone, MemberStatus.CLOSED, reason="搬走了")
        safety_settings.save(session, owner, SafetyRules(retention_years=2))
    long_ago = shop_time.now() - timedelta(days=3 * 365)
    with db.engine.begin() as connection:
        connection.execute(sa.update(MemberChange).where(MemberChange.member_id == gone).values(at=long_ago))
    tab = BackupTab(owner_here)
    qtbot.addWidget(tab)
    assert "1 closed members are due for anonymising" in tab.due_label.text() and tab.due_button.isVisibleTo(tab)
    shown: list[str] = []
    monkeypatch.setattr(backup_tab.QMessageBox, "exec", lambda box: shown.append(box.detailedText()))
    tab.list_due()
    assert "老顾客" in shown[0]
    with read_session(db) as session:  # listing changed nothing
        assert session.scalar(sa.select(Member.name).where(Member.id == gone)) == "老顾客"


def test_after_an_upgrade_the_check_runs_off_the_ui_thread_and_speaks_only_of_problems(qtbot, monkeypatch, owner_here: AppState, cashier) -> None:  # type: ignore[no-untyped-def]
    import threading

    from crmdesk import app
    from crmdesk.services import data_check

    warned: list[str] = []
    checked_in: list[threading.Thread] = []
    real_run = data_check.run

    def run(db):  # type: ignore[no-untyped-def]
        checked_in.append(threading.current_thread())
        return real_run(db)

    monkeypatch.setattr(app.data_check, "run", run)
    monkeypatch.setattr(app.QMessageBox, "warning", lambda _parent, _title, text: warned.append(text))
    app._check_after_upgrade(owner_here.db, None)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: bool(checked_in), timeout=10_000)
    qtbot.wait(200)
    assert checked_in[0] is not threading.main_thread() and warned == []  # sound: nothing said
    member_id = add_member(owner_here.db, cashier, "张三", "13800138000")
    with owner_here.db.engine.begin() as connection:
        connection.execute(sa.update(Member).where(Member.id == member_id).values(visit_count=9))
    app._check_after_upgrade(owner_here.db, None)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: bool(warned), timeout=10_000)
    assert "found 1 problems" in warned[0]
    with owner_here.db.engine.begin() as connection:  # put right for the books check after the test
        connection.execute(sa.update(Member).where(Member.id == member_id).values(visit_count=1))
