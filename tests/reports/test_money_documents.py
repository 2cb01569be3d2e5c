"""The owner's money documents: the month's stored-value liability, credit aging, statements of account.

Their figures are pinned on a small shop worked out by hand (``money_shop``), then printed: text read back
from the PDF, fonts embedded, pages; who may print what; the command line end to end.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.cli import main
from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import InvalidInput, PermissionDenied
from crmdesk.models import AuditEvent, CreditEntry, CreditKind, Member, Role, WalletKind
from crmdesk.reports.base import ReportContext
from crmdesk.reports.credit_aging import render_credit_aging
from crmdesk.reports.documents import AgingRequest, LiabilityRequest, StatementRequest, make_document, suggested_file_name
from crmdesk.services import credit, members, money_figures, purchases, store, wallet
from crmdesk.services import staff as staff_service
from crmdesk.services.money_figures import MethodLine, Split, WalletMovement
from crmdesk.services.uow import Actor, read_session, unit_of_work
from tests.reports.pdf_tools import all_text, fonts, page_count, page_texts

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=CN)  # today in the shop: 2026-11-18
TODAY = date(2026, 11, 18)


def at(month: int, day: int, hour: int = 12, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CN)


class Shop:
    def __init__(self, db: Database, actors: dict[str, Actor]) -> None:
        self.db, self.actors = db, actors
        self.owner = actors["owner"]

    def member(self, name: str, phone: str) -> int:
        with unit_of_work(self.db) as session:
            return members.register(session, self.owner, members.MemberInput(name=name, phone=phone), today=date(2026, 1, 5)).id

    def top_up(self, member_id: int, fen: int, when: datetime, method: str = "cash") -> int:
        with unit_of_work(self.db) as session:
            return wallet.top_up(session, self.actors["cashier"], member_id, fen, payment_method=method, now=when).entry_id

    def buy(self, member_id: int, fen: int, when: datetime, receipt: str, *, wallet_fen: int = 0, credit_fen: int = 0) -> None:
        with unit_of_work(self.db) as session:
            purchases.record_purchase(session, self.actors["cashier"], member_id, receipt_no=receipt, till="01", amount_fen=fen,
                                      occurred_at=when, now=NOW, wallet_fen=wallet_fen, credit_fen=credit_fen,
                                      payment_method="" if wallet_fen + credit_fen == fen else "cash")

    def import_balance(self, member_id: int, principal: int, bonus: int, when: datetime) -> None:
        with unit_of_work(self.db) as session:
            member = wallet.member_for_update(session, member_id)
            wallet.open_balance(session, self.owner, member, principal_fen=principal, bonus_fen=bonus, reason="旧系统余额", at=when)

    def limit(self, member_id: int, fen: int, days: int = 30) -> None:
        with unit_of_work(self.db) as session:
            credit.set_limit(session, self.owner, member_id, fen, term_days=days)


@pytest.fixture(scope="module")
def money_shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A shop worked out by hand (amounts in yuan; P principal, B bonus). Rules: 充200送20, 充500送60.

    Stored value                                                                  month
      A 张三  09-10        top-up ¥300 cash: P 300 B 20                               Sep
      B 李四  09-20        opening balance imported: P 100 B 10                       Sep
      C 王五  09-30 23:59  top-up ¥500 WeChat: P 500 B 60                             Sep (15:59 UTC)
      D 赵六  10-01 00:00  top-up ¥100 Alipay, no bonus: P 100                        Oct (still 30 Sep in UTC)
      A       10-05        pays ¥110 from the wallet, in proportion: P −103.13 B −6.87 Oct
      A       10-08        refund of ¥55 of it: P +51.56 B +3.44                      Oct
      C       10-12        cash-out (supervisor, cash): P −500 paid back, B −60 lost  Oct
      B       10-15        owner's correction: P +5, B −10                            Oct
      B       10-20        top-up ¥200 by bank card: P 200 B 20                       Oct
      E 孙七  10-25        opening balance imported: P 50 B 5                         Oct
      D       10-31 23:59  pays ¥30 from the wallet: P −30                            Oct
      A       11-01 00:00  top-up ¥100 cash: P 100                                    Nov (still 31 Oct in UTC)
    Opening of October: P 900 B 90; closing: P 673.43 B 41.57 (A 248.43+16.57, B 305+20, D 70, E 50+5).

    Credit (limits granted before; 30 days to pay; aging as of 2026-11-18)
      F 周八  08-01 ¥200 (due 08-31), 09-10 repays ¥50, 10-10 ¥150 (due 11-09), 11-15 ¥100 (due 12-15)
              → 61–90: 150 (79 days), 1–30: 150 (9 days), not yet due: 100
      G 吴九  07-01 ¥300 (due 07-31), 10-19 ¥80 (due 11-18), 10-20 owner writes off ¥100 (of the oldest)
              → over 90: 200 (110 days), not yet due: 80 (due today: not overdue)
      H 郑十  09-18 ¥120 (due 10-18), 10-18 ¥60 (due 11-17); 11-01 promised to pay by 11-10 (passed)
              → 31–60: 120 (31 days), 1–30: 60 (1 day)
      J 冯一  07-20 ¥30 (due 08-19), 07-21 ¥40 (due 08-20) → over 90: 30 (91 days), 61–90: 40 (90 days)
      K 陈二  11-10 ¥90 (due 12-10) → not yet due: 90
      L 褚三  11-01 ¥50, repaid in full on 11-05 → owes nothing
    """
    path = tmp_path_factory.mktemp("money-shop") / "store.sqlite"
    db = open_database(sqlite_url(path))
    try:
        return {"path": path, **build_money_shop(db)}
    finally:
        db.dispose()


