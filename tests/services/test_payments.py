"""Ways of paying: the words people type for them (one reader), a basket split between the wallet, credit and the
rest, and how a purchase or refund was paid; the wallet and credit reads the command line shows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crmdesk.errors import InvalidInput, NotFound
from crmdesk.services import credit, members, payments, purchases, wallet
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

NOW = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)  # noon of 4 December on the shop's clock


@pytest.mark.parametrize(
    ("text", "code"),
    [("cash", "cash"), (" CASH ", "cash"), ("现金", "cash"), ("微信", "wechat"), ("微信支付", "wechat"), ("WeChat", "wechat"),
     ("支付宝", "alipay"), ("银行卡", "card"), ("其他", "other"), ("储值", "wallet"), ("余额", "wallet"), ("赊账", "credit"),
     ("赊帐", "credit"), ("ｃａｓｈ", "cash")],
)
def test_a_way_of_paying_is_read_from_its_code_or_its_chinese_word(text: str, code: str) -> None:
    assert payments.method_code(text) == code


def test_anything_else_is_refused_with_the_accepted_words() -> None:
    with pytest.raises(InvalidInput) as refused:
        payments.method_code("weixin")
    assert refused.value.message == (
        "'weixin' is not a way of paying here; use one of: cash (现金), wechat (微信/微信支付), alipay (支付宝), card (银行卡), "
        "other (其他/其它), wallet (储值/储值卡/余额), credit (赊账/赊帐/挂账).")
    assert refused.value.field == "payment"
    with pytest.raises(InvalidInput, match="'储值' is not a way of paying here; use one of: cash") as refused:
        payments.method_code("储值", payments.TILL_METHODS, field="payment_method")  # a top-up is never paid from the wallet
    assert refused.value.field == "payment_method"
    with pytest.raises(InvalidInput):
        payments.method_code("")


def test_a_split_basket_the_rest_paid_by_an_account_goes_to_that_account() -> None:
    assert payments.split(5_000, "wallet") == payments.Split("", 5_000, 0)
    assert payments.split(5_000, "credit") == payments.Split("", 0, 5_000)
    assert payments.split(5_000, "cash", wallet_fen=3_000) == payments.Split("cash", 3_000, 0)
    assert payments.split(5_000, "wallet", credit_fen=2_000) == payments.Split("", 3_000, 2_000)
    assert payments.split(5_000, "", wallet_fen=1_000, credit_fen=1_000) == payments.Split("", 1_000, 1_000)
    assert payments.split(5_000, "cash", wallet_fen=3_000, credit_fen=3_000) == payments.Split("cash", 3_000, 3_000)  # refused later


@pytest.fixture
def member_id(db, owner, supervisor):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member_id = members.register(session, owner, members.MemberInput(name="张三", phone="13800138000")).id
        wallet.top_up(session, owner, member_id, 20_000, payment_method="cash", now=NOW)
        wallet.adjust(session, owner, member_id, bonus_fen=5_000, reason="开业赠送", now=NOW)
        credit.set_limit(session, supervisor, member_id, 50_000, term_days=30)
    return member_id


def test_how_a_purchase_and_its_refund_were_paid(db, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        sale = purchases.record_purchase(session, cashier, member_id, till="01", receipt_no="R1", amount_fen=10_000,
                                         wallet_fen=5_000, credit_fen=3_000, payment_method="cash", occurred_at=NOW, now=NOW)
        refund = purchases.refund(session, cashier, original_till="01", original_receipt="R1", amount_fen=5_000,
                                  occurred_at=NOW, now=NOW)
    with read_session(db) as session:
        paid, back = payments.breakdown(session, sale.purchase_id), payments.breakdown(session, refund.purchase_id)
        assert wallet.moved_by_purchase(session, sale.purchase_id) == wallet.Balance(-4_000, -1_000)
        assert credit.moved_by_purchase(session, sale.purchase_id) == (3_000, date(2027, 1, 3))
        with pytest.raises(NotFound):
            payments.breakdown(session, 999)
    assert paid == payments.Breakdown(10_000, "cash", -4_000, -1_000, 3_000, date(2027, 1, 3))
    assert (paid.wallet_fen, paid.rest_fen) == (-5_000, 2_000)
    assert back == payments.Breakdown(5_000, "cash", 2_000, 500, -1_500, None)
    assert back.rest_fen == 1_000


def test_the_payment_pin_is_set_or_not(db, owner, member_id) -> None:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        assert wallet.has_pin(session, member_id) is False
    with unit_of_work(db) as session:
        wallet.set_pin(session, owner, member_id, "2580")
    with read_session(db) as session:
        assert wallet.has_pin(session, member_id) is True


def test_what_a_repayment_settled_and_the_latest_note_of_each_member(db, owner, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        for receipt, amount, day in (("R1", 6_000, date(2026, 10, 1)), ("R2", 4_000, date(2026, 11, 1))):
            at = datetime(day.year, day.month, day.day, 4, tzinfo=UTC)
            purchases.record_purchase(session, cashier, member_id, till="01", receipt_no=receipt, amount_fen=amount,
                                      credit_fen=amount, occurred_at=at, now=at)
        repaid = credit.repay(session, cashier, member_id, 7_000, now=NOW)
        credit.add_note(session, cashier, member_id, text="打过电话", now=NOW)
        credit.add_note(session, owner, member_id, text="答应月底还", channel="visit", promised_on=date(2026, 12, 31),
                        promised_fen=3_000, now=NOW)
    with read_session(db) as session:
        settled = credit.settlements(session, repaid.entry_id)
        latest = credit.latest_notes(session, [member_id, 999])
        assert credit.latest_notes(session, []) == {}
    assert [(s.receipt_no, s.due_on, s.amount_fen) for s in settled] == [("R1", date(2026, 10, 31), 6_000),
                                                                          ("R2", date(2026, 12, 1), 1_000)]
    assert list(latest) == [member_id]
    note = latest[member_id]
    assert (note.text, note.channel, note.promised_on, note.promised_fen, note.staff_name) == (
        "答应月底还", "visit", date(2026, 12, 31), 3_000, "王店长")
