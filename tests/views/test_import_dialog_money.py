"""The import dialog shows the opening balances and debts the engine brings over, without a change of its own."""

from __future__ import annotations

from crmdesk.views.import_dialog import ImportMembersDialog
from tests.services.test_import_money import HEADER, ROWS
from tests.services.test_imports import members_file


def test_preview_and_import_of_money(qtbot, owner_state, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dialog = ImportMembersDialog(owner_state)
    qtbot.addWidget(dialog)
    dialog.load_file(members_file(tmp_path, ROWS, HEADER))
    qtbot.waitUntil(lambda: dialog.plan is not None and not dialog.busy, timeout=10_000)
    assert dialog.counts_label.text() == "4 rows: 4 new, 0 to update, 0 unchanged, 0 invalid"
    details = {dialog.table.item(r, 2).text(): dialog.table.item(r, 5).text() for r in range(dialog.table.rowCount())}
    assert details["张三"] == "余额: — → ¥300.00\n赠送余额: — → ¥20.00"
    assert details["李四"].startswith("余额: — → ¥1,200.50\n欠款: — → ¥88.80\n欠款到期: — → 2020-01-31")
    assert dialog.plan.money.wallets == 2 and dialog.import_button.isEnabled()
    dialog.start_import()
    qtbot.waitUntil(lambda: dialog.result is not None and not dialog.busy, timeout=10_000)
    assert dialog.result.money.debt_fen == 13_380
    assert "Imported: 4 new, 0 updated, 0 unchanged." in dialog.summary.text()
