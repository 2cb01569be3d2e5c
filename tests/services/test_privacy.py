"""Privacy requests: a member's copy of their data (JSON and PDF), erasure on request, the retention rule, consent."""

from __future__ import annotations

import json
import sqlite3
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk import shop_time
from crmdesk.errors import Conflict, InvalidInput, PermissionDenied
from crmdesk.i18n import printing_language
from crmdesk.models import (
    SAFETY_SETTINGS_ROW_ID,
    AuditEvent,
    Card,
    CardStatus,
    Complaint,
    ComplaintAttachment,
    DataSafetySettings,
    MarketingConsent,
    Member,
    MemberChange,
    MemberStatus,
    OfferKind,
    PointsEntry,
    Purchase,
    WalletEntry,
)
from crmdesk.services import (
    cards,
    complaints,
    credit,
    loyalty,
    members,
    offers,
    privacy,
    purchases,
    surveys,
    wallet,
)
from crmdesk.services.complaints import (
    AttachmentInput,
    ComplaintInput,
    FollowUpInput,
    RemedyInput,
)
from crmdesk.services.members import MemberInput
from crmdesk.services.purchases import LineInput
from crmdesk.services.surveys import SurveyInput
from crmdesk.services.uow import read_session, unit_of_work
from tests.cli.test_cli import dump
from tests.reports.pdf_tools import all_text, fonts, page_count
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

NAME = "张晓明"
PHONE = "13812345678"
ADDRESS = "北京市朝阳区建国路 88 号"
OLD_ADDRESS = "上海市静安区南京西路 1266 号"
EMAIL = "zxm@example.com"
JPEG = b"\xff\xd8\xff\xe0" + b"photo-of-the-eggs" * 40
NOW = datetime.now(UTC)
TODAY = shop_time.today()  # the shop's day names the files, whatever zone the PC is in


def build_member(db, owner, cashier) -> int:  # type: ignore[no-untyped-def]
    """A member with something in every section: personal details changed once (so the history holds old values),
    cards, tags, purchases with items and a refund, points redeemed, stored value, credit with a reminder, a complaint
    with a photo, its resolution and follow-up, a survey answer, a coupon, and both consents."""
    with unit_of_work(db) as session:
        member_id = members.register(session, cashier, MemberInput(
            name=NAME, phone=PHONE, birthday=date(1985, 6, 2), address=OLD_ADDRESS, email=EMAIL, company="晓明商贸",
            notes="喜欢有机蔬菜", tags=("常客", "宝妈"), marketing_consent=MarketingConsent.SMS)).id
        cards.issue(session, cashier, member_id)
    with unit_of_work(db) as session:
        members.update(session, owner, member_id, address=ADDRESS, notes="喜欢有机蔬菜，周末来")
        credit.set_limit(session, owner, member_id, 50_000, term_days=30)
        offer = offers.create_offer(session, owner, offers.OfferInput(name="10元致歉券", kind=OfferKind.AMOUNT_OFF, reduction_fen=1_000,
                                                                      coupon_required=True))
        offers.generate_coupons(session, owner, offer.id, 1, member_id, batch="道歉")
    with unit_of_work(db) as session:
        for day, amount in ((40, 12_000), (20, 8_050), (3, 4_500)):
            purchases.record_purchase(
                session, cashier, member_id, receipt_no=f"R{day}", till="01", amount_fen=amount, occurred_at=NOW - timedelta(days=day),
                lines=(LineInput(name="苹果", category="水果", quantity_milli=1500, amount_fen=amount - 1000),
                       LineInput(name="牛奶", category="乳品", amount_fen=1000)))
        loyalty.redeem(session, cashier, member_id, 100, reason="抵现")
        purchases.refund(session, cashier, original_till="01", original_receipt="R3", refund_receipt="RF3", amount_fen=500)
        wallet.top_up(session, cashier, member_id, 30_000, payment_method="wechat")
        purchases.record_purchase(session, cashier, member_id, receipt_no="W1", till="01", amount_fen=6_600, wallet_fen=6_600)
        purchases.record_purchase(session, cashier, member_id, receipt_no="C1", till="01", amount_fen=12_000, credit_fen=12_000)
    with unit_of_work(db) as session:
        credit.repay(session, cashier, member_id, 2_000)
        credit.add_note(session, cashier, member_id, text=f"电话联系{NAME} {PHONE}，答应月底还清", promised_fen=10_000)
        complaint = complaints.log_complaint(session, cashier, ComplaintInput(
            channel="counter", category="quality", member_id=member_id, description=f"{NAME}说鸡蛋有两个是破的，电话{PHONE}",
            customer_request="换一盒新的", attachments=(AttachmentInput(f"{NAME}-鸡蛋.jpg", JPEG),)))
        complaints.add_note(session, owner, complaint.id, f"已联系{NAME}", contact=True)
        complaints.resolve(session, owner, complaint.id, RemedyInput(goodwill_points=50, note=f"向{NAME}道歉并补偿积分", customer_told=True))
        complaints.record_follow_up(session, owner, complaint.id, FollowUpInput(satisfaction=4, comment="满意，谢谢"))
        surveys.add_response(session, cashier, SurveyInput(scores=(("attitude", 5), ("checkout", 3)), member_id=member_id,
                                                           comment="收银员很耐心"))
        privacy.record_data_consent(session, cashier, member_id, True)
    return member_id


