"""Summary, timeseries, per-agent figures and the live view.

Whole hours come from ``call_hourly``; partial hours at the window's edges and non-default
thresholds are counted from raw calls with the same SQL, so the figures are exact either way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, func, select

from api.complaints.models import EARLIEST, LATEST
from api.core.clock import JAKARTA, as_utc
from api.core.errors import InvalidInput
from api.core.settings import CALL_END_HORIZON
from api.events.hourly import Thresholds, in_window
from api.events.models import AgentEvent, Call
from api.refused import service as refused
from api.stats import aggregate as agg
from api.stats import live_view
from api.stats.schemas import AgentFigures, Bucket, LiveView, Summary

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Scope:
    """The calls a figure counts: queued in [lo, hi), of one queue and category if given."""

    lo: datetime
    hi: datetime
    queue: str | None = None
    category: str | None = None


def parse_bound(value: str | None, *, end: bool) -> datetime | None:
    """``YYYY-MM-DD`` is a whole Asia/Jakarta day (``to`` includes it); else ISO 8601.

    Bounds outside EARLIEST..LATEST are refused (422): the hours and days counted from
    them would overflow datetime's range."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"not a date or ISO 8601 time: {value!r}") from exc
    try:
        if len(value) == 10 and end:
            at += timedelta(days=1)
        bound: datetime | None = (at if at.tzinfo else at.replace(tzinfo=JAKARTA)).astimezone(UTC)
    except OverflowError:  # past datetime's years 1 to 9999
        bound = None
    if bound is None or not EARLIEST <= bound <= LATEST:
        raise InvalidInput(
            f"{value!r} is out of range: from and to must be from {EARLIEST.year}"
            f" to {LATEST.year - 1}"
        )
    return bound


