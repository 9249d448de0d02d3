"""The officer's own view: state and since when, the call on their phone, and their day.

State comes from the same live view as ``/stats/live`` (Asterisk's snapshot with every
change since applied over it); the day's figures from the same function as
``/stats/agents``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from sqlmodel import Session, col, func, select

from api.complaints.models import ComplaintHistory
from api.core.clock import as_utc, utc_now
from api.events.models import AgentEvent, AgentRing, Call
from api.stats import live_view
from api.stats import service as stats
from api.stats.schemas import AgentFigures

# The kinds of change that start each state (the newest one found is "since").
_STARTS = {
    "paused": ("pause",),
    "logged_out": ("logout",),
    "available": ("login", "unpause"),
}


@dataclass(frozen=True)
class OfficerState:
    state: str  # available | ringing | on_call | paused | logged_out
    reason: str | None
    since: datetime | None


@dataclass(frozen=True)
class MyDay:
    figures: AgentFigures
    complaints: int
    team_median_calls: float | None


def officer_state(session: Session, username: str, horizon: timedelta) -> OfficerState:
    scene = live_view.Scene(session, live_view.snapshots(session), utc_now(), horizon)
    mine = next((a for a in live_view.agents(scene) if a.agent == username), None)
    state = mine.state if mine else "logged_out"
    reason = mine.reason if mine else None
    return OfficerState(state, reason, state_since(session, username, state, horizon))


def state_since(session: Session, username: str, state: str, horizon: timedelta) -> datetime | None:
    """When the officer's current ``state`` began (None if nothing tells)."""
    if state == "on_call":
        call = current_call(session, username, horizon)
        return as_utc(call.answered_at) if call and call.answered_at else None
    if state == "ringing":
        ring = _ring(session, username)
        return as_utc(ring.at) if ring else None
    change = session.exec(
        select(func.max(AgentEvent.at)).where(
            AgentEvent.agent == username, col(AgentEvent.kind).in_(_STARTS.get(state, ()))
        )
    ).one()
    since = as_utc(change) if change else None
    if state == "available":
        ended = session.exec(select(func.max(Call.ended_at)).where(Call.agent == username)).one()
        if ended is not None and (since is None or as_utc(ended) > since):
            since = as_utc(ended)
    return since


def current_call(session: Session, username: str, horizon: timedelta) -> Call | None:
    """The call this officer answered and is still on, if any."""
    return session.exec(
        select(Call)
        .where(
            Call.agent == username,
            col(Call.answered_at) >= utc_now() - horizon,
            col(Call.ended_at).is_(None),
        )
        .order_by(col(Call.answered_at).desc())
    ).first()


def ringing_call(session: Session, username: str) -> str | None:
    """The linkedid of the queue call ringing this officer's phone now, if any."""
    ring = _ring(session, username)
    return ring.linkedid if ring else None


def _ring(session: Session, username: str) -> AgentRing | None:
    """The queue call ringing this officer's phone now, if any."""
    return session.exec(
        select(AgentRing).where(AgentRing.agent == username, col(AgentRing.ringing))
    ).first()


def my_day(session: Session, username: str) -> MyDay:
    lo, hi = stats.window(None, None)
    everyone = stats.agents(session, lo, hi)
    mine = next((f for f in everyone if f.agent == username), None) or AgentFigures(
        agent=username,
        calls=0,
        talk_seconds=0,
        aht_seconds=None,
        login_seconds=0,
        pause_seconds=0,
        occupancy_pct=None,
    )
    filed = session.exec(
        select(func.count(func.distinct(ComplaintHistory.complaint_id))).where(
            ComplaintHistory.actor == username, col(ComplaintHistory.at) >= lo
        )
    ).one()
    team = [f.calls for f in everyone if f.login_seconds > 0 or f.calls > 0]
    return MyDay(mine, int(filed), median(team) if team else None)
