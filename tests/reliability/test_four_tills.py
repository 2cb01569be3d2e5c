"""Four tills at once on four members: nothing lost, nothing overdrawn, no coupon used twice, never "database busy".

Four processes (tests/reliability/tills.py, job ``till``) each do rounds of mixed counter work on the same
four members -- purchases paid in cash, from the wallet, on credit or mixed; refunds of any of the members'
sales (racing the other tills to refund the same sale); points redemptions; wallet top-ups (with a bonus
rule); credit repayments -- and end every round by trying, at the same moment as the other three, the
same coupon. Each till counts what succeeded (and what each success moved, member by member), what was
refused with a typed crmdesk error, and passes any database error that escaped through
crmdesk.failures.explain.

Afterwards, for every run: no till was told "The database is busy" and no other database error escaped;
for every member the movements the tills reported add up exactly to the change of the cached balances and
of the ledgers (stored value principal and bonus, points, credit owed) -- no lost update; no balance is
negative; every coupon has exactly one redemption and exactly one till was told it succeeded; and
``crmdesk check`` finds nothing, with no half-written operation (tills.half_written).

SQLite always; PostgreSQL too when CRMDESK_TEST_POSTGRES_URL is set. Two runs of four fresh tills by
default; CRMDESK_RELIABILITY_TRIALS=N runs N (the same database carries on from run to run).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.models import Coupon, Member, OfferKind, OfferRedemption, PointsEntry, Purchase
from crmdesk.services import credit, data_check, loyalty, members, offers, purchases, store, wallet
from crmdesk.services.staff import actor_for
from crmdesk.services.uow import read_session, unit_of_work
from tests.reliability.tills import (
    BACKENDS, MOVES, NEEDS_FORK, Figures, Forks, forks_for, fresh_database, trials, violations,
)

pytestmark = [pytest.mark.slow, NEEDS_FORK]

RUNS = trials(2)
TILLS = 4
MEMBERS = 4
ROUNDS = 30  # rounds per till and run: 3-6 operations each, then the coupon race
FIGURE = Figures()


@pytest.fixture(scope="module", autouse=True)
def summary() -> Iterator[None]:
    yield
    for backend, figures in FIGURE.ran():
        print(f"\nfour tills on {backend}: {figures['runs']} runs of {TILLS} tills, {figures['operations']} operations "
              f"committed, {figures['refused']} refused with a crmdesk error, {figures['coupons']} coupons raced for, "
              f"busy messages = {figures['busy']}, other database errors = {figures['escaped']}, "
              f"violations found = {figures['violations']}")


@pytest.fixture(scope="module")
def forks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forks]:
    yield from forks_for(tmp_path_factory.mktemp("workers"))


@pytest.fixture(params=BACKENDS)
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Database, str, list[int], int]]:
    """Four members, each with ¥200 stored value, ¥300 of credit and 500 points; a top-up bonus (充100送10);
    a coupon offer (¥5 off)."""
    db, url = fresh_database(tmp_path, request.param)
    FIGURE.backend = request.param
    with unit_of_work(db) as session:
        owner = actor_for(session)
        ids = [members.register(session, owner, members.MemberInput(name=f"老主顾{n}", phone=f"137{n:08d}")).id
               for n in range(MEMBERS)]
        for member_id in ids:
            wallet.adjust(session, owner, member_id, principal_fen=20_000, reason="开户")
            credit.set_limit(session, owner, member_id, 30_000)
            loyalty.adjust(session, owner, member_id, 500, reason="开户")
        wallet.add_bonus_rule(session, owner, min_topup_fen=10_000, bonus_fen=1_000)
        offer_id = offers.create_offer(session, owner, offers.OfferInput(
            name="满减券", kind=OfferKind.AMOUNT_OFF, reduction_fen=500, coupon_required=True)).id
    yield db, url, ids, offer_id
    db.dispose()


def balances(db: Database, member_ids: list[int]) -> dict[int, dict[str, int]]:
    """Each member's cached balances, after checking them against the ledgers' sums."""
    found = {}
    with read_session(db) as session:
        for member_id in member_ids:
            member = session.get(Member, member_id)
            assert member is not None
            cached = {"principal": member.wallet_principal_fen, "bonus": member.wallet_bonus_fen,
                      "points": member.points_balance, "credit": member.credit_owed_fen}
            summed = wallet.ledger_sums(session, member_id)
            points = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.points), 0))
                                    .where(PointsEntry.member_id == member_id))
            ledger = {"principal": summed.principal_fen, "bonus": summed.bonus_fen, "points": int(points),
                      "credit": credit.ledger_sum(session, member_id)}
            assert cached == ledger, f"member {member_id}: cached {cached}, ledgers {ledger}"
            assert min(cached.values()) >= 0, f"member {member_id} below zero: {cached}"
            found[member_id] = cached
    return found


def test_four_tills_at_once_lose_nothing_and_overdraw_nothing(shop, forks, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, url, member_ids, offer_id = shop
    for run in range(RUNS):
        with unit_of_work(db) as session:
            codes = offers.generate_coupons(session, actor_for(session), offer_id, ROUNDS, batch=f"run {run}")
        barrier = tmp_path / f"barrier{run}"
        barrier.mkdir()
        before = balances(db, member_ids)
        workers = [forks.start("till", url=url, till=f"T{n}", seed=run * TILLS + n, rounds=ROUNDS, member_ids=member_ids,
                               offer_id=offer_id, coupons=codes, barrier=str(barrier), tills=TILLS) for n in range(TILLS)]
        results = []
        for worker in workers:
            status = forks.wait(worker, timeout=600)
            assert status == 0, f"till {worker.pid} failed:\n{worker.errors()}"
            results.append(json.loads(worker.out.read_text(encoding="utf-8").splitlines()[-1]))
        FIGURE["runs"] += 1
        FIGURE["operations"] += sum(sum(r["done"].values()) for r in results)
        FIGURE["refused"] += sum(sum(r["refused"].values()) for r in results)
        FIGURE["coupons"] += len(codes)
        FIGURE["busy"] += sum(len(r["busy"]) for r in results)
        FIGURE["escaped"] += sum(len(r["escaped"]) for r in results)

        busy = [line for r in results for line in r["busy"]]
        assert not busy, f"{len(busy)} operations were told the database is busy:\n" + "\n".join(busy[:20])
        escaped = [line for r in results for line in r["escaped"]]
        assert not escaped, "database errors escaped the services:\n" + "\n".join(escaped[:20])
        assert all(not r["late"] for r in results), "a till never reached a coupon race"

        # No lost update: what the tills were told they did is what happened to the balances and the ledgers.
        after = balances(db, member_ids)
        lost = []
        for member_id in member_ids:
            reported = {key: sum(r["moved"][str(member_id)][key] for r in results) for key in MOVES}
            changed = {key: after[member_id][key] - before[member_id][key] for key in MOVES}
            if reported != changed:
                lost.append(f"member {member_id}: tills reported {reported}, balances changed by {changed}")
        FIGURE["violations"] += len(lost)
        assert not lost, "\n".join(lost)

        # Each coupon: tried by every till, won by exactly one, redeemed exactly once -- for the winner's member.
        with read_session(db) as session:
            redeemed = {code: (count, member) for code, count, member in session.execute(
                sa.select(Coupon.code, sa.func.count(OfferRedemption.id), sa.func.max(OfferRedemption.member_id))
                .outerjoin(OfferRedemption, OfferRedemption.coupon_id == Coupon.id)
                .where(Coupon.code.in_(codes)).group_by(Coupon.code))}
        wrong = []
        for code in codes:
            winners = [r["won"][code] for r in results if code in r["won"]]
            tried = sum(code in r["tried"] for r in results)
            if tried != TILLS or len(winners) != 1 or redeemed[code] != (1, winners[0]):
                wrong.append(f"coupon {code}: tried by {tried} tills, won by {winners}, "
                             f"redemptions (count, member) {redeemed[code]}")
        FIGURE["violations"] += len(wrong)
        assert not wrong, "\n".join(wrong)

        found = violations(db)
        FIGURE["violations"] += len(found)
        assert not found, "\n".join(found)
        # The tills did race: every kind of work succeeded somewhere, and some was refused.
        done = sum((Counter(r["done"]) for r in results), Counter())
        assert {"sale", "refund", "redeem", "top-up", "repay", "coupon"} <= set(done), done
        assert done["coupon"] == len(codes)


# --------------------------------------------------------------------------- a refund after a capped one


def test_a_refund_after_a_capped_one_takes_only_its_own_share_off_the_debt(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "refunds.sqlite"))
    try:
        with unit_of_work(db) as session:
            owner = store.initialise(session, owner_name="王店长", owner_password="owner-secret-1")
        with unit_of_work(db) as session:
            member_id = members.register(session, owner, members.MemberInput(name="张三", phone="13800138000")).id
            wallet.adjust(session, owner, member_id, principal_fen=10_000, reason="开户")
            credit.set_limit(session, owner, member_id, 10_000)
        steps = [  # ¥3.00: ¥1.00 from the wallet, ¥1.00 on credit, ¥1.00 cash; the ¥1.00 owed is repaid
            lambda s: purchases.record_purchase(s, owner, member_id, receipt_no="S1", till="01", amount_fen=300,
                                                wallet_fen=100, credit_fen=100, payment_method="cash"),
            lambda s: credit.repay(s, owner, member_id, 100),
            # ¥2.90 back: ¥0.96 into the wallet, nothing off the (repaid) debt, so ¥1.94 in cash
            lambda s: purchases.refund(s, owner, original_till="01", original_receipt="S1", refund_receipt="F1",
                                       amount_fen=290),
            lambda s: purchases.record_purchase(s, owner, member_id, receipt_no="S2", till="01", amount_fen=500,
                                                credit_fen=500),
            # the last ¥0.10 back: ¥0.04 into the wallet and -- the bug -- ¥1.00 off the debt of S2
            lambda s: purchases.refund(s, owner, original_till="01", original_receipt="S1", refund_receipt="F2",
                                       amount_fen=10),
        ]
        for step in steps:
            with unit_of_work(db) as session:
                step(session)
        with read_session(db) as session:
            wallet_back, credit_back = session.execute(sa.select(Purchase.wallet_fen, Purchase.credit_fen).where(
                Purchase.receipt_no == "F2")).one()
        report = data_check.run(db)
        assert report.sound, [(f.kind, f.detail, f.cached, f.expected) for f in report.findings]
        assert wallet_back + credit_back <= 10
    finally:
        db.dispose()
