"""Credit (赊账): limits and who grants them, charges at the till, repayments oldest first, refunds, write-offs,
aging pinned on hand-computed data (the bucket boundaries), the collection log, statements, suggestions.

After every test that moves money the cached debt equals the ledger's sum (``owed``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from crmdesk.errors import InvalidInput, NotFound, PermissionDenied
from crmdesk.models import AuditEvent, CreditEntry, CreditKind, CreditSettlement, MemberStatus, Purchase
from crmdesk.services import credit, members, money_settings, purchases
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures


def at(day: date, hour: int = 4) -> datetime:
    """Noon of a shop day (04:00 UTC)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def member_id(db, cashier):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000")).id


def owed(db, member_id: int) -> int:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        cached = credit.info(session, member_id).owed_fen
        assert cached == credit.ledger_sum(session, member_id)
        charged = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.amount_fen), 0)).where(
            CreditEntry.member_id == member_id, CreditEntry.amount_fen > 0))
        settled = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(CreditSettlement.amount_fen), 0)))
        assert charged - settled == cached  # every fen that left the debt settled a charge
    return cached


def buy(db, actor, member_id: int, amount: int, day: date, *, receipt: str = "", approved_by=None):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return purchases.record_purchase(session, actor, member_id, till="01", receipt_no=receipt, amount_fen=amount,
                                         credit_fen=amount, occurred_at=at(day), now=at(day), approved_by=approved_by)


def test_only_a_supervisor_or_the_owner_grants_credit_and_it_is_audited(db, cashier, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied), unit_of_work(db) as session:
        credit.set_limit(session, cashier, member_id, 30_000)
    for limit, term, message in ((-1, 30, "from ¥0.00"), (30_000, 0, "1 to 365 days"), (30_000, 366, "1 to 365 days")):
        with pytest.raises(InvalidInput, match=message), unit_of_work(db) as session:
            credit.set_limit(session, supervisor, member_id, limit, term_days=term)
    with unit_of_work(db) as session:
        granted = credit.set_limit(session, supervisor, member_id, 50_000, term_days=30, reason="老顾客")
    assert (granted.limit_fen, granted.term_days, granted.available_fen) == (50_000, 30, 50_000)
    with read_session(db) as session:
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "credit.limit")).one()
        assert (event.details["limit_fen"], event.details["reason"]) == (50_000, "老顾客")


def test_a_charge_is_due_after_the_term_and_refused_beyond_the_limit_unless_approved(db, cashier, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="has no credit"):
        buy(db, cashier, member_id, 1_000, date(2026, 11, 1))
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 50_000, term_days=30)
    buy(db, cashier, member_id, 40_000, date(2026, 11, 1))
    with pytest.raises(InvalidInput, match=r"has ¥100.00 of credit left \(limit ¥500.00, owed ¥400.00\); ¥100.01"):
        buy(db, cashier, member_id, 10_001, date(2026, 11, 2))
    with pytest.raises(PermissionDenied, match="may not approve credit"):
        buy(db, cashier, member_id, 10_001, date(2026, 11, 2), approved_by=cashier)
    buy(db, cashier, member_id, 20_000, date(2026, 11, 2), approved_by=supervisor)
    assert owed(db, member_id) == 60_000
    with read_session(db) as session:
        rows = credit.ledger_page(session, member_id)
        assert [(r.kind, r.amount_fen, r.due_on, r.approved_by) for r in rows] == [
            (CreditKind.CHARGE, 20_000, date(2026, 12, 2), "值班经理"), (CreditKind.CHARGE, 40_000, date(2026, 12, 1), "")]
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase)) == 2  # the refused one left nothing