def build_money_shop(db: Database) -> dict[str, object]:
    """The shop of ``money_shop``'s notes, in ``db``."""
    with unit_of_work(db) as session:
        owner = store.initialise(session, owner_name="王店长", owner_password="owner-secret-1", store_name="好邻居超市")
    actors = {"owner": owner}
    with unit_of_work(db) as session:
        for key, name, role in (("cashier", "收银员小李", Role.CASHIER), ("supervisor", "值班经理", Role.SUPERVISOR)):
            info = staff_service.add_staff(session, owner, name, role, pin="2468")
            actors[key] = Actor(info.id, info.name, info.role)
    with unit_of_work(db) as session:
        wallet.add_bonus_rule(session, owner, min_topup_fen=20_000, bonus_fen=2_000)
        wallet.add_bonus_rule(session, owner, min_topup_fen=50_000, bonus_fen=6_000)
    s = Shop(db, actors)
    ids = {key: s.member(name, phone) for key, name, phone in (
        ("a", "张三", "13800000001"), ("b", "李四", "13800000002"), ("c", "王五", "13800000003"), ("d", "赵六", "13800000004"),
        ("e", "孙七", "13800000005"), ("f", "周八", "13800000006"), ("g", "吴九", "13800000007"), ("h", "郑十", "13800000008"),
        ("j", "冯一", "13800000009"), ("k", "陈二", "13800000010"), ("l", "褚三", "13800000011"))}
    # Stored value
    s.top_up(ids["a"], 30_000, at(9, 10))
    s.import_balance(ids["b"], 10_000, 1_000, at(9, 20))
    s.top_up(ids["c"], 50_000, at(9, 30, 23, 59), "wechat")
    s.top_up(ids["d"], 10_000, at(10, 1, 0, 0), "alipay")
    s.buy(ids["a"], 11_000, at(10, 5), "WA1", wallet_fen=11_000)
    with unit_of_work(db) as session:
        purchases.refund(session, actors["cashier"], original_till="01", original_receipt="WA1", refund_receipt="WA1-RF",
                         amount_fen=5_500, occurred_at=at(10, 8), now=NOW)
    with unit_of_work(db) as session:
        cashout = wallet.cash_out(session, actors["supervisor"], ids["c"], payment_method="cash", reason="搬家", now=at(10, 12))
    with unit_of_work(db) as session:
        wallet.adjust(session, owner, ids["b"], principal_fen=500, bonus_fen=-1_000, reason="核对余额", now=at(10, 15))
    s.top_up(ids["b"], 20_000, at(10, 20), "card")
    s.import_balance(ids["e"], 5_000, 500, at(10, 25))
    s.buy(ids["d"], 3_000, at(10, 31, 23, 59), "WD1", wallet_fen=3_000)
    s.top_up(ids["a"], 10_000, at(11, 1, 0, 0))
    # Credit
    for key, limit in (("f", 100_000), ("g", 50_000), ("h", 30_000), ("j", 20_000), ("k", 20_000), ("l", 20_000)):
        s.limit(ids[key], limit)
    s.buy(ids["g"], 30_000, at(7, 1), "CG1", credit_fen=30_000)
    s.buy(ids["j"], 3_000, at(7, 20), "CJ1", credit_fen=3_000)
    s.buy(ids["j"], 4_000, at(7, 21), "CJ2", credit_fen=4_000)
    s.buy(ids["f"], 20_000, at(8, 1), "CF1", credit_fen=20_000)
    with unit_of_work(db) as session:
        credit.repay(session, actors["cashier"], ids["f"], 5_000, payment_method="wechat", now=at(9, 10))
    s.buy(ids["h"], 12_000, at(9, 18), "CH1", credit_fen=12_000)
    s.buy(ids["f"], 18_000, at(10, 10), "CF2", credit_fen=15_000)  # ¥30 of it paid in cash
    s.buy(ids["h"], 6_000, at(10, 18), "CH2", credit_fen=6_000)
    s.buy(ids["g"], 8_000, at(10, 19), "CG2", credit_fen=8_000)
    with unit_of_work(db) as session:
        credit.write_off(session, owner, ids["g"], amount_fen=10_000, reason="联系不上", now=at(10, 20))
    s.buy(ids["l"], 5_000, at(11, 1), "CL1", credit_fen=5_000)
    with unit_of_work(db) as session:
        credit.add_note(session, actors["supervisor"], ids["h"], text="电话催收，答应月中还", promised_on=date(2026, 11, 10),
                        now=at(11, 1))
    with unit_of_work(db) as session:
        credit.repay(session, actors["cashier"], ids["l"], 5_000, now=at(11, 5))
    s.buy(ids["k"], 9_000, at(11, 10), "CK1", credit_fen=9_000)
    s.buy(ids["f"], 10_000, at(11, 15), "CF3", credit_fen=10_000)
    return {"actors": actors, "ids": ids, "cashout": cashout.entry_id}


