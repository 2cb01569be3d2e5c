"""Counter satisfaction surveys: taking one, the owner's dimensions, and monthly figures worked out by hand."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from crmdesk.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crmdesk.models import AuditEvent, SurveyResponse, SurveyScore
from crmdesk.services import members, surveys
from crmdesk.services.complaint_figures import Ratio
from crmdesk.services.surveys import SurveyInput
from crmdesk.services.uow import read_session, unit_of_work

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=CN)


def take(db, actor, scores, *, taken_at=NOW, **fields):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return surveys.add_response(session, actor, SurveyInput(scores=tuple(scores.items()), taken_at=taken_at, **fields), now=NOW)


def summary(db, month):  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return surveys.monthly_summary(session, month)


def counts(db) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return tuple(session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (SurveyResponse, SurveyScore, AuditEvent))


@pytest.fixture
def two_months(db, cashier) -> None:  # type: ignore[no-untyped-def]
    """September: attitude 5, 4 -> 4.5; checkout 4, 4 -> 4.0; quality 4; price 3.
    October: attitude 4, 4, 5 -> 13/3; checkout 3, 4, 3 -> 10/3; quality 5, 4 -> 4.5; price 2; environment 1.
    A response at 00:00 on 1 November (local) belongs to November."""
    take(db, cashier, {"attitude": 5, "checkout": 4, "quality": 4}, taken_at=datetime(2026, 9, 3, 15, 0, tzinfo=CN))
    take(db, cashier, {"attitude": 4, "checkout": 4, "price": 3}, taken_at=datetime(2026, 9, 30, 23, 59, 59, tzinfo=CN))
    take(db, cashier, {"attitude": 4, "checkout": 3, "quality": 5}, taken_at=datetime(2026, 10, 1, 0, 0, tzinfo=CN), comment="排队太久")
    take(db, cashier, {"attitude": 4, "checkout": 4, "quality": 4, "price": 2}, taken_at=datetime(2026, 10, 15, 18, 0, tzinfo=CN))
    take(db, cashier, {"attitude": 5, "checkout": 3, "environment": 1}, taken_at=datetime(2026, 10, 31, 23, 59, 59, tzinfo=CN))
    take(db, cashier, {"attitude": 1}, taken_at=datetime(2026, 11, 1, 0, 0, tzinfo=CN))


def test_a_survey_with_a_member_is_recorded_and_audited(db, owner, cashier) -> None:
    with unit_of_work(db) as session:
        member_id = members.register(session, owner, members.MemberInput(name="张三", phone="13812345678")).id
    info = take(db, cashier, {"attitude": 5, "checkout": 2}, member_id=member_id, comment="收银慢", channel="counter")
    assert (info.member_name, info.channel_name, info.comment, info.staff_name) == ("张三", "Counter", "收银慢", cashier.name)
    assert info.scores == (("attitude", 5), ("checkout", 2))
    anonymous = take(db, cashier, {"price": 3}, channel="online")
    assert (anonymous.member_id, anonymous.channel_name) == (None, "Online message")
    with read_session(db) as session:
        assert [r.id for r in surveys.recent_responses(session)] == [anonymous.id, info.id]
        details = session.scalar(sa.select(AuditEvent.details).where(AuditEvent.action == "survey.add", AuditEvent.entity_id == info.id))
    assert details == {"member_id": member_id, "scores": {"attitude": 5, "checkout": 2}}
    json.dumps(info.to_json())


@pytest.mark.parametrize(("scores", "fields", "error", "match"), [
    ({"attitude": 0}, {}, InvalidInput, "0 is not on the scale"),
    ({"attitude": 6}, {}, InvalidInput, "6 is not on the scale"),
    ({"attitude": True}, {}, InvalidInput, "not on the scale"),
    ({}, {}, InvalidInput, "Score at least one question"),
    ({"smell": 3}, {}, InvalidInput, "'smell' is not a survey question in use"),
    ({"attitude": 3}, {"member_id": 9999}, NotFound, "No member with id 9999"),
    ({"attitude": 3}, {"channel": "fax"}, InvalidInput, "'fax' is not a channel in use"),
    ({"attitude": 3}, {"taken_at": NOW + timedelta(hours=1)}, InvalidInput, "lies in the future"),
    ({"attitude": 3}, {"comment": "长" * 2001}, InvalidInput, "at most 2000 characters"),
])
def test_bad_surveys_are_refused_and_nothing_is_written(db, cashier, scores, fields, error, match) -> None:
    before = counts(db)
    with pytest.raises(error, match=match):
        take(db, cashier, scores, **fields)
    assert counts(db) == before


def test_a_question_scored_twice_is_refused(db, cashier) -> None:
    before = counts(db)
    with pytest.raises(InvalidInput, match="scored twice"), unit_of_work(db) as session:
        surveys.add_response(session, cashier, SurveyInput(scores=(("price", 4), ("price", 5))), now=NOW)
    assert counts(db) == before


def test_october_satisfaction_rate_and_means(db, two_months) -> None:
    october = summary(db, "2026-10")
    assert (october.month, october.previous_month, october.responses) == ("2026-10", "2026-09", 3)
    # Scores 4 3 5 / 4 4 4 2 / 5 3 1: six of ten are 4 or 5.
    assert october.satisfaction_rate == Ratio(6, 10)
    rows = {d.code: d for d in october.dimensions}
    assert [d.code for d in october.dimensions] == ["attitude", "checkout", "quality", "price", "environment"]
    assert {c: (d.count, d.total, d.satisfied) for c, d in rows.items()} == {
        "attitude": (3, 13, 3), "checkout": (3, 10, 1), "quality": (2, 9, 2), "price": (1, 2, 0), "environment": (1, 1, 0)}
    assert rows["attitude"].mean == pytest.approx(13 / 3) and rows["attitude"].previous_mean == pytest.approx(4.5)
    assert rows["checkout"].change == pytest.approx(10 / 3 - 4)
    assert rows["quality"].change == pytest.approx(0.5)
    assert rows["environment"].previous_mean is None and rows["environment"].change is None
    assert rows["checkout"].satisfaction_rate == Ratio(1, 3)


def test_a_drop_of_more_than_the_threshold_is_flagged(db, owner, two_months) -> None:
    # Default 0.30: attitude fell 0.17 (no), checkout 0.67 (yes), price 1.00 (yes); quality rose; environment is new.
    assert [d.code for d in summary(db, "2026-10").alerts] == ["checkout", "price"]
    with unit_of_work(db) as session:
        surveys.set_drop_alert(session, owner, 67)  # checkout fell by 2/3 = 0.666..., not more than 0.67
    assert [d.code for d in summary(db, "2026-10").alerts] == ["price"]
    with unit_of_work(db) as session:
        surveys.set_drop_alert(session, owner, 100)  # price fell by exactly 1.00: not more than it
    assert summary(db, "2026-10").alerts == ()
    with unit_of_work(db) as session:
        surveys.set_drop_alert(session, owner, 99)
    flagged = summary(db, "2026-10")
    assert ([d.code for d in flagged.alerts], flagged.drop_alert_centi) == (["price"], 99)


def test_the_month_edges_follow_the_shops_clock(db, two_months) -> None:
    september, november = summary(db, "2026-09"), summary(db, "2026-11")
    assert (september.responses, september.satisfaction_rate) == (2, Ratio(5, 6))
    assert (november.responses, november.satisfaction_rate) == (1, Ratio(0, 1))
    empty = summary(db, "2026-12")
    assert (empty.responses, empty.satisfaction_rate.value, empty.alerts) == (0, None, ())
    assert all(d.mean is None for d in empty.dimensions)
    json.dumps(summary(db, "2026-10").to_json())


def test_the_owner_edits_the_questions_and_the_threshold(db, owner, supervisor, cashier) -> None:
    with read_session(db) as session:
        assert [(d.code, d.name) for d in surveys.list_dimensions(session)] == list(surveys.DEFAULT_DIMENSIONS)
    with unit_of_work(db) as session:
        added = surveys.add_dimension(session, owner, "Parking")
        surveys.rename_dimension(session, owner, "price", "价格")
        surveys.set_dimension_active(session, owner, "environment", False)
    assert added.code == "parking"
    take(db, cashier, {"parking": 2})
    with pytest.raises(InvalidInput, match="'environment' is not a survey question in use"):
        take(db, cashier, {"environment": 4})
    with read_session(db) as session:
        assert surveys.find_dimension(session, "价格").code == "price"
        assert "environment" not in [d.code for d in surveys.list_dimensions(session)]
    for who, operation, error in [
        (supervisor, lambda s, a: surveys.add_dimension(s, a, "Toilets"), PermissionDenied),
        (cashier, lambda s, a: surveys.set_drop_alert(s, a, 50), PermissionDenied),
        (owner, lambda s, a: surveys.set_drop_alert(s, a, 0), InvalidInput),
        (owner, lambda s, a: surveys.add_dimension(s, a, "parking"), Conflict),
    ]:
        before = counts(db)
        with pytest.raises(error), unit_of_work(db) as session:
            operation(session, who)
        assert counts(db) == before