def test_frozen_credit_and_credit_that_stops_by_itself_when_long_overdue(db, owner, cashier, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 50_000, term_days=10)
    buy(db, cashier, member_id, 1_000, date(2026, 11, 1))  # due 11-11
    with unit_of_work(db) as session:
        money_settings.save(session, owner, money_settings.MoneyRules(credit_freeze_after_days=7))
    buy(db, cashier, member_id, 1_000, date(2026, 11, 18))  # 7 days overdue: still allowed
    with pytest.raises(InvalidInput, match="is 8 days overdue"):
        buy(db, cashier, member_id, 1_000, date(2026, 11, 19))
    with unit_of_work(db) as session:
        assert credit.freeze_overdue(session, today=date(2026, 11, 19)) == 1
        assert credit.freeze_overdue(session, today=date(2026, 11, 19)) == 0  # once
    with pytest.raises(InvalidInput, match="credit is stopped: overdue 8 days"):
        buy(db, cashier, member_id, 1_000, date(2026, 11, 19))
    with unit_of_work(db) as session:
        credit.repay(session, cashier, member_id, 2_000, now=at(date(2026, 11, 19)))
        credit.set_frozen(session, supervisor, member_id, False)
    buy(db, cashier, member_id, 1_000, date(2026, 11, 19))
    with pytest.raises(InvalidInput, match="Give the reason"), unit_of_work(db) as session:
        credit.set_frozen(session, supervisor, member_id, True)
    with unit_of_work(db) as session:
        members.set_status(session, supervisor, member_id, MemberStatus.FROZEN, reason="争议")
    with pytest.raises(InvalidInput, match="frozen: nothing can be bought on credit"):
        buy(db, cashier, member_id, 100, date(2026, 11, 20), approved_by=supervisor)
    assert owed(db, member_id) == 1_000


def test_repayments_settle_the_oldest_charges_first_and_never_more_than_is_owed(db, cashier, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 100_000)
    first = buy(db, cashier, member_id, 10_000, date(2026, 10, 1))
    second = buy(db, cashier, member_id, 20_000, date(2026, 10, 5))
    with pytest.raises(InvalidInput, match="owes ¥300.00; ¥300.01 is more than that"), unit_of_work(db) as session:
        credit.repay(session, cashier, member_id, 30_001)
    with pytest.raises(InvalidInput, match="not 'wallet'"), unit_of_work(db) as session:
        credit.repay(session, cashier, member_id, 100, payment_method="wallet")
    with unit_of_work(db) as session:
        result = credit.repay(session, cashier, member_id, 15_000, payment_method="wechat", now=at(date(2026, 10, 20)))
    with read_session(db) as session:
        charges = {row.purchase_id: row.id for row in session.scalars(sa.select(CreditEntry).where(CreditEntry.kind == CreditKind.CHARGE))}
        left = {c.id: c.outstanding_fen for c in credit.open_charges(session, [member_id], date(2026, 10, 20))[member_id]}
    assert result.settled == ((charges[first.purchase_id], 10_000), (charges[second.purchase_id], 5_000))
    assert left == {charges[second.purchase_id]: 15_000} and result.owed_fen == 15_000 == owed(db, member_id)


def test_a_refunded_credit_purchase_comes_off_the_debt_and_its_own_charge_first(db, cashier, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 100_000)
    buy(db, cashier, member_id, 10_000, date(2026, 10, 1), receipt="A")
    second = buy(db, cashier, member_id, 8_000, date(2026, 10, 2), receipt="B")
    with unit_of_work(db) as session:
        refund = purchases.refund(session, cashier, original_till="01", original_receipt="B", amount_fen=3_000,
                                  now=at(date(2026, 10, 3)), occurred_at=at(date(2026, 10, 3)))
    with read_session(db) as session:
        assert session.get(Purchase, refund.purchase_id).credit_fen == 3_000
        open_now = {c.amount_fen: c.outstanding_fen for c in credit.open_charges(session, [member_id], date(2026, 10, 3))[member_id]}
    assert open_now == {10_000: 10_000, 8_000: 5_000} and owed(db, member_id) == 15_000
    assert second.receipt_no == "B"