def settle_money(db, owner, member_id: int) -> None:  # type: ignore[no-untyped-def]
    """Pay the stored value back and the debt off: what the shop does before an erasure."""
    with unit_of_work(db) as session:
        wallet.cash_out(session, owner, member_id, payment_method="cash")
        credit.repay(session, owner, member_id, members.profile(session, member_id).credit_owed_fen)


@pytest.fixture
def rich(db, owner, cashier) -> int:  # type: ignore[no-untyped-def]
    return build_member(db, owner, cashier)


# --------------------------------------------------------------------------- a member's copy


def test_the_copy_holds_every_section(db, owner, supervisor, rich) -> None:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        data = privacy.member_data(session, supervisor, rich)
    assert (data["format"], data["version"], data["time_zone"], data["generated_by"]) == ("crmdesk.member_data", 1, "+08:00", "值班经理")
    m = data["member"]
    assert (m["name"], m["phone"], m["birthday"], m["address"], m["email"], m["company"]) == (
        NAME, "+8613812345678", "1985-06-02", ADDRESS, EMAIL, "晓明商贸")
    assert m["stored_value"]["total"]["fen"] > 0 and m["stored_value"]["total"]["yuan"] == f"{m['stored_value']['total']['fen'] / 100:.2f}"
    assert m["credit_owed"] == {"fen": 10_000, "yuan": "100.00"}
    assert data["consent"]["marketing"]["channel"] == "sms" and data["consent"]["marketing"]["by"] == "收银员小李"
    assert data["consent"]["data"]["given"] and data["consent"]["data"]["by"] == "收银员小李"
    assert data["consent"]["data"]["at"].endswith("+08:00")
    assert sorted(data["tags"]) == ["宝妈", "常客"] and len(data["cards"]) == 1
    receipts = {p["receipt_no"]: p for p in data["purchases"]}
    assert set(receipts) == {"R40", "R20", "R3", "RF3", "W1", "C1"}
    assert receipts["RF3"]["kind"] == "refund" and receipts["RF3"]["refund_of"] == "R3"
    assert receipts["R40"]["amount"] == {"fen": 12_000, "yuan": "120.00"}
    assert [(line["name"], line["quantity"], line["amount"]["fen"]) for line in receipts["R40"]["lines"]] == [
        ("苹果", "1.5", 11_000), ("牛奶", "1", 1_000)]
    assert receipts["W1"]["wallet"]["fen"] == 6_600 and receipts["C1"]["credit"]["fen"] == 12_000
    assert receipts["R40"]["occurred_at"].endswith("+08:00")
    assert sum(e["points"] for e in data["points_ledger"]) == m["points_balance"]
    assert {e["kind"] for e in data["points_ledger"]} >= {"earn", "redeem", "refund", "goodwill"}
    assert [e["kind"] for e in data["wallet_ledger"]] == ["topup", "payment"]
    assert data["credit"]["account"]["limit"]["fen"] == 50_000
    assert [(e["kind"], e["amount"]["fen"]) for e in data["credit"]["entries"]] == [("charge", 12_000), ("repayment", -2_000)]
    assert data["credit"]["settlements"][0]["amount"]["fen"] == 2_000
    assert data["credit"]["collection_notes"][0]["promised"] == {"fen": 10_000, "yuan": "100.00"}
    [complaint] = data["complaints"]
    assert complaint["description"].startswith(NAME) and complaint["customer_request"] == "换一盒新的"
    assert complaint["attachments"] == [{"file_name": f"{NAME}-鸡蛋.jpg", "mime_type": "image/jpeg", "size_bytes": len(JPEG),
                                         "added_at": complaint["attachments"][0]["added_at"], "staff": "收银员小李"}]
    assert [e["kind"] for e in complaint["events"]][:2] == ["logged", "contact"]
    assert complaint["resolutions"][0]["goodwill_points"] == 50 and complaint["follow_ups"][0]["satisfaction"] == 4
    assert data["surveys"][0]["comment"] == "收银员很耐心" and {s["score"] for s in data["surveys"][0]["scores"]} == {5, 3}
    assert data["coupons"][0]["offer"] == "10元致歉券" and data["coupons"][0]["batch"] == "道歉"
    history = {(h["field"], h["old_value"], h["new_value"]) for h in data["history"]}
    assert ("address", OLD_ADDRESS, ADDRESS) in history and ("data_consent", "", "given") in history
    assert data["counts"]["purchases"] == 6 and data["counts"]["complaints"] == 1
    text = json.dumps(data, ensure_ascii=False)
    assert "photo-of-the-eggs" not in text  # names and sizes of attachments, never their bytes


