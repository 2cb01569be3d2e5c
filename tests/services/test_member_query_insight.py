"""The member list's customer-insight columns and filters: segment, ABC class, stage, churn alert, probability
still a customer and 12-month value; kept in saved groups, and written to CSV and XLSX."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import InvalidInput
from crmdesk.models import InsightRun, MemberInsight
from crmdesk.services import demo, exports, insight, store
from crmdesk.services import insight_rules as rules
from crmdesk.services import member_query as mq
from crmdesk.services.member_query import MemberFilter
from crmdesk.services.members import MemberInput, register
from crmdesk.services.staff import actor_for
from crmdesk.services.uow import Actor, read_session, unit_of_work

TODAY = date(2026, 11, 22)
AS_OF = date(2026, 11, 21)


def insight_row(member_id: int, segment: str, abc_class: str | None, stage: str, *, alert: str | None = None,
                usual: float | None = None, now: float | None = None, p_alive: float | None = None,
                value_fen: int | None = None) -> dict[str, object]:
    """A member_insight row with the figures that matter here set by hand (the rest plausible)."""
    return {"member_id": member_id, "first_day": date(2025, 1, 10), "last_day": date(2026, 11, 1), "shopping_days": 40,
            "recency_days": 20, "frequency": 30, "monetary_fen": 250_000, "r_score": 3, "f_score": 4, "m_score": 4,
            "segment": segment, "abc_class": abc_class, "typical_gap_days": 4.0, "stage": stage, "alert": alert,
            "alert_usual": usual, "alert_now": now, "p_alive": p_alive,
            "expected_purchases": None if p_alive is None else round(p_alive * 30, 1), "expected_value_fen": value_fen}


def add_run(session, as_of: date = AS_OF) -> None:  # type: ignore[no-untyped-def]
    moment = datetime(as_of.year, as_of.month, as_of.day, 20, 0, tzinfo=timezone.utc)
    session.add(InsightRun(as_of=as_of, window_months=12, started_at=moment, finished_at=moment, members=4, purchases=400,
                           bgnbd_r=None, bgnbd_alpha=None, bgnbd_a=None, bgnbd_b=None, bgnbd_log_likelihood=None, gg_p=None,
                           gg_q=None, gg_v=None, gg_log_likelihood=None))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Actor, dict[str, int]]]:
    """Five members; four with figures set by hand, one who never bought (read only: shared by the module)."""
    database = open_database(sqlite_url(tmp_path_factory.mktemp("insight") / "store.sqlite"))
    with unit_of_work(database) as session:
        owner = store.initialise(session, owner_name="王店长", owner_password="owner-secret-1")
    ids: dict[str, int] = {}
    with unit_of_work(database) as session:
        for name, phone in (("张三", "13812345678"), ("李四", "13912345678"), ("王五", "15012345678"), ("赵六", "18612340000"),
                            ("钱七", "13712349999")):
            ids[name] = register(session, owner, MemberInput(name=name, phone=phone), today=TODAY).id
    with unit_of_work(database) as session:
        session.execute(sa.insert(MemberInsight), [
            insight_row(ids["张三"], "champions", "A", "active", p_alive=0.95, value_fen=500_000),
            insight_row(ids["李四"], "recall", "B", "at_risk", alert="gap", usual=4.0, now=19.0, p_alive=0.4, value_fen=80_000),
            insight_row(ids["王五"], "retain", "A", "lapsed", alert="spend", usual=60_000.0, now=8_000.0, p_alive=0.1234,
                        value_fen=20_050),
            insight_row(ids["赵六"], "newcomer", None, "new"),  # the model not yet reliable, nothing spent in the window
        ])
        add_run(session)
    yield database, owner, ids
    database.dispose()


@pytest.fixture
def sdb(shop: tuple[Database, Actor, dict[str, int]]) -> Database:
    return shop[0]


def names(db: Database, flt: MemberFilter) -> list[str]:
    with read_session(db) as session:
        rows = mq.page(session, flt, "member_no", False, 0, 100)
        assert mq.count(session, flt) == len(rows)
    return [row.name for row in rows]


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize(("flt", "expected"), [
    (MemberFilter(segments=("recall",)), ["李四"]),
    (MemberFilter(segments=("champions", "retain")), ["张三", "王五"]),
    (MemberFilter(segments=("churned",)), []),
    (MemberFilter(abc_classes=("A",)), ["张三", "王五"]),
    (MemberFilter(abc_classes=("B", "C")), ["李四"]),
    (MemberFilter(stages=("at_risk", "lapsed")), ["李四", "王五"]),
    (MemberFilter(stages=("new",)), ["赵六"]),
    (MemberFilter(alerts=rules.ALERTS), ["李四", "王五"]),
    (MemberFilter(alerts=("spend",)), ["王五"]),
    (MemberFilter(p_alive_max_pct=40), ["李四", "王五"]),  # 40 % itself included; no estimate: not matched
    (MemberFilter(p_alive_max_pct=10), []),
    (MemberFilter(p_alive_max_pct=100), ["张三", "李四", "王五"]),
    (MemberFilter(value_min_fen=80_000), ["张三", "李四"]),
    (MemberFilter(value_min_fen=0), ["张三", "李四", "王五"]),
    (MemberFilter(segments=("recall", "retain"), abc_classes=("A",)), ["王五"]),  # all given fields must hold
    (MemberFilter(stages=("active", "at_risk"), text="张"), ["张三"]),
], ids=lambda value: "" if isinstance(value, list) else json.dumps(value.to_dict(), ensure_ascii=False))
def test_each_insight_field_filters(sdb, flt: MemberFilter, expected: list[str]) -> None:
    assert names(sdb, flt) == expected


def test_rows_carry_the_figures(sdb, shop) -> None:
    with read_session(sdb) as session:
        rows = {row.name: row for row in mq.page(session, MemberFilter(), "member_no", False, 0, 100)}
    li = rows["李四"]
    assert (li.segment, li.abc_class, li.stage, li.p_alive, li.expected_value_fen) == ("recall", "B", "at_risk", 0.4, 80_000)
    assert rows["赵六"].abc_class is None and rows["赵六"].p_alive is None and rows["赵六"].expected_value_fen is None
    qian = rows["钱七"]  # never bought: no figures at all
    assert (qian.segment, qian.abc_class, qian.stage, qian.p_alive, qian.expected_value_fen) == (None,) * 5


def test_saved_form_round_trips(sdb, shop) -> None:
    flt = MemberFilter(segments=["recall", "retain"], abc_classes="A", stages=("at_risk",), alerts=("gap", "spend"),
                       p_alive_max_pct=30, value_min_fen=12_345)
    assert flt.segments == ("recall", "retain") and flt.abc_classes == ("A",)  # lists and single codes become tuples
    saved = flt.to_dict()
    assert saved == {"segments": ["recall", "retain"], "abc_classes": ["A"], "stages": ["at_risk"], "alerts": ["gap", "spend"],
                     "p_alive_max_pct": 30, "value_min_fen": 12_345}
    assert MemberFilter.from_dict(json.loads(json.dumps(saved))) == flt
    assert MemberFilter().to_dict() == {} and MemberFilter(p_alive_max_pct=0).to_dict() == {"p_alive_max_pct": 0}
    assert MemberFilter.from_dict({"p_alive_max_pct": 0}) == MemberFilter(p_alive_max_pct=0)
    # A smart group follows the figures of each refresh.
    _db, owner, _ids = shop
    with unit_of_work(sdb) as session:
        info = mq.save_filter(session, owner, "流失预警", MemberFilter(alerts=rules.ALERTS, value_min_fen=10_000))
    with read_session(sdb) as session:
        assert mq.get_filter(session, "流失预警").filter == info.filter
    assert names(sdb, info.filter) == ["李四", "王五"]
    with unit_of_work(sdb) as session:
        mq.delete_filter(session, owner, info.id)


@pytest.mark.parametrize("flt", [
    MemberFilter(segments=("vip",)),
    MemberFilter(segments=("champions", "Champions")),
    MemberFilter(abc_classes=("D",)),
    MemberFilter(stages=("sleeping",)),
    MemberFilter(alerts=("price",)),
    MemberFilter(p_alive_max_pct=101),
    MemberFilter(p_alive_max_pct=-1),
    MemberFilter(value_min_fen=-1),
])
def test_impossible_insight_criteria_are_refused(sdb, flt: MemberFilter) -> None:
    with pytest.raises(InvalidInput):
        flt.validate()
    with read_session(sdb) as session, pytest.raises(InvalidInput):
        mq.count(session, flt)


def test_an_unknown_segment_names_the_choices() -> None:
    with pytest.raises(InvalidInput) as refused:
        MemberFilter(segments=("vip",)).validate()
    assert refused.value.field == "segments"
    assert refused.value.params["values"] == "vip" and "champions" in refused.value.params["known"]
    with pytest.raises(InvalidInput):
        MemberFilter.from_dict({"segments": ["vip"]})


@pytest.mark.parametrize("saved", [
    {"segments": [1]}, {"stages": [None]}, {"alerts": [True]}, {"p_alive_max_pct": "30"}, {"p_alive_max_pct": True},
    {"value_min_fen": 1.5},
])
def test_unreadable_saved_insight_criteria_are_refused(saved: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        MemberFilter.from_dict(saved)


def test_criteria_in_words() -> None:
    words = {"Recall (high value)": "重要唤回", "At risk": "有流失风险"}
    described = MemberFilter(segments=("recall",), stages=("at_risk",), p_alive_max_pct=25, value_min_fen=100_000).describe(
        translate=lambda _context, text: words.get(text, text))
    assert ("Segment", "重要唤回") in described and ("Stage", "有流失风险") in described
    assert ("Still a customer at most", "25%") in described and ("12-month value at least", "¥1000.00") in described


# --------------------------------------------------------------------------- exports

INSIGHT_COLUMNS = ["name", "segment", "abc", "stage", "p_alive", "value"]


def test_csv_cells_of_the_insight_columns(sdb, tmp_path: Path) -> None:
    target = tmp_path / "洞察.csv"
    with read_session(sdb) as session:
        exports.export_members(session, MemberFilter(), "member_no", False, target, INSIGHT_COLUMNS, actor=actor_for(session))
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Name", "Segment", "ABC", "Stage", "Still a customer", "12-month value"]
    assert rows[1:] == [
        ["张三", "Top value", "A: the core (80% of spend)", "Active", "95%", "5000.00"],
        ["李四", "Recall (high value)", "B: the next 15%", "At risk", "40%", "800.00"],
        ["王五", "Retain (high value)", "A: the core (80% of spend)", "Lapsed", "12%", "200.50"],
        ["赵六", "Newcomer", "", "New", "", ""],
        ["钱七", "", "", "", "", ""],  # never bought
    ]


def test_xlsx_cells_are_typed_and_labels_translated(sdb, tmp_path: Path) -> None:
    chinese = {"Top value": "重要价值", "Active": "活跃", "A: the core (80% of spend)": "A类：核心"}
    labels = exports.insight_labels(lambda context, text: chinese.get(text, text) if context == "insight" else "?")
    assert labels[("segment", "champions")] == "重要价值" and labels[("stage", "active")] == "活跃"
    target = tmp_path / "洞察.xlsx"
    with read_session(sdb) as session:
        exports.export_members(session, MemberFilter(), "member_no", False, target, INSIGHT_COLUMNS, actor=actor_for(session),
                               labels=labels)
    book = openpyxl.load_workbook(target)
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1] == ("张三", "重要价值", "A类：核心", "活跃", 0.95, 5000)
    assert rows[3] == ("王五", "Retain (high value)", "A类：核心", "Lapsed", 0.1234, 200.5)
    assert rows[4] == ("赵六", "Newcomer", None, "New", None, None)
    assert rows[5] == ("钱七", None, None, None, None, None)
    assert sheet["E2"].number_format == "0%" and sheet["F2"].number_format == "#,##0.00"
    book.close()


def test_getters_leave_cells_empty_without_figures(sdb) -> None:
    with read_session(sdb) as session:
        rows = {row.name: row for row in mq.page(session, MemberFilter(), "member_no", False, 0, 100)}
    zone = mq.local_zone()
    columns = INSIGHT_COLUMNS[1:]
    assert exports.cell_values(rows["李四"], columns, zone, {}) == ["Recall (high value)", "B: the next 15%", "At risk", 0.4,
                                                                    Decimal("800.00")]
    assert exports.cell_values(rows["钱七"], columns, zone, {}) == [None] * 5
    # The printed list reads the same text getters: nothing of "None" on paper.
    assert [get(rows["钱七"]) for get in exports.text_getters(columns, zone, {})] == [""] * 5
    assert [exports.p_alive_text(p) for p in (None, 0.0, 0.004, 0.835, 1.0)] == ["", "0%", "0%", "84%", "100%"]


# --------------------------------------------------------------------------- with a refresh


def test_filters_follow_a_refresh_of_the_demo_store(tmp_path: Path) -> None:
    database = open_database(sqlite_url(tmp_path / "demo.sqlite"))
    try:
        with unit_of_work(database) as session:
            demo.fill_demo_store(session, members=80, seed=5, today=TODAY)
        with read_session(database) as session:
            owner = actor_for(session)
        insight.refresh(database, owner, as_of=TODAY - timedelta(days=1))
        with read_session(database) as session:
            stored = session.execute(sa.select(MemberInsight.segment, MemberInsight.stage, MemberInsight.abc_class,
                                               MemberInsight.alert)).all()
            assert stored, "the demo store has buyers"
            for segment in rules.SEGMENTS:
                assert mq.count(session, MemberFilter(segments=(segment,))) == sum(1 for row in stored if row.segment == segment)
            for stage in rules.STAGES:
                assert mq.count(session, MemberFilter(stages=(stage,))) == sum(1 for row in stored if row.stage == stage)
            for abc in rules.ABC_CLASSES:
                assert mq.count(session, MemberFilter(abc_classes=(abc,))) == sum(1 for row in stored if row.abc_class == abc)
            assert mq.count(session, MemberFilter(alerts=rules.ALERTS)) == sum(1 for row in stored if row.alert)
            everyone = mq.page(session, MemberFilter(), "member_no", False, 0, 1000)
            assert sum(1 for row in everyone if row.segment is not None) == len(stored)
    finally:
        database.dispose()

