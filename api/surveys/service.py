"""Storing survey ratings and counting them per officer and per Asia/Jakarta day.

The IVR delivers each rating from its durable outbox, keyed by the call's linkedid: a
call is rated at most once, so a redelivered rating (a retry after a timeout, two
delivery loops racing) is stored once and the first one stands. A caller who skipped
sends nothing: there is no row for a call without a rating.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

import sqlalchemy as sa
from pydantic import BaseModel, field_validator
from sqlmodel import Field, Session, SQLModel, col, func, select

import asterisk_values as values
from api.core.clock import JAKARTA, as_utc, utc_now
from api.core.created import stored_once
from api.events.models import TZ_DATETIME
from ivr.logs import call_id

RATINGS = range(1, 6)


def _call_id(value: str) -> str:
    """An Asterisk linkedid or uniqueid, as the IVR's log context accepts them."""
    if call_id(value) != value:
        raise ValueError("not an Asterisk call id")
    return value


class SurveyBase(SQLModel):
    linkedid: str = Field(max_length=64)
    uniqueid: str = Field(max_length=64)
    # The queue member who took the call (app_queue's MEMBERNAME), as in call.agent.
    agent: str = Field(max_length=64)
    rating: int = Field(ge=1, le=5)
    rated_at: datetime = Field(sa_type=TZ_DATETIME)


class SurveyCreate(SurveyBase):
    _aware = field_validator("rated_at")(as_utc)
    _agent = field_validator("agent")(values.name)
    _ids = field_validator("linkedid", "uniqueid")(_call_id)


class SurveyRating(SurveyBase, table=True):
    __tablename__ = "survey_rating"
    __table_args__ = (sa.Index("ix_survey_rating_rated_at", "rated_at"),)

    id: int | None = Field(default=None, primary_key=True)
    linkedid: str = Field(max_length=64, unique=True)
    # The Asia/Jakarta day of rated_at, so days are grouped the same way on every database.
    day: date
    created_at: datetime = Field(default_factory=utc_now, sa_type=TZ_DATETIME)


class SurveyPublic(SurveyBase):
    id: int
    day: date
    created_at: datetime


def create_rating(session: Session, *, data: SurveyCreate) -> tuple[SurveyRating, bool]:
    """Store a rating; a call already rated returns the stored one (created False)."""
    day = as_utc(data.rated_at).astimezone(JAKARTA).date()
    rating = SurveyRating.model_validate({**data.model_dump(), "day": day})
    known = select(SurveyRating).where(SurveyRating.linkedid == data.linkedid)
    return stored_once(session, rating, known)


class SurveyFigures(BaseModel):
    """How many ratings, their average (2 decimals, null without any), and each score's count."""

    ratings: int
    average: float | None
    by_score: dict[int, int]


class AgentSurvey(SurveyFigures):
    agent: str


class DaySurvey(SurveyFigures):
    day: date


class AgentDaySurvey(SurveyFigures):
    day: date
    agent: str


class SurveyStats(BaseModel):
    start: datetime
    end: datetime
    total: SurveyFigures
    by_agent: list[AgentSurvey]
    by_day: list[DaySurvey]
    by_agent_and_day: list[AgentDaySurvey]


def _figures(scores: dict[int, int]) -> dict[str, object]:
    ratings = sum(scores.values())
    points = sum(score * n for score, n in scores.items())
    return {
        "ratings": ratings,
        "average": round(points / ratings, 2) if ratings else None,
        "by_score": {score: scores.get(score, 0) for score in RATINGS},
    }


def counts(session: Session, lo: datetime, hi: datetime) -> dict[tuple[date, str], dict[int, int]]:
    """Ratings given in [lo, hi): (day, agent) -> score -> count."""
    rows = session.execute(
        select(
            col(SurveyRating.day), col(SurveyRating.agent), col(SurveyRating.rating), func.count()
        )
        .where(col(SurveyRating.rated_at) >= lo, col(SurveyRating.rated_at) < hi)
        .group_by(col(SurveyRating.day), col(SurveyRating.agent), col(SurveyRating.rating))
    ).all()
    out: dict[tuple[date, str], dict[int, int]] = defaultdict(dict)
    for day, agent, score, n in rows:
        out[(day, agent)][score] = int(n)
    return out


def _merged(groups: list[dict[int, int]]) -> dict[int, int]:
    total: dict[int, int] = defaultdict(int)
    for scores in groups:
        for score, n in scores.items():
            total[score] += n
    return total


def stats(session: Session, lo: datetime, hi: datetime) -> SurveyStats:
    """Ratings in [lo, hi) in all, per officer, per day and per officer and day."""
    cells = counts(session, lo, hi)
    agents: dict[str, list[dict[int, int]]] = defaultdict(list)
    days: dict[date, list[dict[int, int]]] = defaultdict(list)
    for (day, agent), scores in cells.items():
        agents[agent].append(scores)
        days[day].append(scores)
    return SurveyStats(
        start=lo,
        end=hi,
        total=SurveyFigures.model_validate(_figures(_merged(list(cells.values())))),
        by_agent=[
            AgentSurvey.model_validate({"agent": a, **_figures(_merged(agents[a]))})
            for a in sorted(agents)
        ],
        by_day=[
            DaySurvey.model_validate({"day": d, **_figures(_merged(days[d]))}) for d in sorted(days)
        ],
        by_agent_and_day=[
            AgentDaySurvey.model_validate({"day": d, "agent": a, **_figures(cells[(d, a)])})
            for d, a in sorted(cells)
        ],
    )
