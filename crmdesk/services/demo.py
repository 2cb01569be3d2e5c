"""The demo store: a realistic, reproducible neighbourhood supermarket to try crmdesk on.

``fill_demo_store`` writes two years of history for a shop in China: members
with plausible names, phones and birthdays, their cards, purchases (some with
item lines, a few refunded), the points ledger that follows from them, a
handful of offers, and thirteen months of feedback: complaints taken as far as
they got (timeline, resolution with its remedies and goodwill points, follow-up
visit), a few of them overdue at the snapshot, and counter satisfaction surveys.
Complaints use the store's own channel and category lists, deadlines and
priorities the way crmdesk/services/complaints.py sets them, so the complaints
board and the monthly figures (complaint_figures, surveys) read like a real
shop's: fewer and faster-handled complaints as the year goes on, and a drop in
one survey dimension in the latest full month.

Reproducible: the data depends only on ``(seed, today, members)``. Every random
choice comes from ``random.Random`` generators seeded from ``seed`` (one per
part, so changing how complaints are made does not reshuffle the purchases),
and every timestamp is set explicitly, because the models' defaults read the
clock.

The demo is a snapshot taken at local midnight starting ``today``: everything
happened before that instant, so nothing lies in the future when the app opens.

Money with the shop (储值 and 赊账): the owner's top-up bonus rules (充200送20, 充500送60,
and last Spring Festival's 充1000送150); about a fifth of the members keep stored value,
topping up over the months and paying from it (sometimes part wallet, part cash), the
draw on principal and bonus following the owner's setting as wallet.spend does, never
above the prepaid card cap; a few dozen regulars have credit accounts (¥200-¥1,000,
30 days): most repay on time, some late, one member is overdue now in each aging
bucket, a few collection notes record promises (one of them broken), and the owner
wrote one debt off. Repayments and the write-off settle the oldest charges first, as
credit._settle does, and the member rows' cached balances are their ledgers' sums.

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

from crmdesk.db import Database
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
    FollowUpMethod,
    Gender,
    MarketingConsent,
    MemberChange,
    MemberTag,
    Member,
    MemberStatus,
    Offer,
    OfferKind,
    OfferRedemption,
    PointsEntry,
    PointsKind,
    Priority,
    Purchase,
    PurchaseKind,
    PurchaseLine,
    Remedy,
    Role,
    STORE_ROW_ID,
    Staff,
    StoreSettings,
    SurveyResponse,
    SurveyScore,
    Tier,
    WalletBonusRule,
    WalletEntry,
    WalletKind,
)
from crmdesk.services import money_settings, store, wallet
from crmdesk.services.cards import make_card_number
from crmdesk.services.complaint_figures import add_months
from crmdesk.services.complaints import (
    PRIORITIES,
    VIP_TIER_RANK,
    get_settings as complaint_settings,
    list_categories,
    list_channels,
    resolution_due_for,
)
from crmdesk.services.members import refresh_member_totals
from crmdesk.services.uow import read_session
from crmdesk.services.search_keys import name_search_keys, phone_last4
from crmdesk.services.staff import new_staff
from crmdesk.services.surveys import list_dimensions
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
# Complaints and surveys cover this month and the twelve before it, so every month
# shown has a month before it to compare with.
FEEDBACK_MONTHS = 13
COMPLAINTS_PER_MEMBER = 1 / 25  # over those months: about six a month for 2,000 members
MIN_COMPLAINTS = 36  # so a small demo still has a few complaints every month
SURVEYS_PER_MEMBER = 1 / 40  # counter surveys a month
MIN_SURVEYS, MAX_SURVEYS = 30, 1500  # a month
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
    survey_responses: int
    wallet_entries: int = 0
    credit_accounts: int = 0
    credit_entries: int = 0


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
# What put things right, per category: choices of (remedies, note as the resolution records it).
COMPLAINT_REMEDIES = {
    "quality": (((Remedy.REFUND,), "已为顾客办理退款，并通知生鲜部检查同批次商品。"),
                ((Remedy.EXCHANGE, Remedy.APOLOGY), "已为顾客更换新品并当面致歉。")),
    "expired": (((Remedy.REFUND, Remedy.APOLOGY), "已下架同批次商品，按规定为顾客退款并赔偿。"),),
    "price": (((Remedy.REFUND,), "已退还差价并更正价签。"),),
    "attitude": (((Remedy.APOLOGY,), "已向顾客致歉，并对当班员工进行批评教育。"),),
    "waiting": (((Remedy.APOLOGY, Remedy.OTHER), "已向顾客致歉，调整高峰时段排班，增开收银台。"),),
    "environment": (((Remedy.OTHER,), "已安排保洁加强巡查。"),),
    "returns": (((Remedy.REFUND,), "已为顾客办理退货退款。"),),
    "other": (((Remedy.OTHER,), "已记录顾客建议并反馈给店长。"),),
}
COMPLAINT_DEPARTMENTS = {
    "quality": "生鲜部", "expired": "食品部", "price": "收银部", "attitude": "前台",
    "waiting": "收银部", "environment": "后勤", "returns": "客服中心", "other": "客服中心",
}
# Categories where a related receipt helps, where goodwill points are usual, and what the
# counter often settles on the spot (refund, exchange) without handing the complaint on.
RECEIPT_CATEGORIES = frozenset({"quality", "expired", "price", "returns"})
GOODWILL_CATEGORIES = frozenset({"quality", "expired", "attitude", "waiting"})
ON_THE_SPOT_CATEGORIES = frozenset({"quality", "price", "returns"})
# The moves that count as the first response (complaints.py: assigning is internal routing).
ANSWERED = frozenset({ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED})
# Why a resolved complaint was closed without its follow-up visit.
NO_FOLLOW_UP_ANONYMOUS = "匿名投诉，无法回访；已在店内公告栏答复"
NO_FOLLOW_UP_NO_PHONE = "顾客未留联系方式，无法回访"
NO_FOLLOW_UP_UNREACHABLE = "多次电话联系未接通，无法回访"
FOLLOW_UP_COMMENTS = {
    5: ("顾客对处理结果很满意", "顾客很满意，感谢店里重视"),
    4: ("顾客表示基本满意", "顾客满意，希望以后注意"),
    3: ("顾客觉得一般，希望处理再快一些", "顾客表示问题解决了，但等得有点久"),
    2: ("顾客不太满意，认为补偿不够", "顾客对处理速度不满意"),
    1: ("顾客很不满意，表示不会再来", "顾客对处理结果不满意"),
}

# Counter surveys: the channels they come through, and each default dimension's usual mean
# (before the spread of the 1-5 scale pulls it in a little); owner-added dimensions get the default.
SURVEY_CHANNELS = (("counter", 80), ("online", 15), ("phone", 5))
SURVEY_MEANS = {"attitude": 4.4, "checkout": 4.3, "quality": 4.3, "price": 3.9, "environment": 4.1}
DEFAULT_SURVEY_MEAN = 4.1
SURVEY_SPREAD = 0.9  # width of the bell the scores follow around the mean
SURVEY_WOBBLE = 0.04  # standard deviation of a dimension's mean from month to month
# The story of the latest full month: checkout slowed down (a till broke, a cashier left),
# enough for the month-over-month alert with the default threshold; this month it is recovering.
SURVEY_DROP_DIMENSION = "checkout"
SURVEY_DROP = 1.0
SURVEY_COMMENT_CHANCE = 0.1
SURVEY_COMMENTS_LOW = {
    "attitude": ("收银员态度冷淡，问话爱答不理", "导购不太热情"),
    "checkout": ("结账排队太久了，只开了一个收银台", "收银台坏了一台，排了二十分钟", "高峰时收银太慢"),
    "quality": ("蔬菜不太新鲜", "水果经常有烂的"),
    "price": ("比旁边的超市贵一些", "促销商品太少"),
    "environment": ("地面有点脏", "冷柜附近有异味"),
}
SURVEY_COMMENTS_HIGH = ("服务很好，继续保持", "东西新鲜，价格实惠", "店员很热情", "环境干净整洁，购物舒心")
SURVEY_COMMENTS_MIDDLE = ("还可以，希望再改进", "总体不错，就是人多的时候有点挤")

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
    feedback = _Feedback.load(session)
    ids = _IdAllocator(session)

    people = _make_members(_stream(seed, "members"), calendar, members, ids)
    cards = _make_cards(_stream(seed, "cards"), calendar, people, shop.card_prefix, ids)
    purchases = _make_purchases(_stream(seed, "purchases"), calendar, people, shop, ids)
    money = _make_money(_stream(seed, "money"), calendar, people, shop, _MoneySetup.load(session), ids)
    complaints = _make_complaints(_stream(seed, "complaints"), calendar, people, shop, feedback, ids)
    points = _make_ledger(_stream(seed, "points"), calendar, people, complaints.goodwill, shop, ids)
    complaints.link_goodwill(points)
    _assign_tiers(calendar, people, shop.tiers)
    offers = _make_offers(calendar, shop, ids)
    surveys = _make_surveys(_stream(seed, "surveys"), calendar, people, shop, feedback, ids)

    # The big tables' rows become dicts only chunk by chunk, to keep memory down.
    _insert(session, Member, (person.row for person in people))
    _insert(session, MemberTag, ({"member_id": person.id, "tag": tag} for person in people for tag in person.tags))
    _insert(session, Card, cards)
    _insert(session, Purchase, (txn.row() for txn in purchases))
    line_count = _insert(session, PurchaseLine, _line_rows(purchases, ids))
    for model, money_rows in ((WalletBonusRule, money.rules), (WalletEntry, money.wallet_entries), (CreditAccount, money.accounts),
                              (CreditEntry, money.credit_entries), (CreditSettlement, money.settlements),
                              (CollectionNote, money.notes)):
        _insert(session, model, money_rows)
    _insert(session, Complaint, complaints.complaints)
    _insert(session, ComplaintEvent, complaints.events)
    _insert(session, PointsEntry, (dict(zip(POINTS_COLUMNS, entry, strict=True)) for entry in points))
    # Resolutions point at their goodwill entries, follow-ups at their resolutions.
    _insert(session, ComplaintResolution, complaints.resolutions)
    _insert(session, ComplaintFollowUp, complaints.follow_ups)
    _insert(session, Offer, offers)
    _insert(session, SurveyResponse, surveys.responses)
    _insert(session, SurveyScore, surveys.scores)
    refresh_member_totals(session)
    _continue_card_serials(session, len(cards))
    _continue_id_sequences(session)
    return DemoSummary(
        members=len(people),
        cards=len(cards),
        purchases=len(purchases),
        purchase_lines=line_count,
        points_entries=len(points),
        complaints=len(complaints.complaints),
        offers=len(offers),
        staff=staff_added,
        survey_responses=len(surveys.responses),
        wallet_entries=len(money.wallet_entries),
        credit_accounts=len(money.accounts),
        credit_entries=len(money.credit_entries),
    )


# The tables whose ids the demo hands out itself (see _IdAllocator).
_OWN_IDS = (Member, Card, Purchase, PurchaseLine, PointsEntry, Complaint, ComplaintEvent, ComplaintResolution,
            ComplaintFollowUp, Offer, SurveyResponse, MemberTag, SurveyScore, WalletBonusRule, WalletEntry, CreditEntry,
            CreditSettlement, CollectionNote)


def _continue_id_sequences(session: Session) -> None:
    """On PostgreSQL, move each id sequence past the ids the demo wrote, so the next member a till
    registers does not collide with one (SQLite continues from the largest id by itself)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in _OWN_IDS:
        table = model.__table__
        if "id" not in table.c:
            continue
        session.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"))