def test_export_writes_both_private_files_and_never_overwrites(db, owner, supervisor, rich, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stem = f"member-data-M{rich:08d}-{TODAY.isoformat()}"
    squatter = tmp_path / f"{stem}.pdf"
    squatter.write_text("someone else's file")
    exported = privacy.export_member_data(db, supervisor, rich, tmp_path)
    assert squatter.read_text() == "someone else's file"
    assert (exported.json_path.name, exported.pdf_path.name) == (f"{stem}-2.json", f"{stem}-2.pdf")
    again = privacy.export_member_data(db, supervisor, rich, tmp_path)
    assert (again.json_path.name, again.pdf_path.name) == (f"{stem}-3.json", f"{stem}-3.pdf")
    for path in (exported.json_path, exported.pdf_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    data = json.loads(exported.json_path.read_text(encoding="utf-8"))
    assert data["member"]["name"] == NAME  # UTF-8 as it is, not \u escapes
    assert NAME in exported.json_path.read_text(encoding="utf-8")
    pdf = exported.pdf_path.read_bytes()
    text = all_text(pdf)
    for expected in (NAME, "138 1234 5678", ADDRESS, EMAIL, "Personal details", "Consent", "Given", "收银员小李", "Cards", "Purchases",
                     "R40", "苹果 ×1.5 ¥110.00", "Points ledger", "Stored value", "+¥300.00", "Credit", "¥500.00", "答应月底还清",
                     "Complaints", "鸡蛋有两个是破的", f"{NAME}-鸡蛋.jpg", "Survey answers", "收银员很耐心", "10元致歉券", "Change history",
                     OLD_ADDRESS):
        assert expected in text, expected
    assert fonts(pdf) and all(fonts(pdf).values())
    with read_session(db) as session:
        rows = [(r.entity_type, r.entity_id, r.staff_name, r.details)
                for r in session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "member.export_data").order_by(AuditEvent.id))]
    assert [row[:3] for row in rows] == [("member", rich, "值班经理")] * 2
    assert rows[0][3]["files"] == [f"{stem}-2.json", f"{stem}-2.pdf"]
    assert NAME not in json.dumps(rows[0][3], ensure_ascii=False) and PHONE not in json.dumps(rows[0][3])


