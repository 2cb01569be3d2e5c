"""The import dialog: preview with counts, import in the background, cancel leaves the database as it was."""

from __future__ import annotations

import dataclasses
import threading

import sqlalchemy as sa
from PySide6.QtWidgets import QPushButton

from crmdesk.models import Member
from crmdesk.services import imports
from crmdesk.services.uow import read_session
from crmdesk.views.import_dialog import ACTION_COLOURS, ImportMembersDialog
from tests.services.test_imports import ROWS, members_file, snapshot

BAD_ROW = ["A0002", "", "李四", "1381234567", "", "", "", "", "", ""]


def _dialog(qtbot, state) -> ImportMembersDialog:  # type: ignore[no-untyped-def]
    dialog = ImportMembersDialog(state)
    qtbot.addWidget(dialog)
    return dialog


def _member_names(state) -> list[str]:  # type: ignore[no-untyped-def]
    with read_session(state.db) as session:
        return sorted(session.scalars(sa.select(Member.name)))


def test_preview_shows_counts_and_highlights_invalid_rows(qtbot, owner_state, tmp_path) -> None:
    dialog = _dialog(qtbot, owner_state)
    assert not dialog.import_button.isEnabled() and not dialog.check_button.isEnabled()
    dialog.load_file(members_file(tmp_path, [ROWS[0], BAD_ROW, ROWS[2]]))
    qtbot.waitUntil(lambda: dialog.plan is not None and not dialog.busy, timeout=10_000)
    assert dialog.counts_label.text() == "3 rows: 2 new, 0 to update, 0 unchanged, 1 invalid"
    assert dialog.table.rowCount() == 3
    # Invalid rows come first, in their colour, with the reason.
    assert [dialog.table.item(r, 0).text() for r in range(3)] == ["3", "2", "4"]
    assert dialog.table.item(0, 1).text() == "Invalid"
    assert dialog.table.item(0, 0).background().color().name() == ACTION_COLOURS[imports.Action.INVALID]
    assert "Row 3, column 手机: '1381234567' is not a valid mobile number" in dialog.table.item(0, 5).text()
    assert not dialog.import_button.isEnabled()
    dialog.skip_box.setChecked(True)
    assert dialog.import_button.isEnabled()


def test_import_runs_in_the_background_and_reports(qtbot, owner_state, tmp_path) -> None:
    dialog = _dialog(qtbot, owner_state)
    finished = []
    dialog.importFinished.connect(finished.append)
    path = members_file(tmp_path, [ROWS[0], BAD_ROW, ROWS[2]])
    dialog.load_file(path)
    qtbot.waitUntil(lambda: dialog.plan is not None and not dialog.busy, timeout=10_000)
    dialog.skip_box.setChecked(True)
    dialog.start_import()
    assert dialog.busy
    qtbot.waitUntil(lambda: dialog.result is not None and not dialog.busy, timeout=10_000)
    assert _member_names(owner_state) == ["张三", "王五"]
    rejects = tmp_path / "members.rejected.csv"
    assert dialog.rejects_path == rejects and rejects.exists()
    assert "Imported: 2 new, 0 updated, 0 unchanged." in dialog.summary.text() and str(rejects) in dialog.summary.text()
    assert finished == [dialog.result] and not dialog.import_button.isEnabled()
    # Checking again shows the members as already there.
    dialog.check()
    qtbot.waitUntil(lambda: dialog.plan is not None and not dialog.busy, timeout=10_000)
    assert dialog.plan.counts == imports.Counts(unchanged=2, invalid=1)


def test_cancel_leaves_the_database_unchanged(qtbot, owner_state, tmp_path, monkeypatch) -> None:
    rows = [[f"C{i:05d}", "", f"会员{i}", f"138{i:08d}", "", "", "", "5", "", ""] for i in range(800)]
    dialog = _dialog(qtbot, owner_state)
    dialog.load_file(members_file(tmp_path, rows))
    qtbot.waitUntil(lambda: dialog.plan is not None and not dialog.busy, timeout=10_000)
    before = snapshot(owner_state.db)

    # Hold the import after its first batch is written until the person has pressed Cancel.
    pressed = threading.Event()
    real_apply = imports.apply_import

    def apply_held(session, actor, plan, **options):  # type: ignore[no-untyped-def]
        report = options["progress"]

        def progress(done: int, total: int) -> None:
            report(done, total)
            if done:
                pressed.wait(10)

        return real_apply(session, actor, plan, **{**options, "progress": progress})

    monkeypatch.setattr(ImportMembersDialog, "steps", dataclasses.replace(imports.STEPS, apply=apply_held))
    dialog.start_import()
    qtbot.waitUntil(lambda: dialog._progress is not None and dialog._progress.value() >= 500, timeout=10_000)
    dialog._progress.findChild(QPushButton).click()  # the progress dialog's Cancel button
    pressed.set()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.result is None
    assert dialog.message.text() == "Cancelled; the database is as it was."
    assert snapshot(owner_state.db) == before
    assert dialog.import_button.isEnabled()  # the plan still stands; it can be imported after all


def test_an_unreadable_file_shows_why(qtbot, owner_state, tmp_path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("卡号,手机\nA1,13812345678\n", encoding="utf-8")
    dialog = _dialog(qtbot, owner_state)
    dialog.load_file(path)
    qtbot.waitUntil(lambda: not dialog.busy and dialog.message.isVisibleTo(dialog), timeout=10_000)
    assert dialog.plan is None and "The file has no column name/姓名" in dialog.message.text()
    assert not dialog.import_button.isEnabled()



def test_a_cashier_sees_the_preview_but_cannot_import(qtbot, cashier_state, tmp_path) -> None:
    dialog = _dialog(qtbot, cashier_state)
    assert dialog.permission_hint.isVisibleTo(dialog)
    dialog.load_file(members_file(tmp_path))
    qtbot.waitUntil(lambda: dialog.plan is not None and not dialog.busy, timeout=10_000)
    assert dialog.plan.counts.new == 3 and not dialog.import_button.isEnabled()