def _continue_card_serials(session: Session, issued: int) -> None:
    # Cards crmdesk issues later take the serials after the demo's.
    session.execute(sa.update(StoreSettings).values(next_card_serial=issued + 1))


def _stream(seed: int, part: str) -> random.Random:
    # A string seed is hashed with SHA-512, so this is stable across runs and platforms.
    return random.Random(f"crmdesk-demo:{seed}:{part}")


# --------------------------------------------------------------------------- existing data


def _has_store_data(session: Session) -> bool:
    return any(
        session.scalar(sa.select(model.id).limit(1)) is not None
        for model in (Member, Purchase, Complaint, SurveyResponse)
    )


def _delete_store_data(session: Session) -> None:
    """Delete everything a store accumulates, children before parents; staff, settings, tiers,
    saved filters, the top-up bonus rules and the owner's complaint and survey lists stay."""
    purchase = Purchase.__table__
    for statement in (
        sa.delete(SurveyScore.__table__),
        sa.delete(SurveyResponse.__table__),
        # A follow-up names its resolution; a resolution its goodwill entry and coupon.
        sa.delete(ComplaintFollowUp.__table__),
        sa.delete(ComplaintResolution.__table__),
        sa.delete(ComplaintAttachment.__table__),
        sa.delete(ComplaintEvent.__table__),
        sa.delete(OfferRedemption.__table__),  # names a coupon, an offer, a member and a purchase
        sa.delete(Coupon.__table__),
        # Stored value and credit name members and purchases; a settlement names two credit entries.
        sa.delete(CreditSettlement.__table__),
        sa.delete(CreditEntry.__table__),
        sa.delete(CreditAccount.__table__),
        sa.delete(CollectionNote.__table__),
        sa.delete(WalletEntry.__table__),
        sa.delete(PurchaseLine.__table__),
        sa.delete(PointsEntry.__table__),  # names a complaint and a purchase
        sa.delete(Complaint.__table__),  # names the purchase complained about
        sa.delete(purchase).where(purchase.c.refund_of_id.is_not(None)),  # refunds point at their sales
        sa.delete(purchase),
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
        # Complaints and surveys start on the first of a month, FEEDBACK_MONTHS - 1 months back.
        self.feedback_start = add_months(today.replace(day=1), 1 - FEEDBACK_MONTHS)
        self.feedback_from = local_midnight(self.feedback_start)

    def day_index(self, day: date) -> int:
        """Index of ``day`` in the purchase window, clamped to it."""
        return min(max((day - self.first_day).days, 0), HISTORY_DAYS)

    def pick_day(self, rng: random.Random, start: int, stop: int) -> int:
        """A day index in [start, stop), busier days more likely."""
        low = self.cum_weights[start - 1] if start else 0.0
        high = self.cum_weights[stop - 1]
        return min(bisect.bisect_right(self.cum_weights, low + rng.random() * (high - low)), stop - 1)

    def progress(self, instant: datetime) -> float:
        """How far into the feedback months ``instant`` lies: 0 at their start, 1 at the snapshot."""
        return max(0.0, (instant - self.feedback_from) / (self.as_of - self.feedback_from))


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
    managers: list[int]  # who handles refunds, assigns complaints and may skip a follow-up
    handlers: list[int]  # who complaints are assigned to: supervisors and the owner
    tier_rank: dict[int, int]  # tier id -> rank
    staff_names: dict[int, str] = field(default_factory=dict)
    owner: int | None = None  # who writes debts off

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
        handlers = [s.id for s in staff if s.role in (Role.SUPERVISOR, Role.OWNER)]
        everyone = [s.id for s in staff]
        return cls(
            card_prefix=store.get_store(session).card_prefix,
            tiers=[(t.id, t.min_spend_fen, t.points_multiplier_pct) for t in tiers],
            tier_by_rank={t.rank: t.id for t in tiers},
            cashiers=cashiers or everyone,
            managers=managers or everyone,
            handlers=handlers or everyone,
            tier_rank={t.id: t.rank for t in tiers},
            staff_names={s.id: s.name for s in staff},
            owner=next((s.id for s in staff if s.role is Role.OWNER), None),
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
        "wallet_principal_fen": 0,  # from the stored value and credit ledgers
        "wallet_bonus_fen": 0,
        "credit_owed_fen": 0,
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
                 "cashier_id", "lines", "refund_of", "refund", "points_due", "wallet", "credit")

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
        self.wallet = 0  # paid from the member's stored value
        self.credit = 0  # put on the member's credit account

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id, "member_id": self.person.id, "till": self.till, "receipt_no": self.receipt_no,
            "kind": self.kind, "refund_of_id": self.refund_of.id if self.refund_of else None,
            "occurred_at": self.at, "amount_fen": self.amount, "payment_method": self.payment,
            "wallet_fen": self.wallet, "credit_fen": self.credit, "cashier_id": self.cashier_id, "created_at": self.at,
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
class _Feedback:
    """The store's complaint and survey lists and settings, applied the way the services apply them.

    Only codes the store has switched on are used (a store refilled with --force may have
    changed its lists); the demo's own weights apply to the default codes."""

    channels: _Weighted
    categories: _Weighted
    resolution_days: dict[str, int]
    default_priority: dict[str, Priority]
    first_response: timedelta
    survey_channels: _Weighted
    dimensions: list[str]
    drop_dimension: str

    @classmethod
    def load(cls, session: Session) -> _Feedback:
        channels = [c.code for c in list_channels(session)]
        categories = list_categories(session)
        dimensions = [d.code for d in list_dimensions(session)]
        return cls(
            channels=_in_use(COMPLAINT_CHANNELS, channels),
            categories=_in_use(COMPLAINT_CATEGORIES, [c.code for c in categories]),
            resolution_days={c.code: c.resolution_days for c in categories},
            default_priority={c.code: c.default_priority for c in categories},
            first_response=timedelta(hours=complaint_settings(session).first_response_hours),
            survey_channels=_in_use(SURVEY_CHANNELS, channels),
            dimensions=dimensions,
            drop_dimension=SURVEY_DROP_DIMENSION if SURVEY_DROP_DIMENSION in dimensions else dimensions[0],
        )


def _in_use(pairs: Sequence[tuple[str, float]], active: list[str]) -> _Weighted:
    """The demo's weights for the codes switched on; the store's own codes if none of ours are."""
    known = [(code, weight) for code, weight in pairs if code in active]
    return _Weighted(known or [(code, 1) for code in active])


@dataclass(frozen=True)
class _Goodwill:
    """Points given to say sorry, credited when the complaint was resolved."""

    person: _Person
    at: datetime
    points: int
    complaint_id: int
    staff_id: int


@dataclass
class _Case:
    """A complaint to generate: when, from whom, and for the planted overdue ones what about and how far it got."""

    received_at: datetime
    person: _Person | None
    category: str | None = None
    halt: ComplaintStatus | None = None  # it got no further than this


@dataclass
class _ComplaintRows:
    """Complaints with everything that hangs off them, as rows to insert."""

    complaints: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    resolutions: list[dict[str, Any]] = field(default_factory=list)
    follow_ups: list[dict[str, Any]] = field(default_factory=list)
    goodwill: list[_Goodwill] = field(default_factory=list)

    def link_goodwill(self, points: list[tuple[Any, ...]]) -> None:
        """Point each resolution at the ledger entry its goodwill became (the ledger numbers entries later)."""
        by_complaint = {row["complaint_id"]: row for row in self.resolutions if row["goodwill_points"]}
        for entry in points:
            if entry[KIND] is PointsKind.GOODWILL:
                by_complaint[entry[COMPLAINT_ID]]["points_entry_id"] = entry[ENTRY_ID]


def _make_complaints(rng: random.Random, calendar: _Calendar, people: list[_Person], shop: _Shop,
                     feedback: _Feedback, ids: _IdAllocator) -> _ComplaintRows:
    """About one complaint per 25 members over the feedback months, each taken as far as it got by the snapshot."""
    rows = _ComplaintRows()
    for case in _complaint_cases(rng, calendar, people, feedback):
        _complaint(rng, calendar, shop, feedback, case, ids, rows)
    return rows


def _complaint_cases(rng: random.Random, calendar: _Calendar, people: list[_Person],
                     feedback: _Feedback) -> list[_Case]:
    # The floor keeps small demos lively, but a handful of members should not file dozens between them.
    count = max(min(MIN_COMPLAINTS, len(people)), round(len(people) * COMPLAINTS_PER_MEMBER))
    cases = [_Case(at, None) for at in _complaint_moments(rng, calendar, count)]
    # At least two walk-ins without a card, whatever the dice say.
    walk_ins = set(rng.sample(range(count), min(2, count))) | {n for n in range(count) if rng.random() < 0.07}
    for n, case in enumerate(cases):
        if n not in walk_ins:
            case.person = _shopper(rng, people, case.received_at)
    cases += _repeat_cases(rng, calendar, people, count)
    cases += _overdue_cases(rng, calendar, people, feedback)
    # A few from the last days, wherever they have got to by the snapshot: work in hand, not yet late.
    for _ in range(3):
        at = _moment_on(rng, calendar.today - timedelta(days=rng.randint(1, 4)))
        cases.append(_Case(at, _shopper(rng, people, at)))
    cases.sort(key=lambda case: case.received_at)  # ids follow the order they came in
    return cases


def _complaint_moments(rng: random.Random, calendar: _Calendar, count: int) -> list[datetime]:
    """When complaints came in: busy days more likely, and fewer as the year went on (the shop learned)."""
    start = calendar.day_index(calendar.feedback_start)
    moments: list[datetime] = []
    while len(moments) < count:
        index = calendar.pick_day(rng, start, HISTORY_DAYS)
        trend = 1.5 - 0.8 * (index - start) / (HISTORY_DAYS - start)  # 1.5 a year ago, 0.7 now
        if rng.random() * 1.5 < trend:
            moments.append(calendar.midnights[index] + timedelta(seconds=_shop_seconds(rng)))
    return sorted(moments)


def _shopper(rng: random.Random, people: list[_Person], at: datetime) -> _Person | None:
    """A member who could be in the shop at ``at``; regulars complain (and answer surveys) more
    simply because they come more. None when no one fits after a few tries."""
    for _ in range(50):
        person = rng.choice(people)
        if person.joined_at < at < person.shops_until and (person.visits or rng.random() < 0.2):
            return person
    return None


def _moment_on(rng: random.Random, day: date) -> datetime:
    return local_midnight(day) + timedelta(seconds=_shop_seconds(rng))


def _repeat_cases(rng: random.Random, calendar: _Calendar, people: list[_Person], count: int) -> list[_Case]:
    """A few regulars who complain again within weeks, what the repeat-complainant figure is for.

    The first complains twice in the latest full month, so that month's figures show one."""
    regulars = [p for p in people if p.visits >= 20 and p.row["status"] is MemberStatus.ACTIVE
                and p.joined_at < calendar.feedback_from]
    cases = []
    last_full = add_months(calendar.today.replace(day=1), -1)
    for n, person in enumerate(rng.sample(regulars, min(len(regulars), max(3, count // 30)))):
        if n == 0:
            at = _moment_on(rng, last_full + timedelta(days=rng.randrange(14)))
            times = [at, _in_shop_hours(at + timedelta(days=rng.randint(3, 12)), rng)]
        else:
            month = add_months(calendar.feedback_start, rng.randrange(FEEDBACK_MONTHS - 1))
            times = [_moment_on(rng, month + timedelta(days=rng.randrange(28)))]
            for _ in range(rng.choice((1, 1, 2))):
                times.append(_in_shop_hours(times[-1] + timedelta(days=rng.randint(5, 40)), rng))
        cases += [_Case(at, person) for at in times if at < calendar.as_of - timedelta(days=1)]
    return cases


def _overdue_cases(rng: random.Random, calendar: _Calendar, people: list[_Person],
                   feedback: _Feedback) -> list[_Case]:
    """A handful of open complaints past a deadline at the snapshot, so the board has something to chase:
    two nobody has answered in time, three answered but past the end of their resolution day."""
    cases = []
    response_days = feedback.first_response.days + 1  # whole days that surely take it past the deadline
    for halt in (ComplaintStatus.NEW, ComplaintStatus.ASSIGNED):
        at = _moment_on(rng, calendar.today - timedelta(days=response_days + rng.randint(1, 2)))
        cases.append(_Case(at, _shopper(rng, people, at), halt=halt))
    for _ in range(3):
        category = feedback.categories.pick(rng)
        at = _moment_on(rng, calendar.today - timedelta(days=feedback.resolution_days[category] + rng.randint(2, 6)))
        cases.append(_Case(at, _shopper(rng, people, at), category=category, halt=ComplaintStatus.IN_PROGRESS))
    return cases


def _complaint(rng: random.Random, calendar: _Calendar, shop: _Shop, feedback: _Feedback, case: _Case,
               ids: _IdAllocator, rows: _ComplaintRows) -> None:
    """One complaint with its timeline, resolution and follow-up, as the services would have recorded them."""
    person, received_at = case.person, case.received_at
    complaint_id = ids.take(Complaint)
    channel = feedback.channels.pick(rng)
    category = case.category or feedback.categories.pick(rng)
    description, request, product = _complaint_text(rng, category)
    anonymous = person is None and channel in ("box", "letter") and rng.random() < 0.5
    walk_in_name = "" if person or anonymous else _walk_in_name(rng)
    walk_in_phone = _mobile_number(rng) if walk_in_name and rng.random() < 0.7 else ""
    reachable = person is not None or bool(walk_in_phone)
    # Counter and phone complaints are typed in by the cashier; the rest by whoever handles complaints.
    created_by = rng.choice(shop.cashiers) if channel in ("counter", "phone") else rng.choice(shop.handlers)
    handler = rng.choice(shop.handlers)
    on_the_spot = (case.halt is None and channel == "counter" and category in ON_THE_SPOT_CATEGORIES
                   and rng.random() < 0.3)
    # Whoever settles it at the counter becomes its owner (the service's rule for acting on an unowned one).
    owner = created_by if on_the_spot else handler
    department = "" if on_the_spot else COMPLAINT_DEPARTMENTS.get(category, "客服中心")
    first_response_due = received_at + feedback.first_response
    resolution_due = resolution_due_for(received_at, feedback.resolution_days[category])
    progress = calendar.progress(received_at)
    follow_up = reachable and rng.random() > 0.05  # a few never pick up the phone
    path = _complaint_path(rng, calendar, received_at, first_response_due, resolution_due, progress,
                           on_the_spot=on_the_spot, follow_up=follow_up, halt=case.halt)
    reached = dict(path)
    status = path[-1][0]
    receipt = _related_sale(person, received_at) if category in RECEIPT_CATEGORIES else None
    rows.complaints.append({
        "id": complaint_id,
        "member_id": person.id if person else None,
        "walk_in_name": walk_in_name,
        "walk_in_phone": walk_in_phone,
        "received_at": received_at,
        "channel": channel,
        "category": category,
        "status": status,
        "priority": _priority(feedback, shop, category, person, received_at),
        "description": description,
        "customer_request": request,
        "related_purchase_id": receipt.id if receipt else None,
        "related_receipt": f"{receipt.till}-{receipt.receipt_no}" if receipt else "",
        "owner_staff_id": None if status is ComplaintStatus.NEW else owner,
        "department": "" if status is ComplaintStatus.NEW else department,
        "first_response_due": first_response_due,
        # The first move to in progress or resolved (contacting the customer); assigning does not count.
        "first_response_at": next((at for s, at in path if s in ANSWERED), None),
        "resolution_due": resolution_due,
        "resolved_at": reached.get(ComplaintStatus.RESOLVED),
        "closed_at": reached.get(ComplaintStatus.CLOSED),
        "created_by_id": created_by,
        "created_at": received_at,
    })

    resolution: dict[str, Any] | None = None
    if ComplaintStatus.RESOLVED in reached:
        resolution = _resolution(rng, category, product, person, reachable or channel == "counter",
                                 reached[ComplaintStatus.RESOLVED], owner, on_the_spot)
        resolution.update(id=ids.take(ComplaintResolution), complaint_id=complaint_id)
        rows.resolutions.append(resolution)
        if resolution["goodwill_points"]:
            assert person is not None  # _resolution gives goodwill to members only
            rows.goodwill.append(_Goodwill(person, resolution["at"], resolution["goodwill_points"], complaint_id,
                                           owner))
    follow_up_row: dict[str, Any] | None = None
    if ComplaintStatus.FOLLOWED_UP in reached and resolution is not None:
        done_at = reached[ComplaintStatus.FOLLOWED_UP]
        score = _satisfaction(rng, progress, late=resolution["at"] >= resolution_due,
                              goodwill=bool(resolution["goodwill_points"]))
        follow_up_row = {
            "id": ids.take(ComplaintFollowUp), "complaint_id": complaint_id, "resolution_id": resolution["id"],
            "done_at": done_at, "method": _follow_up_method(rng, person), "satisfaction": score,
            "comment": rng.choice(FOLLOW_UP_COMMENTS[score]), "staff_id": handler, "recorded_at": done_at,
        }
        rows.follow_ups.append(follow_up_row)

    # The timeline, one event per move, with the kinds and notes the services write.
    if anonymous:
        skip_reason = NO_FOLLOW_UP_ANONYMOUS
    else:
        skip_reason = NO_FOLLOW_UP_NO_PHONE if not reachable else NO_FOLLOW_UP_UNREACHABLE
    previous = None
    for step, at in path:
        if step is ComplaintStatus.NEW:
            kind, staff, note = "logged", created_by, f"登记投诉（{CHANNEL_LABELS.get(channel, channel)}）"
        elif step is ComplaintStatus.ASSIGNED:
            kind, staff, note = "assigned", shop.managers[0], f"{shop.staff_names.get(owner, '')} / {department}"
        elif step is ComplaintStatus.IN_PROGRESS:
            kind, staff = "status", owner
            note = "已联系顾客，了解详细情况" if reachable else "已到现场核实情况"
        elif step is ComplaintStatus.RESOLVED:
            assert resolution is not None
            kind, staff, note = "resolved", owner, resolution["note"]
        elif step is ComplaintStatus.FOLLOWED_UP:
            assert follow_up_row is not None
            kind, staff = "followed_up", handler
            note = f"{follow_up_row['satisfaction']}/5: {follow_up_row['comment']}"
        elif follow_up_row is not None:
            kind, staff, note = "closed", handler, "结案"
        else:  # closing without the follow-up takes a supervisor and a reason
            kind, staff, note = "closed_without_follow_up", shop.managers[0], skip_reason
        rows.events.append({"id": ids.take(ComplaintEvent), "complaint_id": complaint_id, "at": at, "staff_id": staff,
                            "kind": kind, "from_status": previous, "to_status": step, "note": note})
        previous = step


def _complaint_path(rng: random.Random, calendar: _Calendar, received_at: datetime, first_response_due: datetime,
                    resolution_due: datetime, progress: float, *, on_the_spot: bool, follow_up: bool,
                    halt: ComplaintStatus | None) -> list[tuple[ComplaintStatus, datetime]]:
    """When the complaint reached each status; only what happened before the snapshot (and up to ``halt``) counts.

    The shop gets quicker over the year: late first responses and late resolutions get rarer
    as ``progress`` (0 a year ago, 1 now) grows, which is the trend the monthly figures show."""
    path = [(ComplaintStatus.NEW, received_at)]
    if on_the_spot:  # settled at the counter while the customer waited
        settled = _in_shop_hours(received_at + timedelta(minutes=rng.randint(5, 40)), rng)
        path.append((ComplaintStatus.RESOLVED, settled))
    else:
        assigned = _in_shop_hours(received_at + timedelta(minutes=rng.randint(10, 240)), rng)
        if rng.random() < 0.2 - 0.14 * progress:
            answered = first_response_due + timedelta(hours=rng.uniform(1, 36))
        else:
            answered = assigned + (first_response_due - assigned) * rng.uniform(0.05, 0.8)
        answered = _in_shop_hours(max(answered, assigned + timedelta(minutes=10)), rng)
        if rng.random() < 0.25 - 0.15 * progress:
            resolved = resolution_due + timedelta(hours=rng.uniform(2, 96))
        else:
            resolved = answered + (resolution_due - answered) * rng.uniform(0.1, 0.85)
        resolved = _in_shop_hours(max(resolved, answered + timedelta(hours=1)), rng)
        path += [(ComplaintStatus.ASSIGNED, assigned), (ComplaintStatus.IN_PROGRESS, answered),
                 (ComplaintStatus.RESOLVED, resolved)]
    if follow_up:  # the follow-up call a day or three later
        called = _in_shop_hours(path[-1][1] + timedelta(hours=rng.uniform(20, 72)), rng)
        path.append((ComplaintStatus.FOLLOWED_UP, called))
    # Closing is paperwork: usually within two days, sometimes left lying for a week or so.
    closing = rng.uniform(1, 48) if rng.random() < 0.8 else rng.uniform(72, 240)
    path.append((ComplaintStatus.CLOSED, _in_shop_hours(path[-1][1] + timedelta(hours=closing), rng)))
    kept = []
    for status, at in path:
        if at >= calendar.as_of:
            break
        kept.append((status, at))
        if status is halt:
            break
    return kept


def _complaint_text(rng: random.Random, category: str) -> tuple[str, str, tuple[str, int, bool] | None]:
    """Description, request, and the product it names as (name, price in fen, weighed), if any."""
    description, request = rng.choice(COMPLAINT_TEXTS.get(category, COMPLAINT_TEXTS["other"]))
    product = None
    for placeholder, categories in (("{fresh}", ("生鲜",)), ("{fruit}", ("蔬果",)),
                                    ("{packaged}", ("零食", "饮料", "乳制品", "粮油"))):
        if placeholder in description:
            _, name, _, price, weighed = rng.choice([p for c in categories for p in _CATEGORY_PRODUCTS[c]])
            product = (name, price, weighed)
            description = description.replace(placeholder, name)
    return description, request, product


def _resolution(rng: random.Random, category: str, product: tuple[str, int, bool] | None, person: _Person | None,
                told: bool, at: datetime, staff_id: int, on_the_spot: bool) -> dict[str, Any]:
    """The remedy, as complaints.resolve records it (without its id and complaint yet)."""
    remedies, note = rng.choice(COMPLAINT_REMEDIES.get(category, COMPLAINT_REMEDIES["other"]))
    chosen = set(remedies)
    refund = _refund_amount(rng, category, product) if Remedy.REFUND in chosen else 0
    points = 0
    # Goodwill goes to members still active then, and needs a supervisor (never the cashier at the counter).
    if (person is not None and not on_the_spot and category in GOODWILL_CATEGORIES and at < person.shops_until
            and rng.random() < 0.35):
        points = rng.choice((100, 200, 300))
        chosen.add(Remedy.GOODWILL)
    return {
        "at": at, "staff_id": staff_id, "remedies": [kind.value for kind in Remedy if kind in chosen],
        "refund_fen": refund, "goodwill_points": points, "points_entry_id": None, "coupon_id": None,
        "customer_told": told, "note": note,
    }


def _refund_amount(rng: random.Random, category: str, product: tuple[str, int, bool] | None) -> int:
    if category == "price":  # the difference between shelf and till, or the missed promotion
        return rng.choice((100, 200, 300, 500, 1000))
    if product is None:
        return rng.randint(10, 80) * 100
    _, price, weighed = product
    return price * rng.randint(300, 1500) // 1000 if weighed else price  # weighed goods are priced per kg


def _satisfaction(rng: random.Random, progress: float, *, late: bool, goodwill: bool) -> int:
    """1-5 at the follow-up: better as the shop improves, worse when the fix came late, better with a gift."""
    mean = 3.5 + 1.0 * progress - (0.8 if late else 0) + (0.3 if goodwill else 0)
    return min(5, max(1, round(rng.gauss(mean, 0.8))))


def _follow_up_method(rng: random.Random, person: _Person | None) -> FollowUpMethod:
    roll = rng.random()
    if person is not None and roll < 0.15:
        return FollowUpMethod.WECHAT
    if roll < 0.3:
        return FollowUpMethod.VISIT  # the customer came by the shop again
    return FollowUpMethod.PHONE


def _walk_in_name(rng: random.Random) -> str:
    return _SURNAMES.pick(rng) + rng.choice(("女士", "先生"))


def _priority(feedback: _Feedback, shop: _Shop, category: str, person: _Person | None, at: datetime) -> Priority:
    """The category's default, one step up for members of a VIP tier then (complaints.default_priority's rule)."""
    priority = feedback.default_priority[category]
    if person is not None:
        since = at - TIER_WINDOW
        spend = sum(txn.amount if txn.kind is PurchaseKind.SALE else -txn.amount
                    for txn in person.purchases if since <= txn.at < at)
        tier = tier_for(spend, shop.tiers)
        if tier is not None and shop.tier_rank[tier[0]] >= VIP_TIER_RANK:
            priority = PRIORITIES[min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)]
    return priority


def _related_sale(person: _Person | None, received_at: datetime) -> _Txn | None:
    """The member's last sale in the fortnight before complaining."""
    if person is None:
        return None
    for txn in reversed(person.purchases):
        if txn.kind is PurchaseKind.SALE and received_at - timedelta(days=14) <= txn.at < received_at:
            return txn
    return None


# --------------------------------------------------------------------------- surveys


@dataclass
class _SurveyRows:
    responses: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)


def _make_surveys(rng: random.Random, calendar: _Calendar, people: list[_Person], shop: _Shop,
                  feedback: _Feedback, ids: _IdAllocator) -> _SurveyRows:
    """Counter surveys month by month over the feedback months, every active dimension scored.

    Each month's scores per dimension are dealt from a fixed share of 5s, 4s ... (see
    _score_quota) rather than drawn one by one, so the monthly means tell the intended
    story whatever the seed: steady, a little seasonal, and the drop of the latest full month."""
    rows = _SurveyRows()
    per_month = min(max(MIN_SURVEYS, round(len(people) * SURVEYS_PER_MEMBER)), MAX_SURVEYS)
    month = calendar.feedback_start
    while month <= calendar.today:
        following = add_months(month, 1)
        start, stop = calendar.day_index(month), calendar.day_index(following)
        count = round(per_month * (stop - start) / (following - month).days)  # this month: the days so far
        if count:
            _survey_month(rng, calendar, people, shop, feedback, ids, rows, month, start, stop, count)
        month = following
    return rows


def _survey_month(rng: random.Random, calendar: _Calendar, people: list[_Person], shop: _Shop, feedback: _Feedback,
                  ids: _IdAllocator, rows: _SurveyRows, month: date, start: int, stop: int, count: int) -> None:
    taken = sorted(calendar.midnights[calendar.pick_day(rng, start, stop)] + timedelta(seconds=_shop_seconds(rng))
                   for _ in range(count))
    # A customer's mood colours all their answers: cheerful ones get the high scores of each dimension.
    moods = [rng.random() for _ in range(count)]
    scores = {}
    for dimension in feedback.dimensions:
        # A little month-to-month wobble, far below the alert threshold, so the months are not all alike.
        mean = _survey_mean(calendar, feedback, dimension, month) + rng.gauss(0, SURVEY_WOBBLE)
        scores[dimension] = _deal(rng, moods, _score_quota(count, mean))
    for n, at in enumerate(taken):
        channel = feedback.survey_channels.pick(rng)
        # The shop phones members; online and counter answers come from members or not.
        member_chance = {"phone": 1.0, "online": 0.7}.get(channel, 0.5)
        person = _shopper(rng, people, at) if rng.random() < member_chance else None
        mine = {dimension: scores[dimension][n] for dimension in feedback.dimensions}
        response_id = ids.take(SurveyResponse)
        rows.responses.append({
            "id": response_id, "member_id": person.id if person else None, "taken_at": at, "channel": channel,
            "comment": _survey_comment(rng, mine) if rng.random() < SURVEY_COMMENT_CHANCE else "",
            "staff_id": rng.choice(shop.cashiers) if channel == "counter" else rng.choice(shop.handlers),
            "created_at": at,
        })
        rows.scores += [{"response_id": response_id, "dimension": d, "score": s} for d, s in mine.items()]


def _survey_mean(calendar: _Calendar, feedback: _Feedback, dimension: str, month: date) -> float:
    """The centre of a dimension's scores in a month (before the 1-5 scale pulls it in)."""
    mean = SURVEY_MEANS.get(dimension, DEFAULT_SURVEY_MEAN)
    if dimension == "attitude":  # the training after last year's complaints pays off slowly
        mean += 0.2 * calendar.progress(local_midnight(month))
    if dimension in ("quality", "environment") and month.month in (7, 8):
        mean -= 0.1  # summer heat: produce wilts, the cold counters smell
    if dimension == feedback.drop_dimension:
        this_month = calendar.today.replace(day=1)
        if month == add_months(this_month, -1):
            mean -= SURVEY_DROP
        elif month == this_month:
            mean -= SURVEY_DROP / 2  # recovering
    return mean


def _score_quota(count: int, mean: float) -> list[int]:
    """``count`` scores, highest first, shared out along a bell around ``mean`` (largest remainders rounded up)."""
    weights = [math.exp(-((score - mean) ** 2) / (2 * SURVEY_SPREAD**2)) for score in (5, 4, 3, 2, 1)]
    total = sum(weights)
    shares = [count * weight / total for weight in weights]
    counts = [int(share) for share in shares]
    for n in sorted(range(5), key=lambda n: counts[n] - shares[n])[: count - sum(counts)]:
        counts[n] += 1
    return [score for score, times in zip((5, 4, 3, 2, 1), counts, strict=True) for _ in range(times)]


def _deal(rng: random.Random, moods: list[float], quota: list[int]) -> list[int]:
    """Hand the quota out by mood, with some noise, so one customer's answers go together without being equal."""
    order = sorted(range(len(moods)), key=lambda n: moods[n] + rng.gauss(0, 0.3), reverse=True)
    scores = [0] * len(moods)
    for score, n in zip(quota, order, strict=True):
        scores[n] = score
    return scores


def _survey_comment(rng: random.Random, scores: dict[str, int]) -> str:
    worst = min(scores, key=lambda dimension: scores[dimension])
    if scores[worst] <= 2:
        return rng.choice(SURVEY_COMMENTS_LOW.get(worst, SURVEY_COMMENTS_MIDDLE))
    return rng.choice(SURVEY_COMMENTS_HIGH if scores[worst] >= 4 else SURVEY_COMMENTS_MIDDLE)


# --------------------------------------------------------------------------- points


POINTS_COLUMNS = ("id", "member_id", "at", "kind", "points", "expires_on", "purchase_id", "complaint_id",
                  "staff_id", "reason")
ENTRY_ID, KIND, COMPLAINT_ID = (POINTS_COLUMNS.index(name) for name in ("id", "kind", "complaint_id"))


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
                  staff_id=item.staff_id, reason=f"投诉处理致歉赠送积分（投诉 #{item.complaint_id}）")
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
        # Money off for points has no amount of its own: 500 points are worth what the points rules
        # say (the demo keeps the default 100 points = ¥1), the same as redeeming them with F7.
        ("500积分换5元", "结账时可用500积分抵5元现金（与积分抵现同一比例：100积分=1元）。", OfferKind.AMOUNT_OFF, 0, 500, None, 0,
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
                     # Double points on Wednesdays only, as the offer's name says.
                     "weekdays": [2] if kind is OfferKind.POINTS_MULTIPLIER else [],
                     "per_member_limit": 1 if kind is OfferKind.BIRTHDAY else None,
                     "created_at": local_midnight(starts - timedelta(days=3)) + timedelta(hours=10)})
    return rows


# --------------------------------------------------------------------------- stored value and credit

WALLET_SHARE = 0.2  # about a fifth of the members keep stored value
WALLET_LAUNCH_DAYS = 540  # the shop started selling stored value this long before the snapshot
BONUS_RULES = ((20_000, 2_000), (50_000, 6_000))  # 充200送20, 充500送60
FESTIVAL_RULE = (100_000, 15_000)  # 充1000送150, in the run-up to last Spring Festival
TOPUP_AMOUNTS = (10_000, 20_000, 30_000, 50_000, 100_000)
_TOPUPS = _Weighted(list(zip(TOPUP_AMOUNTS, (18, 34, 10, 28, 10), strict=True)))
# How the demo's payment words map to the ways a top-up or a repayment is recorded.
MONEY_METHODS = {"微信": "wechat", "支付宝": "alipay", "现金": "cash", "银行卡": "card"}
WALLET_PAY_CHANCE = 0.85  # a holder pays from the wallet when it covers the basket
SPLIT_CHANCE = 0.6  # ... and pays what it holds, the rest in their usual way, when it does not
TOPUP_AGAIN_CHANCE = 0.8  # tops up again when the balance runs low (or else lets it run down for good)
LOW_BALANCE = 3_000

CREDIT_SHARE = 1 / 60  # about 33 credit accounts for 2,000 members
MIN_CREDIT_ACCOUNTS, MAX_CREDIT_ACCOUNTS = 12, 60
CREDIT_LIMITS = (20_000, 30_000, 50_000, 80_000, 100_000)
CREDIT_TERM_DAYS = 30
CREDIT_CHANCE = 0.35  # a sale of a credit customer goes on the account
LATE_SHARE = 0.3  # of the other credit customers, those who pay after the due day
SPLIT_REPAYMENT_CHANCE = 0.25  # a charge paid back in two parts
# One member overdue at the snapshot in each aging bucket: days past the oldest unpaid due day.
OVERDUE_TARGETS = (12, 44, 75, 130)
WRITE_OFF_STOPPED_DAYS = 230  # the written-off member stopped paying this long before the snapshot
CREDIT_REASON_WRITE_OFF = "坏账核销：已搬离本小区，多次催收无果"
CREDIT_REASON_FROZEN = "坏账已核销，停止赊账"


@dataclass(frozen=True)
class _MoneySetup:
    """The store's money settings the demo follows: bonus rules already there (kept on --force), the cap, the draw."""

    rules: list[tuple[int, int, int, date | None, date | None]]  # (id, min top-up, bonus, starts, ends): active, any tier
    has_rules: bool  # the owner has rules of their own (or an earlier demo's): the demo adds none
    cap: int | None
    order: DrawOrder

    @classmethod
    def load(cls, session: Session) -> _MoneySetup:
        settings = money_settings.get(session)
        rows = session.scalars(sa.select(WalletBonusRule).order_by(WalletBonusRule.id)).all()
        rules = [(r.id, int(r.min_topup_fen), int(r.bonus_fen), r.starts_on, r.ends_on) for r in rows
                 if r.active and r.tier_id is None]
        return cls(rules, bool(rows), settings.cap_fen, settings.draw_order)


@dataclass
class _Money:
    rules: list[dict[str, Any]] = field(default_factory=list)  # new bonus rules
    wallet_entries: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    credit_entries: list[dict[str, Any]] = field(default_factory=list)
    settlements: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)