def test_the_pdf_reads_in_chinese(qapp, db, owner, rich, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # qapp first: printing in a language needs an application object, and a process has only one.
    with printing_language("zh_CN"):
        exported = privacy.export_member_data(db, owner, rich, tmp_path)
    text = all_text(exported.pdf_path.read_bytes())
    for expected in (NAME, "会员编号", "会员卡", "消费记录", "投诉", "储值余额", "本金", "苹果", "鸡蛋有两个是破的", "短信"):
        assert expected in text, expected
    assert "Purchases" not in text and "Cards" not in text


def test_a_long_history_runs_over_many_pages(db, owner, cashier, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member_id = members.register(session, cashier, MemberInput(name="常来客", phone="13900001111")).id
        for n in range(160):
            purchases.record_purchase(session, cashier, member_id, receipt_no=f"L{n:04d}", till="02", amount_fen=1_000 + n,
                                      occurred_at=NOW - timedelta(hours=200 - n))
    exported = privacy.export_member_data(db, owner, member_id, tmp_path)
    pdf = exported.pdf_path.read_bytes()
    text = all_text(pdf)
    assert page_count(pdf) >= 6
    assert all(f"L{n:04d}" in text for n in range(160))
    assert "160 receipts, oldest first" in text
    assert text.count("Receipt") >= 4  # the header on every page of the table


def test_only_supervisors_and_the_owner_export(db, cashier, rich, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(PermissionDenied, match="may not give out a member's copy"):
        privacy.export_member_data(db, cashier, rich, folder)
    with read_session(db) as session, pytest.raises(PermissionDenied):
        privacy.member_data(session, cashier, rich)
    assert list(folder.iterdir()) == []


def test_export_into_a_missing_folder_is_refused(db, owner, rich, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="not an existing folder"):
        privacy.export_member_data(db, owner, rich, tmp_path / "nowhere")
    with read_session(db) as session:
        assert session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "member.export_data")) is None


# --------------------------------------------------------------------------- erasing


def _every_text(path: Path) -> str:
    """Every value of every row of every table, JSON decoded too, as one text."""
    connection = sqlite3.connect(path)
    try:
        parts = []
        for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        parts.append(value.decode("utf-8", "replace"))
                    elif value is not None:
                        parts.append(str(value))
                        if isinstance(value, str) and value[:1] in "[{":
                            try:
                                parts.append(json.dumps(json.loads(value), ensure_ascii=False))
                            except ValueError:
                                pass
        return "\n".join(parts)
    finally:
        connection.close()


def test_erasing_removes_every_personal_value_and_keeps_the_figures(db, db_path, owner, rich) -> None:  # type: ignore[no-untyped-def]
    settle_money(db, owner, rich)
    with read_session(db) as session:
        before = members.profile(session, rich)
        ledgers_before = (session.scalar(sa.select(sa.func.sum(PointsEntry.points)).where(PointsEntry.member_id == rich)),
                          session.scalar(sa.select(sa.func.count(WalletEntry.id)).where(WalletEntry.member_id == rich)),
                          session.scalar(sa.select(sa.func.count(Purchase.id)).where(Purchase.member_id == rich)))
    assert NAME in _every_text(db_path)
    privacy.settle_storage(db)
    assert NAME.encode("utf-8") in db_path.read_bytes()  # so that its absence below means something
    with unit_of_work(db) as session:
        erased = privacy.erase_member(session, owner, rich, confirm_name=f" {NAME} ")
    privacy.settle_storage(db)
    assert erased.label == f"匿名会员 #{before.member_no}" and erased.counts["attachments"] == 1
    everything = _every_text(db_path)
    for secret in (NAME, PHONE, "138 1234 5678", ADDRESS, OLD_ADDRESS, EMAIL, "晓明商贸", "喜欢有机蔬菜", "宝妈", "鸡蛋有两个是破的",
                   "photo-of-the-eggs", "收银员很耐心", "答应月底还清", "换一盒新的", "满意，谢谢", "zhangxiaoming", "zxm"):
        assert secret not in everything, secret
    raw = db_path.read_bytes() + (Path(f"{db_path}-wal").read_bytes() if Path(f"{db_path}-wal").exists() else b"")
    for secret in (NAME, PHONE, ADDRESS, OLD_ADDRESS, EMAIL):
        assert secret.encode("utf-8") not in raw, secret
        assert json.dumps(secret).encode("ascii") not in raw, secret  # as JSON keeps it (\u escapes)
    with read_session(db) as session:
        member = session.get(Member, rich)
        after = members.profile(session, rich)
        assert (member.name, member.name_pinyin, member.name_initials, member.phone, member.phone_last4) == (erased.label, "", "", None, None)
        assert (member.birthday, member.birth_month, member.address, member.email, member.company, member.notes) == (None, None, "", "", "", "")
        assert member.marketing_consent is MarketingConsent.NONE and member.data_consent_at is None and member.pay_pin_hash is None
        assert member.status is MemberStatus.CLOSED and member.erased_at is not None and after.tags == ()
        assert all(card.status is CardStatus.CLOSED for card in session.scalars(sa.select(Card).where(Card.member_id == rich)))
        # The shop's figures stay right: every ledger, purchase and total as it was.
        assert (after.points_balance, after.visit_count, after.total_spend_fen, after.member_no) == (
            before.points_balance, before.visit_count, before.total_spend_fen, before.member_no)
        assert ledgers_before == (session.scalar(sa.select(sa.func.sum(PointsEntry.points)).where(PointsEntry.member_id == rich)),
                                  session.scalar(sa.select(sa.func.count(WalletEntry.id)).where(WalletEntry.member_id == rich)),
                                  session.scalar(sa.select(sa.func.count(Purchase.id)).where(Purchase.member_id == rich)))
        complaint = session.scalars(sa.select(Complaint).where(Complaint.member_id == rich)).one()
        assert complaint.category == "quality" and complaint.description == privacy.ERASED_TEXT
        assert session.scalar(sa.select(sa.func.count(ComplaintAttachment.id))) == 0
        fields = [c.field for c in session.scalars(sa.select(MemberChange).where(MemberChange.member_id == rich))]
        assert fields[-1] == "erased" and "address" in fields  # the lines stay, their personal values go
        audit_row = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "member.erase")).one()
        assert (audit_row.entity_type, audit_row.entity_id, audit_row.staff_name) == ("member", rich, "王店长")
        details = json.dumps(audit_row.details, ensure_ascii=False)
        assert before.member_no in details and NAME not in details and PHONE not in details and "address" in details
        added = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "member.add", AuditEvent.entity_id == rich)).one()
        assert added.details["name"] == erased.label


