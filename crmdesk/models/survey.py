"""Counter satisfaction surveys: the owner's dimensions, the answers, and the alert threshold.

One response is one customer's answers (with or without a member), one score
from 1 (非常不满意, very dissatisfied) to 5 (非常满意, very satisfied) per
dimension they answered. The rules and figures live in crmdesk/services/surveys.py.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crmdesk.models.base import Base, UtcDateTime, utcnow


class SurveyDimension(Base):
    """What customers rate (service attitude, checkout speed, ...): an owner-editable list."""

    __tablename__ = "survey_dimension"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    # Defaults are stored in English and translated by the GUI ("surveys" context).
    name: Mapped[str] = mapped_column(sa.String(60))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class SurveyResponse(Base):
    __tablename__ = "survey_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("member.id"), index=True)
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    channel: Mapped[str] = mapped_column(sa.String(40))  # a complaint_channel code
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SurveyScore(Base):
    __tablename__ = "survey_score"
    __table_args__ = (sa.CheckConstraint("score BETWEEN 1 AND 5", name="score_1_to_5"),)

    response_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_response.id"), primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.ForeignKey("survey_dimension.code"), primary_key=True)
    score: Mapped[int] = mapped_column(sa.SmallInteger)


class SurveySettings(Base):
    """One row: when a dimension's monthly mean falls by more than this, it is flagged."""

    __tablename__ = "survey_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Hundredths of a point (30 = 0.30), so the comparison stays in integers.
    drop_alert_centi: Mapped[int] = mapped_column(default=30)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
