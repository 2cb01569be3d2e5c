"""Every dialog of the program, made as its screen makes it: for the tests that look at all of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import sqlalchemy as sa
from PySide6.QtWidgets import QWidget

from crmdesk.models import Member, MemberStatus
from crmdesk.services import complaints, members, offers
from crmdesk.services.uow import read_session
from crmdesk.views.main_window import MainWindow
from crmdesk.views.state import AppState
from tests.views.conftest import busy_member
from tests.views.dialogs import built, care_form, with_setup
from tests.views.fit import each_tab, settle


def _acted(dialog: QWidget, act: Callable[[QWidget], object]) -> QWidget:
    """The dialog after something was done in it (shown first, as a person would see it)."""
    dialog.show()
    settle()
    act(dialog)
    settle()
    return dialog


def every_dialog(state: AppState) -> Iterator[tuple[str, Callable[[], QWidget]]]:
    """Every dialog of the program, made as its screen makes it."""
    from crmdesk.reports.documents import MemberReportRequest
    from crmdesk.views.complaint_detail import ComplaintDetailDialog
    from crmdesk.views.complaint_form import ComplaintFormDialog
    from crmdesk.views.complaint_settings import CategoryDialog
    from crmdesk.views.counter_page import CardDialog
    from crmdesk.views.import_dialog import ImportMembersDialog
    from crmdesk.views.login_dialog import LoginDialog
    from crmdesk.views.member_form import NewMemberDialog
    from crmdesk.views.member_list import ColumnsDialog
    from crmdesk.views.member_profile import AdjustPointsDialog, MemberProfileDialog, MergeDialog
    from crmdesk.views.money_dialogs import (
        CashOutDialog, CollectionNoteDialog, CreditFreezeDialog, CreditLimitDialog, PayPinDialog, RepayDialog, TopUpDialog,
        WalletAdjustDialog, WriteOffDialog,
    )
    from crmdesk.views.money_settings_tab import BonusRuleDialog
    from crmdesk.views.offers_page import CouponsDialog, OfferDialog
    from crmdesk.views.purchase_dialogs import PurchaseDialog, RedeemDialog, RefundDialog
    from crmdesk.views.purchase_import_dialog import ImportPurchasesDialog
    from crmdesk.views.report_preview import ReportPreviewDialog
    from crmdesk.views.server_dialog import ConnectServerDialog
    from crmdesk.views.setup_wizard import SetupWizard
    from crmdesk.views.staff_dialogs import AddStaffDialog, SecretDialog
    from crmdesk.views.survey_dialog import SurveyDialog

    member_id = busy_member(state.db)
    with read_session(state.db) as session:
        profile = members.profile(session, member_id)
        complaint = complaints.list_complaints(session)[0]
        frozen_id = session.scalar(sa.select(Member.id).where(Member.status == MemberStatus.FROZEN).limit(1))
        frozen = members.profile(session, frozen_id) if frozen_id else profile
        offer = offers.list_offers(session)[0]
        # The demo's members with the most stored value and the most owed (the busy member when none).
        saver_id = session.scalar(sa.select(Member.id).where(Member.wallet_principal_fen > 0)
                                  .order_by(Member.wallet_principal_fen.desc()).limit(1))
        debtor_id = session.scalar(sa.select(Member.id).where(Member.credit_owed_fen > 0)
                                   .order_by(Member.credit_owed_fen.desc()).limit(1))
        saver = members.profile(session, saver_id) if saver_id else profile
        debtor = members.profile(session, debtor_id) if debtor_id else profile
    yield "login", lambda: LoginDialog(state.db, operations=state.operations)
    yield "login, after a wrong PIN", lambda: _acted(LoginDialog(state.db, operations=state.operations), lambda d: (
        d.secret_edit.setText("0"), d.accept()))
    yield "setup wizard", lambda: SetupWizard(state.db)
    yield "add staff", lambda: AddStaffDialog(None, lambda *args: None)
    yield "new PIN", lambda: SecretDialog(None, "新PIN码", "新PIN码：", "4至6位数字", lambda secret: None)
    yield "new member", lambda: NewMemberDialog(state)
    yield "new member, refused", lambda: _acted(NewMemberDialog(state, prefill="1381234"), lambda d: (
        d.details_button.setChecked(True), d.submit()))
    yield "card", lambda: CardDialog(state, profile)
    yield "purchase", lambda: built(PurchaseDialog, state, profile)
    yield "purchase, frozen member", lambda: built(PurchaseDialog, state, frozen)
    yield "purchase, more", lambda: _acted(built(PurchaseDialog, state, frozen), lambda d: (
        d.more_button.setChecked(True), d.add_line(("6901", "牛奶", "乳制品", "2", "10")), d.accept()))
    yield "purchase, refused", lambda: _acted(built(PurchaseDialog, state, profile), lambda d: (d.amount_edit.setText("12,5"), d.accept()))
    yield "refund", lambda: RefundDialog(state, profile)
    yield "redeem", lambda: built(RedeemDialog, state, profile)
    yield "purchase, from the wallet", lambda: _acted(built(PurchaseDialog, state, saver), lambda d: (
        d.amount_edit.setText("9999"), d.payment_box.setCurrentIndex(d.payment_box.findData("wallet"))))
    yield "purchase, on credit beyond the limit", lambda: _acted(built(PurchaseDialog, state, debtor), lambda d: (
        d.amount_edit.setText("9999"), d.payment_box.setCurrentIndex(d.payment_box.findData("credit"))))
    yield "top up", lambda: _acted(built(TopUpDialog, state, saver), lambda d: d.amount_edit.setText("500"))
    yield "top up, refused", lambda: _acted(built(TopUpDialog, state, saver), lambda d: (d.amount_edit.setText("9000"), d.accept()))
    yield "repayment", lambda: built(RepayDialog, state, debtor)
    yield "pay out the wallet", lambda: CashOutDialog(state, saver)
    yield "correct the wallet", lambda: WalletAdjustDialog(state, saver)
    yield "payment PIN", lambda: PayPinDialog(state, saver)
    yield "credit limit", lambda: built(CreditLimitDialog, state, debtor)
    yield "stop credit", lambda: CreditFreezeDialog(state, debtor)
    yield "collection note", lambda: CollectionNoteDialog(state, debtor)
    yield "write off", lambda: WriteOffDialog(state, debtor)
    yield "top-up bonus", lambda: with_setup(BonusRuleDialog, state)
    yield "profile, stored value and credit", lambda: _acted(MemberProfileDialog(state, debtor.id), lambda d: d.tabs.setCurrentWidget(
        d.credit_tab))
    yield "complaint form", lambda: care_form(ComplaintFormDialog, state, member_id=member_id)
    yield "survey", lambda: care_form(SurveyDialog, state, member_id=member_id)
    yield "profile", lambda: MemberProfileDialog(state, member_id)
    yield "merge", lambda: MergeDialog(state, profile)
    yield "adjust points", lambda: AdjustPointsDialog()
    yield "columns", lambda: ColumnsDialog(["member_no", "name"])
    yield "import members", lambda: ImportMembersDialog(state)
    yield "import purchases", lambda: ImportPurchasesDialog(state)
    yield "offer editor", lambda: OfferDialog(state, offer)
    yield "new offer", lambda: OfferDialog(state)
    yield "coupons", lambda: CouponsDialog(state, offer)
    yield "category", lambda: CategoryDialog()
    yield "report preview", lambda: ReportPreviewDialog(state, MemberReportRequest(member_id), "会员报告")
    yield "complaint detail", lambda: ComplaintDetailDialog(state, complaint.id)
    yield "connect to server", lambda: ConnectServerDialog(state.actor, state.db.describe())
    yield "connect to server, refused", lambda: _acted(ConnectServerDialog(state.actor, state.db.describe()), lambda d: (
        d.line_edit.setText("crmdesk connect postgresql://crmdesk:pw@shop-pc:5432/crmdesk"), d.host_edit.setText(""),
        d._run(save=False)))




def every_area(window: MainWindow, state: AppState) -> Iterator[str]:
    """Show every area of the main window and each of its tabs in turn ("area/tab"); the counter with
    the busiest member open and a long result line, as after a sale."""
    for key, _page in list(window._areas):
        window.show_view(key)
        settle()
        if key == "counter":
            counter = window.page("counter")
            counter.open_member(busy_member(state.db))
            counter._show_result("积分 +1,234；现有积分 99,999。" * 3)
            settle()
        for tab in each_tab(window.pages.currentWidget()):
            yield f"{key}/{tab}"


def every_dialog_shown(qtbot, state: AppState) -> Iterator[tuple[str, QWidget]]:  # type: ignore[no-untyped-def]
    """Every dialog shown as the program shows it, and each of its tabs in turn ("name/tab", dialog);
    the complaint's action dialogs too."""
    for name, make in every_dialog(state):
        dialog = make()
        qtbot.addWidget(dialog)
        dialog.show()
        settle()
        for tab in each_tab(dialog):
            yield f"{name}/{tab}" if tab else name, dialog
        if name == "complaint detail":
            for make_action in (dialog.assign_dialog, dialog.note_dialog, dialog.priority_dialog, dialog.resolve_dialog,
                                dialog.follow_up_dialog, dialog.close_dialog, dialog.reopen_dialog):
                action = make_action()
                qtbot.addWidget(action)
                action.show()
                settle()
                yield f"{name} → {type(action).__name__}", action
                action.close()
        dialog.close()