def window(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """The [from, to) window in UTC; by default today in Asia/Jakarta."""
    today = datetime.now(JAKARTA).replace(hour=0, minute=0, second=0, microsecond=0)
    lo = parse_bound(start, end=False) or today.astimezone(UTC)
    hi = parse_bound(end, end=True) or (today + timedelta(days=1)).astimezone(UTC)
    if hi <= lo:
        raise InvalidInput("'to' must be after 'from'")
    return lo, hi


def _ceil_hour(at: datetime) -> datetime:
    floor = at.replace(minute=0, second=0, microsecond=0)
    return floor if floor == at else floor + HOUR


def counters(session: Session, scope: Scope, t: Thresholds, defaults: Thresholds) -> dict[str, int]:
    """KPI counters over [lo, hi): rollups for whole hours, raw calls for the rest."""
    lo, hi, queue, category = scope.lo, scope.hi, scope.queue, scope.category
    where = agg.filters(queue, category)
    if t != defaults:
        return agg.raw_counters(session, [in_window(lo, hi), *where], t)
    first, last = _ceil_hour(lo), hi.replace(minute=0, second=0, microsecond=0)
    if first >= last:
        return agg.raw_counters(session, [in_window(lo, hi), *where], t)
    total = agg.rollup_total(session, first, last, queue, category)
    for edge_lo, edge_hi in ((lo, first), (last, hi)):
        if edge_lo < edge_hi:
            total = agg.add(
                total, agg.raw_counters(session, [in_window(edge_lo, edge_hi), *where], t)
            )
    return agg.add({}, total)


def _ratio(num: float, den: float, scale: float = 1.0) -> float | None:
    return round(scale * num / den, 2) if den else None


def kpis(c: dict[str, int]) -> dict[str, float | int | None]:
    """Rates from counters (docs/asterisk.md). AHT has no after-call work: wrapuptime is 0."""
    answered, abandoned = c["answered"], c["abandoned"]
    return {
        **c,
        "abandon_rate_pct": _ratio(abandoned, c["offered"] - c["short_abandoned"], 100),
        "sl_pct": _ratio(c["answered_in_sl"], answered, 100),
        "sl2_pct": _ratio(c["answered_in_sl"] + c["abandoned_in_sl"], answered + abandoned, 100),
        "asa_seconds": _ratio(c["hold_sum"], answered),
        "aht_seconds": _ratio(c["talk_sum"], c["completed"]),
    }


def summary(session: Session, scope: Scope, t: Thresholds, defaults: Thresholds) -> Summary:
    c = counters(session, scope, t, defaults)
    return Summary(
        start=scope.lo,
        end=scope.hi,
        short_abandon_seconds=t.short_abandon,
        service_level_seconds=t.service_level,
        **kpis(c),  # type: ignore[arg-type]
    )


def timeseries(session: Session, scope: Scope, interval: str) -> list[Bucket]:
    """Per hour or per Asia/Jakarta day, from the rollups (whole hours)."""
    lo, hi = scope.lo.replace(minute=0, second=0, microsecond=0), _ceil_hour(scope.hi)
    buckets = agg.rollup_buckets(session, lo, hi, interval, scope.queue, scope.category)
    return [
        Bucket(start=key, **kpis(c))  # type: ignore[arg-type]
        for key, c in buckets
    ]


def _intervals(
    events: list[AgentEvent], on: str, off: str
) -> list[tuple[datetime, datetime | None]]:
    out: list[tuple[datetime, datetime | None]] = []
    open_at: datetime | None = None
    for e in events:
        if e.kind == on and open_at is None:
            open_at = as_utc(e.at)
        elif e.kind in (off, "logout") and open_at is not None:
            out.append((open_at, as_utc(e.at)))
            open_at = None
    if open_at is not None:
        out.append((open_at, None))
    return out


def _clipped(spans: list[tuple[datetime, datetime | None]], lo: datetime, hi: datetime) -> int:
    total = 0.0
    for start, stop in spans:
        total += max(0.0, (min(stop or hi, hi) - max(start, lo)).total_seconds())
    return int(total)


def latest_changes(session: Session, before: datetime | None) -> list[AgentEvent]:
    """Each agent's last login/logout and last pause/unpause (before ``before``), oldest first."""
    out: list[AgentEvent] = []
    for kinds in (("login", "logout"), ("pause", "unpause")):
        where: list[ColumnElement[bool]] = [col(AgentEvent.kind).in_(kinds)]
        if before is not None:
            where.append(col(AgentEvent.at) < before)
        latest = (
            select(col(AgentEvent.agent).label("agent"), func.max(AgentEvent.at).label("at"))
            .where(*where)
            .group_by(col(AgentEvent.agent))
            .subquery()
        )
        out += session.exec(
            select(AgentEvent)
            .join(
                latest,
                and_(col(AgentEvent.agent) == latest.c.agent, col(AgentEvent.at) == latest.c.at),
            )
            .where(*where)
            .order_by(col(AgentEvent.at), col(AgentEvent.id))
        ).all()
    return sorted(out, key=lambda e: (as_utc(e.at), e.id or 0))


def agents(session: Session, lo: datetime, hi: datetime) -> list[AgentFigures]:
    """Per agent: answered calls, talk, AHT, login and pause time, occupancy."""
    hi_eff = min(hi, datetime.now(UTC))
    by_agent: dict[str, list[AgentEvent]] = defaultdict(list)
    # The state each agent was in at ``lo``, then every change inside the window.
    before = latest_changes(session, lo)
    inside = session.exec(
        select(AgentEvent)
        .where(col(AgentEvent.at) >= lo, col(AgentEvent.at) < hi)
        .order_by(col(AgentEvent.at), col(AgentEvent.id))
    ).all()
    for e in [*before, *inside]:
        by_agent[e.agent].append(e)
    calls = {
        agent: (int(n), int(ended), int(talk or 0))
        for agent, n, ended, talk in session.execute(
            select(
                Call.agent,
                func.count(),
                func.count(col(Call.talk_seconds)),
                func.sum(Call.talk_seconds),
            )
            .where(in_window(lo, hi), col(Call.outcome) == "answered")
            .group_by(Call.agent)
        ).all()
        if agent
    }
    out = []
    for agent in sorted(set(by_agent) | set(calls)):
        events = by_agent.get(agent, [])
        login = _clipped(_intervals(events, "login", "logout"), lo, hi_eff)
        paused = _clipped(_intervals(events, "pause", "unpause"), lo, hi_eff)
        n, ended, talk = calls.get(agent, (0, 0, 0))
        out.append(
            AgentFigures(
                agent=agent,
                calls=n,
                talk_seconds=talk,
                aht_seconds=_ratio(talk, ended),  # over calls whose talk has ended
                login_seconds=login,
                pause_seconds=paused,
                occupancy_pct=_ratio(talk, login - paused, 100) if login > paused else None,
            )
        )
    return out


def live(
    session: Session, t: Thresholds, defaults: Thresholds, horizon: timedelta = CALL_END_HORIZON
) -> LiveView:
    """Callers waiting now, each agent's state, and today's summary (api/stats/live_view.py:
    each node's QueueStatus snapshot with every change since applied over it)."""
    scene = live_view.Scene(session, live_view.snapshots(session), datetime.now(UTC), horizon)
    lo, hi = window(None, None)
    return LiveView(
        at=scene.now,
        waiting=live_view.waiting(scene),
        agents=live_view.agents(scene),
        today=summary(session, Scope(lo, hi), t, defaults),
        refused_complaints=refused.pending_count(session),
        refused=[refused.public(row) for row in refused.listing(session, limit=refused.LIVE_LIST)],
    )
