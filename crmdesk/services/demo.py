"""The demo store: a realistic, reproducible neighbourhood supermarket to try crmdesk on.

``fill_demo_store`` writes two years of history for a shop in China: members
with plausible names, phones and birthdays, their cards, purchases (some with
item lines, a few refunded), the points ledger that follows from them,
complaints with their timelines, and a handful of offers.

Reproducible: the data depends only on ``(seed, today, members)``. Every random
choice comes from ``random.Random`` generators seeded from ``seed`` (one per
part, so changing how complaints are made does not reshuffle the purchases),
and every timestamp is set explicitly, because the models' defaults read the
clock.

The demo is a snapshot taken at local midnight starting ``today``: everything
happened before that instant, so nothing lies in the future when the app opens.

Points rule used: each sale earns one point per full yuan paid, times the
multiplier of the tier the member held at that moment (net spend over the 365
days before the sale); points expire on 31 December of the year after they were
earned and are written off by an EXPIRY entry on 1 January, oldest first.

Fast on purpose: rows are built as plain dicts with their primary keys assigned
here (so they can reference each other) and written with bulk inserts.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from stdnum import ean

from crmdesk.errors import Conflict, InvalidInput
from crmdesk.models import (
    AuditEvent,
    Card,
    CardStatus,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Gender,
    MarketingConsent,
    MemberChange,
    MemberTag,
    Member,
    MemberStatus,
    Offer,
    OfferKind,
    PointsEntry,
    PointsKind,
    Priority,
    Purchase,
    PurchaseKind,
    PurchaseLine,
    Role,
    STORE_ROW_ID,
    Staff,
    StoreSettings,
    Tier,
)
from crmdesk.services import store
from crmdesk.services.cards import make_card_number
from crmdesk.services.members import refresh_member_totals
from crmdesk.services.search_keys import name_search_keys, phone_last4
from crmdesk.services.staff import new_staff
from crmdesk.texts import QT_TRANSLATE_NOOP

DEMO_OWNER_NAME = "店长"
DEMO_OWNER_PASSWORD = "demo1234"
DEMO_STORE_NAME = "邻里生活超市（演示）"
DEMO_CASHIER_PIN = "1111"
# (name, role, PIN) of the accounts a fresh demo store gets besides its owner.
DEMO_STAFF = (
    ("值班经理", Role.SUPERVISOR, "2222"),
    ("收银员小王", Role.CASHIER, DEMO_CASHIER_PIN),
    ("收银员小李", Role.CASHIER, "1112"),
)

MAX_MEMBERS = 200_000
INSERT_CHUNK = 5_000

UTC = timezone.utc
# China has one time zone and no daylight saving since 1991, so a fixed offset is
# exact, and unlike ZoneInfo it needs no tz database (Windows has none built in).
CHINA = timezone(timedelta(hours=8), "CST")
OPENS_HOUR, CLOSES_HOUR = 8, 22

HISTORY_DAYS = 730  # purchases cover the two years before today
MEMBERSHIP_YEARS = 5  # members joined over the last five years
COMPLAINT_DAYS = 182  # complaints cover the last six months
# Mean visits over the two years of a member there all along; with the shorter
# windows of recent joiners and the members who never come back, that makes about
# 25 purchases per member, a few hundred for the most loyal.
FULL_WINDOW_VISITS = 38
MAX_VISITS = 400
REDEEM_CHANCE = 0.12  # per visit with at least 500 spare points
TIER_WINDOW = timedelta(days=365)  # tier = net spend over the last 365 days


@dataclass(frozen=True)
class DemoSummary:
    """What was written. ``staff`` counts the accounts created, not those kept."""

    members: int
    cards: int
    purchases: int
    purchase_lines: int
    points_entries: int
    complaints: int
    offers: int
    staff: int


# --------------------------------------------------------------------------- data pools

# Surnames with their approximate share per 10,000 people (2020 census order);
# a few two-character surnames keep the search code honest.
SURNAMES = (
    ("王", 710), ("李", 700), ("张", 670), ("刘", 540), ("陈", 460), ("杨", 310), ("黄", 220),
    ("赵", 200), ("吴", 200), ("周", 190), ("徐", 150), ("孙", 150), ("马", 140), ("朱", 130),
    ("胡", 120), ("郭", 120), ("何", 110), ("高", 110), ("林", 100), ("罗", 90), ("郑", 80),
    ("梁", 80), ("谢", 70), ("宋", 60), ("唐", 60), ("许", 60), ("韩", 60), ("冯", 60), ("邓", 60),
    ("曹", 50), ("彭", 50), ("曾", 50), ("肖", 50), ("田", 50), ("董", 50), ("袁", 40), ("潘", 40),
    ("于", 40), ("蒋", 40), ("蔡", 40), ("余", 40), ("杜", 40), ("叶", 40), ("程", 40), ("苏", 30),
    ("魏", 30), ("吕", 30), ("丁", 30), ("任", 30), ("沈", 30), ("姚", 30), ("卢", 30), ("姜", 30),
    ("崔", 30), ("钟", 30), ("谭", 30), ("陆", 30), ("汪", 30), ("范", 30), ("金", 30), ("石", 30),
    ("廖", 30), ("贾", 30), ("夏", 30), ("韦", 20), ("付", 20), ("方", 20), ("白", 20), ("邹", 20),
    ("孟", 20), ("熊", 20), ("秦", 20), ("邱", 20), ("江", 20), ("尹", 20), ("薛", 20), ("闫", 20),
    ("段", 20), ("雷", 20), ("侯", 20), ("龙", 20), ("史", 20), ("陶", 20), ("黎", 20), ("贺", 20),
    ("顾", 20), ("毛", 20), ("郝", 20), ("龚", 20), ("邵", 20), ("万", 20), ("钱", 20), ("严", 20),
    ("欧阳", 3), ("司马", 1), ("上官", 1), ("诸葛", 1),
)
GIVEN_CHARS = {
    Gender.MALE: "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林阳建国峰亮成志文博晨东海威鸿铭轩昊然睿泽",
    Gender.FEMALE: "芳娜敏静丽艳娟霞秀英燕玲桂丹萍红玉兰梅琳雪婷慧颖倩洁佳琪欣怡璐晶莉蕾薇悦萱瑶雅涵诗梦",
}
# Whole given names typical of a generation: (born before, {gender: names}).
GENERATION_NAMES = (
    (1965, {Gender.MALE: ("建国", "建华", "国强", "国庆", "卫东", "志刚", "德胜", "福生", "振华", "玉山"),
            Gender.FEMALE: ("秀英", "桂英", "桂兰", "玉兰", "淑珍", "秀兰", "凤英", "淑英", "玉珍", "翠花")}),
    (1990, {Gender.MALE: ("伟", "磊", "军", "勇", "涛", "斌", "超", "海涛", "志强", "建军", "晓东", "鹏"),
            Gender.FEMALE: ("丽", "静", "敏", "艳", "娟", "丽娟", "晓燕", "红梅", "海燕", "丹", "婷")}),
    (9999, {Gender.MALE: ("浩然", "子轩", "宇轩", "梓豪", "俊杰", "子豪", "一鸣", "思远", "博文", "皓轩"),
            Gender.FEMALE: ("欣怡", "子涵", "雨涵", "梓萱", "诗涵", "一诺", "思彤", "可馨", "佳怡", "梦瑶")}),
)
LATIN_GIVEN = {
    Gender.FEMALE: ("Anna", "Maria", "Emily", "Sophie", "Laura", "Olivia"),
    Gender.MALE: ("David", "John", "Michael", "Lucas", "Thomas", "Daniel"),
}
LATIN_SURNAMES = ("Smith", "Brown", "Wilson", "Garcia", "Martin", "Kim", "Schmidt", "Lee", "Wong", "Tanaka")
# Mainland mobile prefixes of the three carriers, all valid per libphonenumber.
MOBILE_PREFIXES = (
    "133", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "176",
    "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "198", "199",
)
NEIGHBOURHOODS = ("幸福里小区", "阳光花园", "锦绣家园", "和平新村", "翠湖苑", "东方名邸", "春晓小区", "金桥公寓")
TAG_POOL = ("老顾客", "宝妈", "附近小区", "生鲜", "团购", "上班族", "退休")
NOTES = (
    "喜欢买有机蔬菜", "需要送货上门，住6楼无电梯", "对花生过敏", "常买进口牛奶，到货请电话通知",
    "团购负责人，每周三集中下单", "行动不便，常由家人代购",
)
COMPANIES = ("华光科技有限公司", "盛达物流有限公司", "阳光幼儿园", "仁和医院后勤部", "新城物业管理有限公司")
EMAIL_DOMAINS = ("163.com", "126.com", "sina.com")
SOURCES = (("counter", 70), ("wechat", 22), ("event", 8))
# Weights per age band at the day the member joined.
AGE_BANDS = ((18, 29, 15), (30, 44, 32), (45, 59, 30), (60, 75, 23))

# Catalogue: (name, category, price in fen, sold by weight). Weighed goods are
# priced per kg and sold in grams (quantity_milli = grams).
PRODUCTS = (
    ("猪前腿肉", "生鲜", 2600, True), ("五花肉", "生鲜", 3200, True), ("鸡胸肉", "生鲜", 1800, True),
    ("草鱼", "生鲜", 1600, True), ("基围虾", "生鲜", 6800, True), ("牛腩", "生鲜", 7800, True),
    ("猪肋排", "生鲜", 4200, True), ("散装鸡蛋", "生鲜", 1160, True),
    ("西红柿", "蔬果", 598, True), ("黄瓜", "蔬果", 498, True), ("土豆", "蔬果", 398, True),
    ("大白菜", "蔬果", 238, True), ("青椒", "蔬果", 698, True), ("红富士苹果", "蔬果", 998, True),
    ("香蕉", "蔬果", 698, True), ("赣南脐橙", "蔬果", 898, True), ("巨峰葡萄", "蔬果", 1598, True),
    ("菠菜", "蔬果", 798, True),
    ("东北大米5kg", "粮油", 3990, False), ("调和油5L", "粮油", 6990, False), ("中筋面粉2.5kg", "粮油", 1690, False),
    ("鸡蛋挂面1kg", "粮油", 990, False), ("生抽500ml", "粮油", 890, False), ("老陈醋500ml", "粮油", 650, False),
    ("精制食盐400g", "粮油", 250, False),
    ("原味薯片70g", "零食", 790, False), ("夹心饼干", "零食", 990, False), ("雪饼大礼包", "零食", 1290, False),
    ("牛奶巧克力", "零食", 1890, False), ("每日坚果", "零食", 3990, False), ("辣条", "零食", 550, False),
    ("五香瓜子500g", "零食", 1290, False),
    ("矿泉水550ml", "饮料", 200, False), ("可乐330ml", "饮料", 300, False), ("冰红茶500ml", "饮料", 350, False),
    ("凉茶310ml", "饮料", 450, False), ("无糖气泡水", "饮料", 550, False), ("椰汁1L", "饮料", 890, False),
    ("抽纸3包装", "日用品", 1590, False), ("洗衣液2kg", "日用品", 3990, False), ("牙膏", "日用品", 1290, False),
    ("香皂", "日用品", 590, False), ("垃圾袋", "日用品", 890, False), ("洗洁精", "日用品", 990, False),
    ("洗发水", "日用品", 4590, False),
    ("青岛啤酒500ml", "烟酒", 590, False), ("二锅头500ml", "烟酒", 1500, False), ("黄酒500ml", "烟酒", 1200, False),
    ("香烟（软包）", "烟酒", 2300, False),
    ("纯牛奶250ml×16", "乳制品", 6000, False), ("鲜牛奶950ml", "乳制品", 1590, False),
    ("原味酸奶", "乳制品", 350, False), ("乳酸菌饮品", "乳制品", 250, False),
)
# How often each category ends up on a receipt.
CATEGORY_WEIGHTS = {"生鲜": 16, "蔬果": 22, "粮油": 9, "零食": 14, "饮料": 14, "日用品": 9, "烟酒": 5, "乳制品": 11}

TILLS = (("01", 45), ("02", 35), ("03", 20))
PAYMENTS_YOUNGER = (("微信", 55), ("支付宝", 30), ("现金", 7), ("银行卡", 8))
PAYMENTS_OLDER = (("微信", 45), ("支付宝", 12), ("现金", 33), ("银行卡", 10))
# Customers per opening hour, 08:00 to 21:00: a morning peak and a bigger evening one.
HOUR_WEIGHTS = (4, 7, 9, 8, 6, 5, 5, 6, 8, 10, 11, 9, 6, 3)

# Spring Festival (Chinese New Year's day); it moves with the lunar calendar.
SPRING_FESTIVAL = {
    2015: date(2015, 2, 19), 2016: date(2016, 2, 8), 2017: date(2017, 1, 28), 2018: date(2018, 2, 16),
    2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12), 2022: date(2022, 2, 1),
    2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
    2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
    2031: date(2031, 1, 23), 2032: date(2032, 2, 11), 2033: date(2033, 1, 31), 2034: date(2034, 2, 19),
    2035: date(2035, 2, 8), 2036: date(2036, 1, 28), 2037: date(2037, 2, 15), 2038: date(2038, 2, 4),
    2039: date(2039, 1, 24), 2040: date(2040, 2, 12),
}
FESTIVAL_RUN_UP_DAYS = 28

COMPLAINT_CHANNELS = (("counter", 45), ("phone", 25), ("online", 15), ("box", 10), ("letter", 5))
CHANNEL_LABELS = {"counter": "服务台", "phone": "电话", "online": "线上留言", "box": "意见箱", "letter": "来信"}
COMPLAINT_CATEGORIES = (
    ("quality", 22), ("expired", 14), ("price", 14), ("attitude", 14),
    ("waiting", 12), ("environment", 8), ("returns", 10), ("other", 6),
)
# (description, what the customer asks for); {fresh} {fruit} {packaged} name products.
COMPLAINT_TEXTS = {
    "quality": (
        ("昨天买的{fresh}回家发现有异味，不新鲜。", "退款或者换一份新的"),
        ("买的{fruit}里面一半是坏的，表面看不出来。", "退款"),
        ("{packaged}包装漏气，打开后已经受潮。", "换货"),
    ),
    "expired": (
        ("货架上的{packaged}已经过了保质期还在卖。", "下架并按规定赔偿"),
        ("买回家的{packaged}发现过期两天了。", "退款并赔偿"),
    ),
    "price": (
        ("{packaged}货架标价和结账价格不一致，多收了钱。", "退还差价"),
        ("促销牌写的满100减10，结账时没有减。", "补上优惠"),
    ),
    "attitude": (
        ("收银员态度不耐烦，问问题不理人。", "希望道歉并加强培训"),
        ("理货员说话很冲，让人很不舒服。", "希望店里处理"),
    ),
    "waiting": (
        ("晚上六点多只开了一个收银台，排队二十多分钟。", "高峰时多开收银台"),
        ("称重台没有人，等了很久。", "安排人手"),
    ),
    "environment": (
        ("生鲜区地面很滑，老人差点摔倒。", "及时清理地面"),
        ("门口电动车停得太乱，进出不方便。", "规范停车"),
        ("冷柜旁边有异味。", "加强清洁"),
    ),
    "returns": (
        ("没拆封的{packaged}想退，店员说不能退。", "按规定办理退货"),
        ("退款三天了还没到账。", "尽快退款"),
    ),
    "other": (
        ("希望能增加一些无糖的饮料和零食。", "增加品类"),
        ("会员积分好像少了，查不清楚。", "核对积分"),
        ("希望开通送货上门服务。", "提供送货上门"),
    ),
}
COMPLAINT_RESOLUTIONS = {
    "quality": "已为顾客办理退款，并通知生鲜部检查同批次商品。",
    "expired": "已下架同批次商品，按规定为顾客退款并赔偿。",
    "price": "已退还差价并更正价签。",
    "attitude": "已向顾客致歉，并对当班员工进行批评教育。",
    "waiting": "已调整高峰时段排班，增开收银台。",
    "environment": "已安排保洁加强巡查。",
    "returns": "已为顾客办理退货退款。",
    "other": "已记录顾客建议并反馈给店长。",
}
COMPLAINT_DEPARTMENTS = {
    "quality": "生鲜部", "expired": "食品部", "price": "收银部", "attitude": "前台",
    "waiting": "收银部", "environment": "后勤", "returns": "客服中心", "other": "客服中心",
}
# Categories where a related receipt helps, and where goodwill points are usual.
RECEIPT_CATEGORIES = frozenset({"quality", "expired", "price", "returns"})
GOODWILL_CATEGORIES = frozenset({"quality", "expired", "attitude", "waiting"})
# The normal road to closure; a complaint's status is how far along it got.
COMPLAINT_PATH = (
    ComplaintStatus.NEW, ComplaintStatus.ASSIGNED, ComplaintStatus.IN_PROGRESS,
    ComplaintStatus.RESOLVED, ComplaintStatus.FOLLOWED_UP, ComplaintStatus.CLOSED,
)


class _Weighted:
    """A weighted choice, with its cumulative weights worked out once (it is drawn from in hot loops)."""

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.values = [value for value, _ in pairs]
        self.cum_weights = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cum_weights[-1]

    def pick(self, rng: random.Random) -> Any:
        # What rng.choices does for one value, without building a list each time.
        return self.values[bisect.bisect_right(self.cum_weights, rng.random() * self.total)]


_SURNAMES = _Weighted(SURNAMES)
_SOURCES = _Weighted(SOURCES)
_AGE_BANDS = _Weighted([((low, high), weight) for low, high, weight in AGE_BANDS])
_PRODUCT_CATEGORIES = _Weighted(list(CATEGORY_WEIGHTS.items()))
_TILLS = _Weighted(TILLS)
_PAYMENTS_YOUNGER = _Weighted(PAYMENTS_YOUNGER)
_PAYMENTS_OLDER = _Weighted(PAYMENTS_OLDER)
_HOURS = _Weighted(list(zip(range(OPENS_HOUR, CLOSES_HOUR), HOUR_WEIGHTS, strict=True)))
_CHANNELS = _Weighted(COMPLAINT_CHANNELS)
_CATEGORIES = _Weighted(COMPLAINT_CATEGORIES)


def _item_code(number: int, weighed: bool) -> str:
    """Packaged goods carry a Chinese EAN-13 (69x); weighed goods a scale PLU."""
    if weighed:
        return f"PLU{number + 1:04d}"
    body = f"6901234{number + 1:05d}"
    return body + ean.calc_check_digit(body)


# Products by category: (item code, name, category, price, weighed).
_CATEGORY_PRODUCTS = {
    category: [(_item_code(n, product[3]), *product)
               for n, product in enumerate(PRODUCTS) if product[1] == category]
    for category in CATEGORY_WEIGHTS
}


# --------------------------------------------------------------------------- entry point


def fill_demo_store(
    session: Session, *, members: int = 2000, seed: int = 1, today: date, force: bool = False
) -> DemoSummary:
    """Fill the database with a demo store as it stands at the start of ``today``.

    Refuses a database that already holds members, purchases or complaints
    unless ``force``, which first deletes all store data (staff, settings and
    tiers stay). An empty, unset database also gets the demo owner and staff."""
    if isinstance(today, datetime) or not isinstance(today, date):
        raise TypeError("today must be a datetime.date")
    if isinstance(members, bool) or not isinstance(members, int) or not 1 <= members <= MAX_MEMBERS:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "The number of demo members must be from 1 to {max}."),
            field="members",
            max=MAX_MEMBERS,
        )
    if _has_store_data(session):
        if not force:
            raise Conflict(
                QT_TRANSLATE_NOOP(
                    "errors",
                    "This database already holds members, purchases or complaints. Use --force to replace "
                    "them with demo data, or --db to write the demo to another file.",
                )
            )
        _delete_store_data(session)

    calendar = _Calendar(today)
    staff_added = _ensure_staff(session, calendar)
    shop = _Shop.load(session)
    ids = _IdAllocator(session)

    people = _make_members(_stream(seed, "members"), calendar, members, ids)
    cards = _make_cards(_stream(seed, "cards"), calendar, people, shop.card_prefix, ids)
    purchases = _make_purchases(_stream(seed, "purchases"), calendar, people, shop, ids)
    complaints, events, goodwill = _make_complaints(_stream(seed, "complaints"), calendar, people, shop, ids)
    points = _make_ledger(_stream(seed, "points"), calendar, people, goodwill, shop, ids)
    _assign_tiers(calendar, people, shop.tiers)
    offers = _make_offers(calendar, shop, ids)

    # The big tables' rows become dicts only chunk by chunk, to keep memory down.
    _insert(session, Member, (person.row for person in people))
    _insert(session, MemberTag, ({"member_id": person.id, "tag": tag} for person in people for tag in person.tags))
    _insert(session, Card, cards)
    _insert(session, Purchase, (txn.row() for txn in purchases))
    line_count = _insert(session, PurchaseLine, _line_rows(purchases, ids))
    _insert(session, Complaint, complaints)
    _insert(session, ComplaintEvent, events)
    _insert(session, PointsEntry, (dict(zip(POINTS_COLUMNS, entry, strict=True)) for entry in points))
    _insert(session, Offer, offers)
    refresh_member_totals(session)
    _continue_card_serials(session, len(cards))
    return DemoSummary(
        members=len(people),
        cards=len(cards),
        purchases=len(purchases),
        purchase_lines=line_count,
        points_entries=len(points),
        complaints=len(complaints),
        offers=len(offers),
        staff=staff_added,
    )


def _continue_card_serials(session: Session, issued: int) -> None:
    # Cards crmdesk issues later take the serials after the demo's.
    session.execute(sa.update(StoreSettings).values(next_card_serial=issued + 1))


def _stream(seed: int, part: str) -> random.Random:
    # A string seed is hashed with SHA-512, so this is stable across runs and platforms.
    return random.Random(f"crmdesk-demo:{seed}:{part}")


# --------------------------------------------------------------------------- existing data


def _has_store_data(session: Session) -> bool:
    return any(
        session.scalar(sa.select(model.id).limit(1)) is not None for model in (Member, Purchase, Complaint)
    )


def _delete_store_data(session: Session) -> None:
    """Delete everything a store accumulates, children before parents; staff, settings and tiers stay."""
    purchase = Purchase.__table__
    for statement in (
        sa.delete(PurchaseLine.__table__),
        sa.delete(PointsEntry.__table__),
        sa.delete(purchase).where(purchase.c.refund_of_id.is_not(None)),  # refunds point at their sales
        sa.delete(purchase),
        sa.delete(ComplaintEvent.__table__),
        sa.delete(Complaint.__table__),
        sa.delete(Card.__table__),
        sa.delete(MemberTag.__table__),
        sa.delete(MemberChange.__table__),
        sa.delete(Member.__table__),
        sa.delete(Offer.__table__),
        sa.delete(AuditEvent.__table__),
    ):
        session.execute(statement)


class _IdAllocator:
    """Primary keys handed out here, so rows can point at each other before they are inserted."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._next: dict[type[Any], int] = {}

    def take(self, model: type[Any]) -> int:
        if model not in self._next:
            self._next[model] = (self._session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
        value = self._next[model]
        self._next[model] = value + 1
        return value


def _insert(session: Session, model: type[Any], rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows that name every column (so no default reads the clock); returns how many."""
    # Core inserts on the table: executemany without the ORM's per-row bookkeeping.
    statement = sa.insert(model.__table__)
    count = 0
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, INSERT_CHUNK)):
        session.execute(statement, chunk)
        count += len(chunk)
    return count


# --------------------------------------------------------------------------- time


class _Calendar:
    """Days and instants of the demo, with the shop's seasonal rhythm."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.as_of = local_midnight(today)  # the snapshot instant
        self.first_day = today - timedelta(days=HISTORY_DAYS)
        self.days = [self.first_day + timedelta(days=n) for n in range(HISTORY_DAYS)]
        self.midnights = [local_midnight(day) for day in self.days]
        self.cum_weights = list(itertools.accumulate(_traffic_weight(day) for day in self.days))
        self.basket_boosts = [_basket_boost(day) for day in self.days]

    def day_index(self, day: date) -> int:
        """Index of ``day`` in the purchase window, clamped to it."""
        return min(max((day - self.first_day).days, 0), HISTORY_DAYS)

    def pick_day(self, rng: random.Random, start: int, stop: int) -> int:
        """A day index in [start, stop), busier days more likely."""
        low = self.cum_weights[start - 1] if start else 0.0
        high = self.cum_weights[stop - 1]
        return min(bisect.bisect_right(self.cum_weights, low + rng.random() * (high - low)), stop - 1)


def local_midnight(day: date) -> datetime:
    """The UTC instant at which ``day`` starts in China."""
    return datetime(day.year, day.month, day.day, tzinfo=CHINA).astimezone(UTC)


def local_date(instant: datetime) -> date:
    return instant.astimezone(CHINA).date()


def _festival_days_ahead(day: date) -> int | None:
    """Days from ``day`` until the next Spring Festival (0 on the day, negative just after)."""
    for year in (day.year, day.year + 1):
        # Years missing from the table fall back to early February, about the average.
        festival = SPRING_FESTIVAL.get(year, date(year, 2, 5))
        ahead = (festival - day).days
        if -7 < ahead <= FESTIVAL_RUN_UP_DAYS:
            return ahead
    return None


def _traffic_weight(day: date) -> float:
    """Relative number of shoppers on ``day``."""
    weight = 1.3 if day.weekday() >= 5 else 1.0
    if day.month in (7, 8):
        weight *= 0.9  # summer: families travel, heat keeps people home
    ahead = _festival_days_ahead(day)
    if ahead is not None:
        if ahead > 0:
            weight *= 1.3 + 0.9 * (1 - ahead / FESTIVAL_RUN_UP_DAYS)  # stocking up for New Year
        elif ahead > -3:
            weight *= 0.45  # the first days of the festival are quiet
        else:
            weight *= 0.8
    return weight


def _basket_boost(day: date) -> float:
    """Baskets grow in the run-up to the Spring Festival."""
    ahead = _festival_days_ahead(day)
    return 1 + 0.5 * (1 - ahead / FESTIVAL_RUN_UP_DAYS) if ahead is not None and ahead > 0 else 1.0


def _shop_seconds(rng: random.Random) -> int:
    """Seconds after local midnight of a moment in opening hours, peaks more likely."""
    hour = _HOURS.pick(rng)
    return hour * 3600 + rng.randrange(3600)


def _in_shop_hours(instant: datetime, rng: random.Random) -> datetime:
    """Move a staff action that would fall outside opening hours to the next morning."""
    local = instant.astimezone(CHINA)
    if OPENS_HOUR <= local.hour < CLOSES_HOUR:
        return instant
    day = local.date() if local.hour < OPENS_HOUR else local.date() + timedelta(days=1)
    return local_midnight(day) + timedelta(hours=OPENS_HOUR, seconds=rng.randrange(5400))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --------------------------------------------------------------------------- staff and store


def _ensure_staff(session: Session, calendar: _Calendar) -> int:
    """Set up a fresh database as a demo store; an existing store keeps its staff as they are."""
    if store.is_initialised(session):
        return 0
    store.initialise(session, owner_name=DEMO_OWNER_NAME, owner_password=DEMO_OWNER_PASSWORD,
                     store_name=DEMO_STORE_NAME)
    added = 1
    for name, role, pin in DEMO_STAFF:
        if session.scalar(sa.select(Staff.id).where(Staff.name == name)) is None:
            new_staff(session, name, role, pin=pin, password=None)
            added += 1
    # The shop opened before its first member joined; keep the clock out of the demo.
    opened = local_midnight(_years_before(calendar.today, MEMBERSHIP_YEARS) - timedelta(days=7))
    opened += timedelta(hours=9)
    session.execute(sa.update(Staff.__table__).values(created_at=opened))
    settings = session.get(StoreSettings, STORE_ROW_ID)
    assert settings is not None  # initialise created it
    settings.is_demo = True
    settings.updated_at = opened
    session.flush()
    return added


@dataclass
class _Shop:
    """What the generator needs to know about the store it fills."""

    card_prefix: str
    tiers: list[tuple[int, int, int]]  # (id, min_spend_fen, points_multiplier_pct), cheapest first
    tier_by_rank: dict[int, int]
    cashiers: list[int]  # who rings up sales, repeated by how often
    managers: list[int]  # who handles refunds and complaints
    staff_names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> _Shop:
        tiers = session.execute(sa.select(Tier).order_by(Tier.min_spend_fen, Tier.rank)).scalars().all()
        staff = session.execute(
            sa.select(Staff).where(Staff.active.is_(True)).order_by(Staff.id)
        ).scalars().all()
        # Cashiers ring up most sales; the supervisor helps out at busy times.
        cashiers = [s.id for s in staff if s.role is Role.CASHIER for _ in range(3)]
        cashiers += [s.id for s in staff if s.role is Role.SUPERVISOR]
        managers = [s.id for s in staff if s.role is Role.SUPERVISOR] or [s.id for s in staff if s.role is Role.OWNER]
        everyone = [s.id for s in staff]
        return cls(
            card_prefix=store.get_store(session).card_prefix,
            tiers=[(t.id, t.min_spend_fen, t.points_multiplier_pct) for t in tiers],
            tier_by_rank={t.rank: t.id for t in tiers},
            cashiers=cashiers or everyone,
            managers=managers or everyone,
            staff_names={s.id: s.name for s in staff},
        )


# --------------------------------------------------------------------------- members


@dataclass(eq=False)
class _Person:
    """A member being generated: the row to insert plus what later steps need."""

    row: dict[str, Any]
    joined_at: datetime
    age: int | None
    shops_until: datetime  # no purchases after this (snapshot, or the day frozen/closed)
    status_at: datetime | None
    visits: int
    basket: float  # this household's typical basket, in fen
    payment: str  # the way they usually pay
    purchases: list[_Txn] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.row["id"]


def _make_members(rng: random.Random, calendar: _Calendar, count: int, ids: _IdAllocator) -> list[_Person]:
    # Join moments first, sorted, so member numbers follow the order people joined.
    span = (calendar.today - _years_before(calendar.today, MEMBERSHIP_YEARS)).days
    joined = sorted(_join_moment(rng, calendar, span) for _ in range(count))
    phones: set[str] = set()
    return [_make_person(rng, calendar, joined_at, phones, ids.take(Member)) for joined_at in joined]


def _join_moment(rng: random.Random, calendar: _Calendar, span: int) -> datetime:
    # More recent joiners than early ones: the member base grows.
    days_ago = 1 + int(rng.random() ** 1.4 * (span - 1))
    return local_midnight(calendar.today - timedelta(days=days_ago)) + timedelta(seconds=_shop_seconds(rng))


def _make_person(
    rng: random.Random, calendar: _Calendar, joined_at: datetime, phones: set[str], member_id: int
) -> _Person:
    joined_on = local_date(joined_at)
    gender = Gender.FEMALE if rng.random() < 0.62 else Gender.MALE  # women do most of the shopping
    birthday, age = _birthday(rng, calendar.today, joined_on)
    name = _latin_name(rng, gender) if rng.random() < 0.01 else _chinese_name(rng, gender, birthday)
    recorded_gender = Gender.UNKNOWN if rng.random() < 0.01 else gender
    phone = _unique_phone(rng, phones)
    pinyin, initials = name_search_keys(name)
    address = _address(rng) if rng.random() < 0.5 else ""
    email = _email(rng, pinyin) if rng.random() < 0.08 else ""
    tags = _tags(rng, gender, age, address, joined_on, calendar.today)
    consent, consent_at = _consent(rng, calendar, joined_at, email)
    status, status_at = _status(rng, calendar, joined_at)
    row = {
        "id": member_id,
        "member_no": f"M{member_id:08d}",
        "name": name,
        "name_pinyin": pinyin,
        "name_initials": initials,
        "phone": phone,
        "phone_last4": phone_last4(phone),
        "gender": recorded_gender,
        "birthday": birthday,
        "birth_month": birthday.month if birthday else None,
        "address": address,
        "email": email,
        "notes": rng.choice(NOTES) if rng.random() < 0.05 else "",
        "company": rng.choice(COMPANIES) if "团购" in tags and rng.random() < 0.4 else "",
        "marketing_consent": consent,
        "consent_at": consent_at,
        "source": _SOURCES.pick(rng),
        "status": status,
        "joined_on": joined_on,
        "tier_id": None,  # from the spend, once purchases exist
        "points_balance": 0,  # from the ledger
        "created_at": joined_at,
        "updated_at": max(joined_at, consent_at or joined_at, status_at or joined_at),
    }
    older = age is None or age >= 60
    return _Person(
        row=row,
        joined_at=joined_at,
        age=age,
        shops_until=status_at or calendar.as_of,
        status_at=status_at,
        visits=_visit_count(rng),
        basket=5000 * math.exp(rng.gauss(0, 0.3)),
        payment=(_PAYMENTS_OLDER if older else _PAYMENTS_YOUNGER).pick(rng),
        tags=tags,
    )


def _birthday(rng: random.Random, today: date, joined_on: date) -> tuple[date | None, int | None]:
    """Birthday and age today; adult when joining, at most 80 now, ~5 % unknown."""
    if rng.random() < 0.05:
        return None, None
    low, high = _AGE_BANDS.pick(rng)
    years_since_joining = (today - joined_on).days // 365
    age = min(rng.randint(low, high) + years_since_joining, 80)
    # Born on one of the 365 days that make this exactly ``age`` today.
    latest = _years_before(today, age)
    birthday = latest - timedelta(days=rng.randrange(365))
    return birthday, age


def _chinese_name(rng: random.Random, gender: Gender, birthday: date | None) -> str:
    surname = _SURNAMES.pick(rng)
    if rng.random() < 0.5:
        born = birthday.year if birthday else 1980
        pool = next(names for before, names in GENERATION_NAMES if born < before)[gender]
        return surname + rng.choice(pool)
    chars = GIVEN_CHARS[gender]
    if rng.random() < 0.25:
        return surname + rng.choice(chars)
    return surname + "".join(rng.sample(chars, 2))


def _latin_name(rng: random.Random, gender: Gender) -> str:
    return f"{rng.choice(LATIN_GIVEN[gender])} {rng.choice(LATIN_SURNAMES)}"


def _mobile_number(rng: random.Random) -> str:
    """A mainland mobile number in E.164 form, e.g. +8613812345678."""
    return f"+86{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


def _unique_phone(rng: random.Random, taken: set[str]) -> str:
    while True:
        phone = _mobile_number(rng)
        if phone not in taken:
            taken.add(phone)
            return phone


def _address(rng: random.Random) -> str:
    floor = rng.randint(1, 18)
    return (f"{rng.choice(NEIGHBOURHOODS)}{rng.randint(1, 24)}栋{rng.randint(1, 4)}单元"
            f"{floor}{rng.randint(1, 4):02d}室")


def _email(rng: random.Random, pinyin: str) -> str:
    if rng.random() < 0.5:  # a QQ number is the most common Chinese e-mail address
        return f"{rng.randint(10**5, 3 * 10**9)}@qq.com"
    return f"{pinyin or 'user'}{rng.randint(1, 9999)}@{rng.choice(EMAIL_DOMAINS)}"


def _tags(rng: random.Random, gender: Gender, age: int | None, address: str, joined_on: date,
          today: date) -> list[str]:
    chances = {
        "老顾客": 0.6 if (today - joined_on).days > 3 * 365 else 0.0,
        "宝妈": 0.25 if gender is Gender.FEMALE and age is not None and 25 <= age <= 42 else 0.0,
        "附近小区": 0.7 if address else 0.05,
        "生鲜": 0.2,
        "团购": 0.04,
        "上班族": 0.3 if age is not None and 22 <= age <= 55 else 0.0,
        "退休": 0.6 if age is not None and age >= (55 if gender is Gender.FEMALE else 60) else 0.0,
    }
    return [tag for tag in TAG_POOL if rng.random() < chances[tag]]


def _consent(rng: random.Random, calendar: _Calendar, joined_at: datetime,
             email: str) -> tuple[MarketingConsent, datetime | None]:
    roll = rng.random()
    if email and roll < 0.3:
        return MarketingConsent.EMAIL, joined_at
    if roll < 0.45:
        return MarketingConsent.SMS, joined_at
    if roll < 0.52:  # agreed later, e.g. when a promotion was announced at the counter
        later = _in_shop_hours(joined_at + (calendar.as_of - joined_at) * rng.random(), rng)
        return MarketingConsent.SMS, later if later < calendar.as_of else joined_at
    return MarketingConsent.NONE, None


def _status(rng: random.Random, calendar: _Calendar, joined_at: datetime) -> tuple[MemberStatus, datetime | None]:
    roll = rng.random()
    if roll >= 0.03 or calendar.as_of - joined_at < timedelta(days=60):
        return MemberStatus.ACTIVE, None
    status = MemberStatus.FROZEN if roll < 0.02 else MemberStatus.CLOSED
    day = local_date(joined_at) + timedelta(days=30 + rng.randrange((calendar.as_of - joined_at).days - 30))
    return status, local_midnight(day) + timedelta(seconds=_shop_seconds(rng))


def _visit_count(rng: random.Random) -> int:
    """Visits over two years: many occasional shoppers, a few almost daily (log-normal)."""
    if rng.random() < 0.06:
        return 0  # signed up for a discount once and never came back
    sigma = 1.1
    return min(round(rng.lognormvariate(math.log(FULL_WINDOW_VISITS) - sigma**2 / 2, sigma)), MAX_VISITS)


# --------------------------------------------------------------------------- cards


def _make_cards(rng: random.Random, calendar: _Calendar, people: list[_Person], prefix: str,
                ids: _IdAllocator) -> list[dict[str, Any]]:
    """Each member's card history; serials follow the order the cards were issued."""
    cards = []
    for person in people:
        issued = person.joined_at
        roll = rng.random()
        if roll < 0.07:  # an earlier card was replaced (worn out) or lost
            ended = _in_shop_hours(issued + (calendar.as_of - issued) * rng.uniform(0.1, 0.9), rng)
            if ended < person.shops_until:
                status = CardStatus.REPLACED if roll < 0.05 else CardStatus.LOST
                cards.append(_card(person.id, status, issued, ended))
                issued = ended
        if person.row["status"] is MemberStatus.CLOSED:
            cards.append(_card(person.id, CardStatus.CLOSED, issued, person.status_at))
        else:
            cards.append(_card(person.id, CardStatus.ACTIVE, issued, None))
    cards.sort(key=lambda card: (card["issued_at"], card["member_id"]))
    for serial, card in enumerate(cards, start=1):
        card["id"] = ids.take(Card)
        card["number"] = make_card_number(prefix, serial)
    return cards


def _card(member_id: int, status: CardStatus, issued_at: datetime, ended_at: datetime | None) -> dict[str, Any]:
    return {"id": None, "number": None, "member_id": member_id, "status": status, "imported": False,
            "issued_at": issued_at, "ended_at": ended_at}


# --------------------------------------------------------------------------- purchases


class _Txn:
    """A sale or refund being generated."""

    __slots__ = ("id", "person", "day", "at", "amount", "kind", "till", "receipt_no", "payment",
                 "cashier_id", "lines", "refund_of", "refund", "points_due")

    def __init__(self, person: _Person, day: date, at: datetime, amount: int, *, kind: PurchaseKind,
                 till: str, payment: str, cashier_id: int, lines: list[tuple[Any, ...]] | None = None,
                 refund_of: _Txn | None = None) -> None:
        self.id = 0
        self.person, self.day, self.at, self.amount, self.kind = person, day, at, amount, kind
        self.till, self.payment, self.cashier_id = till, payment, cashier_id
        self.lines = lines or []
        self.refund_of = refund_of
        self.refund: _Txn | None = None  # set on a sale that was later refunded
        self.points_due = 0  # on a refund: the points it takes back
        self.receipt_no = ""

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id, "member_id": self.person.id, "till": self.till, "receipt_no": self.receipt_no,
            "kind": self.kind, "refund_of_id": self.refund_of.id if self.refund_of else None,
            "occurred_at": self.at, "amount_fen": self.amount, "payment_method": self.payment,
            "cashier_id": self.cashier_id, "created_at": self.at,
        }


def _make_purchases(rng: random.Random, calendar: _Calendar, people: list[_Person], shop: _Shop,
                    ids: _IdAllocator) -> list[_Txn]:
    """Every member's sales and refunds, numbered in the order they happened."""
    everything: list[_Txn] = []
    for person in people:
        if person.shops_until <= calendar.midnights[0]:
            continue  # frozen or closed before the two years began
        start = calendar.day_index(local_date(max(person.joined_at, calendar.midnights[0])))
        stop = calendar.day_index(local_date(person.shops_until - timedelta(seconds=1))) + 1
        if stop <= start:
            continue
        # Visits scale with the part of the two years the member could shop.
        visits = round(person.visits * (stop - start) / HISTORY_DAYS)
        for _ in range(visits):
            sale = _make_sale(rng, calendar, person, shop, calendar.pick_day(rng, start, stop))
            if sale is None:
                continue
            person.purchases.append(sale)
            if rng.random() < 0.01:
                refund = _make_refund(rng, calendar, sale, shop)
                if refund is not None:
                    person.purchases.append(refund)
        everything.extend(person.purchases)
    # The sort is stable: sales in the same second keep member order, so ids stay reproducible.
    everything.sort(key=lambda txn: txn.at)
    for txn in everything:
        txn.id = ids.take(Purchase)
    _number_receipts(rng, everything)
    for person in people:
        person.purchases.sort(key=lambda txn: txn.id)
    return everything


def _make_sale(rng: random.Random, calendar: _Calendar, person: _Person, shop: _Shop,
               index: int) -> _Txn | None:
    day = calendar.days[index]
    at = calendar.midnights[index] + timedelta(seconds=_shop_seconds(rng))
    if at <= person.joined_at:  # joined at the till, then paid
        at = person.joined_at + timedelta(seconds=rng.randint(60, 900))
    if at >= person.shops_until or at >= calendar.midnights[index] + timedelta(hours=CLOSES_HOUR):
        return None
    target = _basket_target(rng, person, calendar.basket_boosts[index])
    lines = _make_lines(rng, target) if rng.random() < 0.3 else []
    amount = sum(line[-1] for line in lines) if lines else target
    payment = person.payment if rng.random() < 0.8 else _PAYMENTS_YOUNGER.pick(rng)
    return _Txn(person, day, at, amount, kind=PurchaseKind.SALE, till=_TILLS.pick(rng), payment=payment,
                cashier_id=rng.choice(shop.cashiers), lines=lines)


def _basket_target(rng: random.Random, person: _Person, boost: float) -> int:
    """Most baskets ¥20-¥150 (log-normal), a few big ones (parties, group buys)."""
    amount = person.basket * boost * rng.lognormvariate(0, 0.6)
    if rng.random() < 0.03:
        amount *= rng.uniform(3, 10)
    return max(150, min(int(amount), 500_000))


def _make_lines(rng: random.Random, target: int) -> list[tuple[Any, ...]]:
    """1-6 item lines adding up to about ``target``; the receipt total is their exact sum."""
    count = rng.choices(range(1, 7), weights=(12, 22, 24, 18, 14, 10))[0]
    shares = [rng.random() + 0.2 for _ in range(count)]
    scale = target / sum(shares)
    lines = []
    for share in shares:
        code, name, category, price, weighed = _pick_product(rng)
        money = share * scale
        if weighed:  # priced per kg, weighed to the gram
            grams = max(150, min(round(money * 1000 / price), 5000))
            quantity, amount = grams, (grams * price + 500) // 1000
        else:
            units = max(1, min(round(money / price), 12))
            quantity, amount = units * 1000, units * price
        lines.append((code, name, category, quantity, price, amount))
    return lines


def _pick_product(rng: random.Random) -> tuple[str, str, str, int, bool]:
    category = _PRODUCT_CATEGORIES.pick(rng)
    return rng.choice(_CATEGORY_PRODUCTS[category])


def _make_refund(rng: random.Random, calendar: _Calendar, sale: _Txn, shop: _Shop) -> _Txn | None:
    """A refund a few days after the sale: one item line, or part or all of the amount."""
    day = sale.day + timedelta(days=rng.randint(1, 7))
    at = local_midnight(day) + timedelta(seconds=_shop_seconds(rng))
    if at >= sale.person.shops_until:
        return None
    if sale.lines:
        amount = rng.choice(sale.lines)[-1]
    elif rng.random() < 0.4:
        amount = sale.amount
    else:
        amount = rng.randint(max(1, sale.amount // 10), sale.amount)
    refund = _Txn(sale.person, day, at, amount, kind=PurchaseKind.REFUND, till=_TILLS.pick(rng),
                  payment=sale.payment, cashier_id=rng.choice(shop.managers), refund_of=sale)
    sale.refund = refund
    return refund


def _number_receipts(rng: random.Random, txns: list[_Txn]) -> None:
    """Receipt numbers "yyyymmdd" + a per-till daily counter; non-members' receipts leave gaps."""
    counters: dict[tuple[str, date], int] = {}
    labels: dict[date, str] = {}  # "yyyymmdd" per day: strftime per receipt is slow
    for txn in txns:
        key = (txn.till, txn.day)
        counters[key] = counters.get(key, rng.randint(0, 15)) + rng.randint(1, 4)
        label = labels.get(txn.day)
        if label is None:
            label = labels[txn.day] = txn.day.strftime("%Y%m%d")
        txn.receipt_no = f"{label}{counters[key]:05d}"


def _line_rows(txns: list[_Txn], ids: _IdAllocator) -> Iterator[dict[str, Any]]:
    for txn in txns:
        for code, name, category, quantity, price, amount in txn.lines:
            yield {"id": ids.take(PurchaseLine), "purchase_id": txn.id, "item_code": code, "name": name,
                   "category": category, "quantity_milli": quantity, "unit_price_fen": price, "amount_fen": amount}


# --------------------------------------------------------------------------- complaints


@dataclass(frozen=True)
class _Goodwill:
    """Points given to say sorry, credited when the complaint was resolved."""

    person: _Person
    at: datetime
    points: int
    complaint_id: int
    staff_id: int


def _make_complaints(rng: random.Random, calendar: _Calendar, people: list[_Person], shop: _Shop,
                     ids: _IdAllocator) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[_Goodwill]]:
    """About one complaint per 100 members over the last six months, each with its timeline."""
    count = max(5, round(len(people) / 100))
    # Somewhat more in recent weeks, so the list has open cases as well as closed ones.
    received = sorted(
        local_midnight(calendar.today - timedelta(days=1 + int(rng.random() ** 1.5 * COMPLAINT_DAYS)))
        + timedelta(seconds=_shop_seconds(rng))
        for _ in range(count)
    )
    # At least two walk-ins without a card, whatever the dice say.
    walk_ins = set(rng.sample(range(count), 2)) | {n for n in range(count) if rng.random() < 0.06}
    complaints, events, goodwill = [], [], []
    for n, at in enumerate(received):
        person = None if n in walk_ins else _complainant(rng, people, at)
        complaint_id = ids.take(Complaint)
        row, timeline = _complaint(rng, calendar, shop, complaint_id, person, at)
        complaints.append(row)
        for event in timeline:
            events.append({"id": ids.take(ComplaintEvent), "complaint_id": complaint_id, **event})
        resolved_at = row["resolved_at"]
        if (person is not None and resolved_at is not None and row["category"] in GOODWILL_CATEGORIES
                and resolved_at < person.shops_until and rng.random() < 0.4):
            goodwill.append(_Goodwill(person, resolved_at, rng.choice((100, 200, 300)), complaint_id,
                                      row["owner_staff_id"]))
    return complaints, events, goodwill


def _complainant(rng: random.Random, people: list[_Person], at: datetime) -> _Person | None:
    """A member who could shop at ``at``; regulars complain more simply because they come more."""
    for _ in range(50):
        person = rng.choice(people)
        if person.joined_at < at < person.shops_until and (person.visits or rng.random() < 0.2):
            return person
    return None


def _complaint(rng: random.Random, calendar: _Calendar, shop: _Shop, complaint_id: int,
               person: _Person | None, received_at: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    channel = _CHANNELS.pick(rng)
    category = _CATEGORIES.pick(rng)
    description, request = rng.choice(COMPLAINT_TEXTS[category])
    description = description.format(fresh=_product_name(rng, "生鲜"), fruit=_product_name(rng, "蔬果"),
                                     packaged=_product_name(rng, "零食", "饮料", "乳制品", "粮油"))
    owner = rng.choice(shop.managers)
    created_by = rng.choice(shop.cashiers) if channel in ("counter", "phone") else owner
    steps = _complaint_steps(rng, calendar, received_at)
    status = COMPLAINT_PATH[len(steps) - 1]
    anonymous = person is None and channel in ("box", "letter") and rng.random() < 0.5
    row = {
        "id": complaint_id,
        "member_id": person.id if person else None,
        "walk_in_name": "" if person or anonymous else _walk_in_name(rng),
        "walk_in_phone": "" if person or anonymous else _mobile_number(rng),
        "received_at": received_at,
        "channel": channel,
        "category": category,
        "status": status,
        "priority": _priority(rng, category),
        "description": description,
        "customer_request": request,
        "related_receipt": _related_receipt(person, received_at) if category in RECEIPT_CATEGORIES else "",
        "owner_staff_id": owner,
        "department": COMPLAINT_DEPARTMENTS[category],
        "first_response_due": received_at + timedelta(hours=24),
        "first_response_at": steps[2] if len(steps) > 2 else None,
        "resolution_due": received_at + timedelta(days=rng.randint(3, 7)),
        "resolved_at": steps[3] if len(steps) > 3 else None,
        "closed_at": steps[5] if len(steps) > 5 else None,
        "created_by_id": created_by,
        "created_at": received_at,
    }
    reachable = person is not None or bool(row["walk_in_phone"])
    notes = _step_notes(rng, category, channel, shop.staff_names.get(owner, ""), reachable)
    timeline = [
        {"at": at, "staff_id": created_by if n == 0 else owner, "kind": "logged" if n == 0 else "status",
         "from_status": COMPLAINT_PATH[n - 1] if n else None, "to_status": COMPLAINT_PATH[n], "note": notes[n]}
        for n, at in enumerate(steps)
    ]
    return row, timeline


def _complaint_steps(rng: random.Random, calendar: _Calendar, received_at: datetime) -> list[datetime]:
    """When each step of COMPLAINT_PATH happened; only the steps before the snapshot count."""
    hour = 3600
    gaps = [
        rng.randint(10 * 60, 4 * hour),  # assigned
        # first contact: usually within the 24 h promised, one in ten late
        rng.randint(hour // 2, 20 * hour) + (rng.randint(6 * hour, 48 * hour) if rng.random() < 0.1 else 0),
        rng.randint(4 * hour, 6 * 24 * hour),  # resolved (sometimes after the due date)
        rng.randint(24 * hour, 72 * hour),  # followed up
        rng.randint(hour, 48 * hour),  # closed
    ]
    if rng.random() < 0.1:  # stuck: the box not emptied yet, waiting for a supplier, no reply
        gaps = gaps[:rng.randint(0, 3)]
    steps = [received_at]
    for gap in gaps:
        at = _in_shop_hours(steps[-1] + timedelta(seconds=gap), rng)
        if at >= calendar.as_of:
            break
        steps.append(at)
    return steps


def _step_notes(rng: random.Random, category: str, channel: str, owner_name: str, reachable: bool) -> list[str]:
    return [
        f"登记投诉（{CHANNEL_LABELS[channel]}）",
        f"指派给{owner_name}处理" if owner_name else "已指派处理",
        "已联系顾客，了解详细情况" if reachable else "已到现场核实情况",
        COMPLAINT_RESOLUTIONS[category],
        rng.choice(("电话回访，顾客对处理结果满意", "回访顾客，顾客表示基本满意")) if reachable
        else "已在店内公告栏答复",
        "结案",
    ]


def _product_name(rng: random.Random, *categories: str) -> str:
    return rng.choice([p[1] for c in categories for p in _CATEGORY_PRODUCTS[c]])


def _walk_in_name(rng: random.Random) -> str:
    return _SURNAMES.pick(rng) + rng.choice(("女士", "先生"))


def _priority(rng: random.Random, category: str) -> Priority:
    if category == "expired":  # food safety first
        return Priority.URGENT if rng.random() < 0.2 else Priority.HIGH
    if category == "other":
        return Priority.LOW
    roll = rng.random()
    return Priority.HIGH if roll < 0.15 else Priority.LOW if roll < 0.25 else Priority.NORMAL


def _related_receipt(person: _Person | None, received_at: datetime) -> str:
    """The member's last sale in the fortnight before complaining, as "till-receipt"."""
    if person is None:
        return ""
    for txn in reversed(person.purchases):
        if txn.kind is PurchaseKind.SALE and received_at - timedelta(days=14) <= txn.at < received_at:
            return f"{txn.till}-{txn.receipt_no}"
    return ""


# --------------------------------------------------------------------------- points


POINTS_COLUMNS = ("id", "member_id", "at", "kind", "points", "expires_on", "purchase_id", "complaint_id",
                  "staff_id", "reason")


class _Lots:
    """Points not yet spent, oldest first: redemptions, reversals and expiry take the oldest."""

    def __init__(self) -> None:
        self._lots: deque[list[Any]] = deque()  # [expires_on, points left]
        self.balance = 0

    def add(self, points: int, expires_on: date) -> None:
        self._lots.append([expires_on, points])
        self.balance += points

    def take(self, points: int) -> None:
        self.balance -= points
        while points:
            lot = self._lots[0]
            used = min(points, lot[1])
            lot[1] -= used
            points -= used
            if not lot[1]:
                self._lots.popleft()

    def expire(self, before: date) -> int:
        """Remove and count what expired before ``before`` (lots expire in the order they were earned)."""
        expired = 0
        while self._lots and self._lots[0][0] < before:
            expired += self._lots.popleft()[1]
        self.balance -= expired
        return expired


class _SpendWindow:
    """A member's net spend over the 365 days before a moment, for the tier at that moment."""

    def __init__(self) -> None:
        self._moves: deque[tuple[datetime, int]] = deque()
        self.total = 0

    def add(self, at: datetime, fen: int) -> None:
        self._moves.append((at, fen))
        self.total += fen

    def at(self, moment: datetime) -> int:
        while self._moves and self._moves[0][0] < moment - TIER_WINDOW:
            self.total -= self._moves.popleft()[1]
        return self.total


def expires_on_for(earned_on: date) -> date:
    """Points expire at the end of the calendar year after the one they were earned in (local date)."""
    return date(earned_on.year + 1, 12, 31)


def tier_for(spend_fen: int, tiers: Sequence[tuple[int, int, int]]) -> tuple[int, int, int] | None:
    """The highest tier (id, min_spend_fen, multiplier %) the spend qualifies for.

    Refunds of older sales can push a year's net spend below zero; that still
    counts as zero, so everyone has at least the entry tier."""
    spend_fen = max(spend_fen, 0)
    best = None
    for tier in tiers:
        if tier[1] <= spend_fen:
            best = tier
    return best


def _make_ledger(rng: random.Random, calendar: _Calendar, people: list[_Person], goodwill: list[_Goodwill],
                 shop: _Shop, ids: _IdAllocator) -> list[tuple[Any, ...]]:
    """Every member's points entries (as POINTS_COLUMNS tuples) in time order; sets their cached balance."""
    goodwill_by_person: dict[int, list[_Goodwill]] = {}
    for gift in goodwill:
        goodwill_by_person.setdefault(gift.person.id, []).append(gift)
    new_years = [local_midnight(date(year, 1, 1))
                 for year in range(calendar.first_day.year + 1, calendar.today.year + 1)]
    entries: list[tuple[Any, ...]] = []
    for person in people:
        _member_ledger(rng, person, goodwill_by_person.get(person.id, []), new_years, shop, entries, ids)
    return entries


def _member_ledger(rng: random.Random, person: _Person, gifts: list[_Goodwill], new_years: list[datetime],
                   shop: _Shop, entries: list[tuple[Any, ...]], ids: _IdAllocator) -> None:
    # (moment, order on ties, what); expiry runs first at midnight, before anything else that day.
    timeline: list[tuple[datetime, int, Any]] = [(txn.at, 1, txn) for txn in person.purchases]
    timeline += [(gift.at, 2, gift) for gift in gifts]
    # Frozen members' points still expire; a closed member's were cleared when closing.
    timeline += [(moment, 0, "expiry") for moment in new_years if person.joined_at < moment]
    if person.row["status"] is MemberStatus.CLOSED:
        timeline.append((person.status_at, 3, "closed"))
    timeline.sort(key=lambda item: (item[0], item[1]))

    lots, spend = _Lots(), _SpendWindow()
    reserved = 0  # points a coming refund will take back; redemptions leave them alone
    last_change = None

    def write(at: datetime, kind: PointsKind, points: int, *, expires_on: date | None = None,
              purchase_id: int | None = None, complaint_id: int | None = None, staff_id: int | None = None,
              reason: str = "") -> None:
        nonlocal last_change
        entries.append((ids.take(PointsEntry), person.id, at, kind, points, expires_on, purchase_id,
                        complaint_id, staff_id, reason))
        last_change = at

    for at, _, item in timeline:
        if item == "expiry":
            expired = lots.expire(local_date(at))
            if expired:
                write(at, PointsKind.EXPIRY, -expired, reason=f"{local_date(at).year - 2}年积分到期")
        elif item == "closed":
            if lots.balance:
                write(at, PointsKind.ADJUSTMENT, -lots.balance, staff_id=shop.managers[0], reason="会员注销，积分清零")
                lots.take(lots.balance)
        elif isinstance(item, _Goodwill):
            expires = expires_on_for(local_date(at))
            lots.add(item.points, expires)
            write(at, PointsKind.GOODWILL, item.points, expires_on=expires, complaint_id=item.complaint_id,
                  staff_id=item.staff_id, reason="投诉处理致歉赠送积分")
        elif item.kind is PurchaseKind.SALE:
            # Redeeming happens at the till before paying, against points already held.
            spare = lots.balance - reserved
            if spare >= 500 and rng.random() < REDEEM_CHANCE:
                redeem = min(rng.choice((500, 500, 500, 1000, 1500)), spare // 500 * 500)
                lots.take(redeem)
                write(at, PointsKind.REDEEM, -redeem, purchase_id=item.id, staff_id=item.cashier_id,
                      reason=f"积分抵现：{redeem}积分抵{redeem // 50}元")
            tier = tier_for(spend.at(at), shop.tiers)
            multiplier = tier[2] if tier else 100
            earned = item.amount // 100 * multiplier // 100
            spend.add(at, item.amount)
            if earned:
                expires = expires_on_for(item.day)
                lots.add(earned, expires)
                write(at, PointsKind.EARN, earned, expires_on=expires, purchase_id=item.id, staff_id=item.cashier_id,
                      reason="消费积分")
            if item.refund is not None:
                item.refund.points_due = earned * item.refund.amount // item.amount
                reserved += item.refund.points_due
        else:  # a refund takes back the points its share of the sale earned
            reserved -= item.points_due
            spend.add(at, -item.amount)
            taken = min(item.points_due, lots.balance)  # never below zero, even if reserving failed
            if taken:
                lots.take(taken)
                write(at, PointsKind.REFUND_REVERSAL, -taken, purchase_id=item.id, staff_id=item.cashier_id,
                      reason="退货扣回积分")
    person.row["points_balance"] = lots.balance
    if last_change is not None:
        person.row["updated_at"] = max(person.row["updated_at"], last_change)


def _assign_tiers(calendar: _Calendar, people: list[_Person], tiers: list[tuple[int, int, int]]) -> None:
    """Each member's tier from the net spend (sales minus refunds) of the last 365 days."""
    since = calendar.as_of - TIER_WINDOW
    for person in people:
        spend = sum(txn.amount if txn.kind is PurchaseKind.SALE else -txn.amount
                    for txn in person.purchases if txn.at >= since)
        tier = tier_for(spend, tiers)
        person.row["tier_id"] = tier[0] if tier else None


# --------------------------------------------------------------------------- offers


def _make_offers(calendar: _Calendar, shop: _Shop, ids: _IdAllocator) -> list[dict[str, Any]]:
    today = calendar.today
    gold = shop.tier_by_rank.get(2)
    next_wednesday = today + timedelta(days=(2 - today.weekday()) % 7)
    past_festivals = [day for day in SPRING_FESTIVAL.values() if day + timedelta(days=6) < today]
    last_festival = max(past_festivals) if past_festivals else None
    offers = [
        ("金卡会员九五折", "金卡及以上会员购物享九五折（特价商品除外）。", OfferKind.PERCENT_OFF, 500, 0, gold, 0,
         today - timedelta(days=60), today + timedelta(days=120), True),
        ("生日月赠鸡蛋一盒", "会员生日当月到店出示会员卡，可领取鲜鸡蛋一盒（10枚），每年一次。", OfferKind.BIRTHDAY, 0, 0, None, 0,
         today - timedelta(days=200), today + timedelta(days=165), True),
        # Starts on the coming Wednesday, so no past purchase should have earned double.
        ("周三双倍积分", "每周三会员消费积分翻倍。", OfferKind.POINTS_MULTIPLIER, 200, 0, None, 0,
         next_wednesday, next_wednesday + timedelta(days=90), True),
        ("满100减10", "单笔消费满100元立减10元，烟酒除外。", OfferKind.AMOUNT_OFF, 1000, 0, None, 100_00,
         today - timedelta(days=14), today + timedelta(days=16), True),
        ("500积分换10元", "结账时可用500积分抵10元现金。", OfferKind.AMOUNT_OFF, 1000, 500, None, 0,
         calendar.first_day, date(today.year + 1, 12, 31), True),
    ]
    if last_festival is not None:  # last New Year's promotion, over and switched off
        offers.append(("年货节满200减20", "春节前年货节，单笔满200元减20元。", OfferKind.AMOUNT_OFF, 2000, 0, None, 200_00,
                       last_festival - timedelta(days=21), last_festival + timedelta(days=6), False))
    rows = []
    for name, description, kind, value, cost, min_tier, min_spend, starts, ends, active in offers:
        rows.append({"id": ids.take(Offer), "name": name, "description": description, "kind": kind, "value": value,
                     "points_cost": cost, "min_tier_id": min_tier, "min_spend_fen": min_spend, "starts_on": starts,
                     "ends_on": ends, "active": active,
                     # The birthday gift: once a year per member.
                     "gift": "鸡蛋一盒" if kind is OfferKind.BIRTHDAY else "",
                     "per_member_limit": 1 if kind is OfferKind.BIRTHDAY else None,
                     "created_at": local_midnight(starts - timedelta(days=3)) + timedelta(hours=10)})
    return rows
