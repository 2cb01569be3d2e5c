"""Every area and every dialog fits the counter PCs' screens: 1024×768 and 1366×768 with a taskbar.

The main window is shown as it opens there (maximised); each dialog is shown as the program
shows it. A button, field or the status bar outside the visible area fails the test, with the
list of what is out of view and where.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.services import complaints, demo, members, offers, staff
from crmdesk.models import Member, Role
from crmdesk.services.uow import Actor, read_session, unit_of_work
from crmdesk.views.main_window import MainWindow
from crmdesk.views.screen import COUNTER_SCREENS, install_screen_fitter, largest_content, pretend_screen
from crmdesk.views.state import AppState
from tests.views.fit import each_tab, out_of_view, settle

SCREENS = [pytest.param(size, id=f"{size.width()}x{size.height()}") for size in COUNTER_SCREENS]
LANGUAGES = ["zh_CN", "en"]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A small demo store: members with history, offers, complaints, surveys on every screen."""
    database = open_database(sqlite_url(Path(tmp_path_factory.mktemp("fit")) / "demo.sqlite"))
    with unit_of_work(database) as session:
        demo.fill_demo_store(session, members=80, seed=5, today=date(2026, 11, 20))
    yield database
    database.dispose()


@pytest.fixture
def demo_state(qapp, demo_db: Database) -> AppState:  # type: ignore[no-untyped-def]
    with read_session(demo_db) as session:
        return AppState(demo_db, staff.actor_for(session), "zh_CN")


@pytest.fixture(params=SCREENS)
def screen(request: pytest.FixtureRequest, qapp) -> Iterator[QSize]:  # type: ignore[no-untyped-def]
    install_screen_fitter(qapp)
    pretend_screen(request.param)
    yield request.param
    pretend_screen(None)


def _busy_member(db: Database) -> int:
    """The member with the most visits: the counter at its fullest."""
    with read_session(db) as session:
        return int(session.scalar(sa.select(Member.id).order_by(Member.visit_count.desc()).limit(1)) or 0)


def _open_main_window(qtbot, state: AppState) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.resize(largest_content(window))
    window.show()
    settle()
    return window


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_area_fits(qtbot, translators, demo_state, screen, language) -> None:  # type: ignore[no-untyped-def]
    translators.install(language)
    window = _open_main_window(qtbot, demo_state)
    problems = []
    for key, _page in list(window._areas):
        window.show_view(key)
        settle()
        if key == "counter":
            counter = window.page("counter")
            counter.open_member(_busy_member(demo_state.db))
            counter._show_result("积分 +1,234；现有积分 99,999。" * 3)
            settle()
        for tab in each_tab(window.pages.currentWidget()):
            problems += [f"{key}/{tab}: {problem}" for problem in out_of_view(window)]
    assert not problems, "\n".join(problems)


def test_a_cashier_starts_at_the_counter_and_it_fits(qtbot, demo_state, screen) -> None:  # type: ignore[no-untyped-def]
    with read_session(demo_state.db) as session:
        cashier = next(s for s in staff.list_staff(session) if s.role is Role.CASHIER)
    demo_state.sign_in(Actor(cashier.id, cashier.name, cashier.role))
    window = _open_main_window(qtbot, demo_state)
    window.show_view(window.start_area())
    assert window.current_area() == "counter"
    assert not out_of_view(window)


def _acted(dialog: QWidget, act: Callable[[QWidget], object]) -> QWidget:
    """The dialog after something was done in it (shown first, as a person would see it)."""
    dialog.show()
    settle()
    act(dialog)
    settle()
    return dialog


def _dialogs(state: AppState) -> Iterator[tuple[str, Callable[[], QWidget]]]:
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
    from crmdesk.views.offers_page import CouponsDialog, OfferDialog
    from crmdesk.views.purchase_dialogs import PurchaseDialog, RedeemDialog, RefundDialog
    from crmdesk.views.purchase_import_dialog import ImportPurchasesDialog
    from crmdesk.views.report_preview import ReportPreviewDialog
    from crmdesk.views.setup_wizard import SetupWizard
    from crmdesk.views.staff_dialogs import AddStaffDialog, SecretDialog
    from crmdesk.views.survey_dialog import SurveyDialog

    member_id = _busy_member(state.db)
    with read_session(state.db) as session:
        profile = members.profile(session, member_id)
        complaint = complaints.list_complaints(session)[0]
        offer = offers.list_offers(session)[0]
    yield "login", lambda: LoginDialog(state.db)
    yield "login, after a wrong PIN", lambda: _acted(LoginDialog(state.db), lambda d: (d.secret_edit.setText("0"), d.accept()))
    yield "setup wizard", lambda: SetupWizard(state.db)
    yield "add staff", lambda: AddStaffDialog(None, lambda *args: None)
    yield "new PIN", lambda: SecretDialog(None, "PIN", "PIN:", "4-6", lambda secret: None)
    yield "new member", lambda: NewMemberDialog(state)
    yield "new member, refused", lambda: _acted(NewMemberDialog(state, prefill="1381234"), lambda d: (
        d.details_button.setChecked(True), d.submit()))
    yield "card", lambda: CardDialog(state, profile)
    yield "purchase", lambda: PurchaseDialog(state, profile)
    yield "purchase, refused", lambda: _acted(PurchaseDialog(state, profile), lambda d: (d.amount_edit.setText("12,5"), d.accept()))
    yield "refund", lambda: RefundDialog(state, profile)
    yield "redeem", lambda: RedeemDialog(state, profile)
    yield "complaint form", lambda: ComplaintFormDialog(state, member_id=member_id)
    yield "survey", lambda: SurveyDialog(state, member_id=member_id)
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
    yield "report preview", lambda: ReportPreviewDialog(state, MemberReportRequest(member_id), "report")
    yield "complaint detail", lambda: ComplaintDetailDialog(state, complaint.id)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_dialog_fits(qtbot, translators, demo_state, screen, language) -> None:  # type: ignore[no-untyped-def]
    translators.install(language)
    problems = []
    for name, make in _dialogs(demo_state):
        dialog = make()
        qtbot.addWidget(dialog)
        dialog.show()
        settle()
        for tab in each_tab(dialog):
            problems += [f"{name}{'/' + tab if tab else ''}: {problem}" for problem in out_of_view(dialog)]
        if name == "complaint detail":
            for make_action in (dialog.assign_dialog, dialog.note_dialog, dialog.priority_dialog, dialog.resolve_dialog,
                                dialog.follow_up_dialog, dialog.close_dialog, dialog.reopen_dialog):
                action = make_action()
                qtbot.addWidget(action)
                action.show()
                settle()
                problems += [f"{name} → {type(action).__name__}: {p}" for p in out_of_view(action)]
                action.close()
        dialog.close()
    assert not problems, "\n".join(problems)