@pytest.fixture
def db(money_shop) -> Database:  # type: ignore[no-untyped-def]
    database = open_database(sqlite_url(money_shop["path"]))
    yield database
    database.dispose()


@pytest.fixture
def actors(money_shop) -> dict[str, Actor]:  # type: ignore[no-untyped-def]
    return money_shop["actors"]


@pytest.fixture
def ids(money_shop) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return money_shop["ids"]


def liability(db: Database, month: date, now: datetime = NOW) -> money_figures.LiabilityMonth:
    with read_session(db) as session:
        return money_figures.liability_month(session, month, now=now)


def aging(db: Database, as_of: date = TODAY) -> money_figures.AgingReport:
    with read_session(db) as session:
        return money_figures.aging_report(session, as_of=as_of, today=TODAY)


def flat(pdf: bytes) -> str:
    """The document's text with its line breaks as spaces: a sentence reads whole wherever the layout wrapped it."""
    return " ".join(all_text(pdf).split())


# --------------------------------------------------------------------------- stored-value liability: figures


def test_the_liability_of_october_worked_out_by_hand(db) -> None:  # type: ignore[no-untyped-def]
    october = liability(db, date(2026, 10, 17))
    assert (october.month, october.last_day, october.complete) == (date(2026, 10, 1), date(2026, 10, 31), True)
    assert october.as_of == datetime(2026, 11, 1, 0, 0, tzinfo=CN)
    assert october.opening == Split(90_000, 9_000)
    assert october.movements == (
        WalletMovement(WalletKind.TOPUP, Split(30_000, 2_000), 2, 2, 1),  # D ¥100 (no bonus), B ¥200 + ¥20
        WalletMovement(WalletKind.PAYMENT, Split(-13_313, -687), 2, 2, 1),  # A ¥110 in proportion 300:20, D ¥30
        WalletMovement(WalletKind.REFUND, Split(5_156, 344), 1, 1, 1),  # half of A's, in the proportion it took
        WalletMovement(WalletKind.CASHOUT, Split(-50_000, -6_000), 1, 1, 1),  # C: principal paid back, bonus forfeited
        WalletMovement(WalletKind.ADJUSTMENT, Split(500, -1_000), 1, 1, 1),
        WalletMovement(WalletKind.OPENING, Split(5_000, 500), 1, 1, 1),  # E
    )
    assert october.closing == Split(67_343, 4_157)
    assert october.change == Split(-22_657, -4_843)
    assert october.methods == (MethodLine("cash", 0, 0, 1, 50_000), MethodLine("alipay", 1, 10_000, 0, 0),
                               MethodLine("card", 1, 20_000, 0, 0))
    assert (october.members_holding, october.largest_fen) == (4, 32_500)  # A, B, D, E; B holds ¥325
    assert october.cap_fen == 500_000


