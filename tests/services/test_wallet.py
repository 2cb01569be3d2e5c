"""Stored value (储值): top-ups and bonus rules, paying and refunding, cash-out, corrections, the cap, the PIN.

After every test that moves money the cached balances equal the ledger's sums (``consistent``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from crmdesk.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from crmdesk.models import AuditEvent, DrawOrder, Member, MemberStatus, Purchase, WalletEntry, WalletKind
from crmdesk.services import members, money_settings, purchases, wallet
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

NOW = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)  # noon on the shop's clock


@pytest.fixture
def member_id(db, cashier):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000")).id


def consistent(db, member_id: int) -> wallet.Balance:  # type: ignore[no-untyped-def]
    """The cached balance, after checking it against the ledger."""
    with read_session(db) as session:
        cached, summed = wallet.balance(session, member_id), wallet.ledger_sums(session, member_id)
    assert cached == summed, (cached, summed)
    return cached


def entries(db) -> int:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(WalletEntry)) or 0)


def rules(db, owner, **changes) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    with unit_of_work(db) as session:
        money_settings.save(session, owner, replace(money_settings.get(session), **changes))


def test_a_top_up_gets_the_best_bonus_it_reaches_and_says_why(db, owner, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        wallet.add_bonus_rule(session, owner, min_topup_fen=20_000, bonus_fen=2_000)
        wallet.add_bonus_rule(session, owner, min_topup_fen=50_000, bonus_fen=6_000)
        wallet.add_bonus_rule(session, owner, min_topup_fen=10_000, bonus_fen=500, starts_on=date(2027, 1, 1))  # not yet
    with unit_of_work(db) as session:
        small = wallet.top_up(session, cashier, member_id, 10_000, payment_method="cash", now=NOW)
        big = wallet.top_up(session, cashier, member_id, 60_000, payment_method="wechat", now=NOW)
    assert (small.bonus_fen, small.rule) == (0, None) and "needs a top-up of at least ¥200.00" in small.why[0].format(**small.why[1])
    assert (big.principal_fen, big.bonus_fen, big.rule.label) == (60_000, 6_000, "充500送60")
    assert big.why[0].format(**big.why[1]) == "充500送60: a top-up of ¥600.00 reaches ¥500.00, so ¥60.00 is added."
    assert consistent(db, member_id) == wallet.Balance(70_000, 6_000)
    with read_session(db) as session:
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "wallet.topup").order_by(AuditEvent.id.desc())).first()
        assert event.details["payment_method"] == "wechat" and event.details["bonus_fen"] == 6_000


@pytest.mark.parametrize(("amount", "method", "message"), [
    (0, "cash", "more than ¥0.00"),
    (-100, "cash", "more than ¥0.00"),
    (10_000, "wallet", "not 'wallet'"),
    (10_000, "credit", "not 'credit'"),
    (500_001, "cash", "may not exceed ¥5,000.00 under the prepaid card rules"),
])
def test_bad_top_ups_are_refused_and_change_nothing(db, cashier, member_id, amount, method, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=message), unit_of_work(db) as session:
        wallet.top_up(session, cashier, member_id, amount, payment_method=method, now=NOW)
    assert entries(db) == 0 and consistent(db, member_id) == wallet.Balance(0, 0)


def test_the_cap_counts_the_bonus_and_can_be_lowered_or_switched_off(db, owner, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        wallet.add_bonus_rule(session, owner, min_topup_fen=20_000, bonus_fen=2_000)
        wallet.top_up(session, cashier, member_id, 470_000, payment_method="cash", now=NOW)
    with pytest.raises(InvalidInput, match="holds ¥4,720.00, so ¥280.00 more at most"), unit_of_work(db) as session:
        wallet.top_up(session, cashier, member_id, 27_000, payment_method="cash", now=NOW)  # fits; its ¥20 bonus does not
    with pytest.raises(InvalidInput, match="from ¥0.01 to ¥5,000.00"), unit_of_work(db) as session:
        money_settings.save(session, owner, money_settings.MoneyRules(wallet_cap_fen=600_000))
    rules(db, owner, prepaid_rules=False)
    with unit_of_work(db) as session:
        wallet.top_up(session, cashier, member_id, 20_000, payment_method="cash", now=NOW)
    assert consistent(db, member_id).total_fen == 470_000 + 2_000 + 20_000 + 2_000


@pytest.mark.parametrize(("order", "principal", "bonus"), [
    (DrawOrder.PROPORTIONAL, 9_091, 909),  # 1,000 : 100 of ¥100.00, the odd fen from the principal
    (DrawOrder.PRINCIPAL_FIRST, 10_000, 0),
    (DrawOrder.BONUS_FIRST, 0, 10_000),
])
def test_a_payment_draws_as_the_owner_chose(db, owner, cashier, member_id, order, principal, bonus) -> None:  # type: ignore[no-untyped-def]
    rules(db, owner, draw_order=order)
    with unit_of_work(db) as session:
        wallet.adjust(session, owner, member_id, principal_fen=100_000, bonus_fen=10_000, reason="开户")
        sale = purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=10_000, wallet_fen=10_000, now=NOW)
    with read_session(db) as session:
        entry = session.scalars(sa.select(WalletEntry).where(WalletEntry.purchase_id == sale.purchase_id)).one()
        assert (entry.kind, -entry.principal_fen, -entry.bonus_fen) == (WalletKind.PAYMENT, principal, bonus)
    assert consistent(db, member_id) == wallet.Balance(100_000 - principal, 10_000 - bonus)


def test_paying_more_than_the_wallet_holds_is_refused_and_nothing_is_recorded(db, owner, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        wallet.top_up(session, cashier, member_id, 5_000, payment_method="cash", now=NOW)
    with pytest.raises(InvalidInput, match="wallet holds ¥50.00; ¥50.01 cannot be paid from it"), unit_of_work(db) as session:
        purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=8_000, wallet_fen=5_001,
                                  payment_method="cash", now=NOW)
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase)) == 0  # the sale went with it
        assert members.profile(session, member_id).points_balance == 0
    assert consistent(db, member_id) == wallet.Balance(5_000, 0)


def test_a_split_basket_and_its_refund_put_the_money_back_where_it_came_from(db, owner, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        wallet.adjust(session, owner, member_id, principal_fen=30_000, bonus_fen=10_000, reason="开户")
        sale = purchases.record_purchase(session, cashier, member_id, till="01", receipt_no="S1", amount_fen=10_000,
                                         wallet_fen=6_000, payment_method="cash", now=NOW)
    assert consistent(db, member_id) == wallet.Balance(25_500, 8_500)  # 6,000 in proportion 3:1
    with read_session(db) as session:
        row = session.get(Purchase, sale.purchase_id)
        assert (row.wallet_fen, row.credit_fen, row.payment_method) == (6_000, 0, "cash")
    with unit_of_work(db) as session:  # half the basket back: half of each part
        first = purchases.refund(session, cashier, original_till="01", original_receipt="S1", amount_fen=5_000, now=NOW)
    assert consistent(db, member_id) == wallet.Balance(27_750, 9_250)
    with unit_of_work(db) as session:  # the rest: never more than the sale took
        purchases.refund(session, cashier, original_till="01", original_receipt="S1", amount_fen=5_000, now=NOW)
    assert consistent(db, member_id) == wallet.Balance(30_000, 10_000)
    with read_session(db) as session:
        assert session.get(Purchase, first.purchase_id).wallet_fen == 3_000


def test_cash_out_pays_the_principal_forfeits_the_bonus_and_needs_a_supervisor(db, owner, cashier, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        wallet.add_bonus_rule(session, owner, min_topup_fen=20_000, bonus_fen=2_000)
        wallet.top_up(session, cashier, member_id, 20_000, payment_method="cash", now=NOW)
    with pytest.raises(PermissionDenied), unit_of_work(db) as session:
        wallet.cash_out(session, cashier, member_id)
    with unit_of_work(db) as session:
        result = wallet.cash_out(session, supervisor, member_id, reason="搬家")
    assert (result.principal_fen, result.bonus_forfeited_fen) == (20_000, 2_000)
    assert consistent(db, member_id) == wallet.Balance(0, 0)
    with pytest.raises(InvalidInput, match="wallet is empty"), unit_of_work(db) as session:
        wallet.cash_out(session, supervisor, member_id)
    with read_session(db) as session:
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "wallet.cashout")).one()
        assert (event.staff_name, event.details["bonus_forfeited_fen"]) == (supervisor.name, 2_000)


def test_corrections_are_the_owners_with_a_reason_and_never_go_below_zero(db, owner, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied), unit_of_work(db) as session:
        wallet.adjust(session, supervisor, member_id, principal_fen=100, reason="x")
    with pytest.raises(InvalidInput, match="Give the reason"), unit_of_work(db) as session:
        wallet.adjust(session, owner, member_id, principal_fen=100, reason=" ")
    with pytest.raises(InvalidInput, match="cannot go below zero"), unit_of_work(db) as session:
        wallet.adjust(session, owner, member_id, principal_fen=-1, reason="更正")
    assert entries(db) == 0


def test_a_frozen_member_cannot_use_the_wallet(db, owner, cashier, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        wallet.top_up(session, cashier, member_id, 10_000, payment_method="cash", now=NOW)
        members.set_status(session, supervisor, member_id, MemberStatus.FROZEN, reason="挂失")
    for attempt in (lambda s: wallet.top_up(s, cashier, member_id, 100, payment_method="cash", now=NOW),
                    lambda s: purchases.record_purchase(s, cashier, member_id, till="01", amount_fen=100, wallet_fen=100,
                                                        approved_by=supervisor, now=NOW)):
        with pytest.raises(InvalidInput, match="frozen: the wallet cannot be used"), unit_of_work(db) as session:
            attempt(session)
    assert consistent(db, member_id) == wallet.Balance(10_000, 0)


def test_the_payment_pin_above_an_amount_and_its_lock(db, owner, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    rules(db, owner, pin_above_fen=5_000)
    with unit_of_work(db) as session:
        wallet.top_up(session, cashier, member_id, 50_000, payment_method="cash", now=NOW)
        wallet.set_pin(session, cashier, member_id, "2580")
    with unit_of_work(db) as session:  # at or below the amount: no PIN asked
        purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=5_000, wallet_fen=5_000, now=NOW)
    with pytest.raises(AuthenticationFailed, match="PIN is needed"), unit_of_work(db) as session:
        purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=6_000, wallet_fen=6_000, now=NOW)
    with unit_of_work(db) as session:
        purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=6_000, wallet_fen=6_000, pay_pin="2580", now=NOW)
    for left in (4, 3, 2, 1):
        with pytest.raises(AuthenticationFailed, match=f"Tries left: {left}"):
            wallet.check_pin(db, member_id, "0000", now=NOW)
    with pytest.raises(AuthenticationFailed, match="wait 15 min"):
        wallet.check_pin(db, member_id, "0000", now=NOW)
    with pytest.raises(AuthenticationFailed, match="wait 15 min"):  # even the right PIN, while locked
        wallet.check_pin(db, member_id, "2580", now=NOW)
    wallet.check_pin(db, member_id, "2580", now=datetime(2026, 12, 4, 4, 16, tzinfo=UTC))
    assert consistent(db, member_id) == wallet.Balance(50_000 - 11_000, 0)


def test_a_pin_the_member_chose_is_asked_for_every_payment_unless_the_owner_lets_small_ones_through(
        db, owner, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        wallet.top_up(session, cashier, member_id, 10_000, payment_method="cash", now=NOW)
        wallet.set_pin(session, cashier, member_id, "2580")
    with pytest.raises(AuthenticationFailed, match="PIN is needed"), unit_of_work(db) as session:
        purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=1, wallet_fen=1, now=NOW)
    assert consistent(db, member_id) == wallet.Balance(10_000, 0)


def test_bonus_rules_are_the_owners_and_make_sense(db, owner, supervisor) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied), unit_of_work(db) as session:
        wallet.add_bonus_rule(session, supervisor, min_topup_fen=20_000, bonus_fen=2_000)
    for minimum, bonus, message in ((0, 100, "more than ¥0.00"), (20_000, 20_000, "less than the top-up"),
                                    (20_000, 0, "less than the top-up")):
        with pytest.raises(InvalidInput, match=message), unit_of_work(db) as session:
            wallet.add_bonus_rule(session, owner, min_topup_fen=minimum, bonus_fen=bonus)
    with unit_of_work(db) as session:
        rule = wallet.add_bonus_rule(session, owner, min_topup_fen=20_000, bonus_fen=2_000, ends_on=date(2026, 12, 31))
        wallet.end_bonus_rule(session, owner, rule.id)
    with read_session(db) as session:
        assert wallet.bonus_rules(session) == [] and len(wallet.bonus_rules(session, include_inactive=True)) == 1


def test_the_database_itself_refuses_a_negative_balance(db, member_id) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(sa.exc.IntegrityError), unit_of_work(db) as session:
        session.execute(sa.update(Member).where(Member.id == member_id).values(wallet_principal_fen=-1))
