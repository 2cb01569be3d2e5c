"""The member list's queries: every filter, every sort key, stable paging, counts and smart groups."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crmdesk.models import AuditEvent, Gender, Member, MemberStatus, SavedFilter, Tier
from crmdesk.services import demo, store
from crmdesk.services import member_query as mq
from crmdesk.services.member_query import MemberFilter
from crmdesk.services.members import MemberInput, register
from crmdesk.services.uow import Actor, read_session, unit_of_work

UTC = timezone.utc
CHINA = timezone(timedelta(hours=8))
TODAY = date(2026, 11, 22)


# --------------------------------------------------------------------------- a small store with known members


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Actor, dict[str, int]]]:
    """A store with six members whose every listed field is set by hand (read only: shared by the module)."""
    database = open_database(sqlite_url(tmp_path_factory.mktemp("people") / "store.sqlite"))
    with unit_of_work(database) as session:
        owner = store.initialise(session, owner_name="王店长", owner_password="owner-secret-1")
    specs = [
        # name, phone, birthday, joined, tags, status, tier rank, visits, spend fen, last visit (UTC)
        ("张三", "13812345678", date(1980, 3, 5), date(2021, 1, 10), ("老顾客",), MemberStatus.ACTIVE, 0, 10, 50_000,
         datetime(2026, 11, 20, 2, 0, tzinfo=UTC)),
        ("李四", "13912345678", date(1990, 3, 25), date(2022, 6, 1), ("宝妈", "生鲜"), MemberStatus.ACTIVE, 1, 40, 300_000,
         datetime(2026, 6, 30, 17, 0, tzinfo=UTC)),  # 2026-07-01 01:00 in China
        ("王五", "15012345678", date(1975, 12, 1), date(2023, 2, 14), (), MemberStatus.FROZEN, 2, 3, 1_200_000,
         datetime(2025, 1, 1, 4, 0, tzinfo=UTC)),
        ("Anna Smith", "18612340000", None, date(2024, 8, 8), ("生鲜",), MemberStatus.ACTIVE, None, 0, 0, None),
        ("安琪", "13712349999", date(2000, 7, 7), date(2025, 5, 5), ("老顾客", "团购"), MemberStatus.CLOSED, 0, 1, 1_000,
         datetime(2025, 5, 5, 3, 0, tzinfo=UTC)),
        ("张伟", "", date(1985, 3, 9), date(2026, 1, 1), (), MemberStatus.ACTIVE, 3, 99, 5_000_000,
         datetime(2026, 11, 21, 12, 0, tzinfo=UTC)),
    ]
    ids: dict[str, int] = {}
    with unit_of_work(database) as session:
        tiers = {rank: tier_id for tier_id, rank in session.execute(sa.select(Tier.id, Tier.rank))}
        for name, phone, birthday, joined, tags, status, rank, visits, spend, last in specs:
            profile = register(session, owner, MemberInput(name=name, phone=phone, birthday=birthday, joined_on=joined,
                                                           tags=tags), today=TODAY)
            session.execute(sa.update(Member).where(Member.id == profile.id).values(
                status=status, tier_id=tiers[rank] if rank is not None else None, visit_count=visits,
                total_spend_fen=spend, last_visit_at=last))
            ids[name] = profile.id
    yield database, owner, ids
    database.dispose()


@pytest.fixture
def people(shop: tuple[Database, Actor, dict[str, int]]) -> dict[str, int]:
    return shop[2]


@pytest.fixture
def pdb(shop: tuple[Database, Actor, dict[str, int]]) -> Database:
    return shop[0]


def names(db: Database, flt: MemberFilter, sort: str = "member_no", descending: bool = False) -> list[str]:
    with read_session(db) as session:
        rows = mq.page(session, flt, sort, descending, 0, 100, zone=CHINA)
        assert mq.count(session, flt, zone=CHINA) == len(rows)
    return [row.name for row in rows]


def test_no_filter_lists_everyone_in_member_number_order(pdb, people) -> None:
    assert names(pdb, MemberFilter()) == ["张三", "李四", "王五", "Anna Smith", "安琪", "张伟"]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (MemberFilter(statuses=(MemberStatus.ACTIVE,)), ["张三", "李四", "Anna Smith", "张伟"]),
        (MemberFilter(statuses=(MemberStatus.FROZEN, MemberStatus.CLOSED)), ["王五", "安琪"]),
        (MemberFilter(tags=("生鲜",)), ["李四", "Anna Smith"]),
        (MemberFilter(tags=("宝妈", "团购")), ["李四", "安琪"]),  # any of
        (MemberFilter(tags=("没有这个标签",)), []),
        (MemberFilter(joined_from=date(2023, 2, 14)), ["王五", "Anna Smith", "安琪", "张伟"]),
        (MemberFilter(joined_to=date(2022, 6, 1)), ["张三", "李四"]),
        (MemberFilter(joined_from=date(2022, 1, 1), joined_to=date(2024, 12, 31)), ["李四", "王五", "Anna Smith"]),
        (MemberFilter(birth_month=3), ["张三", "李四", "张伟"]),
        (MemberFilter(birth_month=7), ["安琪"]),
        # Local days: 李四's last visit was 2026-06-30 17:00 UTC, which is 1 July in China.
        (MemberFilter(last_visit_from=date(2026, 7, 1)), ["张三", "李四", "张伟"]),
        (MemberFilter(last_visit_to=date(2026, 6, 30)), ["王五", "安琪"]),
        (MemberFilter(last_visit_from=date(2026, 11, 20), last_visit_to=date(2026, 11, 20)), ["张三"]),
        (MemberFilter(spend_min_fen=300_000), ["李四", "王五", "张伟"]),
        (MemberFilter(spend_max_fen=1_000), ["Anna Smith", "安琪"]),
        (MemberFilter(spend_min_fen=1_000, spend_max_fen=300_000), ["张三", "李四", "安琪"]),
        (MemberFilter(text="张"), ["张三", "张伟"]),
        (MemberFilter(text="zs"), ["张三"]),
        (MemberFilter(text="zhang"), ["张三", "张伟"]),
        (MemberFilter(text="anna"), ["Anna Smith"]),
        (MemberFilter(text="1381"), ["张三"]),  # phone prefix
        (MemberFilter(text="5678"), ["张三", "李四", "王五"]),  # last four digits
        (MemberFilter(statuses=(MemberStatus.ACTIVE,), tags=("老顾客",), birth_month=3), ["张三"]),
    ],
)
def test_each_filter(pdb, people, flt: MemberFilter, expected: list[str]) -> None:
    assert names(pdb, flt) == expected


def test_tier_filter(pdb, people) -> None:
    with read_session(pdb) as session:
        tiers = {t.rank: t.id for t in mq.list_tiers(session)}
    assert names(pdb, MemberFilter(tier_ids=(tiers[0],))) == ["张三", "安琪"]
    assert names(pdb, MemberFilter(tier_ids=(tiers[2], tiers[3]))) == ["王五", "张伟"]


def test_text_sort_by_name_uses_pinyin(pdb, people) -> None:
    # annasmith, anqi, lisi, wangwu, zhangsan, zhangwei: dictionary order, not code points.
    assert names(pdb, MemberFilter(), "name") == ["Anna Smith", "安琪", "李四", "王五", "张三", "张伟"]


def test_rows_carry_tags_cards_and_tier_names(shop, people) -> None:
    from crmdesk.services import cards

    pdb, owner, _ = shop
    with unit_of_work(pdb) as session:
        number = cards.issue(session, owner, people["李四"])
    with read_session(pdb) as session:
        row = next(r for r in mq.page(session, MemberFilter(), "member_no") if r.id == people["李四"])
    assert row.tags == ("宝妈", "生鲜") and row.card_number == number and row.tier_name == "银卡"
    assert row.phone == "+8613912345678" and row.gender is Gender.UNKNOWN and row.visit_count == 40


def test_impossible_filters_are_refused(pdb, people) -> None:
    for flt, field in (
        (MemberFilter(joined_from=date(2026, 1, 2), joined_to=date(2026, 1, 1)), "joined"),
        (MemberFilter(last_visit_from=date(2026, 1, 2), last_visit_to=date(2026, 1, 1)), "last_visit"),
        (MemberFilter(birth_month=13), "birth_month"),
        (MemberFilter(spend_min_fen=500, spend_max_fen=100), "spend"),
    ):
        with read_session(pdb) as session, pytest.raises(InvalidInput) as caught:
            mq.count(session, flt)
        assert caught.value.field == field
    with read_session(pdb) as session, pytest.raises(InvalidInput, match="Cannot sort by 'shoe_size'"):
        mq.page(session, MemberFilter(), "shoe_size")


def test_filter_round_trips_through_json() -> None:
    import json

    flt = MemberFilter(statuses=["active", MemberStatus.FROZEN], tags=["老顾客", " 宝妈 "], tier_ids=[2], joined_from=date(2024, 1, 1),
                       joined_to=date(2024, 12, 31), birth_month=3, last_visit_from=date(2026, 1, 1),
                       last_visit_to=date(2026, 11, 1), spend_min_fen=100, spend_max_fen=99_999, text="  张  三 ")
    assert flt.statuses == (MemberStatus.ACTIVE, MemberStatus.FROZEN) and flt.tags == ("老顾客", "宝妈") and flt.text == "张 三"
    assert MemberFilter.from_dict(json.loads(json.dumps(flt.to_dict()))) == flt
    assert MemberFilter().to_dict() == {} and MemberFilter.from_dict({"from_a_newer_version": 1}) == MemberFilter()
    with pytest.raises(InvalidInput, match="unreadable"):
        MemberFilter.from_dict({"joined_from": "yesterday"})
    with pytest.raises(InvalidInput):
        MemberFilter.from_dict({"statuses": ["asleep"]})


def test_describe_names_every_criterion() -> None:
    flt = MemberFilter(statuses=(MemberStatus.ACTIVE,), tags=("宝妈",), tier_ids=(3,), birth_month=5, spend_min_fen=10_050, text="zs")
    described = dict(flt.describe(tier_names={3: "金卡"}))
    assert described == {
        "Name or phone starts with": "zs", "Status": "Active", "Tags (any of)": "宝妈", "Tier": "金卡",
        "Birthday in month": "5", "Spend at least": "¥100.50",
    }
    assert MemberFilter().describe() == []


@pytest.mark.parametrize(("text", "fen"), [("100", 10_000), ("99.5", 9_950), ("¥1,200.05", 120_005), ("", None), ("０", 0)])
def test_parse_yuan(text: str, fen: int | None) -> None:
    assert mq.parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["abc", "1e5", "12 34", "NaN"])
def test_parse_yuan_refuses_non_amounts(text: str) -> None:
    with pytest.raises(InvalidInput, match="not an amount in yuan"):
        mq.parse_yuan(text)


@pytest.mark.parametrize(("text", "message"), [("1.234", "more than two decimals"), ("12,5", "ambiguous")])
def test_parse_yuan_in_filters_follows_the_one_money_rule(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        mq.parse_yuan(text)


# --------------------------------------------------------------------------- a demo store: sorting and paging


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path: Path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    database = open_database(sqlite_url(path))
    with unit_of_work(database) as session:
        demo.fill_demo_store(session, members=200, seed=3, today=TODAY)
    yield database
    database.dispose()


def _python_key(sort: str):  # type: ignore[no-untyped-def]
    def key(member: Member):  # type: ignore[no-untyped-def]
        value = {
            "member_no": member.member_no, "name": member.name_pinyin, "phone": member.phone, "tier": member.tier_id,
            "points": member.points_balance, "visits": member.visit_count, "spend": member.total_spend_fen,
            "last_visit": member.last_visit_at, "joined": member.joined_on, "birthday": member.birthday,
            "status": member.status.value, "owed": member.credit_owed_fen,
        }[sort]
        return (value is not None, value, member.id)  # SQLite puts NULL first in ascending order
    return key


@pytest.mark.parametrize("sort", list(mq.SORT_KEYS))
@pytest.mark.parametrize("descending", [False, True])
def test_every_sort_key_orders_like_python_with_id_as_tie_breaker(demo_db, sort: str, descending: bool) -> None:
    with read_session(demo_db) as session:
        everyone = list(session.scalars(sa.select(Member)))
        expected = [m.id for m in sorted(everyone, key=_python_key(sort), reverse=descending)]
        got = [row.id for row in mq.page(session, MemberFilter(), sort, descending, 0, 1000)]
    assert got == expected


def test_pages_join_up_exactly_from_either_end(demo_db) -> None:
    flt = MemberFilter(statuses=(MemberStatus.ACTIVE, MemberStatus.FROZEN))
    with read_session(demo_db) as session:
        total = mq.count(session, flt)
        for sort, descending in (("tier", False), ("visits", True), ("last_visit", False), ("status", True)):
            whole = [r.id for r in mq.page(session, flt, sort, descending, 0, total)]
            assert len(whole) == total and len(set(whole)) == total
            for size in (7, 50):
                pages = []
                for offset in range(0, total, size):
                    chunk = mq.page(session, flt, sort, descending, offset, size, total=total)  # the back half read backwards
                    assert len(chunk) == min(size, total - offset)
                    pages += [r.id for r in chunk]
                assert pages == whole, (sort, descending, size)
            assert [r.id for r in mq.page(session, flt, sort, descending, total - 3, 10, total=total)] == whole[-3:]
            streamed = [r.id for chunk in mq.iter_pages(session, flt, sort, descending, size=64) for r in chunk]
            assert streamed == whole


def test_counts_match_the_data(demo_db) -> None:
    with read_session(demo_db) as session:
        everyone = list(session.scalars(sa.select(Member)))
        assert mq.count(session, MemberFilter()) == len(everyone) == 200
        active = sum(m.status is MemberStatus.ACTIVE for m in everyone)
        assert mq.count(session, MemberFilter(statuses=(MemberStatus.ACTIVE,))) == active
        march = sum(m.birth_month == 3 for m in everyone)
        assert mq.count(session, MemberFilter(birth_month=3)) == march
        big = sum(m.total_spend_fen >= 500_000 for m in everyone)
        assert mq.count(session, MemberFilter(spend_min_fen=500_000)) == big
        tags = mq.all_tags(session)
        assert tags == sorted(set(demo.TAG_POOL) & set(tags)) and len(tags) >= 5
        with_tag = sum(tags[0] in m.tags for m in everyone)
        assert mq.count(session, MemberFilter(tags=(tags[0],))) == with_tag


def test_tier_order_follows_rank_even_when_ids_do_not(demo_db) -> None:
    with unit_of_work(demo_db) as session:
        # Swap the ranks of 银卡 and 金卡 (through a free rank, ranks are unique).
        session.execute(sa.update(Tier).where(Tier.name == "银卡").values(rank=99))
        session.execute(sa.update(Tier).where(Tier.name == "金卡").values(rank=1))
        session.execute(sa.update(Tier).where(Tier.name == "银卡").values(rank=2))
    try:
        with read_session(demo_db) as session:
            ordered = [r.tier_name for r in mq.page(session, MemberFilter(), "tier", False, 0, 1000)]
            rank_of = {t.name: t.rank for t in mq.list_tiers(session)}
        ranks = [rank_of.get(name, -1) for name in ordered]  # no tier (-1) first, as NULL sorts on SQLite
        assert ranks == sorted(ranks) and rank_of["金卡"] == 1 and {1, 2} <= set(ranks)
    finally:
        with unit_of_work(demo_db) as session:
            session.execute(sa.update(Tier).where(Tier.name == "金卡").values(rank=99))
            session.execute(sa.update(Tier).where(Tier.name == "银卡").values(rank=1))
            session.execute(sa.update(Tier).where(Tier.name == "金卡").values(rank=2))


# --------------------------------------------------------------------------- smart groups


def test_saved_group_round_trip_stays_current(db, owner) -> None:
    flt = MemberFilter(tags=("生鲜",))
    with unit_of_work(db) as session:
        register(session, owner, MemberInput(name="李四", phone="13912345678", tags=("宝妈", "生鲜")), today=TODAY)
        register(session, owner, MemberInput(name="王五", phone="13912345679", tags=("老顾客",)), today=TODAY)
        saved = mq.save_filter(session, owner, "  生鲜 爱好者 ", flt)
    assert saved.name == "生鲜 爱好者" and saved.filter == flt
    with unit_of_work(db) as session:
        register(session, owner, MemberInput(name="赵六", phone="13600000001", tags=("生鲜",)), today=TODAY)
    with read_session(db) as session:
        [group] = mq.list_filters(session)
        assert group.filter == flt
        assert mq.count(session, group.filter) == 2  # the new member is in the group at once
        assert mq.get_filter(session, "生鲜 爱好者").id == group.id
        actions = list(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "saved_filter")))
    assert actions == ["saved_filter.add"]


def test_saving_under_the_same_name_replaces_unless_told_not_to(db, owner) -> None:
    with unit_of_work(db) as session:
        first = mq.save_filter(session, owner, "三月生日", MemberFilter(birth_month=3))
    with unit_of_work(db) as session:
        second = mq.save_filter(session, owner, "三月生日", MemberFilter(birth_month=3, statuses=(MemberStatus.ACTIVE,)))
    assert second.id == first.id
    with unit_of_work(db) as session, pytest.raises(Conflict, match="already exists"):
        mq.save_filter(session, owner, "三月生日", MemberFilter(), overwrite=False)
    with read_session(db) as session:
        [group] = mq.list_filters(session)
        assert group.filter.statuses == (MemberStatus.ACTIVE,)
        assert session.scalar(sa.select(sa.func.count()).select_from(SavedFilter)) == 1


@pytest.mark.parametrize(("name", "message"), [("", "Give the group a name"), ("   ", "Give the group a name"),
                                               ("组" * 61, "at most 60 characters")])
def test_group_names_must_be_given_and_short(db, owner, name: str, message: str) -> None:
    with unit_of_work(db) as session, pytest.raises(InvalidInput, match=message):
        mq.save_filter(session, owner, name, MemberFilter())


def test_deleting_a_group(db, owner, supervisor, cashier) -> None:
    with unit_of_work(db) as session:
        saved = mq.save_filter(session, supervisor, "老顾客", MemberFilter(tags=("老顾客",)))
    for attempt in (lambda s: mq.save_filter(s, cashier, "我的", MemberFilter()), lambda s: mq.delete_filter(s, cashier, saved.id)):
        with unit_of_work(db) as session, pytest.raises(PermissionDenied, match="may not browse the member list"):
            attempt(session)
    with unit_of_work(db) as session:
        mq.delete_filter(session, owner, saved.id)
    with read_session(db) as session:
        assert mq.list_filters(session) == []
        with pytest.raises(NotFound):
            mq.get_filter(session, "老顾客")
    with unit_of_work(db) as session, pytest.raises(NotFound):
        mq.delete_filter(session, owner, saved.id)