def test_an_erased_member_is_found_by_number_only(db, owner, rich) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.services import search

    settle_money(db, owner, rich)
    with unit_of_work(db) as session:
        member_no = members.profile(session, rich).member_no
        privacy.erase_member(session, owner, rich, confirm_name=member_no.lower())  # the member number confirms too
    with read_session(db) as session:
        assert search.search(session, NAME) == [] and search.search(session, "zxm") == [] and search.search(session, "5678") == []
        assert search.lookup(session, member_no).member.id == rich


@pytest.mark.parametrize(("settle", "words"), [
    ("nothing", "has ¥234.00 of stored value and owes ¥100.00: cash out the stored value and settle or write off the debt first"),
    ("wallet", "owes ¥100.00: settle or write off the debt first"),
    ("debt", "has ¥234.00 of stored value: cash out the stored value first"),
])
def test_erasing_is_refused_while_money_is_held_and_changes_nothing(db, db_path, owner, rich, settle, words) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        if settle == "wallet":
            wallet.cash_out(session, owner, rich, payment_method="cash")
        if settle == "debt":
            credit.repay(session, owner, rich, 10_000)
    before = dump(db_path)
    with pytest.raises(privacy.MoneyStillHeld) as caught, unit_of_work(db) as session:
        privacy.erase_member(session, owner, rich, confirm_name=NAME)
    assert words in caught.value.message
    assert dump(db_path) == before


