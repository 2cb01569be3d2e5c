"""Every string a person sees has a Simplified Chinese translation."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import sqlalchemy as sa

from crmdesk.i18n import lrelease_executable
from crmdesk.models import StoreSettings
from crmdesk.paths import resource_path
from crmdesk.services.uow import unit_of_work
from crmdesk.views.login_dialog import LoginDialog
from crmdesk.views.main_window import MainWindow
from crmdesk.views.setup_wizard import SetupWizard
from crmdesk.views.staff_dialogs import AddStaffDialog, SecretDialog
from tests.views.walk import untranslated
from tests.views.dialogs import built, care_form

REPO = Path(__file__).resolve().parents[2]
TS_FILE = resource_path("translations", "crmdesk_zh_CN.ts")
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def _messages(ts: Path) -> dict[tuple[str, str], ET.Element]:
    root = ET.parse(ts).getroot()
    return {
        (context.findtext("name"), message.findtext("source")): message.find("translation")
        for context in root.iter("context")
        for message in context.iter("message")
    }


def _text(translation: ET.Element) -> str:
    """The translation's text; for a "%n" message, its plural forms."""
    return ((translation.text or "") + "".join(form.text or "" for form in translation.iter("numerusform"))).strip()


def test_every_string_in_the_code_has_a_finished_translation(tmp_path: Path) -> None:
    lupdate = Path(lrelease_executable()).with_name("lupdate")
    sources = sorted(str(p) for p in (REPO / "crmdesk").rglob("*.py"))
    fresh = tmp_path / "fresh.ts"
    subprocess.run([str(lupdate), "-silent", *sources, "-ts", str(fresh)], check=True, capture_output=True)
    wanted = _messages(fresh)
    have = _messages(TS_FILE)
    assert wanted, "lupdate found no strings"
    missing = [key for key in wanted if key not in have or have[key] is None or not _text(have[key])]
    unfinished = [key for key in wanted if key in have and have[key] is not None and have[key].get("type") == "unfinished"]
    assert not missing, f"strings without a translation (run `make translations`, then translate): {missing}"
    assert not unfinished, f"translations marked unfinished: {unfinished}"


def test_translations_keep_every_placeholder() -> None:
    for (context, source), translation in _messages(TS_FILE).items():
        assert translation is not None
        assert set(PLACEHOLDER.findall(source)) == set(PLACEHOLDER.findall(translation.text or "")), (context, source)


def _assert_all_chinese(widget) -> None:  # type: ignore[no-untyped-def]
    leftovers = untranslated(widget)
    assert not leftovers, f"English text left in the Chinese interface: {leftovers}"


def test_main_window_in_chinese_has_no_english_left(qtbot, translators, owner_state) -> None:
    translators.install("zh_CN")
    window = MainWindow(owner_state)
    qtbot.addWidget(window)
    for view in ("counter", "members", "offers", "complaints", "overview", "settings", "staff"):
        window.show_view(view)
        _assert_all_chinese(window)
    assert window.nav.item(0).text().startswith("收银台")


def test_dialogs_in_chinese_have_no_english_left(qtbot, translators, db, owner) -> None:
    translators.install("zh_CN")
    with unit_of_work(db) as session:
        session.execute(sa.update(StoreSettings).values(is_demo=True))  # shows the demo hint too
    for dialog in (
        LoginDialog(db),
        AddStaffDialog(None, lambda *args: None),
        SecretDialog(None, "新PIN码", "新PIN码：", "4至6位数字", lambda secret: None),
    ):
        qtbot.addWidget(dialog)
        _assert_all_chinese(dialog)


def test_member_dialogs_in_chinese_have_no_english_left(qtbot, translators, owner_state) -> None:
    from crmdesk.services import members
    from crmdesk.views.import_dialog import ImportMembersDialog
    from crmdesk.views.member_form import NewMemberDialog
    from crmdesk.views.member_profile import MemberProfileDialog

    translators.install("zh_CN")
    with unit_of_work(owner_state.db) as session:
        member = members.register(session, owner_state.actor, members.MemberInput(name="张三", phone="13812345678"), card_number=None)
    from crmdesk.views.offers_page import OfferDialog
    from crmdesk.views.purchase_dialogs import PurchaseDialog, RedeemDialog, RefundDialog
    from crmdesk.views.purchase_import_dialog import ImportPurchasesDialog

    for dialog in (
        NewMemberDialog(owner_state),
        MemberProfileDialog(owner_state, member.id),
        ImportMembersDialog(owner_state),
        ImportPurchasesDialog(owner_state),
        built(PurchaseDialog, owner_state, member),
        RefundDialog(owner_state, member),
        built(RedeemDialog, owner_state, member),
        OfferDialog(owner_state),
    ):
        qtbot.addWidget(dialog)
        _assert_all_chinese(dialog)


def test_complaint_screens_in_chinese_have_no_english_left(qtbot, translators, owner_state) -> None:
    from crmdesk.services import complaints, members
    from crmdesk.views.complaint_detail import ComplaintDetailDialog
    from crmdesk.views.complaint_form import ComplaintFormDialog
    from crmdesk.views.complaints_page import ComplaintsPage
    from crmdesk.views.survey_dialog import SurveyDialog

    translators.install("zh_CN")
    with unit_of_work(owner_state.db) as session:
        member = members.register(session, owner_state.actor, members.MemberInput(name="张三", phone="13812345678"), card_number=None)
        complaint = complaints.log_complaint(session, owner_state.actor, complaints.ComplaintInput(
            channel="counter", category="quality", description="水果切盒发霉", member_id=member.id))
    page = ComplaintsPage(owner_state)
    qtbot.addWidget(page)
    for tab in ("board", "figures", "satisfaction", "settings"):
        page.show_tab(tab)
        _assert_all_chinese(page)
    detail = ComplaintDetailDialog(owner_state, complaint.id)
    qtbot.addWidget(detail)
    _assert_all_chinese(detail)
    for make in (detail.assign_dialog, detail.note_dialog, detail.priority_dialog, detail.resolve_dialog,
                 detail.follow_up_dialog, detail.close_dialog, detail.reopen_dialog):
        action = make()
        qtbot.addWidget(action)
        _assert_all_chinese(action)
    for dialog in (care_form(ComplaintFormDialog, owner_state, member_id=member.id), care_form(ComplaintFormDialog, owner_state),
                   care_form(SurveyDialog, owner_state, member_id=member.id), care_form(SurveyDialog, owner_state)):
        qtbot.addWidget(dialog)
        _assert_all_chinese(dialog)


def test_setup_wizard_in_chinese_has_no_english_left(qtbot, translators, db) -> None:
    translators.install("zh_CN")
    wizard = SetupWizard(db)
    qtbot.addWidget(wizard)
    _assert_all_chinese(wizard)


def test_the_walk_catches_english(qtbot, owner_state) -> None:
    # Without translators the same window is English: the check must notice.
    window = MainWindow(owner_state)
    qtbot.addWidget(window)
    assert untranslated(window)