def test_a_months_closing_is_the_next_opening_and_the_cached_balances(db) -> None:  # type: ignore[no-untyped-def]
    september, october, november = (liability(db, date(2026, month, 1)) for month in (9, 10, 11))
    assert september.opening == Split(0, 0)
    assert september.movement(WalletKind.TOPUP) == WalletMovement(WalletKind.TOPUP, Split(80_000, 8_000), 2, 2, 2)  # A, C at 23:59
    assert september.movement(WalletKind.OPENING).money == Split(10_000, 1_000)
    assert september.closing == october.opening
    assert october.closing == november.opening
    assert november.movement(WalletKind.TOPUP) == WalletMovement(WalletKind.TOPUP, Split(10_000, 0), 1, 1, 0)  # A at 00:00
    assert (november.complete, november.as_of) == (False, NOW)
    with read_session(db) as session:
        cached = session.execute(sa.select(sa.func.sum(Member.wallet_principal_fen), sa.func.sum(Member.wallet_bonus_fen))).one()
        for member_id in session.scalars(sa.select(Member.id)):
            assert wallet.balance(session, member_id) == wallet.ledger_sums(session, member_id)
    assert november.closing == Split(*cached) == Split(77_343, 4_157)


def test_a_month_not_begun_is_refused_and_an_empty_one_is_all_zeros(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="2026-12 has not started yet"):
        liability(db, date(2026, 12, 1))
    august = liability(db, date(2026, 8, 1))
    assert august.opening == august.closing == Split(0, 0)
    assert all(m.entries == 0 for m in august.movements) and august.methods == ()
    assert (august.members_holding, august.largest_fen) == (0, 0)


# --------------------------------------------------------------------------- stored-value liability: paper


def test_the_liability_prints_every_line_with_principal_and_bonus_apart(db, actors) -> None:  # type: ignore[no-untyped-def]
    pdf = make_document(db, actors["supervisor"], LiabilityRequest(date(2026, 10, 1)), now=NOW)
    text = flat(pdf)
    for expected in ("Stored-value liability — 2026-10", "2026-10-01 to 2026-10-31", "Opening balance", "Top-ups paid in",
                     "Bonus given with top-ups", "Payments from wallets", "Refunds back into wallets",
                     "Cash-outs: principal paid back", "Cash-outs: bonus forfeited", "Corrections (net)",
                     "Stored value brought over from an old system", "Closing balance", "Paid in and paid back by payment method",
                     "Alipay", "Bank card", "Cash"):
        assert expected in text, expected
    assert "¥990.00" in text and "¥715.00" in text  # owed at the start and at the end
    assert "¥673.43" in text and "¥41.57" in text  # the closing's principal and bonus
    assert "+¥300.00" in text and "+¥20.00" in text  # top-ups paid in, bonus given
    assert "\u2212¥500.00" in text and "\u2212¥60.00" in text  # the cash-out
    assert "\u2212¥133.13" in text and "\u2212¥6.87" in text  # payments
    assert "4 members hold stored value at the close; the largest balance is ¥325.00." in text
    assert page_count(pdf) == 1
    assert fonts(pdf) and all(fonts(pdf).values())


def test_the_month_under_way_says_so(db, actors) -> None:  # type: ignore[no-untyped-def]
    text = flat(make_document(db, actors["owner"], LiabilityRequest(date(2026, 11, 5)), now=NOW))
    assert "the month is not over" in text and "2026-11-18 10:00" in text
    assert "¥815.00" in text  # ¥715 and A's ¥100 of 1 November: owed now, P 773.43 + B 41.57
    assert suggested_file_name(LiabilityRequest(date(2026, 11, 5))) == "stored-value-2026-11.pdf"