def test_a_wrong_or_missing_confirmation_is_refused(db, db_path, owner, rich) -> None:  # type: ignore[no-untyped-def]
    settle_money(db, owner, rich)
    before = dump(db_path)
    for typed, words in (("张小明", "'张小明' is not this member's name or member number"), ("  ", "Type the member's name")):
        with pytest.raises(InvalidInput, match=words) as caught, unit_of_work(db) as session:
            privacy.erase_member(session, owner, rich, confirm_name=typed)
        assert caught.value.field == "confirm_name"
    assert dump(db_path) == before


def test_only_the_owner_erases_and_only_once(db, db_path, owner, supervisor, cashier, rich) -> None:  # type: ignore[no-untyped-def]
    settle_money(db, owner, rich)
    before = dump(db_path)
    for actor in (supervisor, cashier):
        with pytest.raises(PermissionDenied, match="may not erase a member's personal data; ask the owner"), unit_of_work(db) as session:
            privacy.erase_member(session, actor, rich, confirm_name=NAME)
    assert dump(db_path) == before
    with unit_of_work(db) as session:
        label = privacy.erase_member(session, owner, rich, confirm_name=NAME).label
    with pytest.raises(privacy.AlreadyErased, match="was already erased on"), unit_of_work(db) as session:
        privacy.erase_member(session, owner, rich, confirm_name=label)
    # No edit puts personal data back, and the record is not reopened.
    after = dump(db_path)
    with pytest.raises(Conflict, match="was erased on request"), unit_of_work(db) as session:
        members.update(session, owner, rich, name=NAME, phone="13800138000")
    with pytest.raises(Conflict, match="cannot be changed or reopened"), unit_of_work(db) as session:
        members.set_status(session, owner, rich, MemberStatus.ACTIVE)
    assert dump(db_path) == after


def test_a_merged_members_name_goes_from_the_other_members_history(db, owner, cashier) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        keep = members.register(session, cashier, MemberInput(name="李红", phone="13700001111")).id
        gone = members.register(session, cashier, MemberInput(name="李红梅", phone="13700002222")).id
        members.merge(session, owner, keep, gone)
    with unit_of_work(db) as session:
        privacy.erase_member(session, owner, gone, confirm_name="李红梅")
    with read_session(db) as session:
        values = [c.new_value for c in session.scalars(sa.select(MemberChange).where(MemberChange.field.in_(("merged_from", "merged_into"))))]
    assert values and not any("李红梅" in v for v in values)
    assert any(v.startswith("M") and "***" in v for v in values)


# --------------------------------------------------------------------------- consent


def test_marketing_consent_names_who_took_it(db, owner, cashier) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member_id = members.register(session, cashier, MemberInput(name="王五", phone="13600001111",
                                                                   marketing_consent=MarketingConsent.SMS)).id
        created = members.profile(session, member_id)
        assert (created.consent_by, created.consent_at is not None) == ("收银员小李", True)
        members.update(session, owner, member_id, notes="只是备注")  # consent unchanged: still the cashier's
        assert members.profile(session, member_id).consent_by == "收银员小李"
        withdrawn = members.update(session, owner, member_id, marketing_consent=MarketingConsent.NONE)
        assert (withdrawn.consent_by, withdrawn.consent_at) == ("", None)
        again = members.update(session, owner, member_id, marketing_consent=MarketingConsent.EMAIL, email="w5@example.com")
        assert again.consent_by == "王店长" and again.consent_at is not None
        plain = members.register(session, cashier, MemberInput(name="赵六", phone="13600002222"))
        assert plain.consent_by == ""