class _WalletState:
    """A member's stored value while it is generated; read by wallet._split like a member row."""

    __slots__ = ("wallet_bonus_fen", "wallet_principal_fen")

    def __init__(self) -> None:
        self.wallet_principal_fen = 0
        self.wallet_bonus_fen = 0

    @property
    def total(self) -> int:
        return self.wallet_principal_fen + self.wallet_bonus_fen


def _make_money(rng: random.Random, calendar: _Calendar, people: list[_Person], shop: _Shop, setup: _MoneySetup,
                ids: _IdAllocator) -> _Money:
    money = _Money()
    rules = setup.rules if setup.has_rules else _demo_bonus_rules(calendar, ids, money)
    _make_credit(rng, calendar, people, shop, ids, money)
    _make_wallets(rng, calendar, people, rules, setup, ids, money)
    return money


def _demo_bonus_rules(calendar: _Calendar, ids: _IdAllocator, money: _Money) -> list[tuple[int, int, int, date | None, date | None]]:
    launch = calendar.today - timedelta(days=WALLET_LAUNCH_DAYS)
    rules: list[tuple[int, int, int, date | None, date | None]] = [
        (ids.take(WalletBonusRule), minimum, bonus, launch, None) for minimum, bonus in BONUS_RULES]
    festivals = [day for day in SPRING_FESTIVAL.values() if launch + timedelta(days=21) < day < calendar.today - timedelta(days=6)]
    if festivals:
        festival = max(festivals)
        rules.append((ids.take(WalletBonusRule), *FESTIVAL_RULE, festival - timedelta(days=21), festival + timedelta(days=6)))
    for rule_id, minimum, bonus, starts, ends in rules:
        money.rules.append({"id": rule_id, "min_topup_fen": minimum, "bonus_fen": bonus, "starts_on": starts, "ends_on": ends,
                            "tier_id": None, "active": True,
                            "created_at": local_midnight(starts - timedelta(days=3)) + timedelta(hours=10)})
    return rules


