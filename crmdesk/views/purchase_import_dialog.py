"""Importing purchases from a file: choose it, preview receipt by receipt, import in the background.

The member import's dialog (views.import_dialog.ImportMembersDialog) with the purchase
services: checking and importing are services.purchase_imports.plan_purchase_import /
apply_purchase_import, run off the UI thread with their own session; cancelling the import
rolls its one transaction back, so the database stays as it was.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QHeaderView,
    QLabel,
    QTableWidgetItem,
    QWidget,
)

from crmdesk.db import Database
from crmdesk.services import backups, imports, purchase_imports
from crmdesk.services.auth import can
from crmdesk.services.loyalty import SHOP_ZONE
from crmdesk.services.uow import Actor, read_session, unit_of_work
from crmdesk.views.import_dialog import (
    ACTION_COLOURS,
    PREVIEW_ROWS,
    ImportMembersDialog,
    _Worker,
    translate_error,
)
from crmdesk.views.state import AppState


class _PurchaseWorker(_Worker):
    """Checks a purchases file (no plan given) or imports a plan, in a thread of its own."""

    def __init__(self, db: Database, actor: Actor, path: Path, plan: purchase_imports.PurchaseImportPlan | None,
                 skip_invalid: bool, cancel: threading.Event) -> None:
        super().__init__(db, actor, path, None, skip_invalid, cancel)
        self._purchase_plan = plan

    @Slot()
    def run(self) -> None:
        try:
            if self._purchase_plan is None:
                with read_session(self._db) as session:
                    plan = purchase_imports.plan_purchase_import(session, self._path, progress=self.progressed.emit,
                                                                 should_cancel=self._cancel.is_set)
                self.planned.emit(plan)
            else:
                backups.before_import(self._db, self._path)
                with unit_of_work(self._db) as session:
                    result = purchase_imports.apply_purchase_import(
                        session, self._actor, self._purchase_plan, skip_invalid=self._skip_invalid,
                        progress=self.progressed.emit, should_cancel=self._cancel.is_set)
                    # Written before the commit, so when that fails nothing is imported either.
                    rejects = (purchase_imports.write_rejects(result.plan, self._path, translate=translate_error)
                               if result.plan.invalid_receipts else None)
                self.imported.emit((result, rejects))
        except imports.ImportCancelled:
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - shown to the person, never lost in a thread
            self.failed.emit(exc)
        finally:
            self.done.emit()


class ImportPurchasesDialog(ImportMembersDialog):
    """Choose a purchases file, check it, see the preview, import it with progress and cancel."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.plan: purchase_imports.PurchaseImportPlan | None = None  # type: ignore[assignment]
        self.result: purchase_imports.PurchaseImportResult | None = None  # type: ignore[assignment]
        self.setWindowTitle(self.tr("Import purchases"))
        intro = self.layout().itemAt(0).widget()
        if isinstance(intro, QLabel):
            intro.setText(self.tr(
                "A CSV (UTF-8 or GBK) or Excel file from the till or the old system, one receipt (or one item line) per row. "
                "Headers in Chinese or English: 小票号, 收银台, 卡号 / 会员编号 / 手机, 时间, 金额, and optionally 类型 "
                "(消费 or 退货), 原小票号, 商品编码, 商品名称, 品类, 数量, 单价, 小计. Rows with the same till and receipt "
                "number are the lines of one receipt. Receipts already in crmdesk are left as they are."
            ))
        self.table.setColumnCount(7)
        self.table.setHorizontalHeaderLabels([
            self.tr("Row"), self.tr("Action"), self.tr("Receipt"), self.tr("Time"), self.tr("Member"), self.tr("Amount"),
            self.tr("Details"),
        ])
        self.table.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.skip_box.setText(self.tr("&Skip invalid receipts (their rows are written to a file beside the original)"))
        self.import_button.setText(self.tr("&Import"))

    # ------------------------------------------------------------------ state

    def _allowed(self) -> bool:
        return can(self._state.actor, purchase_imports.IMPORT_PERMISSION)

    def _can_import(self) -> bool:
        if self.plan is None or not self._allowed():
            return False
        counts = self.plan.counts
        return counts.new > 0 and (counts.invalid == 0 or self.skip_box.isChecked())

    # ------------------------------------------------------------------ actions

    def choose_file(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(
            self, self.tr("Choose a purchases file"), str(self.path.parent) if self.path else "",
            self.tr("Purchases files (*.csv *.txt *.xlsx);;All files (*)"),
        )
        if name:
            self.load_file(Path(name))

    def check(self) -> None:
        if self.path is None or self.busy:
            return
        self.plan = None
        self.result = None
        self._clear_messages()
        self._show_plan(None)
        self._run(_PurchaseWorker(self._state.db, self._state.actor, self.path, None, False, self._new_cancel()),
                  self.tr("Checking the file…"))

    def start_import(self) -> None:
        if self.busy or self.path is None or self.plan is None or not self._can_import():
            return
        self._clear_messages()
        worker = _PurchaseWorker(self._state.db, self._state.actor, self.path, self.plan, self.skip_box.isChecked(),
                                 self._new_cancel())
        self._run(worker, self.tr("Importing purchases…"))

    # ------------------------------------------------------------------ results

    @Slot(object)
    def _on_imported(self, outcome: tuple[purchase_imports.PurchaseImportResult, Path | None]) -> None:
        result, rejects = outcome
        self.result = result
        self.rejects_path = rejects
        self.plan = None  # written: a new check would show these receipts unchanged
        self._show_plan(result.plan, keep_counts=True)
        lines = [self.tr("Imported: {sales} sales, {refunds} refunds, {unchanged} unchanged; {points} points earned.").format(
            sales=result.sales, refunds=result.refunds, unchanged=result.unchanged, points=result.points_earned)]
        if rejects is not None:
            lines.append(self.tr("{count} invalid receipts were skipped; their rows are in {path} with their reasons.").format(
                count=result.skipped, path=rejects))
        self.summary.setText("\n".join(lines))
        self.summary.show()
        self.importFinished.emit(result)

    def _action_label(self, action: imports.Action) -> str:
        return {
            imports.Action.NEW: self.tr("New"),
            imports.Action.UPDATE: self.tr("Update"),
            imports.Action.UNCHANGED: self.tr("Unchanged"),
            imports.Action.INVALID: self.tr("Invalid"),
        }[action]

    def _show_plan(self, plan: purchase_imports.PurchaseImportPlan | None, *, keep_counts: bool = False) -> None:  # type: ignore[override]
        self.table.setRowCount(0)
        self.file_warnings.hide()
        self.shown_label.clear()
        if plan is None:
            self.counts_label.clear()
            self._update_buttons()
            return
        counts = plan.counts
        self.counts_label.setText(
            self.tr("{total} receipts ({rows} rows): {new} new, {unchanged} unchanged, {invalid} invalid").format(
                total=counts.total, rows=counts.rows, new=counts.new, unchanged=counts.unchanged, invalid=counts.invalid)
        )
        if plan.warnings:
            self.file_warnings.setText("\n".join(w.describe(translate_error) for w in plan.warnings))
            self.file_warnings.show()
        # Invalid receipts first, so the ones to correct are always in view; then the file's order.
        receipts = sorted(plan.receipts, key=lambda r: (r.action is not imports.Action.INVALID, r.row))[:PREVIEW_ROWS]
        self.table.setRowCount(len(receipts))
        for index, receipt in enumerate(receipts):
            details = [p.describe(translate_error) for p in receipt.errors]
            if receipt.kind.value == "refund":
                details.insert(0, self.tr("Refund of {receipt}").format(receipt=receipt.original_receipt))
            if receipt.lines:
                details.append(self.tr("{count} item lines").format(count=len(receipt.lines)))
            till = f"{receipt.till} / " if receipt.till else ""
            moment = receipt.occurred_at.astimezone(SHOP_ZONE).strftime("%Y-%m-%d %H:%M") if receipt.occurred_at else ""
            member = f"{receipt.member_name} ({receipt.member_no})" if receipt.member_no else ""
            amount = f"¥{receipt.amount_fen / 100:,.2f}" if receipt.amount_fen is not None else ""
            rows = str(receipt.row) if len(receipt.rows) == 1 else f"{receipt.row}–{receipt.rows[-1].row}"
            values = [rows, self._action_label(receipt.action), till + receipt.receipt_no, moment, member, amount,
                      "\n".join(details)]
            colour = ACTION_COLOURS.get(receipt.action)
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                if colour:
                    item.setBackground(QBrush(QColor(colour)))
                    item.setForeground(QBrush(QColor("#202124")))
                if column == 6 and details:
                    item.setToolTip("\n".join(details))
                self.table.setItem(index, column, item)
        for column in range(6):
            self.table.resizeColumnToContents(column)
        self.table.resizeRowsToContents()
        if counts.total > len(receipts):
            self.shown_label.setText(self.tr("Showing {shown} of {total} receipts, invalid ones first.").format(
                shown=len(receipts), total=counts.total))
        if not keep_counts and counts.invalid and not self.skip_box.isChecked():
            self.message.setText(self.tr("Correct the invalid rows in the file and check again, or skip them."))
            self.message.show()
        elif not keep_counts and counts.new == 0:
            self.message.setText(self.tr("Nothing to import: every receipt in the file is already in crmdesk."))
            self.message.show()
        self._update_buttons()