def test_data_consent_is_recorded_and_withdrawn(db, cashier) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2026, 12, 5, 6, 2, tzinfo=UTC)
    with unit_of_work(db) as session:
        member_id = members.register(session, cashier, MemberInput(name="王五", phone="13600001111")).id
        given = privacy.record_data_consent(session, cashier, member_id, True, now=at)
        assert (given.data_consent_at, given.data_consent_by) == (at, "收银员小李")
        withdrawn = privacy.record_data_consent(session, cashier, member_id, False)
        assert (withdrawn.data_consent_at, withdrawn.data_consent_by) == (None, "")
    with read_session(db) as session:
        rows = [(r.entity_id, r.details) for r in session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "member.consent").order_by(AuditEvent.id))]
        history = [(c.old_value, c.new_value) for c in session.scalars(
            sa.select(MemberChange).where(MemberChange.field == "data_consent").order_by(MemberChange.id))]
    assert rows == [(member_id, {"kind": "data", "given": True}), (member_id, {"kind": "data", "given": False})]
    assert history == [("", "given"), ("given", "")]


# --------------------------------------------------------------------------- retention


def _closed(db, actor, name: str, phone: str, years_ago: float, *, top_up: int = 0) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member_id = members.register(session, actor, MemberInput(name=name, phone=phone)).id
        if top_up:
            wallet.top_up(session, actor, member_id, top_up, payment_method="cash")
        members.set_status(session, actor, member_id, MemberStatus.CLOSED, reason="搬走了")
        when = NOW - timedelta(days=365.25 * years_ago)
        session.execute(sa.update(MemberChange).where(MemberChange.member_id == member_id, MemberChange.field == "status")
                        .values(at=when))
    return member_id


def _retention(db, years: int) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        session.get(DataSafetySettings, SAFETY_SETTINGS_ROW_ID).retention_years = years


def test_retention_lists_and_anonymises_only_the_members_due(db, owner) -> None:  # type: ignore[no-untyped-def]
    old = _closed(db, owner, "老客甲", "13500000001", 3.2)
    recent = _closed(db, owner, "老客乙", "13500000002", 1.0)
    saver = _closed(db, owner, "老客丙", "13500000003", 4.0, top_up=5_000)
    with unit_of_work(db) as session:
        active = members.register(session, owner, MemberInput(name="常客丁", phone="13500000004")).id
    with read_session(db) as session:
        assert privacy.members_due_for_anonymising(session, TODAY) == []  # retention 0: kept until erased by hand
    _retention(db, 2)
    with read_session(db) as session:
        due = privacy.members_due_for_anonymising(session, TODAY)
    assert [(d.id, d.blocked) for d in due] == [(saver, True), (old, False)]  # longest closed first
    assert due[0].wallet_fen == 5_000 and due[1].closed_at < NOW - timedelta(days=365 * 3)
    with unit_of_work(db) as session:
        assert privacy.anonymise_due(session, owner, TODAY) == 1
    with read_session(db) as session:
        assert session.get(Member, old).erased_at is not None and session.get(Member, old).name.startswith("匿名会员")
        assert all(session.get(Member, m).erased_at is None for m in (recent, saver, active))
        runs = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "privacy.retention")).all()
        assert [(r.details["count"], r.details["skipped"], r.details["retention_years"]) for r in runs] == [
            (1, [members.profile(session, saver).member_no], 2)]
        assert [d.id for d in privacy.members_due_for_anonymising(session, TODAY)] == [saver]  # the erased one is done
        # A year later the recently closed member is due as well.
        assert {d.id for d in privacy.members_due_for_anonymising(session, TODAY + timedelta(days=400))} == {saver, recent}


def test_retention_needs_the_owner_when_run_by_hand(db, supervisor, owner) -> None:  # type: ignore[no-untyped-def]
    _closed(db, owner, "老客甲", "13500000001", 5)
    _retention(db, 1)
    with pytest.raises(PermissionDenied), unit_of_work(db) as session:
        privacy.anonymise_due(session, supervisor, TODAY)
    with unit_of_work(db) as session:
        assert privacy.anonymise_due(session, None, TODAY) == 1  # the automatic run the owner's setting asks for
    with read_session(db) as session:
        run = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "privacy.retention")).one()
        assert run.staff_name == "" and run.details["count"] == 1