def test_a_write_off_is_the_owners_with_a_reason(db, owner, cashier, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 100_000)
    buy(db, cashier, member_id, 10_000, date(2026, 6, 1))
    with pytest.raises(PermissionDenied, match="may not write off"), unit_of_work(db) as session:
        credit.write_off(session, supervisor, member_id, reason="联系不上")
    with pytest.raises(InvalidInput, match="Give the reason"), unit_of_work(db) as session:
        credit.write_off(session, owner, member_id, reason="")
    with unit_of_work(db) as session:
        result = credit.write_off(session, owner, member_id, reason="联系不上，已搬走")
    assert result.owed_fen == 0 == owed(db, member_id)
    with read_session(db) as session:
        suggestion = credit.suggest_limit(session, member_id, today=date(2026, 12, 1))
    assert suggestion.limit_fen == 0 and any("written off" in template for template, _ in suggestion.reasons)


def test_aging_puts_each_fen_in_the_right_bucket_at_the_boundaries(db, cashier, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    """Hand-computed: charges of ¥1, ¥2, ¥3 ... due on days that, as of 2026-12-31, are 0, 1, 30, 31, 60, 61, 90 and
    91 days overdue; a ¥9 charge not yet due; a repayment of ¥0.50 that settles part of the oldest."""
    as_of = date(2026, 12, 31)
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 1_000_000, term_days=1)
    for overdue, amount in ((91, 800), (90, 700), (61, 600), (60, 500), (31, 400), (30, 300), (1, 200), (0, 100)):
        buy(db, cashier, member_id, amount, as_of - timedelta(days=overdue + 1))  # due the day after the sale
    buy(db, cashier, member_id, 900, as_of)  # due tomorrow
    with unit_of_work(db) as session:
        credit.repay(session, cashier, member_id, 50, now=at(as_of))
    with read_session(db) as session:
        shop = credit.aging(session, as_of=as_of)
        mine = credit.aging(session, as_of=as_of, member_id=member_id)
        before = credit.aging(session, as_of=as_of - timedelta(days=1))  # the repayment was not made yet
    assert shop.buckets == mine.buckets == {"current": 100 + 900, "1-30": 200 + 300, "31-60": 400 + 500, "61-90": 600 + 700,
                                            "90+": 800 - 50}
    assert (shop.total_fen, shop.overdue_fen, shop.members) == (4_450, 3_450, 1)
    assert before.buckets == {"current": 200 + 100, "1-30": 300 + 400, "31-60": 500 + 600, "61-90": 700 + 800, "90+": 0}


def test_the_overdue_list_the_collection_log_and_promises_that_passed(db, cashier, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 100_000, term_days=10)
        other = members.register(session, cashier, members.MemberInput(name="李四", phone="13900139000")).id
        credit.set_limit(session, supervisor, other, 100_000, term_days=10)
    buy(db, cashier, member_id, 5_000, date(2026, 11, 1))  # due 11-11
    buy(db, cashier, other, 3_000, date(2026, 11, 20))  # due 11-30
    with pytest.raises(InvalidInput, match="Write what was said"), unit_of_work(db) as session:
        credit.add_note(session, cashier, member_id, text=" ", now=at(date(2026, 11, 15)))
    with pytest.raises(InvalidInput, match="not a way of contact"), unit_of_work(db) as session:
        credit.add_note(session, cashier, member_id, text="打过电话", channel="fax", now=at(date(2026, 11, 15)))
    with unit_of_work(db) as session:
        credit.add_note(session, cashier, member_id, text="说月底前还", channel="phone", promised_on=date(2026, 11, 30),
                        promised_fen=5_000, now=at(date(2026, 11, 15)))
    with read_session(db) as session:
        on_25th = credit.overdue_members(session, as_of=date(2026, 11, 25))
        on_1st = credit.overdue_members(session, as_of=date(2026, 12, 1))
        reminders = credit.broken_promises(session, today=date(2026, 12, 1))
        log = credit.notes(session, member_id)
    assert [(r.name, r.oldest_overdue_days, r.promise_passed) for r in on_25th] == [("张三", 14, False)]
    assert [(r.name, r.oldest_overdue_days, r.promise_passed) for r in on_1st] == [("张三", 20, True), ("李四", 1, False)]
    assert [r.name for r in reminders] == ["张三"]
    assert [(n.channel, n.promised_on, n.promised_fen, n.staff_name) for n in log] == [("phone", date(2026, 11, 30), 5_000, cashier.name)]