def _bonus(rules: list[tuple[int, int, int, date | None, date | None]], amount: int, day: date) -> tuple[int | None, int]:
    """The biggest bonus a top-up reaches on that day, as wallet.bonus_for chooses it: (rule id, bonus)."""
    best: tuple[int, int, int] | None = None
    for rule_id, minimum, bonus, starts, ends in rules:
        reached = minimum <= amount and (starts is None or starts <= day) and (ends is None or ends >= day)
        if reached and (best is None or (bonus, minimum) > (best[1], best[2])):
            best = (rule_id, bonus, minimum)
    return (best[0], best[1]) if best else (None, 0)


def _open_sales(person: _Person, after: datetime) -> list[_Txn]:
    """The member's sales after a moment that may be paid from an account (refunded ones are paid the usual way)."""
    return [txn for txn in person.purchases
            if txn.kind is PurchaseKind.SALE and txn.refund is None and not txn.credit and not txn.wallet and txn.at > after]


def _make_wallets(rng: random.Random, calendar: _Calendar, people: list[_Person],
                  rules: list[tuple[int, int, int, date | None, date | None]], setup: _MoneySetup, ids: _IdAllocator,
                  money: _Money) -> None:
    launch = local_midnight(calendar.today - timedelta(days=WALLET_LAUNCH_DAYS))
    eligible = [person for person in people if person.row["status"] is MemberStatus.ACTIVE and len(_open_sales(person, launch)) >= 4]
    chosen = sorted(rng.sample(eligible, min(len(eligible), round(len(people) * WALLET_SHARE))), key=lambda person: person.id)
    for person in chosen:
        sales = _open_sales(person, launch)
        state = _WalletState()
        method = MONEY_METHODS.get(person.payment, "cash")
        topping_up, topups, last = True, 0, None
        for sale in sales[rng.randrange(max(1, len(sales) * 2 // 3)):]:
            if topping_up and (topups == 0 or state.total < max(sale.amount, LOW_BALANCE)):
                if topups and rng.random() > TOPUP_AGAIN_CHANCE:
                    topping_up = False  # lets the balance run down
                else:
                    at = max(sale.at - timedelta(seconds=rng.randint(30, 300)), launch, person.joined_at + timedelta(seconds=1))
                    if _top_up(rng, state, sale.amount, at, person, method, sale.cashier_id, rules, setup.cap, ids, money):
                        topups += 1
                        last = at
            pay = 0
            if state.total >= sale.amount and rng.random() < WALLET_PAY_CHANCE:
                pay = sale.amount
            elif 0 < state.total < sale.amount and rng.random() < SPLIT_CHANCE:
                pay = state.total
            if not pay:
                continue
            draw = wallet._split(state, pay, setup.order)  # type: ignore[arg-type] - the service's own rule
            state.wallet_principal_fen -= draw.principal_fen
            state.wallet_bonus_fen -= draw.bonus_fen
            money.wallet_entries.append(_wallet_entry(ids, person, sale.at, WalletKind.PAYMENT, -draw.principal_fen, -draw.bonus_fen,
                                                      staff_id=sale.cashier_id, purchase_id=sale.id))
            sale.wallet = pay
            if pay == sale.amount:
                sale.payment = ""  # nothing left to pay another way
            last = sale.at
        person.row["wallet_principal_fen"] = state.wallet_principal_fen
        person.row["wallet_bonus_fen"] = state.wallet_bonus_fen
        if last is not None:
            person.row["updated_at"] = max(person.row["updated_at"], last)


def _top_up(rng: random.Random, state: _WalletState, basket: int, at: datetime, person: _Person, method: str, staff_id: int,
            rules: list[tuple[int, int, int, date | None, date | None]], cap: int | None, ids: _IdAllocator, money: _Money) -> bool:
    """A top-up at the counter before a sale: enough for the basket as a rule, never past the prepaid cap."""
    amount = _TOPUPS.pick(rng)
    amount = max(amount, next((option for option in TOPUP_AMOUNTS if option >= basket), TOPUP_AMOUNTS[-1]))
    day = local_date(at)
    for option in [option for option in TOPUP_AMOUNTS if option <= amount][::-1]:
        rule_id, bonus = _bonus(rules, option, day)
        if cap is None or state.total + option + bonus <= cap:
            state.wallet_principal_fen += option
            state.wallet_bonus_fen += bonus
            money.wallet_entries.append(_wallet_entry(ids, person, at, WalletKind.TOPUP, option, bonus, staff_id=staff_id,
                                                      rule_id=rule_id, method=method))
            return True
    return False


def _wallet_entry(ids: _IdAllocator, person: _Person, at: datetime, kind: WalletKind, principal: int, bonus: int, *,
                  staff_id: int | None, purchase_id: int | None = None, rule_id: int | None = None, method: str = "",
                  reason: str = "") -> dict[str, Any]:
    return {"id": ids.take(WalletEntry), "member_id": person.id, "at": at, "kind": kind, "principal_fen": principal,
            "bonus_fen": bonus, "purchase_id": purchase_id, "bonus_rule_id": rule_id, "payment_method": method,
            "staff_id": staff_id, "reason": reason}


@dataclass
class _Debtor:
    """A credit customer being generated: how they pay, and from when they stop."""

    person: _Person
    granted: datetime
    limit: int
    late: bool = False
    stops: datetime | None = None  # charges from here on stay unpaid
    write_off: datetime | None = None  # the owner writes the debt off then, and stops the credit
    target: int | None = None  # days overdue at the snapshot (the members who are overdue now)


def _shop_moment(rng: random.Random, day: date) -> datetime:
    return local_midnight(day) + timedelta(seconds=_shop_seconds(rng))


def _make_credit(rng: random.Random, calendar: _Calendar, people: list[_Person], shop: _Shop, ids: _IdAllocator,
                 money: _Money) -> None:
    tenure = timedelta(days=90)
    eligible = [person for person in people if person.row["status"] is MemberStatus.ACTIVE
                and calendar.as_of - person.joined_at > timedelta(days=150) and len(_open_sales(person, person.joined_at + tenure)) >= 10]
    count = min(len(eligible), max(MIN_CREDIT_ACCOUNTS, min(MAX_CREDIT_ACCOUNTS, round(len(people) * CREDIT_SHARE))))
    pool = rng.sample(eligible, count)
    debtors: list[_Debtor] = []

    def grant_between(person: _Person, latest: date) -> datetime | None:
        earliest = max(local_date(person.joined_at + tenure), calendar.first_day)
        if latest <= earliest:
            return None
        return _in_shop_hours(_shop_moment(rng, earliest + timedelta(days=rng.randrange((latest - earliest).days))), rng)

    def with_sale_after(stop: datetime) -> _Person | None:
        """A member of the pool with a sale soon after ``stop`` (that sale goes on credit and stays unpaid)."""
        for person in pool:
            if any(stop <= sale.at < stop + timedelta(days=12) for sale in _open_sales(person, stop)):
                pool.remove(person)
                return person
        return None

    # One member overdue in each bucket now, and one whose debt the owner wrote off.
    for days in OVERDUE_TARGETS:
        stops = local_midnight(calendar.today - timedelta(days=CREDIT_TERM_DAYS + days))
        person = with_sale_after(stops)
        granted = grant_between(person, local_date(stops) - timedelta(days=45)) if person else None
        if person is not None and granted is not None:
            debtors.append(_Debtor(person, granted, rng.choice(CREDIT_LIMITS[2:]), stops=stops, target=days))
    stops = local_midnight(calendar.today - timedelta(days=WRITE_OFF_STOPPED_DAYS))
    person = with_sale_after(stops)
    granted = grant_between(person, local_date(stops) - timedelta(days=60)) if person else None
    if person is not None and granted is not None:
        written = _in_shop_hours(_shop_moment(rng, calendar.today - timedelta(days=rng.randint(25, 45))), rng)
        debtors.append(_Debtor(person, granted, CREDIT_LIMITS[2], late=True, stops=stops, write_off=written))
    for person in pool:
        granted = grant_between(person, calendar.today - timedelta(days=60))
        if granted is not None:
            debtors.append(_Debtor(person, granted, rng.choice(CREDIT_LIMITS), late=rng.random() < LATE_SHARE))
    for debtor in sorted(debtors, key=lambda d: d.person.id):
        _run_account(rng, calendar, shop, debtor, ids, money)


def _repay_moments(rng: random.Random, debtor: _Debtor, sale: _Txn, amount: int) -> list[tuple[date, int]]:
    """When a charge is paid back (in one or two parts), by the member's habit; none when they stopped paying."""
    if debtor.stops is not None and sale.at >= debtor.stops:
        return []
    due = sale.day + timedelta(days=CREDIT_TERM_DAYS)
    first = due + timedelta(days=rng.randint(3, 40)) if debtor.late else sale.day + timedelta(days=rng.randint(3, CREDIT_TERM_DAYS - 3))
    if amount >= 2_000 and rng.random() < SPLIT_REPAYMENT_CHANCE:
        half = amount // 2
        return [(first, half), (first + timedelta(days=rng.randint(4, 15)), amount - half)]
    return [(first, amount)]


def _run_account(rng: random.Random, calendar: _Calendar, shop: _Shop, debtor: _Debtor, ids: _IdAllocator, money: _Money) -> None:
    """The account's life: charges at the till, repayments by habit, settled oldest first; notes; a write-off."""
    person = debtor.person
    granted_by = shop.managers[0] if shop.managers else shop.owner
    money.accounts.append({
        "member_id": person.id, "limit_fen": debtor.limit, "term_days": CREDIT_TERM_DAYS,
        "frozen": debtor.write_off is not None, "frozen_reason": CREDIT_REASON_FROZEN if debtor.write_off else "",
        "granted_by_id": granted_by, "granted_at": debtor.granted, "updated_at": debtor.write_off or debtor.granted})
    open_charges: list[list[Any]] = []  # [entry, outstanding], oldest due first (due day, then id)
    owed = 0
    pending: dict[date, int] = {}  # repayments to come, by day
    method = MONEY_METHODS.get(person.payment, "cash")
    last = debtor.granted

    def settle(settler: dict[str, Any], amount: int) -> None:
        nonlocal owed
        owed -= amount
        for charge in open_charges:
            if amount <= 0:
                break
            part = min(amount, charge[1])
            if part:
                money.settlements.append({"id": ids.take(CreditSettlement), "charge_id": charge[0]["id"], "settled_by_id": settler["id"],
                                          "amount_fen": part})
                charge[1] -= part
                amount -= part
        open_charges[:] = [charge for charge in open_charges if charge[1]]

    last_charge = debtor.granted

    def repay_until(moment: datetime) -> None:
        """The repayments of the days before ``moment``'s, each after every charge made so far (it settles those)."""
        nonlocal last
        for day in sorted(day for day in pending if day < local_date(moment)):
            amount = min(pending.pop(day), owed)
            at = max(_shop_moment(rng, day), last_charge + timedelta(minutes=rng.randint(1, 30)))
            if at >= moment and at < calendar.as_of:  # after a charge made late that day: the next day, then
                pending[day + timedelta(days=1)] = pending.get(day + timedelta(days=1), 0) + amount
                continue
            if amount <= 0 or at >= calendar.as_of:
                continue
            entry = _credit_entry(ids, person, at, CreditKind.REPAYMENT, -amount, staff_id=shop.cashiers[0], method=method)
            money.credit_entries.append(entry)
            settle(entry, amount)
            last = at

    stop_charging = debtor.write_off - timedelta(days=60) if debtor.write_off else calendar.as_of
    forced = debtor.stops
    for sale in _open_sales(person, debtor.granted):
        if sale.at >= stop_charging:
            break
        repay_until(sale.at)
        available = debtor.limit - owed
        is_forced = forced is not None and sale.at >= forced
        if not (is_forced or rng.random() < CREDIT_CHANCE) or available < 1_000:
            continue
        forced = None if is_forced else forced
        amount = sale.amount if sale.amount <= available else available // 100 * 100
        if amount < sale.amount and not is_forced and rng.random() > 0.3:
            continue  # over the limit: most pay the usual way rather than part on credit
        entry = _credit_entry(ids, person, sale.at, CreditKind.CHARGE, amount, staff_id=sale.cashier_id, purchase_id=sale.id,
                              due_on=sale.day + timedelta(days=CREDIT_TERM_DAYS))
        money.credit_entries.append(entry)
        open_charges.append([entry, amount])
        owed += amount
        last_charge = sale.at
        sale.credit = amount
        if amount == sale.amount:
            sale.payment = ""
        for day, part in _repay_moments(rng, debtor, sale, amount):
            pending[day] = pending.get(day, 0) + part
        last = sale.at
    repay_until(debtor.write_off or calendar.as_of)
    if debtor.write_off is not None:
        _collection_notes(rng, calendar, shop, debtor, owed, money, ids, write_off=True)
        if owed:
            entry = _credit_entry(ids, person, debtor.write_off, CreditKind.WRITE_OFF, -owed, staff_id=shop.owner,
                                  reason=CREDIT_REASON_WRITE_OFF)
            money.credit_entries.append(entry)
            settle(entry, owed)
            last = debtor.write_off
    elif debtor.target is not None:
        _collection_notes(rng, calendar, shop, debtor, owed, money, ids, write_off=False)
    person.row["credit_owed_fen"] = owed
    person.row["updated_at"] = max(person.row["updated_at"], last)


def _credit_entry(ids: _IdAllocator, person: _Person, at: datetime, kind: CreditKind, amount: int, *, staff_id: int | None,
                  purchase_id: int | None = None, due_on: date | None = None, method: str = "", reason: str = "") -> dict[str, Any]:
    return {"id": ids.take(CreditEntry), "member_id": person.id, "at": at, "kind": kind, "amount_fen": amount, "due_on": due_on,
            "purchase_id": purchase_id, "payment_method": method, "staff_id": staff_id, "approved_by_id": None, "reason": reason}


def _collection_notes(rng: random.Random, calendar: _Calendar, shop: _Shop, debtor: _Debtor, owed: int, money: _Money,
                      ids: _IdAllocator, *, write_off: bool) -> None:
    """催收: what the shop noted about the debts overdue long enough to chase (a promise kept to the day or broken)."""
    staff = shop.managers[0] if shop.managers else shop.owner
    today = calendar.today
    # (day, channel, what was said, promised day, share of the debt promised)
    notes: list[tuple[date, str, str, date | None, float]]
    if write_off:
        assert debtor.write_off is not None
        ended = local_date(debtor.write_off)
        notes = [(ended - timedelta(days=75), "phone", "电话催收，顾客答应月底前还清", ended - timedelta(days=60), 1.0),
                 (ended - timedelta(days=40), "phone", "电话多次未接通", None, 0),
                 (ended - timedelta(days=12), "visit", "上门催收，邻居说已搬走，联系不上", None, 0)]
    elif debtor.target is not None and debtor.target > 90:
        notes = [(today - timedelta(days=50), "phone", "电话提醒还款，顾客说手头紧", None, 0),
                 (today - timedelta(days=32), "phone", "再次电话催收，答应两周内还清", today - timedelta(days=18), 1.0)]  # broken
    elif debtor.target is not None and debtor.target > 60:
        notes = [(today - timedelta(days=6), "visit", "顾客来店时提醒还款，答应发工资后先还一半", today + timedelta(days=9), 0.5)]
    elif debtor.target is not None and debtor.target > 30:
        notes = [(today - timedelta(days=8), "sms", "短信提醒还款", None, 0)]
    else:
        return
    for day, channel, text, promised, share in notes:
        at = _in_shop_hours(_shop_moment(rng, day), rng)
        if at >= calendar.as_of or (promised is not None and promised < local_date(at)):
            continue
        money.notes.append({"id": ids.take(CollectionNote), "member_id": debtor.person.id, "at": at, "channel": channel, "text": text,
                            "promised_on": promised, "promised_fen": max(100, int(owed * share) // 100 * 100) if promised else None,
                            "staff_id": staff})


def refresh_insight(db: Database) -> None:
    """The demo's customer figures and dashboard, as the owner's first refresh would make them."""
    from crmdesk.services import insight, staff

    with read_session(db) as session:
        owner = staff.actor_for(session)
    insight.refresh(db, owner)