# --------------------------------------------------------------------------- credit aging: figures


def test_the_aging_worked_out_by_hand_with_the_bucket_boundaries(db, ids) -> None:  # type: ignore[no-untyped-def]
    report = aging(db)
    assert report.aging.buckets == {"current": 27_000, "1-30": 21_000, "31-60": 12_000, "61-90": 19_000, "90+": 23_000}
    assert (report.aging.total_fen, report.aging.overdue_fen, report.aging.members) == (102_000, 75_000, 5)
    assert report.bucket_members == (3, 2, 1, 2, 2)
    assert report.overdue_members == 4
    lines = {line.name: line for line in report.lines}
    assert [line.name for line in report.lines] == ["吴九", "冯一", "周八", "郑十", "陈二"]  # overdue first, longest first
    assert lines["吴九"].buckets == (8_000, 0, 0, 0, 20_000) and lines["吴九"].oldest_overdue_days == 110
    assert lines["冯一"].buckets == (0, 0, 0, 4_000, 3_000) and lines["冯一"].oldest_overdue_days == 91  # 90 days: still 61–90
    assert lines["周八"].buckets == (10_000, 15_000, 0, 15_000, 0) and lines["周八"].oldest_overdue_days == 79
    assert lines["郑十"].buckets == (0, 6_000, 12_000, 0, 0) and lines["郑十"].oldest_overdue_days == 31  # 31 and 1 day
    assert lines["陈二"].buckets == (9_000, 0, 0, 0, 0) and lines["陈二"].oldest_overdue_days == 0
    assert (lines["郑十"].promised_on, lines["郑十"].promise_passed) == (date(2026, 11, 10), True)
    assert lines["郑十"].last_note_at is not None and lines["周八"].promised_on is None
    assert lines["郑十"].phone == "138****0008"
    assert report.limits_fen == 100_000 + 50_000 + 30_000 + 20_000 + 20_000  # L owes nothing: not counted
    with read_session(db) as session:
        owed_now = session.scalar(sa.select(sa.func.sum(Member.credit_owed_fen)))
        shop = credit.aging(session, as_of=TODAY)
    assert report.aging.total_fen == owed_now == shop.total_fen  # the cached debts, the shop's own aging
    assert report.aging.buckets == shop.buckets


def test_the_aging_across_the_write_off(db) -> None:  # type: ignore[no-untyped-def]
    before, after = aging(db, date(2026, 10, 19)), aging(db, date(2026, 10, 20))
    g_before = next(line for line in before.lines if line.name == "吴九")
    g_after = next(line for line in after.lines if line.name == "吴九")
    assert g_before.buckets == (8_000, 0, 0, 30_000, 0) and g_before.oldest_overdue_days == 80  # 07-31 to 10-19
    assert g_after.buckets == (8_000, 0, 0, 20_000, 0) and g_after.oldest_overdue_days == 81  # ¥100 of the oldest gone
    assert before.aging.total_fen - after.aging.total_fen == 10_000
    with pytest.raises(InvalidInput, match="today or a day before"):
        aging(db, date(2026, 11, 19))


# --------------------------------------------------------------------------- credit aging: paper


def test_the_aging_prints_the_buckets_and_the_members_overdue_first(db, actors) -> None:  # type: ignore[no-untyped-def]
    pdf = make_document(db, actors["supervisor"], AgingRequest(TODAY), now=NOW)
    text = flat(pdf)
    for expected in ("Credit aging — 2026-11-18", "Not yet due", "1–30 days overdue", "31–60 days overdue",
                     "61–90 days overdue", "Over 90 days overdue", "Members who owe", "2026-11-10, passed", "Total (5)"):
        assert expected in text, expected
    assert "¥1,020.00" in text and "¥750.00" in text
    order = [text.index(name) for name in ("吴九", "冯一", "周八", "郑十", "陈二")]
    assert order == sorted(order)
    assert "褚三" not in text and "13800000008" not in text
    assert all(fonts(pdf).values())
    first = page_texts(pdf)[0]
    assert "Credit aging" in first and "吴九" in first  # a short list starts under the figures


