"""Privacy on the member profile: consent with time and staff, the member's copy, erasing (with its refusals), screen fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSize

from crmdesk.app import create_application
from crmdesk.models import MarketingConsent
from crmdesk.services import members
from crmdesk.services.uow import read_session
from crmdesk.views.member_form import NewMemberDialog
from crmdesk.views.member_profile import MemberProfileDialog
from crmdesk.views.privacy_dialogs import EraseMemberDialog
from crmdesk.views.screen import COUNTER_SCREENS, largest_content, pretend_screen
from crmdesk.views.state import AppState
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures
from tests.services.test_privacy import NAME, PHONE, build_member, settle_money
from tests.views.fit import out_of_view, settle


@pytest.fixture
def rich(db, owner, cashier) -> int:  # type: ignore[no-untyped-def]
    return build_member(db, owner, cashier)


def _profile(qtbot, state: AppState, member_id: int) -> MemberProfileDialog:  # type: ignore[no-untyped-def]
    dialog = MemberProfileDialog(state, member_id)
    qtbot.addWidget(dialog)
    return dialog


def test_consent_shows_when_and_who(qtbot, db, cashier, rich) -> None:  # type: ignore[no-untyped-def]
    dialog = _profile(qtbot, AppState(db, cashier, "en"), rich)
    assert dialog.consent_box.currentData() is MarketingConsent.SMS
    assert dialog.consent_note.text().endswith(" · 收银员小李") and dialog.consent_note.text()[:4].isdigit()
    assert dialog.data_consent_label.text().startswith("Given · ") and dialog.data_consent_label.text().endswith(" · 收银员小李")
    assert dialog.data_consent_button.text() == "&Withdraw…"
    dialog.set_data_consent(False)
    assert not dialog.refused
    assert dialog.data_consent_label.text() == "Not recorded" and dialog.data_consent_button.text() == "Record consent"
    dialog.data_consent_button.click()  # recording needs no question
    with read_session(db) as session:
        assert members.profile(session, rich).data_consent_by == "收银员小李"
    assert dialog.data_consent_label.text().startswith("Given · ")
    history = [dialog.history_table.item(0, c).text() for c in (2, 4)]
    assert history == ["Consent to keeping personal data", "given"]


def test_the_new_member_form_says_consent_is_recorded_with_the_staff_name(qtbot, db, cashier) -> None:  # type: ignore[no-untyped-def]
    dialog = NewMemberDialog(AppState(db, cashier, "en"))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.details_button.setChecked(True)
    assert dialog.consent_note.isHidden()
    dialog.consent_box.setCurrentIndex(dialog.consent_box.findData(MarketingConsent.SMS))
    assert not dialog.consent_note.isHidden() and dialog.consent_note.text() == "Recorded now, by 收银员小李"
    dialog.phone_edit.setText("13600009999")
    dialog.name_edit.setText("新会员")
    dialog.submit()
    with read_session(db) as session:
        assert members.profile(session, dialog.member_id).consent_by == "收银员小李"


def test_privacy_actions_are_shown_to_those_allowed(qtbot, db, owner, supervisor, cashier, rich) -> None:  # type: ignore[no-untyped-def]
    shown = {}
    for key, actor in (("cashier", cashier), ("supervisor", supervisor), ("owner", owner)):
        dialog = _profile(qtbot, AppState(db, actor, "en"), rich)
        shown[key] = (not dialog.personal_data_button.isHidden(), dialog.export_data_action.isVisible(),
                      dialog.erase_action.isVisible())
    assert shown == {"cashier": (False, False, False), "supervisor": (True, True, False), "owner": (True, True, True)}


def test_export_writes_both_files_and_says_where(qtbot, db, supervisor, rich, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dialog = _profile(qtbot, AppState(db, supervisor, "en"), rich)
    folder = tmp_path / "copies"
    folder.mkdir()
    assert dialog.export_data(str(folder)) is not None
    qtbot.waitUntil(lambda: dialog.export_thread is None, timeout=30_000)
    written = sorted(p.name for p in folder.iterdir())
    assert [Path(name).suffix for name in written] == [".json", ".pdf"]
    text = dialog.notice.text()
    assert "The member's data was saved as" in text and all(str(folder / name) in text for name in written)
    assert json.loads((folder / written[0]).read_text(encoding="utf-8"))["member"]["phone"] == "+86" + PHONE
    assert dialog.export_data(str(tmp_path / "gone")) is not None
    qtbot.waitUntil(lambda: dialog.export_thread is None, timeout=30_000)
    assert "not an existing folder" in dialog.message.text() and dialog.notice.isHidden()


def test_export_is_refused_to_a_cashier_even_without_the_button(qtbot, db, cashier, rich, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dialog = _profile(qtbot, AppState(db, cashier, "en"), rich)
    folder = tmp_path / "copies"
    folder.mkdir()
    assert dialog.export_data(str(folder)) is not None
    qtbot.waitUntil(lambda: dialog.export_thread is None, timeout=30_000)
    assert "may not give out a member's copy" in dialog.message.text() and list(folder.iterdir()) == []


def test_erase_dialog_names_the_member_and_shows_refusals(qtbot, db, owner, rich) -> None:  # type: ignore[no-untyped-def]
    state = AppState(db, owner, "en")
    with read_session(db) as session:
        profile = members.profile(session, rich)
    dialog = EraseMemberDialog(state, profile)
    qtbot.addWidget(dialog)
    assert NAME in dialog.findChild(type(dialog.message), "pageHeading").text()
    assert "Purchases and receipts" in dialog.kept_label.text() and "Name, phone" in dialog.removed_label.text()
    assert "cash out the stored value and settle or write off the debt first" in dialog.money_note.text()
    assert not dialog.erase_button.isEnabled()
    dialog.confirm_edit.setText("张小明")
    assert not dialog.erase_button.isEnabled()  # not the name
    dialog.confirm_edit.setText(f" {NAME}")
    assert dialog.erase_button.isEnabled()
    dialog.erase_button.click()  # the service refuses: money is still held
    assert "cash out the stored value and settle or write off the debt first" in dialog.message.text()
    assert dialog.erased is None and dialog.result() == 0
    with read_session(db) as session:
        assert members.profile(session, rich).name == NAME


def test_erasing_from_the_profile(qtbot, db, owner, rich, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settle_money(db, owner, rich)
    dialog = _profile(qtbot, AppState(db, owner, "en"), rich)

    def confirm(erase_dialog: EraseMemberDialog) -> int:
        assert erase_dialog.money_note.isHidden()
        erase_dialog.confirm_edit.setText(NAME)
        erase_dialog.erase()
        assert not erase_dialog.refused
        return erase_dialog.result()

    monkeypatch.setattr(EraseMemberDialog, "exec", confirm)
    dialog.ask_erase()
    assert dialog.changed and dialog.heading.text() == dialog.windowTitle() == "Erased member M00000001"
    assert "was erased" in dialog.notice.text()
    assert not dialog.name_edit.isEnabled() and not dialog.save_button.isEnabled() and not dialog.erase_action.isEnabled()
    assert dialog.close_member_button.isHidden() and dialog.merge_button.isHidden()
    assert dialog.consent_note.text().startswith("Personal data erased ")
    assert dialog.history_table.item(0, 2).text() == "Personal data erased"
    assert dialog.history_table.item(0, 4).text() == "on the member's request"
    with read_session(db) as session:
        assert members.profile(session, rich).erased_at is not None


def test_a_supervisor_cannot_erase_even_with_the_dialog(qtbot, db, owner, supervisor, rich) -> None:  # type: ignore[no-untyped-def]
    settle_money(db, owner, rich)
    with read_session(db) as session:
        profile = members.profile(session, rich)
    dialog = EraseMemberDialog(AppState(db, supervisor, "en"), profile)
    qtbot.addWidget(dialog)
    dialog.confirm_edit.setText(NAME)
    dialog.erase()
    assert dialog.refused
    assert "may not erase a member's personal data; ask the owner" in dialog.message.text()


@pytest.fixture(params=COUNTER_SCREENS, ids=lambda size: f"{size.width()}x{size.height()}")
def screen(request, qapp):  # type: ignore[no-untyped-def]
    style, font = qapp.styleSheet(), qapp.font()
    create_application()
    pretend_screen(request.param)
    yield request.param
    pretend_screen(None)
    qapp.setStyleSheet(style)
    qapp.setFont(font)


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_privacy_screens_fit_the_counter(qtbot, translators, db, owner, rich, screen: QSize, language: str) -> None:  # type: ignore[no-untyped-def]
    translators.install(language)
    state = AppState(db, owner, language)
    profile_dialog = _profile(qtbot, state, rich)
    profile_dialog.show()
    settle()
    assert not profile_dialog.personal_data_button.isHidden()
    assert not out_of_view(profile_dialog), out_of_view(profile_dialog)
    with read_session(db) as session:
        profile = members.profile(session, rich)
    erase = EraseMemberDialog(state, profile)
    qtbot.addWidget(erase)
    erase.show()
    settle()
    erase.confirm_edit.setText("张小明")
    erase.message.setText("x " * 200)
    erase.message.show()
    settle()
    assert erase.width() <= largest_content(erase).width() and erase.height() <= largest_content(erase).height()
    assert not out_of_view(erase), out_of_view(erase)
