"""The member report's stored value and credit: shown when the member has either, absent when neither."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crmdesk.reports.documents import MemberReportRequest, make_document
from crmdesk.services import credit, member_report, members, purchases, wallet
from crmdesk.services.uow import read_session, unit_of_work
from tests.reports.pdf_tools import all_text
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

NOW = datetime.now(UTC)


def _member(db, actor, name: str, phone: str) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, actor, members.MemberInput(name=name, phone=phone)).id


def test_wallet_and_credit_in_the_report(db, owner, cashier) -> None:  # type: ignore[no-untyped-def]
    member_id = _member(db, cashier, "钱多多", "13800000001")
    with unit_of_work(db) as session:
        wallet.add_bonus_rule(session, owner, min_topup_fen=20_000, bonus_fen=2_000)
        credit.set_limit(session, owner, member_id, 50_000, term_days=30)
    with unit_of_work(db) as session:
        wallet.top_up(session, cashier, member_id, 30_000, payment_method="wechat")
        purchases.record_purchase(session, cashier, member_id, receipt_no="W1", till="01", amount_fen=6_600, wallet_fen=6_600)
        for receipt, days, amount in (("C1", 45, 12_000), ("C2", 3, 8_000)):
            at = NOW - timedelta(days=days)
            purchases.record_purchase(session, cashier, member_id, receipt_no=receipt, till="01", amount_fen=amount, occurred_at=at,
                                      now=at, credit_fen=amount)
    with unit_of_work(db) as session:
        credit.repay(session, cashier, member_id, 2_000)
    with read_session(db) as session:
        data = member_report.member_report(session, member_id)
    assert data.wallet is not None and (data.wallet.principal_fen, data.wallet.bonus_fen, data.wallet.entries) == (23_812, 1_588, 2)  # ¥66.00 drawn in proportion
    assert [row.kind.value for row in data.wallet.latest] == ["payment", "topup"]
    assert data.credit is not None and (data.credit.info.owed_fen, data.credit.info.overdue_fen) == (18_000, 10_000)
    assert [(c.outstanding_fen, c.days_overdue > 0) for c in data.credit.open_charges] == [(10_000, True), (8_000, False)]
    text = all_text(make_document(db, owner, MemberReportRequest(member_id)))
    for expected in ("Stored value and credit", "Stored value", "¥254.00", "Principal", "¥238.12", "Bonus", "¥15.88",
                     "Latest 2 of 2 wallet entries", "Top-up", "Payment", "W1", "-¥61.88", "+¥300.00",
                     "Credit limit", "¥500.00", "30 days", "Owed", "¥180.00", "Available", "¥320.00", "Overdue", "¥100.00",
                     "Open charges, oldest due first", "C1", "C2", "Still owed", "¥120.00", "Days overdue"):
        assert expected in text, expected


def test_credit_alone_and_neither(db, owner, cashier) -> None:  # type: ignore[no-untyped-def]
    plain = _member(db, cashier, "普通人", "13800000002")
    granted = _member(db, cashier, "有额度", "13800000003")
    with unit_of_work(db) as session:
        credit.set_limit(session, owner, granted, 30_000, term_days=15)
    with read_session(db) as session:
        assert member_report.member_report(session, plain).wallet is None
        assert member_report.member_report(session, plain).credit is None
        only = member_report.member_report(session, granted)
    assert only.wallet is None and only.credit is not None and only.credit.open_charges == ()
    text = all_text(make_document(db, owner, MemberReportRequest(plain)))
    assert "Stored value" not in text and "Credit limit" not in text
    text = all_text(make_document(db, owner, MemberReportRequest(granted)))
    assert "Stored value and credit" in text and "15 days" in text and "Nothing is owed." in text
    assert "wallet entries" not in text
