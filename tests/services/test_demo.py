"""The demo store generator: reproducible, refuses to overwrite, and internally consistent."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import phonenumbers
import pytest
import sqlalchemy as sa

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import Conflict, InvalidInput
from crmdesk.models import (
    AuditEvent,
    Card,
    CardStatus,
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintFollowUp,
    ComplaintResolution,
    ComplaintStatus,
    CollectionNote,
    Coupon,
    CreditAccount,
    CreditEntry,
    CreditKind,
    CreditSettlement,
    DrawOrder,
    Member,
    MemberTag,
    MemberStatus,
    Offer,
    OfferKind,
    PointsEntry,
    PointsKind,
    Purchase,
    PurchaseKind,
    PurchaseLine,
    Remedy,
    Role,
    Staff,
    SurveyResponse,
    SurveyScore,
    Tier,
    WalletBonusRule,
    WalletEntry,
    WalletKind,
)
from crmdesk.services import complaint_figures, complaints, credit, members, money_settings, offers, store, surveys, wallet
from crmdesk.services.auth import authenticate
from crmdesk.services.cards import is_valid_issued_number
from crmdesk.services.complaints import AttachmentInput, ComplaintInput, FollowUpInput, RemedyInput
from crmdesk.services.demo import (
    DEMO_OWNER_NAME,
    DEMO_OWNER_PASSWORD,
    DEMO_STAFF,
    DemoSummary,
    fill_demo_store,
)
from crmdesk.services.search_keys import name_search_keys, phone_last4
from crmdesk.services.surveys import SurveyInput
from crmdesk.services.uow import Actor, read_session, unit_of_work
from tests.conftest import OWNER_PASSWORD

TODAY = date(2026, 11, 22)
MEMBERS = 150
CHINA = timezone(timedelta(hours=8))
AS_OF = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=CHINA)  # the demo is a snapshot at this instant
LAST_FULL_MONTH = "2026-10"
FEEDBACK_FROM = datetime(2025, 11, 1, tzinfo=CHINA)  # complaints and surveys: this month and the twelve before
# Every table the generator writes, for dumps and counts.
DEMO_TABLES = (Member, Card, Purchase, PurchaseLine, PointsEntry, Complaint, ComplaintEvent, ComplaintResolution,
               ComplaintFollowUp, Offer, SurveyResponse, SurveyScore, WalletBonusRule, WalletEntry, CreditAccount, CreditEntry,
               CreditSettlement, CollectionNote)
S = ComplaintStatus


def fill(db: Database, *, members: int = MEMBERS, seed: int = 1, force: bool = False) -> DemoSummary:
    with unit_of_work(db) as session:
        return fill_demo_store(session, members=members, seed=seed, today=TODAY, force=force)


def dump(db: Database, model: type) -> list[tuple]:
    table = model.__table__
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]


def counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            model.__tablename__: conn.scalar(sa.select(sa.func.count()).select_from(model.__table__))
            for model in (*DEMO_TABLES, Staff, Tier, AuditEvent, Coupon, ComplaintAttachment)
        }


def local(instant: datetime) -> datetime:
    return instant.astimezone(CHINA)


@pytest.fixture
def second_db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(sqlite_url(tmp_path / "second.sqlite"))
    yield database
    database.dispose()


# --------------------------------------------------------------------------- reproducibility


def test_same_seed_and_day_give_identical_rows(db: Database, second_db: Database) -> None:
    first = fill(db, seed=7)
    second = fill(second_db, seed=7)
    assert first == second
    for model in DEMO_TABLES:
        assert dump(db, model) == dump(second_db, model), model.__tablename__
    # Staff too, apart from the salted hashes.
    staff = lambda database: [row[:3] + row[-1:] for row in dump(database, Staff)]  # noqa: E731
    assert staff(db) == staff(second_db)


def test_another_seed_gives_other_rows(db: Database, second_db: Database) -> None:
    fill(db, seed=1)
    fill(second_db, seed=2)
    for model in (Member, Purchase, PointsEntry, Complaint, SurveyResponse, SurveyScore):
        assert dump(db, model) != dump(second_db, model), model.__tablename__


def test_summary_counts_what_was_written(db: Database) -> None:
    summary = fill(db)
    written = counts(db)
    assert summary == DemoSummary(
        members=MEMBERS,
        cards=written["card"],
        purchases=written["purchase"],
        purchase_lines=written["purchase_line"],
        points_entries=written["points_entry"],
        complaints=written["complaint"],
        offers=written["offer"],
        staff=1 + len(DEMO_STAFF),
        survey_responses=written["survey_response"],
        wallet_entries=written["wallet_entry"],
        credit_accounts=written["credit_account"],
        credit_entries=written["credit_entry"],
    )


def test_member_count_must_be_sensible(db: Database) -> None:
    for bad in (0, -5, True):
        with pytest.raises(InvalidInput):
            fill(db, members=bad)
    assert counts(db)["staff"] == 0  # nothing was set up either


# --------------------------------------------------------------------------- existing data


def test_refuses_a_database_with_data_and_leaves_it_alone(db: Database) -> None:
    fill(db)
    before = counts(db)
    members_before = dump(db, Member)
    with pytest.raises(Conflict) as caught:
        fill(db, seed=2)
    assert "--force" in caught.value.message and "--db" in caught.value.message
    assert counts(db) == before
    assert dump(db, Member) == members_before


def test_force_replaces_the_store_data_but_keeps_staff_settings_and_tiers(db: Database) -> None:
    fill(db)
    staff_before, tiers_before = dump(db, Staff), dump(db, Tier)
    summary = fill(db, members=60, seed=2, force=True)
    after = counts(db)
    assert after["member"] == summary.members == 60
    assert after["purchase"] == summary.purchases
    assert after["audit_event"] == 0  # the old store's log went with its data
    assert summary.staff == 0
    assert dump(db, Staff) == staff_before
    assert dump(db, Tier) == tiers_before
    with read_session(db) as session:
        assert store.get_store(session).is_demo
    # What is there now is exactly what the new seed makes in an empty database.
    fresh = open_database(sqlite_url(Path(str(db.sqlite_path) + ".fresh.sqlite")))
    try:
        fill(fresh, members=60, seed=2)
        for model in (Member, Purchase, PointsEntry):
            assert dump(db, model) == dump(fresh, model)
    finally:
        fresh.dispose()


def test_force_clears_what_the_services_hang_off_members_and_complaints(db: Database, owner: Actor) -> None:
    """A complaint worked to closure through the services (photo, goodwill, coupon, follow-up) and a
    survey reference members, purchases, points and offers: --force must clear them in the right order."""
    now = datetime(2026, 11, 18, 10, tzinfo=CHINA)
    with unit_of_work(db) as session:
        member_id = members.register(session, owner, members.MemberInput(name="张三", phone="13812345678")).id
        voucher = offers.create_offer(session, owner, offers.OfferInput(
            name="10元致歉券", kind=OfferKind.AMOUNT_OFF, reduction_fen=1_000, coupon_required=True))
    with unit_of_work(db) as session:
        logged = complaints.log_complaint(session, owner, ComplaintInput(
            channel="counter", category="quality", description="买的排骨有异味", member_id=member_id,
            attachments=(AttachmentInput("receipt.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),)), now=now)
    with unit_of_work(db) as session:
        complaints.resolve(session, owner, logged.id, RemedyInput(
            (Remedy.APOLOGY,), goodwill_points=200, coupon_offer_id=voucher.id, customer_told=True), now=now)
    later = now + timedelta(days=1)
    with unit_of_work(db) as session:
        complaints.record_follow_up(session, owner, logged.id, FollowUpInput(satisfaction=4), now=later)
        complaints.close(session, owner, logged.id, now=later)
        surveys.add_response(session, owner, SurveyInput(scores=(("checkout", 2), ("attitude", 4)), member_id=member_id,
                                                         comment="排队太久"), now=later)
    before = counts(db)
    assert all(before[table] for table in ("complaint_resolution", "complaint_follow_up", "complaint_attachment",
                                           "coupon", "survey_score"))

    summary = fill(db, members=60, seed=2, force=True)
    after = counts(db)
    assert after["coupon"] == after["complaint_attachment"] == after["audit_event"] == 0
    assert after["member"] == summary.members == 60
    # What is there now is exactly what the seed makes in an empty store with the same staff.
    fresh = open_database(sqlite_url(Path(str(db.sqlite_path) + ".fresh.sqlite")))
    try:
        with unit_of_work(fresh) as session:
            store.initialise(session, owner_name=owner.name, owner_password=OWNER_PASSWORD, store_name="好邻居超市")
        fill(fresh, members=60, seed=2)
        for model in DEMO_TABLES:
            assert dump(db, model) == dump(fresh, model), model.__tablename__
    finally:
        fresh.dispose()


def test_walk_in_complaints_alone_count_as_data(db: Database, owner: Actor) -> None:
    with unit_of_work(db) as session:
        session.add(Complaint(received_at=AS_OF, channel="counter", category="other", walk_in_name="张女士"))
    with pytest.raises(Conflict):
        fill(db)


# --------------------------------------------------------------------------- staff


def test_empty_database_gets_the_demo_owner_and_staff(db: Database) -> None:
    summary = fill(db)
    assert summary.staff == 4
    owner = authenticate(db, DEMO_OWNER_NAME, DEMO_OWNER_PASSWORD)
    assert owner.role is Role.OWNER
    for name, role, pin in DEMO_STAFF:
        assert authenticate(db, name, pin).role is role
    with read_session(db) as session:
        info = store.get_store(session)
        assert info.is_demo
        assert "演示" in info.store_name
        assert info.card_prefix == "29"
        created = session.scalars(sa.select(Staff.created_at)).all()
        first_join = session.scalar(sa.select(sa.func.min(Member.created_at)))
    assert all(at < first_join for at in created)  # the shop opened before anyone joined


def test_initialised_database_keeps_its_staff_and_adds_none(db: Database, owner: Actor) -> None:
    staff_before = dump(db, Staff)
    summary = fill(db)
    assert summary.staff == 0
    assert dump(db, Staff) == staff_before
    with read_session(db) as session:
        info = store.get_store(session)
        cashiers = set(session.scalars(sa.select(Purchase.cashier_id).distinct()))
    assert not info.is_demo
    assert info.store_name == "好邻居超市"
    assert cashiers == {owner.staff_id}  # the only account there is rings everything up


# --------------------------------------------------------------------------- consistency of one demo store


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = open_database(sqlite_url(tmp_path_factory.mktemp("demo") / "demo.sqlite"))
    fill(database, members=300, seed=3)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def rows(demo: Database) -> dict[str, list]:
    # A plain session: closing it detaches the rows with their values (a rollback would expire them).
    with demo.sessions() as session:
        return {
            "members": session.scalars(sa.select(Member).order_by(Member.id)).all(),
            "cards": session.scalars(sa.select(Card).order_by(Card.id)).all(),
            "purchases": session.scalars(sa.select(Purchase).order_by(Purchase.id)).all(),
            "lines": session.scalars(sa.select(PurchaseLine).order_by(PurchaseLine.id)).all(),
            "points": session.scalars(sa.select(PointsEntry).order_by(PointsEntry.id)).all(),
            "complaints": session.scalars(sa.select(Complaint).order_by(Complaint.id)).all(),
            "events": session.scalars(sa.select(ComplaintEvent).order_by(ComplaintEvent.id)).all(),
            "resolutions": session.scalars(sa.select(ComplaintResolution).order_by(ComplaintResolution.id)).all(),
            "follow_ups": session.scalars(sa.select(ComplaintFollowUp).order_by(ComplaintFollowUp.id)).all(),
            "responses": session.scalars(sa.select(SurveyResponse).order_by(SurveyResponse.id)).all(),
            "scores": session.scalars(sa.select(SurveyScore)).all(),
            "staff": session.scalars(sa.select(Staff).order_by(Staff.id)).all(),
            "channels": [c.code for c in complaints.list_channels(session)],
            "categories": {c.code: c for c in complaints.list_categories(session)},
            "dimensions": [d.code for d in surveys.list_dimensions(session)],
            "offers": session.scalars(sa.select(Offer).order_by(Offer.id)).all(),
            "tiers": session.scalars(sa.select(Tier).order_by(Tier.min_spend_fen)).all(),
            "tags": session.execute(sa.select(MemberTag.member_id, MemberTag.tag)).all(),
            "rules": session.scalars(sa.select(WalletBonusRule).order_by(WalletBonusRule.id)).all(),
            "wallet": session.scalars(sa.select(WalletEntry).order_by(WalletEntry.at, WalletEntry.id)).all(),
            "accounts": session.scalars(sa.select(CreditAccount).order_by(CreditAccount.member_id)).all(),
            "credit": session.scalars(sa.select(CreditEntry).order_by(CreditEntry.at, CreditEntry.id)).all(),
            "settlements": session.scalars(sa.select(CreditSettlement).order_by(CreditSettlement.id)).all(),
            "notes": session.scalars(sa.select(CollectionNote).order_by(CollectionNote.at)).all(),
        }


def test_members_look_real(rows: dict[str, list]) -> None:
    members = rows["members"]
    assert [m.member_no for m in members] == [f"M{m.id:08d}" for m in members]
    phones = [m.phone for m in members]
    assert len(set(phones)) == len(phones)
    for member in members:
        assert member.phone.startswith("+86") and len(member.phone) == 14
        assert phonenumbers.is_valid_number(phonenumbers.parse(member.phone)), member.phone
        assert member.phone_last4 == phone_last4(member.phone)
        assert (member.name_pinyin, member.name_initials) == name_search_keys(member.name)
        assert TODAY - timedelta(days=5 * 366) <= member.joined_on < TODAY
        assert member.created_at.tzinfo is not None and local(member.created_at).date() == member.joined_on
        assert member.created_at <= member.updated_at < AS_OF
        if member.birthday is not None:
            birthday = member.birthday
            age = TODAY.year - birthday.year - ((TODAY.month, TODAY.day) < (birthday.month, birthday.day))
            assert 18 <= age <= 80
        assert (member.consent_at is None) == (member.marketing_consent.value == "none")
    assert {tag for _, tag in rows["tags"]} <= {"老顾客", "宝妈", "附近小区", "生鲜", "团购", "上班族", "退休"}
    assert len({member_id for member_id, _ in rows["tags"]}) > len(members) // 4
    surnames = Counter(m.name[0] for m in members)
    assert surnames.most_common(1)[0][0] in "王李张刘陈"
    assert Counter(m.status for m in members)[MemberStatus.ACTIVE] > 0.9 * len(members)


def test_each_member_has_exactly_one_active_card_unless_closed(rows: dict[str, list]) -> None:
    cards_by_member = defaultdict(list)
    for card in rows["cards"]:
        assert is_valid_issued_number(card.number) and card.number.startswith("29"), card.number
        assert not card.imported
        assert (card.ended_at is None) == (card.status is CardStatus.ACTIVE)
        cards_by_member[card.member_id].append(card)
    numbers = [card.number for card in rows["cards"]]
    assert len(set(numbers)) == len(numbers)
    for member in rows["members"]:
        cards = sorted(cards_by_member[member.id], key=lambda card: card.issued_at)
        active = [card for card in cards if card.status is CardStatus.ACTIVE]
        if member.status is MemberStatus.CLOSED:
            assert not active and cards[-1].status is CardStatus.CLOSED
        else:
            assert len(active) == 1 and cards[-1] is active[0]
        assert cards[0].issued_at == member.created_at
        for older, newer in zip(cards, cards[1:]):
            assert older.status in (CardStatus.REPLACED, CardStatus.LOST)
            assert older.ended_at == newer.issued_at


def test_purchases_are_plausible(rows: dict[str, list]) -> None:
    members = {m.id: m for m in rows["members"]}
    purchases = {p.id: p for p in rows["purchases"]}
    sales = [p for p in purchases.values() if p.kind is PurchaseKind.SALE]
    assert 15 * len(members) < len(sales) < 40 * len(members)
    receipts = Counter((p.till, p.receipt_no) for p in purchases.values())
    assert max(receipts.values()) == 1
    for purchase in purchases.values():
        at = local(purchase.occurred_at)
        assert 8 <= at.hour < 22, at
        assert AS_OF - timedelta(days=731) <= purchase.occurred_at < AS_OF
        assert purchase.occurred_at >= members[purchase.member_id].created_at
        assert purchase.created_at == purchase.occurred_at
        assert purchase.till in {"01", "02", "03"}
        assert purchase.receipt_no.startswith(at.strftime("%Y%m%d"))
        # Paid the usual ways; wholly from the wallet or on credit, nothing is left to pay another way.
        paid_otherwise = purchase.amount_fen - purchase.wallet_fen - purchase.credit_fen
        assert purchase.payment_method in ({"微信", "支付宝", "现金", "银行卡"} if paid_otherwise else {""}), purchase
        assert purchase.cashier_id is not None and purchase.amount_fen > 0
    amounts = sorted(p.amount_fen for p in sales)
    assert 2000 <= amounts[len(amounts) // 2] <= 15000  # the median basket is ¥20-¥150
    weekend = sum(local(p.occurred_at).weekday() >= 5 for p in sales) / 2
    weekday = sum(local(p.occurred_at).weekday() < 5 for p in sales) / 5
    assert weekend > weekday


def test_refunds_never_exceed_their_sale(rows: dict[str, list]) -> None:
    purchases = {p.id: p for p in rows["purchases"]}
    refunds = [p for p in purchases.values() if p.kind is PurchaseKind.REFUND]
    assert refunds
    for refund in refunds:
        sale = purchases[refund.refund_of_id]
        assert sale.kind is PurchaseKind.SALE and sale.member_id == refund.member_id
        assert 0 < refund.amount_fen <= sale.amount_fen
        assert refund.occurred_at > sale.occurred_at
    assert all(p.refund_of_id is None for p in purchases.values() if p.kind is PurchaseKind.SALE)
    assert max(Counter(r.refund_of_id for r in refunds).values()) == 1


def test_item_lines_add_up_to_their_purchase(rows: dict[str, list]) -> None:
    purchases = {p.id: p for p in rows["purchases"]}
    totals: dict[int, int] = defaultdict(int)
    lines_per_purchase: Counter[int] = Counter()
    for line in rows["lines"]:
        totals[line.purchase_id] += line.amount_fen
        lines_per_purchase[line.purchase_id] += 1
        assert line.amount_fen > 0 and line.quantity_milli > 0
        assert line.category in {"生鲜", "蔬果", "粮油", "零食", "饮料", "日用品", "烟酒", "乳制品"}
    for purchase_id, total in totals.items():
        assert purchases[purchase_id].kind is PurchaseKind.SALE
        assert total == purchases[purchase_id].amount_fen
    assert max(lines_per_purchase.values()) <= 6
    share = len(totals) / sum(p.kind is PurchaseKind.SALE for p in purchases.values())
    assert 0.2 < share < 0.4


def test_points_balance_is_the_ledger_sum_and_never_negative(rows: dict[str, list]) -> None:
    entries = defaultdict(list)
    for entry in rows["points"]:
        entries[entry.member_id].append(entry)
    for member in rows["members"]:
        ledger = sorted(entries[member.id], key=lambda e: (e.at, e.id))
        running = 0
        for entry in ledger:
            running += entry.points
            assert running >= 0, (member.id, entry.id)
        assert member.points_balance == running >= 0


def test_points_entries_follow_the_rules(rows: dict[str, list]) -> None:
    purchases = {p.id: p for p in rows["purchases"]}
    multipliers = {tier.points_multiplier_pct for tier in rows["tiers"]}
    kinds = Counter(entry.kind for entry in rows["points"])
    assert kinds[PointsKind.EARN] and kinds[PointsKind.REDEEM] and kinds[PointsKind.EXPIRY]
    for entry in rows["points"]:
        assert entry.at < AS_OF
        if entry.kind is PointsKind.EARN:
            sale = purchases[entry.purchase_id]
            assert sale.kind is PurchaseKind.SALE and entry.at == sale.occurred_at
            assert entry.points in {sale.amount_fen // 100 * pct // 100 for pct in multipliers}
            assert entry.expires_on == date(local(sale.occurred_at).year + 1, 12, 31)
        elif entry.kind is PointsKind.REDEEM:
            assert entry.points < 0 and entry.points % 100 == 0
        elif entry.kind is PointsKind.REFUND_REVERSAL:
            assert entry.points < 0 and purchases[entry.purchase_id].kind is PurchaseKind.REFUND
        elif entry.kind is PointsKind.EXPIRY:
            assert entry.points < 0
            assert (local(entry.at).month, local(entry.at).day, local(entry.at).hour) == (1, 1, 0)
        else:
            assert entry.kind in (PointsKind.GOODWILL, PointsKind.ADJUSTMENT)


def test_no_expired_points_are_left_in_a_balance(rows: dict[str, list]) -> None:
    """Replay each ledger first-in-first-out: whatever is left must not have expired."""
    entries = defaultdict(list)
    for entry in rows["points"]:
        entries[entry.member_id].append(entry)
    for member_id, ledger in entries.items():
        lots: list[list] = []  # [expires_on, points left], oldest first
        for entry in sorted(ledger, key=lambda e: (e.at, e.id)):
            if entry.points > 0:
                lots.append([entry.expires_on, entry.points])
                continue
            owed = -entry.points
            while owed:
                used = min(owed, lots[0][1])
                lots[0][1] -= used
                owed -= used
                if not lots[0][1]:
                    lots.pop(0)
            if entry.kind is PointsKind.EXPIRY:
                # Expiry takes exactly what expired by the end of last year, nothing more.
                assert all(lot[0] >= local(entry.at).date() for lot in lots), member_id
        assert all(expires_on >= TODAY for expires_on, _ in lots), member_id


def test_tier_matches_twelve_month_net_spend(rows: dict[str, list]) -> None:
    since = AS_OF - timedelta(days=365)
    spend: dict[int, int] = defaultdict(int)
    for purchase in rows["purchases"]:
        if purchase.occurred_at >= since:
            sign = 1 if purchase.kind is PurchaseKind.SALE else -1
            spend[purchase.member_id] += sign * purchase.amount_fen
    tiers = rows["tiers"]
    for member in rows["members"]:
        qualifying = [t for t in tiers if t.min_spend_fen <= max(spend[member.id], 0)]
        assert member.tier_id == max(qualifying, key=lambda t: t.min_spend_fen).id, member.id
    assert len({m.tier_id for m in rows["members"]}) >= 2


def test_complaints_have_consistent_timelines(rows: dict[str, list]) -> None:
    found = rows["complaints"]
    assert len(found) >= 36
    assert sum(c.member_id is None for c in found) >= 2
    staff_ids = {s.id for s in rows["staff"]}
    events = defaultdict(list)
    for event in rows["events"]:
        events[event.complaint_id].append(event)
    # The event kinds the services write for each move.
    kinds = {S.NEW: {"logged"}, S.ASSIGNED: {"assigned"}, S.IN_PROGRESS: {"status"}, S.RESOLVED: {"resolved"},
             S.FOLLOWED_UP: {"followed_up"}, S.CLOSED: {"closed", "closed_without_follow_up"}}
    for complaint in found:
        assert complaint.channel in rows["channels"]
        assert complaint.category in rows["categories"]
        assert FEEDBACK_FROM <= complaint.received_at < AS_OF
        # Deadlines exactly as complaints.log_complaint sets them (default settings).
        assert complaint.first_response_due == complaint.received_at + timedelta(hours=24)
        days = rows["categories"][complaint.category].resolution_days
        assert complaint.resolution_due == complaints.resolution_due_for(complaint.received_at, days)
        assert complaint.created_at == complaint.received_at
        assert complaint.created_by_id in staff_ids
        assert (complaint.owner_staff_id is None) == (complaint.status is S.NEW)
        if complaint.member_id is None:
            assert complaint.walk_in_name or complaint.channel in ("box", "letter")
        timeline = sorted(events[complaint.id], key=lambda e: e.id)
        assert timeline[0].kind == "logged" and timeline[0].at == complaint.received_at
        assert (timeline[0].from_status, timeline[0].to_status) == (None, S.NEW)
        for before, after in zip(timeline, timeline[1:]):
            assert after.from_status is before.to_status and after.at >= before.at
            assert after.to_status in complaints.TRANSITIONS[after.from_status], complaint.id
        assert all(e.kind in kinds[e.to_status] and e.staff_id in staff_ids for e in timeline)
        assert all(e.at < AS_OF and e.note for e in timeline)
        assert timeline[-1].to_status is complaint.status
        reached = {e.to_status: e.at for e in timeline}
        answered = [e.at for e in timeline if e.to_status in (S.IN_PROGRESS, S.RESOLVED)]
        assert complaint.first_response_at == (answered[0] if answered else None)
        assert complaint.resolved_at == reached.get(S.RESOLVED)
        assert complaint.closed_at == reached.get(S.CLOSED)
    statuses = Counter(c.status for c in found)
    assert statuses[S.CLOSED] > len(found) / 2
    assert sum(statuses[s] for s in complaints.OPEN_STATUSES) >= 5


def test_complaints_spread_over_thirteen_months_with_repeat_complainants(rows: dict[str, list]) -> None:
    months = Counter(local(c.received_at).strftime("%Y-%m") for c in rows["complaints"])
    assert len(months) == 13 and min(months.values()) >= 1
    by_member = Counter(c.member_id for c in rows["complaints"] if c.member_id is not None)
    assert sum(n >= 2 for n in by_member.values()) >= 3


def test_resolutions_and_follow_ups_agree_with_the_status(rows: dict[str, list]) -> None:
    resolutions = defaultdict(list)
    for resolution in rows["resolutions"]:
        resolutions[resolution.complaint_id].append(resolution)
    follow_ups = defaultdict(list)
    for follow_up in rows["follow_ups"]:
        follow_ups[follow_up.complaint_id].append(follow_up)
    closing = {e.complaint_id: e.kind for e in rows["events"] if e.to_status is S.CLOSED}
    entries = {e.id: e for e in rows["points"]}
    staff_ids = {s.id for s in rows["staff"]}
    for complaint in rows["complaints"]:
        if complaint.status in complaints.OPEN_STATUSES:
            assert not resolutions[complaint.id] and not follow_ups[complaint.id]
            continue
        [resolution] = resolutions[complaint.id]
        assert resolution.at == complaint.resolved_at and resolution.staff_id in staff_ids
        kinds = [Remedy(kind) for kind in resolution.remedies]
        assert kinds and kinds == sorted(kinds, key=list(Remedy).index)
        assert (resolution.refund_fen > 0) == (Remedy.REFUND in kinds)
        assert resolution.note and resolution.coupon_id is None
        assert (resolution.goodwill_points > 0) == (Remedy.GOODWILL in kinds) == (resolution.points_entry_id is not None)
        if resolution.points_entry_id is not None:
            entry = entries[resolution.points_entry_id]
            assert (entry.kind, entry.complaint_id, entry.member_id, entry.points, entry.at) == (
                PointsKind.GOODWILL, complaint.id, complaint.member_id, resolution.goodwill_points, resolution.at)
        followed_up = complaint.status is S.FOLLOWED_UP or closing.get(complaint.id) == "closed"
        if followed_up:
            [follow_up] = follow_ups[complaint.id]
            assert follow_up.resolution_id == resolution.id and 1 <= follow_up.satisfaction <= 5
            assert resolution.at <= follow_up.done_at < AS_OF and follow_up.staff_id in staff_ids
        else:
            assert not follow_ups[complaint.id]
    # Every goodwill entry in the ledger belongs to a resolution.
    linked = {r.points_entry_id for r in rows["resolutions"]}
    assert {e.id for e in rows["points"] if e.kind is PointsKind.GOODWILL} == linked - {None} != set()
    assert Counter(closing.values())["closed_without_follow_up"] >= 1


def test_a_handful_of_open_complaints_are_overdue(demo: Database) -> None:
    with read_session(demo) as session:
        overdue = complaints.list_complaints(session, complaints.ComplaintFilter(overdue=True), now=AS_OF)
        board = complaints.board_counts(session, AS_OF)
    assert 5 <= len(overdue) == board.overdue <= 12
    unanswered = [c for c in overdue if c.response_overdue]
    late = [c for c in overdue if c.first_response_at is not None and c.resolution_due <= AS_OF]
    assert len(unanswered) >= 2 and len(late) >= 3


def test_last_full_months_complaint_figures_are_real(demo: Database) -> None:
    with read_session(demo) as session:
        figures = complaint_figures.monthly_figures(session, LAST_FULL_MONTH, now=AS_OF)
        months = [complaint_figures.add_months(date(2025, 11, 1), n) for n in range(13)]
        year = [complaint_figures.monthly_figures(session, month, now=AS_OF) for month in months]
        total = session.scalar(sa.select(sa.func.count()).select_from(Complaint))
    assert figures.received >= 3
    assert sum(c.count for c in figures.by_category) == figures.received == sum(c.count for c in figures.by_channel)
    assert timedelta(0) < figures.median_first_response < timedelta(days=3)
    assert timedelta(0) < figures.median_resolution < timedelta(days=10)
    assert figures.first_response_on_time.denominator > 0 and figures.resolved_on_time.denominator > 0
    assert figures.follow_up_done.numerator > 0
    assert figures.satisfaction_count > 0 and 1 <= figures.satisfaction_mean <= 5
    assert figures.repeat_members and all(r.in_month >= 1 and r.in_window >= 2 for r in figures.repeat_members)
    assert figures.came_back_resolved.denominator > 0
    assert sum(f.received for f in year) == total  # the thirteen months hold every complaint
    assert all(f.received for f in year)


def test_surveys_cover_thirteen_months_and_every_active_dimension(rows: dict[str, list]) -> None:
    responses = rows["responses"]
    joined = {m.id: m.created_at for m in rows["members"]}
    answers: dict[int, dict[str, int]] = defaultdict(dict)
    for score in rows["scores"]:
        assert 1 <= score.score <= 5
        answers[score.response_id][score.dimension] = score.score
    assert all(set(answers[r.id]) == set(rows["dimensions"]) for r in responses)
    assert len({local(r.taken_at).strftime("%Y-%m") for r in responses}) == 13
    for response in responses:
        assert FEEDBACK_FROM <= response.taken_at < AS_OF and 8 <= local(response.taken_at).hour < 22
        assert response.channel in rows["channels"] and response.created_at == response.taken_at
        if response.member_id is not None:
            assert joined[response.member_id] < response.taken_at
    with_member = sum(r.member_id is not None for r in responses)
    assert 0.3 * len(responses) < with_member < 0.8 * len(responses)
    commented = sum(bool(r.comment) for r in responses)
    assert 0 < commented < 0.25 * len(responses)
    assert Counter(r.channel for r in responses).most_common(1)[0][0] == "counter"


def test_survey_summary_flags_the_checkout_drop_of_the_last_full_month(demo: Database) -> None:
    with read_session(demo) as session:
        summary = surveys.monthly_summary(session, LAST_FULL_MONTH)
        months = [complaint_figures.add_months(date(2025, 12, 1), n) for n in range(10)]
        earlier = [surveys.monthly_summary(session, month) for month in months]
    assert summary.responses >= 30
    assert 0.5 < summary.satisfaction_rate.value < 0.95
    assert [d.code for d in summary.alerts] == ["checkout"]
    checkout = next(d for d in summary.dimensions if d.code == "checkout")
    assert checkout.change < -0.5 and checkout.count == summary.responses
    # Before it, the months wobble but nothing drops far enough to alarm.
    assert all(not month.alerts and month.responses >= 30 for month in earlier)


def test_offers_are_a_realistic_handful(rows: dict[str, list]) -> None:
    offers = rows["offers"]
    assert 4 <= len(offers) <= 6
    assert any(o.points_cost == 500 for o in offers)
    assert any(o.min_tier_id is not None for o in offers)
    for offer in offers:
        assert offer.starts_on is not None and offer.ends_on is not None and offer.starts_on <= offer.ends_on
        assert offer.created_at < AS_OF or offer.starts_on >= TODAY


# --------------------------------------------------------------------------- stored value and credit


def test_every_members_cached_money_is_their_ledgers_sum(demo: Database) -> None:
    with read_session(demo) as session:
        everyone = session.scalars(sa.select(Member)).all()
        wallets = {m: (int(p), int(b)) for m, p, b in session.execute(
            sa.select(WalletEntry.member_id, sa.func.sum(WalletEntry.principal_fen), sa.func.sum(WalletEntry.bonus_fen))
            .group_by(WalletEntry.member_id))}
        debts = dict(session.execute(sa.select(CreditEntry.member_id, sa.func.sum(CreditEntry.amount_fen)).group_by(CreditEntry.member_id)).all())
        for member in everyone:
            assert (member.wallet_principal_fen, member.wallet_bonus_fen) == wallets.get(member.id, (0, 0)), member.name
            assert member.credit_owed_fen == debts.get(member.id, 0), member.name
        for member in everyone[:40]:  # and as the services read them
            assert wallet.balance(session, member.id) == wallet.ledger_sums(session, member.id)
            assert credit.info(session, member.id, today=TODAY).owed_fen == credit.ledger_sum(session, member.id)


def test_stored_value_follows_the_bonus_rules_the_draw_and_the_cap(rows: dict[str, list]) -> None:
    members_by_id = {m.id: m for m in rows["members"]}
    purchases = {p.id: p for p in rows["purchases"]}
    rules = rows["rules"]
    assert [(r.min_topup_fen, r.bonus_fen) for r in rules][:2] == [(20_000, 2_000), (50_000, 6_000)]
    assert len(rules) == 3 and rules[2].ends_on is not None and rules[2].ends_on < TODAY  # last Spring Festival's, over
    holders = {e.member_id for e in rows["wallet"]}
    assert 0.15 * len(members_by_id) <= len(holders) <= 0.25 * len(members_by_id)
    cap = money_settings.NAMED_CARD_CAP_FEN
    balance: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    topups = splits = 0
    for entry in rows["wallet"]:  # in time order: never below zero, never above the cap
        state = balance[entry.member_id]
        if entry.kind is WalletKind.TOPUP:
            topups += 1
            day = local(entry.at).date()
            reached = [r for r in rules if r.min_topup_fen <= entry.principal_fen and (r.starts_on is None or r.starts_on <= day)
                       and (r.ends_on is None or day <= r.ends_on)]
            best = max(reached, key=lambda r: (r.bonus_fen, r.min_topup_fen), default=None)
            assert (entry.bonus_rule_id, entry.bonus_fen) == ((best.id, best.bonus_fen) if best else (None, 0))
            assert entry.payment_method in wallet.TOPUP_METHODS and entry.staff_id is not None and entry.purchase_id is None
        else:
            assert entry.kind is WalletKind.PAYMENT
            sale = purchases[entry.purchase_id]
            assert sale.member_id == entry.member_id and sale.occurred_at == entry.at and sale.kind is PurchaseKind.SALE
            assert sale.wallet_fen == -(entry.principal_fen + entry.bonus_fen) > 0 and sale.refund_of_id is None
            holder = type("Holder", (), {"wallet_principal_fen": state[0], "wallet_bonus_fen": state[1]})()
            draw = wallet._split(holder, sale.wallet_fen, DrawOrder.PROPORTIONAL)  # type: ignore[arg-type]
            assert (-entry.principal_fen, -entry.bonus_fen) == (draw.principal_fen, draw.bonus_fen)
            splits += sale.wallet_fen < sale.amount_fen
        state[0] += entry.principal_fen
        state[1] += entry.bonus_fen
        assert min(state) >= 0 and sum(state) <= cap
        assert entry.at >= members_by_id[entry.member_id].created_at and entry.at < AS_OF
    assert topups >= len(holders) and splits >= 3
    assert sum(p.wallet_fen > 0 for p in purchases.values()) == sum(e.kind is WalletKind.PAYMENT for e in rows["wallet"])


def test_credit_accounts_charges_and_repayments_settled_oldest_first(rows: dict[str, list]) -> None:
    members_by_id = {m.id: m for m in rows["members"]}
    purchases = {p.id: p for p in rows["purchases"]}
    accounts = {a.member_id: a for a in rows["accounts"]}
    assert 12 <= len(accounts) <= 60
    assert all(20_000 <= a.limit_fen <= 100_000 and a.term_days == 30 for a in accounts.values())
    settled_by: dict[int, list[CreditSettlement]] = defaultdict(list)
    for settlement in rows["settlements"]:
        settled_by[settlement.settled_by_id].append(settlement)
    open_: dict[int, list[list]] = defaultdict(list)  # member -> [[due, id, outstanding]]
    late = on_time = 0
    for entry in rows["credit"]:  # replayed in time order, as credit._settle saw the ledger
        member = members_by_id[entry.member_id]
        account = accounts[entry.member_id]
        assert account.granted_at <= entry.at < AS_OF and member.status is MemberStatus.ACTIVE
        charges = open_[entry.member_id]
        if entry.kind is CreditKind.CHARGE:
            sale = purchases[entry.purchase_id]
            assert sale.credit_fen == entry.amount_fen > 0 and sale.occurred_at == entry.at and sale.member_id == member.id
            assert entry.due_on == local(entry.at).date() + timedelta(days=30)
            charges.append([entry.due_on, entry.id, entry.amount_fen])
            assert sum(c[2] for c in charges) <= account.limit_fen  # never beyond the limit: no approvals in the demo
            continue
        assert entry.kind in (CreditKind.REPAYMENT, CreditKind.WRITE_OFF) and entry.amount_fen < 0
        left = -entry.amount_fen
        expected = []
        for charge in sorted(charges):  # the oldest due first, then the oldest entry
            if not left:
                break
            part = min(left, charge[2])
            expected.append((charge[1], part))
            charge[2] -= part
            left -= part
            if charge[0] < local(entry.at).date():
                late += 1
            else:
                on_time += 1
        assert left == 0, "repaid more than was owed"
        assert [(s.charge_id, s.amount_fen) for s in settled_by[entry.id]] == expected
        open_[entry.member_id] = [c for c in charges if c[2]]
    for member_id, charges in open_.items():
        assert sum(c[2] for c in charges) == members_by_id[member_id].credit_owed_fen
    assert on_time > late > 0  # most pay on time, some late
    assert sum(p.credit_fen > 0 for p in purchases.values()) == sum(e.kind is CreditKind.CHARGE for e in rows["credit"])
    # The owner wrote one debt off and stopped that member's credit.
    (written,) = [e for e in rows["credit"] if e.kind is CreditKind.WRITE_OFF]
    assert written.reason and written.staff_id is not None and accounts[written.member_id].frozen
    assert members_by_id[written.member_id].credit_owed_fen == 0


def test_some_members_are_overdue_in_every_bucket_with_collection_notes(demo: Database, rows: dict[str, list]) -> None:
    with read_session(demo) as session:
        aging = credit.aging(session, as_of=TODAY)
        overdue = credit.overdue_members(session, as_of=TODAY)
        broken = credit.broken_promises(session, today=TODAY)
    assert all(aging.buckets[bucket] > 0 for bucket in credit.BUCKETS), aging.buckets
    assert {credit.bucket_of(row.oldest_overdue_days) for row in overdue} == set(credit.BUCKETS) - {"current"}
    notes = rows["notes"]
    promised = [n for n in notes if n.promised_on is not None]
    assert len(promised) >= 2 and any(n.promised_on < TODAY for n in promised) and any(n.promised_on >= TODAY for n in promised)
    assert len(broken) == 1 and broken[0].promise_passed
    for note in notes:
        assert note.at < AS_OF and note.text and note.channel in credit.NOTE_CHANNELS and note.staff_id is not None
        assert note.promised_on is None or (note.promised_on >= local(note.at).date() and note.promised_fen > 0)
