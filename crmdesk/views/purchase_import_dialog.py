"""Importing purchases from a file: choose it, preview receipt by receipt, import in the background.

The member import's dialog (views.import_dialog.ImportMembersDialog) with the purchase import's steps
(services.purchase_imports.plan_purchase_import / apply_purchase_import / write_rejects), its preview
columns and its texts: checking and importing run off the UI thread with their own session; cancelling
the import rolls its one transaction back, so the database stays as it was.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QHeaderView, QLabel, QWidget

from crmdesk.services import purchase_imports
from crmdesk.services.loyalty import SHOP_ZONE
from crmdesk.views.import_dialog import PREVIEW_ROWS, ImportMembersDialog, PreviewRow, translate_error
from crmdesk.views.state import AppState

class ImportPurchasesDialog(ImportMembersDialog):
    """Choose a purchases file, check it, see the preview, import it with progress and cancel."""

    steps = purchase_imports.STEPS

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

    def _writes(self, plan: purchase_imports.PurchaseImportPlan) -> int:  # type: ignore[override]
        return plan.counts.new

    def _file_prompt(self) -> tuple[str, str]:
        return self.tr("Choose a purchases file"), self.tr("Purchases files (*.csv *.txt *.xlsx);;All files (*)")

    def _importing_text(self) -> str:
        return self.tr("Importing purchases…")

    def _summary_lines(self, result: purchase_imports.PurchaseImportResult, rejects: Path | None) -> list[str]:  # type: ignore[override]
        lines = [self.tr("Imported: {sales} sales, {refunds} refunds, {unchanged} unchanged; {points} points earned.").format(
            sales=result.sales, refunds=result.refunds, unchanged=result.unchanged, points=result.points_earned)]
        if rejects is not None:
            lines.append(self.tr("{count} invalid receipts were skipped; their rows are in {path} with their reasons.").format(
                count=result.skipped, path=rejects))
        return lines

    def _counts_text(self, plan: purchase_imports.PurchaseImportPlan) -> str:  # type: ignore[override]
        counts = plan.counts
        text = self.tr("{total} receipts ({rows} rows): {new} new, {unchanged} unchanged, {invalid} invalid").format(
            total=counts.total, rows=counts.rows, new=counts.new, unchanged=counts.unchanged, invalid=counts.invalid)
        if purchase_imports.keeps_tills_waiting(plan):
            text += "\n" + self.tr("A file this large keeps the tills from selling while it is written (minutes): "
                                   "import it when the shop is closed.")
        return text

    def _preview(self, plan: purchase_imports.PurchaseImportPlan) -> list[PreviewRow]:  # type: ignore[override]
        """Invalid receipts first, so the ones to correct are always in view; then the file's order."""
        preview = []
        for receipt in plan.preview(PREVIEW_ROWS):
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
            preview.append(PreviewRow(receipt.action, [rows, self._action_label(receipt.action), till + receipt.receipt_no,
                                                       moment, member, amount], details))
        return preview

    def _shown_text(self, shown: int, total: int) -> str:
        return self.tr("Showing {shown} of {total} receipts, invalid ones first.").format(shown=shown, total=total)

    def _nothing_text(self) -> str:
        return self.tr("Nothing to import: every receipt in the file is already in crmdesk.")