def test_the_aging_of_thousands_of_members_repeats_its_header(db, actors) -> None:  # type: ignore[no-untyped-def]
    lines = tuple(money_figures.AgingLine(i, f"M{i:08d}", f"会员{i:04d}", "", (100, 200 * (i % 3), 0, 0, 0), 5 if i % 3 else 0,
                                          None, None, False) for i in range(1, 2_001))
    base = aging(db)
    report = replace(base, lines=lines)
    pdf = render_credit_aging(report, ReportContext("好邻居超市", "王店长", NOW))
    pages = page_texts(pdf)
    assert len(pages) > 10
    for page in pages[1:]:
        assert "Member No." in page and "Owed" in page
    assert "会员2000" in pages[-1] and "Total (5)" in pages[-1]


# --------------------------------------------------------------------------- statement of account


def test_the_statement_of_a_period_with_its_running_balance(db, ids) -> None:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        data = money_figures.statement_of_account(session, ids["f"], date(2026, 9, 1), date(2026, 10, 31), today=TODAY)
    assert (data.opening_fen, data.charged_fen, data.reduced_fen, data.closing_fen) == (20_000, 15_000, 5_000, 30_000)
    assert [(line.row.kind, line.row.amount_fen, line.row.receipt_no, line.row.due_on, line.balance_fen) for line in data.lines] == [
        (CreditKind.REPAYMENT, -5_000, "", None, 15_000),
        (CreditKind.CHARGE, 15_000, "CF2", date(2026, 11, 9), 30_000),
    ]
    assert [(c.receipt_no, c.due_on, c.outstanding_fen, c.days_overdue) for c in data.open_at_end] == [
        ("CF1", date(2026, 8, 31), 15_000, 61), ("CF2", date(2026, 11, 9), 15_000, 0)]
    assert (data.limit_fen, data.term_days, data.phone_text) == (100_000, 30, "138****0006")


def test_the_statement_prints_movements_due_days_and_a_line_to_sign(db, actors, ids) -> None:  # type: ignore[no-untyped-def]
    request = StatementRequest(ids["f"], date(2026, 9, 1), date(2026, 10, 31))
    pdf = make_document(db, actors["cashier"], request, now=NOW)  # whoever may print a member report
    text = flat(pdf)
    for expected in ("Statement of account", "周八", "M0", "138****0006", "2026-09-01 – 2026-10-31", "Owed at the start",
                     "Repayment (WeChat Pay)", "On credit", "CF2", "2026-11-09", "CF1", "2026-08-31", "Owed at the end",
                     "Member's signature", "For the shop", "I have checked this statement: on 2026-10-31 I owe ¥300.00."):
        assert expected in text, expected
    assert "¥200.00" in text and "¥150.00" in text and "¥50.00" in text
    assert "13800000006" not in text
    assert page_count(pdf) == 1 and all(fonts(pdf).values())
    with read_session(db) as session:
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "report.statement")
                                .order_by(AuditEvent.id.desc())).first()
        assert (event.staff_name, event.entity_id, event.details["first"], event.details["last"]) == (
            actors["cashier"].name, ids["f"], "2026-09-01", "2026-10-31")


def test_a_statement_crossing_a_write_off_and_full_phones_for_the_owner(db, actors, ids) -> None:  # type: ignore[no-untyped-def]
    request = StatementRequest(ids["g"], date(2026, 10, 1), date(2026, 10, 31), full_phones=True)
    with pytest.raises(PermissionDenied):
        make_document(db, actors["supervisor"], request, now=NOW)
    text = flat(make_document(db, actors["owner"], request, now=NOW))
    assert "138 0000 0007" in text
    assert "Written off: 联系不上" in text and "¥380.00" in text and "¥280.00" in text  # before and after it
    with read_session(db) as session:
        assert session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "report.statement")
                               .order_by(AuditEvent.id.desc())).first().details["full_phones"] is True


def test_a_statement_of_nothing_says_so(db, actors, ids) -> None:  # type: ignore[no-untyped-def]
    text = flat(make_document(db, actors["owner"], StatementRequest(ids["a"], date(2026, 10, 1), date(2026, 10, 31)), now=NOW))
    assert "Nothing was bought on credit or paid back in this period." in text
    assert "Nothing is owed at the end of the period." in text and "No credit account" in text
    with pytest.raises(InvalidInput, match="ends before it starts"):
        make_document(db, actors["owner"], StatementRequest(ids["a"], date(2026, 10, 31), date(2026, 10, 1)), now=NOW)


