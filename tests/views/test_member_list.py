"""The member list and the member profile, driven offscreen."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QPoint, Qt

from crmdesk.db import Database
from crmdesk.models import (
    Card, CardStatus, CreditEntry, CreditKind, Member, MemberStatus, MemberTag, PointsEntry, PointsKind, WalletEntry, WalletKind,
)
from crmdesk.services import cards
from crmdesk.services import member_query as mq
from crmdesk.services import members
from crmdesk.services.member_query import COLUMNS, MemberFilter
from crmdesk.services.members import MemberInput
from crmdesk.services.search_keys import name_search_keys
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.member_list import MemberListModel, MemberListPage
from crmdesk.views.member_profile import MemberProfileDialog, MergeDialog

SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜敏静丽强磊军洋"


def bulk_members(db: Database, count: int) -> None:
    """``count`` members written in one statement (the services would take seconds for a thousand)."""
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    rows = []
    for n in range(1, count + 1):
        name = SURNAMES[n % 10] + GIVEN[(n // 10) % 10] + GIVEN[(n * 7) % 10]
        pinyin, initials = name_search_keys(name)
        rows.append({
            "member_no": f"M{n:08d}", "name": name, "name_pinyin": pinyin, "name_initials": initials,
            "phone": f"+86138{n:08d}", "phone_last4": f"{n:08d}"[-4:], "birthday": date(1960 + n % 40, n % 12 + 1, n % 28 + 1),
            "birth_month": n % 12 + 1, "status": [MemberStatus.ACTIVE, MemberStatus.ACTIVE, MemberStatus.FROZEN][n % 3],
            "joined_on": date(2020, 1, 1) + timedelta(days=n), "points_balance": (n * 37) % 1000,
            "visit_count": n % 50, "total_spend_fen": (n * 7919) % 1_000_000,
            "last_visit_at": now - timedelta(hours=n), "created_at": now, "updated_at": now,
        })
    with unit_of_work(db) as session:
        session.execute(sa.insert(Member), rows)
        session.execute(sa.insert(MemberTag), [{"member_id": n, "tag": "老顾客"} for n in range(1, count + 1, 5)])
        # The points balances' ledger, so the cache agrees with it as in a real store.
        session.execute(sa.insert(PointsEntry), [
            {"member_id": n, "kind": PointsKind.IMPORT, "points": row["points_balance"], "at": now, "reason": "期初"}
            for n, row in enumerate(rows, start=1) if row["points_balance"]])


@pytest.fixture
def thousand(db: Database, owner) -> Database:  # type: ignore[no-untyped-def]
    bulk_members(db, 1000)
    return db


def _show(qtbot, page: MemberListPage) -> None:  # type: ignore[no-untyped-def]
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    qtbot.waitExposed(page)


# --------------------------------------------------------------------------- the list


def test_opening_fetches_only_what_is_on_screen(qtbot, owner_state, thousand) -> None:
    page = MemberListPage(owner_state)
    _show(qtbot, page)
    model = page.model
    assert model.rowCount() == 1000 and page.count_label.text() == "1,000 members"
    qtbot.waitUntil(lambda: model.pages_fetched > 0)
    qtbot.wait(20)
    assert model.fetched_offsets == [0]  # one page of 200 for about 25 visible rows
    page.table.scrollToBottom()
    qtbot.wait(20)
    assert model.fetched_offsets == [0, 800]  # the last page only, nothing in between
    assert model.data(model.index(999, COLUMNS.index("member_no"))) == "M00001000"


def test_the_model_keeps_a_bounded_window_of_pages(qtbot, db, thousand) -> None:
    model = MemberListModel(db, page_size=50, max_pages=3)
    for row in (0, 120, 260, 400, 999):
        assert model.row_at(row).member_no == f"M{row + 1:08d}"
    assert model.pages_fetched == 5 and len(model.cached_pages()) == 3
    model.row_at(999)
    assert model.pages_fetched == 5  # still cached
    model.row_at(0)
    assert model.pages_fetched == 6  # evicted, read again


def test_clicking_a_column_sorts_by_it(qtbot, owner_state, thousand) -> None:
    page = MemberListPage(owner_state)
    _show(qtbot, page)
    model = page.model
    spend = COLUMNS.index("spend")
    header = page.table.horizontalHeader()
    for _click in range(2):  # a click sorts by the column, a second click turns the order round
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                         pos=header.viewport().rect().topLeft() + QPoint(header.sectionViewportPosition(spend) + 10, 5))
        assert model.sort_key == "spend" and header.sortIndicatorSection() == spend
        assert header.sortIndicatorOrder() == model.sort_order()
        column = Member.total_spend_fen.desc() if model.descending else Member.total_spend_fen.asc()
        tie = Member.id.desc() if model.descending else Member.id.asc()
        with read_session(owner_state.db) as session:
            top = session.scalars(sa.select(Member.member_no).order_by(column, tie).limit(3)).all()
        assert [model.row_at(r).member_no for r in range(3)] == top
    assert model.pages_fetched == 1
    model.sort(COLUMNS.index("name"), Qt.SortOrder.AscendingOrder)
    pinyins = [name_search_keys(model.row_at(r).name)[0] for r in range(50)]
    assert pinyins == sorted(pinyins)
    # Tags have no index to sort by: the order stays as it was, and the header says so.
    model.sort(COLUMNS.index("tags"), Qt.SortOrder.AscendingOrder)
    assert model.sort_key == "name" and page.table.horizontalHeader().sortIndicatorSection() == COLUMNS.index("name")


def test_filters_narrow_the_count(qtbot, owner_state, thousand) -> None:
    page = MemberListPage(owner_state)
    _show(qtbot, page)
    page.status_box.setCurrentIndex(page.status_box.findData(MemberStatus.FROZEN))
    assert page.apply_filter()
    assert page.model.rowCount() == 333 and page.count_label.text() == "333 members"
    page.tag_box.setCurrentIndex(page.tag_box.findData("老顾客"))
    page.spend_min.setText("5000")
    page.apply_filter()
    with read_session(owner_state.db) as session:
        expected = mq.count(session, MemberFilter(statuses=(MemberStatus.FROZEN,), tags=("老顾客",), spend_min_fen=500_000))
    assert 0 < page.model.rowCount() == expected < 333
    page.spend_min.setText("lots")
    assert not page.apply_filter()
    assert page.message.isVisibleTo(page) and "not an amount in yuan" in page.message.text()
    assert page.model.rowCount() == expected  # the list stays as it was
    page.clear_filters()
    assert page.model.rowCount() == 1000 and page.spend_min.text() == ""
    page.search_edit.setText("13800000012")  # typing filters after a short pause
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)


def test_money_columns_and_filters(qtbot, owner_state, thousand) -> None:
    """Stored value and debt as columns; "stored value at least", "owes money" and "overdue" as filters, kept in groups."""
    with unit_of_work(owner_state.db) as session:
        session.execute(sa.update(Member).where(Member.id <= 30).values(wallet_principal_fen=Member.id * 1000, wallet_bonus_fen=100))
        session.execute(sa.update(Member).where(Member.id.in_((7, 8, 9))).values(credit_owed_fen=4_500))
        # Their ledgers: balances and debts brought over from an old system, the debts due in two months.
        session.execute(sa.insert(WalletEntry), [
            {"member_id": n, "kind": WalletKind.OPENING, "principal_fen": n * 1000, "bonus_fen": 100} for n in range(1, 31)])
        session.execute(sa.insert(CreditEntry), [
            {"member_id": n, "kind": CreditKind.OPENING, "amount_fen": 4_500, "due_on": date.today() + timedelta(days=60)} for n in (7, 8, 9)])
    page = MemberListPage(owner_state)
    _show(qtbot, page)
    assert {"wallet", "owed"} <= set(page.visible_columns())
    assert page.model.headerData(COLUMNS.index("wallet"), Qt.Orientation.Horizontal) == "Stored value"
    assert page.model.data(page.model.index(6, COLUMNS.index("wallet"))) == "¥71.00"  # ¥70.00 principal, ¥1.00 bonus
    assert page.model.data(page.model.index(6, COLUMNS.index("owed"))) == "¥45.00"
    assert page.model.data(page.model.index(6, COLUMNS.index("owed")), Qt.ItemDataRole.TextAlignmentRole) is not None
    page.wallet_min.setText("200")
    assert page.apply_filter() and page.model.rowCount() == 11  # ¥200.00 and more: members 20 to 30 (¥1.00 bonus each)
    page.wallet_min.setText("")
    page.owes_box.setChecked(True)
    assert page.apply_filter() and page.model.rowCount() == 3
    page.overdue_box.setChecked(True)  # no charges at all: nobody is overdue
    assert page.apply_filter() and page.model.rowCount() == 0
    assert page.current_filter() == MemberFilter(owes=True, overdue=True)
    page.save_group("欠款")
    assert not page.refused
    page.clear_filters()
    assert page.model.rowCount() == 1000 and not page.owes_box.isChecked() and not page.overdue_box.isChecked()
    page.group_box.setCurrentIndex(page.group_box.findText("欠款"))
    page.group_box.activated.emit(page.group_box.currentIndex())
    assert page.owes_box.isChecked() and page.overdue_box.isChecked() and page.model.rowCount() == 0
    page.clear_filters()
    page.wallet_min.setText("-5")
    assert not page.apply_filter() and "cannot be negative" in page.message.text()
    page.wallet_min.setText("a lot")
    assert not page.apply_filter() and "not an amount in yuan" in page.message.text()
    page.wallet_min.setText("")
    page.owes_box.setChecked(True)  # ticking a box filters after the short pause, as typing does
    qtbot.waitUntil(lambda: page.model.rowCount() == 3)
    page.model.sort(COLUMNS.index("owed"), Qt.SortOrder.DescendingOrder)
    assert page.model.sort_key == "owed"
    page.model.sort(COLUMNS.index("wallet"), Qt.SortOrder.AscendingOrder)  # no index to sort by: the order stays
    assert page.model.sort_key == "owed"


def test_saved_groups_round_trip_through_the_page(qtbot, owner_state, thousand, monkeypatch) -> None:
    page = MemberListPage(owner_state)
    _show(qtbot, page)
    page.month_box.setCurrentIndex(page.month_box.findData(3))
    page.apply_filter()
    march = page.model.rowCount()
    page.save_group("三月生日")
    assert not page.refused
    assert page.group_box.currentText() == "三月生日" and page.delete_group_button.isEnabled()
    page.save_group("三月生日")  # asked first; the page then passes overwrite=True
    assert page.refused
    assert "already exists" in page.message.text()
    page.clear_filters()
    assert page.model.rowCount() == 1000
    page.group_box.setCurrentIndex(page.group_box.findText("三月生日"))
    page.group_box.activated.emit(page.group_box.currentIndex())
    assert page.model.rowCount() == march and page.month_box.currentData() == 3
    page.delete_group()
    assert not page.refused
    with read_session(owner_state.db) as session:
        assert mq.list_filters(session) == []


def test_chosen_columns_are_remembered(qtbot, owner_state, thousand) -> None:
    page = MemberListPage(owner_state)
    qtbot.addWidget(page)
    assert "tags" not in page.visible_columns()
    page.apply_columns(["member_no", "phone", "tags"], remember=True)
    again = MemberListPage(owner_state)
    qtbot.addWidget(again)
    assert again.visible_columns() == ["member_no", "name", "phone", "tags"]


def test_export_runs_in_the_background(qtbot, owner_state, thousand, tmp_path: Path) -> None:
    page = MemberListPage(owner_state)
    _show(qtbot, page)
    page.status_box.setCurrentIndex(page.status_box.findData(MemberStatus.FROZEN))
    page.apply_filter()
    page.apply_columns(["member_no", "phone", "spend"])
    target = tmp_path / "冻结会员.csv"
    with qtbot.waitSignal(page.start_export(str(target)).succeeded, timeout=10_000) as done:  # type: ignore[union-attr]
        pass
    assert done.args == [333, str(target)]
    qtbot.waitUntil(lambda: page.export_button.isEnabled())
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Member no.", "Name", "Phone", "Spend"] and len(rows) == 334
    assert "Exported 333 members" in page.message.text()


def test_a_cancelled_export_leaves_no_file(qtbot, owner_state, thousand, tmp_path: Path, monkeypatch) -> None:
    from crmdesk.services import exports

    monkeypatch.setattr(exports, "CHUNK", 20)
    page = MemberListPage(owner_state)
    qtbot.addWidget(page)
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "all.xlsx"
    thread = page.start_export(str(target))
    assert thread is not None
    thread.cancel()
    with qtbot.waitSignal(thread.finished, timeout=10_000):
        pass
    qtbot.waitUntil(lambda: page.last_export_message != "")
    assert page.last_export_message == "Export cancelled; no file was written."
    assert list(folder.iterdir()) == []


def test_double_click_or_enter_opens_the_profile(qtbot, owner_state, thousand) -> None:
    page = MemberListPage(owner_state)
    _show(qtbot, page)
    page.model.sort(COLUMNS.index("member_no"), Qt.SortOrder.DescendingOrder)
    with qtbot.waitSignal(page.profileOpened) as opened:
        page.table.doubleClicked.emit(page.model.index(2, 1))
    assert opened.args == [998]
    dialog = page.profile_dialog
    assert isinstance(dialog, MemberProfileDialog) and dialog.member_id == 998
    dialog.reject()
    assert page.profile_dialog is None
    page.table.setFocus()
    page.table.selectRow(0)
    with qtbot.waitSignal(page.profileOpened) as opened:
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert opened.args == [1000]
    page.profile_dialog.reject()  # type: ignore[union-attr]


def test_the_list_is_driven_from_the_search_box(qtbot, owner_state, thousand) -> None:
    """Type, Enter opens the first match; Down walks into the list and Enter opens the chosen one."""
    page = MemberListPage(owner_state)
    _show(qtbot, page)
    page.search_edit.setFocus()
    qtbot.keyClicks(page.search_edit, "1380000099")  # ten members' phones start so; the filter waits for a pause
    with qtbot.waitSignal(page.profileOpened) as opened:
        qtbot.keyClick(page.search_edit, Qt.Key.Key_Return)  # applies what was typed at once, opens the first
    first = page.model.row_at(0)
    assert page.model.rowCount() == 10 and first is not None and opened.args == [first.id]
    page.profile_dialog.reject()  # type: ignore[union-attr]
    page.search_edit.setFocus()
    qtbot.keyClick(page.search_edit, Qt.Key.Key_Down)  # into the list, on the member opened before
    assert page.focusWidget() is page.table and page.table.currentIndex().row() == 0
    qtbot.keyClick(page.table, Qt.Key.Key_Down)
    assert page.table.currentIndex().row() == 1
    with qtbot.waitSignal(page.profileOpened) as opened:
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert opened.args == [page.model.row_at(1).id]  # type: ignore[union-attr]
    page.profile_dialog.reject()  # type: ignore[union-attr]


def test_supervisors_browse_and_group_but_do_not_export(qtbot, db, owner, supervisor) -> None:
    from crmdesk.views.state import AppState

    page = MemberListPage(AppState(db, supervisor, "en"))
    qtbot.addWidget(page)
    assert not page.export_button.isVisibleTo(page) and page.save_group_button.isVisibleTo(page)
    page.save_group("我的分组")
    assert not page.refused


# --------------------------------------------------------------------------- the profile


@pytest.fixture
def two_members(db, owner):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        zhang = members.register(session, owner, MemberInput(name="张三", phone="13812345678", tags=("老顾客",)),
                                 card_number=None)
        cards.issue(session, owner, zhang.id)
        li = members.register(session, owner, MemberInput(name="张叁", phone="13987654321", tags=("宝妈",)))
        cards.issue(session, owner, li.id)
    return zhang.id, li.id


def test_profile_saves_a_change_and_records_history(qtbot, owner_state, two_members) -> None:
    zhang, _li = two_members
    dialog = MemberProfileDialog(owner_state, zhang)
    qtbot.addWidget(dialog)
    assert dialog.name_edit.text() == "张三" and dialog.phone_edit.text() == "138 1234 5678"
    assert dialog.tags_edit.text() == "老顾客"
    dialog.address_edit.setText("幸福路 8 号")
    dialog.tags_edit.setText("老顾客，生鲜")
    dialog.save()
    assert not dialog.refused
    assert dialog.saved_label.text() == "Saved." and dialog.changed
    with read_session(owner_state.db) as session:
        profile = members.profile(session, zhang)
        changes = {c.field: c.new_value for c in members.history(session, zhang)}
    assert profile.address == "幸福路 8 号" and set(profile.tags) == {"老顾客", "生鲜"}
    assert changes["address"] == "幸福路 8 号" and set(changes["tags"].split(", ")) == {"老顾客", "生鲜"}
    shown = {dialog.history_table.item(r, 2).text() for r in range(dialog.history_table.rowCount())}
    assert {"Address", "Tags", "Registered", "Card issued"} <= shown


def test_profile_shows_the_member_a_phone_belongs_to(qtbot, owner_state, two_members) -> None:
    zhang, li = two_members
    dialog = MemberProfileDialog(owner_state, li)
    qtbot.addWidget(dialog)
    dialog.phone_edit.setText("138 1234 5678")
    dialog.save()
    assert dialog.refused
    assert "already belongs to member 张三" in dialog.details_message.text()
    assert "M00000001" in dialog.duplicate_label.text() and dialog.open_duplicate_button.isVisibleTo(dialog)
    assert [b.id for b in dialog.duplicates] == [zhang]
    dialog.email_edit.setText("not-an-email")
    dialog.phone_edit.setText("")
    dialog.save()
    assert dialog.refused and "is not an e-mail address" in dialog.details_message.text()


def test_cards_tab_issues_replaces_and_reports_lost(qtbot, owner_state, two_members) -> None:
    zhang, _li = two_members
    dialog = MemberProfileDialog(owner_state, zhang)
    qtbot.addWidget(dialog)
    assert dialog.cards_table.rowCount() == 1 and not dialog.issue_button.isEnabled()
    first = dialog.profile.active_card.number  # type: ignore[union-attr]
    dialog.replace_card()
    assert not dialog.refused
    assert dialog.cards_table.rowCount() == 2
    assert dialog.cards_table.item(0, 1).text() == "Replaced" and dialog.cards_table.item(1, 1).text() == "In use"
    dialog.report_lost()
    assert not dialog.refused
    assert dialog.profile.active_card is None and dialog.issue_button.isEnabled()  # type: ignore[union-attr]
    dialog.issue_card(first)  # a number is never given again
    assert dialog.refused
    assert "already belongs to" in dialog.message.text()
    dialog.issue_card()
    assert not dialog.refused
    with read_session(owner_state.db) as session:
        statuses = [s for (s,) in session.execute(sa.select(Card.status).where(Card.member_id == zhang).order_by(Card.id))]
    assert statuses == [CardStatus.REPLACED, CardStatus.LOST, CardStatus.ACTIVE]


def test_status_actions_only_for_those_allowed(qtbot, owner_state, cashier_state, two_members) -> None:
    zhang, _li = two_members
    as_cashier = MemberProfileDialog(cashier_state, zhang)
    qtbot.addWidget(as_cashier)
    assert not any(b.isVisibleTo(as_cashier) for b in (as_cashier.freeze_button, as_cashier.close_member_button,
                                                       as_cashier.reopen_button, as_cashier.merge_button))
    as_cashier.change_status(MemberStatus.FROZEN, "想试试")
    assert as_cashier.refused
    assert "may not freeze" in as_cashier.message.text()
    dialog = MemberProfileDialog(owner_state, zhang)
    qtbot.addWidget(dialog)
    assert dialog.freeze_button.isVisibleTo(dialog) and not dialog.reopen_button.isVisibleTo(dialog)
    dialog.change_status(MemberStatus.FROZEN, "会员要求暂停")
    assert not dialog.refused
    assert dialog.profile.status is MemberStatus.FROZEN  # type: ignore[union-attr]
    assert dialog.reopen_button.isVisibleTo(dialog) and not dialog.freeze_button.isVisibleTo(dialog)
    whats = [dialog.history_table.item(r, 2).text() for r in range(dialog.history_table.rowCount())]
    assert "Reason for the status" in whats and dialog.history_table.item(whats.index("Status"), 4).text() == "Frozen"


def test_merge_is_refused_for_a_cashier(qtbot, cashier_state, two_members) -> None:
    zhang, li = two_members
    dialog = MemberProfileDialog(cashier_state, zhang)
    qtbot.addWidget(dialog)
    assert not dialog.merge_button.isVisibleTo(dialog)
    dialog.merge_from(li)  # the service refuses even if the button were reached
    assert dialog.refused
    assert "may not merge members" in dialog.message.text()
    with read_session(cashier_state.db) as session:
        assert members.profile(session, li).status is MemberStatus.ACTIVE


def test_owner_merges_another_member_in(qtbot, owner_state, two_members) -> None:
    zhang, li = two_members
    dialog = MemberProfileDialog(owner_state, zhang)
    qtbot.addWidget(dialog)
    assert dialog.merge_button.isVisibleTo(dialog)
    finder = MergeDialog(owner_state, dialog.profile, dialog)  # type: ignore[arg-type]
    qtbot.addWidget(finder)
    finder.search_edit.setText("张")
    assert finder.results.count() == 1 and "M00000002" in finder.results.item(0).text()  # not the member itself
    finder.results.setCurrentRow(0)
    assert finder.chosen is not None and finder.chosen.id == li and finder.merge_button.isEnabled()
    assert "张叁" in finder.gone_label.text() and "张三" in finder.keep_label.text()
    dialog.merge_from(finder.chosen.id)
    assert not dialog.refused
    with read_session(owner_state.db) as session:
        kept, gone = members.profile(session, zhang), members.profile(session, li)
    assert gone.status is MemberStatus.CLOSED and set(kept.tags) == {"老顾客", "宝妈"}
    assert len(kept.cards) == 2 and dialog.cards_table.rowCount() == 2
    whats = [dialog.history_table.item(r, 2).text() for r in range(dialog.history_table.rowCount())]
    assert "Merged in another member" in whats
