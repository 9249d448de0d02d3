"""KPIs and the live view for supervisors (Asia/Jakarta days)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from api.core.auth import Principal, Role, require_roles
from api.core.db import SessionDep
from api.core.deps import SettingsDep
from api.events.hourly import Thresholds, thresholds
from api.stats import service
from api.stats.schemas import AgentFigures, Bucket, LiveView, Summary
from api.surveys import service as surveys
from api.surveys.service import SurveyStats

router = APIRouter(prefix="/stats", tags=["stats"])
Supervisor = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin))]
From = Annotated[
    str | None,
    Query(alias="from", description="YYYY-MM-DD (Asia/Jakarta day) or ISO 8601; default today"),
]
To = Annotated[
    str | None,
    Query(alias="to", description="exclusive; a YYYY-MM-DD includes that whole day"),
]


@router.get("/summary")
def get_summary(
    session: SessionDep,
    request: Request,
    _: Supervisor,
    start: From = None,
    end: To = None,
    queue: str | None = None,
    category: str | None = None,
    short_abandon: Annotated[int | None, Query(ge=0, le=3600)] = None,
    service_level: Annotated[int | None, Query(ge=0, le=3600)] = None,
) -> Summary:
    """Offered, answered, abandoned, short abandoned, SL%, SL2%, ASA, AHT and max wait."""
    defaults = thresholds(request)
    t = Thresholds(
        defaults.short_abandon if short_abandon is None else short_abandon,
        defaults.service_level if service_level is None else service_level,
    )
    lo, hi = service.window(start, end)
    return service.summary(session, service.Scope(lo, hi, queue, category), t, defaults)


@router.get("/timeseries")
def get_timeseries(
    session: SessionDep,
    _: Supervisor,
    start: From = None,
    end: To = None,
    interval: Literal["hour", "day"] = "hour",
    queue: str | None = None,
    category: str | None = None,
) -> list[Bucket]:
    """The summary's figures per hour or per Asia/Jakarta day (whole hours)."""
    lo, hi = service.window(start, end)
    return service.timeseries(session, service.Scope(lo, hi, queue, category), interval)


@router.get("/agents")
def get_agents(
    session: SessionDep, _: Supervisor, start: From = None, end: To = None
) -> list[AgentFigures]:
    """Per agent: calls, talk, AHT, login and pause time, occupancy."""
    lo, hi = service.window(start, end)
    return service.agents(session, lo, hi)


@router.get("/survey")
def get_survey(
    session: SessionDep, _: Supervisor, start: From = None, end: To = None
) -> SurveyStats:
    """Post-call survey ratings (1-5): in all, per officer, per day, per officer and day."""
    lo, hi = service.window(start, end)
    return surveys.stats(session, lo, hi)


@router.get("/live")
def get_live(
    session: SessionDep, settings: SettingsDep, request: Request, _: Supervisor
) -> LiveView:
    """Callers waiting now, each agent's state, and today's summary."""
    defaults = thresholds(request)
    return service.live(session, defaults, defaults, settings.call_end_horizon)