def test_a_statement_shows_the_period_with_what_was_owed_before_and_after(db, owner, cashier, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 100_000)
    buy(db, cashier, member_id, 10_000, date(2026, 10, 30))
    buy(db, cashier, member_id, 6_000, date(2026, 11, 3))
    with unit_of_work(db) as session:
        credit.repay(session, cashier, member_id, 7_000, now=at(date(2026, 11, 10)))
    buy(db, cashier, member_id, 2_000, date(2026, 12, 1))
    with read_session(db) as session:
        november = credit.statement(session, member_id, date(2026, 11, 1), date(2026, 11, 30))
    assert (november.opening_fen, november.charged_fen, november.repaid_fen, november.closing_fen) == (10_000, 6_000, 7_000, 9_000)
    assert [(r.kind, r.amount_fen) for r in november.rows] == [(CreditKind.CHARGE, 6_000), (CreditKind.REPAYMENT, -7_000)]
    with pytest.raises(InvalidInput, match="ends before it starts"), read_session(db) as session:
        credit.statement(session, member_id, date(2026, 11, 30), date(2026, 11, 1))
    with pytest.raises(NotFound), read_session(db) as session:
        credit.statement(session, 999, date(2026, 11, 1), date(2026, 11, 30))


def test_a_suggested_limit_follows_the_members_history_and_says_why(db, owner, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        session.execute(sa.text("UPDATE member SET joined_on = '2024-06-01' WHERE id = :id"), {"id": member_id})
        for n in range(30):  # ¥360 a month over the last year: ¥4,320
            purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=14_400, now=at(date(2026, 11, 30)),
                                      occurred_at=at(date(2026, 1, 1) + timedelta(days=11 * n)))
    with read_session(db) as session:
        suggestion = credit.suggest_limit(session, member_id, today=date(2026, 12, 1))
    texts = [template.format(**params) for template, params in suggestion.reasons]
    assert suggestion.limit_fen == 54_000  # 1.5 months of ¥360 for a member of 30 months with 30 visits
    assert texts[:2] == ["A member for 30 months.", "30 visits and ¥4,320.00 spent in the last 12 months (¥360.00 a month)."]
    with unit_of_work(db) as session:
        money_settings.save(session, owner, money_settings.MoneyRules(credit_max_limit_fen=50_000))
    with read_session(db) as session:
        capped = credit.suggest_limit(session, member_id, today=date(2026, 12, 1))
    assert capped.limit_fen == 50_000 and "Capped at the shop's highest suggested limit, ¥500.00." in [
        template.format(**params) for template, params in capped.reasons]


def test_the_start_of_the_day_stops_long_overdue_credit_once(db, owner, cashier, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.services import daily

    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 50_000, term_days=10)
    buy(db, cashier, member_id, 1_000, date(2026, 11, 1))  # due 11-11
    assert daily.start_of_day(db, date(2026, 11, 30)).credit_frozen == 0  # the owner has not asked for it
    with unit_of_work(db) as session:
        money_settings.save(session, owner, money_settings.MoneyRules(credit_freeze_after_days=7))
    assert daily.start_of_day(db, date(2026, 11, 18)).credit_frozen == 0  # 7 days: not yet
    assert daily.start_of_day(db, date(2026, 11, 19)).credit_frozen == 1
    assert daily.start_of_day(db, date(2026, 11, 19)).credit_frozen == 0  # a second till starting: nothing more
    with read_session(db) as session:
        assert credit.info(session, member_id).frozen
        frozen = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "credit.freeze")).all()
    assert len(frozen) == 1