def test_only_those_who_see_the_shops_figures_print_liability_and_aging(db, actors) -> None:  # type: ignore[no-untyped-def]
    for request in (LiabilityRequest(date(2026, 10, 1)), AgingRequest()):
        with pytest.raises(PermissionDenied, match="may not see the shop's figures"):
            make_document(db, actors["cashier"], request, now=NOW)


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("CRMDESK_TEST_POSTGRES_URL"), reason="set CRMDESK_TEST_POSTGRES_URL to a scratch database")
def test_the_figures_are_the_same_on_postgresql(db) -> None:  # type: ignore[no-untyped-def]
    url = os.environ["CRMDESK_TEST_POSTGRES_URL"]
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # everything in the scratch database goes
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    pg = open_database(sa.make_url(url))
    try:
        shop = build_money_shop(pg)
        for month in (date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)):
            assert liability(pg, month) == liability(db, month)
        for day in (date(2026, 10, 19), date(2026, 10, 20), TODAY):
            on_pg, on_sqlite = aging(pg, day), aging(db, day)
            assert on_pg.aging == on_sqlite.aging and on_pg.bucket_members == on_sqlite.bucket_members
            assert [(line.name, line.buckets, line.oldest_overdue_days) for line in on_pg.lines] == [
                (line.name, line.buckets, line.oldest_overdue_days) for line in on_sqlite.lines]
        with read_session(pg) as session:
            statement = money_figures.statement_of_account(session, shop["ids"]["f"], date(2026, 9, 1), date(2026, 10, 31), today=TODAY)
        assert (statement.opening_fen, statement.closing_fen, [line.balance_fen for line in statement.lines]) == (
            20_000, 30_000, [15_000, 30_000])
    finally:
        pg.dispose()


# --------------------------------------------------------------------------- the command line


def run(capsys, path: Path, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(["--lang", "zh_CN", "report", *argv, "--db", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_commands_print_each_document(qapp, capsys, money_shop, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = money_shop["path"]
    out = tmp_path / "liability.pdf"
    code, stdout, err = run(capsys, path, "liability", "--month", "2026-10", "--out", str(out), "--json")
    assert code == 0, err
    assert json.loads(stdout)["path"] == str(out.resolve())
    assert "¥715.00" in all_text(out.read_bytes()) and all(fonts(out.read_bytes()).values())

    out = tmp_path / "aging.pdf"
    code, _, err = run(capsys, path, "aging", "--as-of", "2026-11-18", "--out", str(out))
    assert code == 0, err
    assert "吴九" in all_text(out.read_bytes())

    out = tmp_path / "statement.pdf"
    code, _, err = run(capsys, path, "statement", "M00000006", "--from", "2026-09-01", "--to", "2026-10-31", "--out", str(out))
    assert code == 0, err
    text = all_text(out.read_bytes())
    assert "周八" in text and "CF2" in text


def test_the_commands_refuse_with_a_reason(qapp, capsys, money_shop, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = money_shop["path"]
    out = tmp_path / "x.pdf"
    code, _, err = run(capsys, path, "liability", "--month", "2026-10", "--out", str(out), "--as", "收银员小李")
    assert code == 5 and "收银员小李 may not see the shop's figures" in err and not out.exists()
    code, _, err = run(capsys, path, "liability", "--month", "2026-13", "--out", str(out))
    assert code == 2 and "is not a month" in err
    code, _, err = run(capsys, path, "aging", "--as-of", "11/18", "--out", str(out))
    assert code == 2 and "--as-of needs a date" in err
    code, _, err = run(capsys, path, "statement", "M00000006", "--from", "2026-10-31", "--to", "2026-10-01", "--out", str(out))
    assert code == 2 and not out.exists()


def test_entries_of_the_credit_ledger_match_the_shop(db, ids) -> None:  # type: ignore[no-untyped-def]
    """The data set is what its docstring says: every debt equals its ledger, and L owes nothing."""
    with read_session(db) as session:
        for member_id in ids.values():
            assert credit.info(session, member_id, today=TODAY).owed_fen == credit.ledger_sum(session, member_id)
        assert credit.ledger_sum(session, ids["l"]) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(CreditEntry).where(CreditEntry.kind == CreditKind.WRITE_OFF)) == 1
