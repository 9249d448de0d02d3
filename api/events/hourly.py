"""The hourly rollup (``call_hourly``), kept by the ingest; its KPI counters as SQL aggregates.

The events domain owns the rollup: every ingest (and the queue_log import) rebuilds the
hours its calls touch. ``api.stats`` reads it, and scans raw calls for partial hours with
the same counters, so a rollup and a scan of raw calls cannot disagree:
- offered: calls that entered a queue; answered: outcome answered (CONNECT);
- abandoned / short_abandoned: an abandon with wait >= / < the short-abandon threshold;
- answered_in_sl: answered with hold <= S; abandoned_in_sl: (non-short) abandoned, wait <= S;
- hold_sum, talk_sum: seconds over answered calls; max_wait: max wait over every exit;
- completed: answered calls whose talk has ended (talk time known): AHT's denominator, so a
  call still being talked does not pull today's live AHT down;
- urgent: calls queued ahead of everyone else (an emergency), whatever their outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import ColumnElement, and_, case, delete, func, insert, literal_column
from sqlmodel import Session, col, select

from api.core.db import is_postgres
from api.events.models import Call, CallHourly

# A literal, not a parameter: PostgreSQL must see GROUP BY and SELECT as the same expression.
_EMPTY: ColumnElement[str] = literal_column("''")

COUNTERS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "exit_timeout",
    "callback_requested",
    "answered_in_sl",
    "abandoned_in_sl",
    "hold_sum",
    "talk_sum",
    "max_wait",
    "completed",
    "urgent",
)


@dataclass(frozen=True)
class Thresholds:
    short_abandon: int = 5
    service_level: int = 20


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def outcome_conditions(t: Thresholds) -> dict[str, ColumnElement[bool]]:
    """Which ``call`` rows each counted outcome is: the counters' definitions, also for
    listing the calls behind a figure."""
    outcome, wait = col(Call.outcome), func.coalesce(col(Call.wait_seconds), 0)
    abandon = outcome.in_(["abandoned", "short_abandoned"])
    return {
        "answered": outcome == "answered",
        "abandoned": and_(abandon, wait >= t.short_abandon),
        "short_abandoned": and_(abandon, wait < t.short_abandon),
    }


def counter_columns(t: Thresholds) -> list[Any]:
    """SELECT expressions for COUNTERS, in order, over ``call`` rows."""
    outcome, wait = col(Call.outcome), func.coalesce(col(Call.wait_seconds), 0)
    kinds = outcome_conditions(t)
    answered, long_abandon = kinds["answered"], kinds["abandoned"]
    return [
        func.count().label("offered"),
        _count(answered).label("answered"),
        _count(long_abandon).label("abandoned"),
        _count(kinds["short_abandoned"]).label("short_abandoned"),
        _count(outcome == "exit_timeout").label("exit_timeout"),
        _count(outcome == "callback_requested").label("callback_requested"),
        _count(and_(answered, func.coalesce(col(Call.hold_seconds), 0) <= t.service_level)).label(
            "answered_in_sl"
        ),
        _count(and_(long_abandon, wait <= t.service_level)).label("abandoned_in_sl"),
        func.coalesce(func.sum(case((answered, col(Call.hold_seconds)), else_=0)), 0).label(
            "hold_sum"
        ),
        func.coalesce(func.sum(case((answered, col(Call.talk_seconds)), else_=0)), 0).label(
            "talk_sum"
        ),
        func.coalesce(func.max(col(Call.wait_seconds)), 0).label("max_wait"),
        _count(and_(answered, col(Call.talk_seconds).is_not(None))).label("completed"),
        _count(col(Call.urgent).is_(True)).label("urgent"),
    ]


def in_window(start: datetime, end: datetime) -> ColumnElement[bool]:
    entered = col(Call.queue_entered_at)
    return and_(entered >= start, entered < end)


def thresholds(request: Request) -> Thresholds:
    """The app's KPI thresholds (a route dependency)."""
    settings = request.app.state.settings
    return Thresholds(settings.short_abandon_seconds, settings.service_level_seconds)


def refresh_hours(session: Session, hours: Sequence[datetime], t: Thresholds) -> None:
    """Rebuild the rollup rows of these hours from their calls: one grouped pass for each
    run of consecutive hours (a batch's calls usually fall in one run)."""
    step = timedelta(hours=1)
    runs: list[list[datetime]] = []
    for hour in sorted(set(hours)):
        if runs and runs[-1][1] == hour:
            runs[-1][1] = hour + step
        else:
            runs.append([hour, hour + step])
    for start, end in runs:
        _rebuild(session, t, start, end)
    session.flush()


def _hour_bucket(session: Session) -> Any:
    if is_postgres(session):
        return func.date_trunc("hour", literal_column("queue_entered_at AT TIME ZONE 'UTC'"))
    return func.strftime("%Y-%m-%d %H:00:00", col(Call.queue_entered_at))


def rebuild_all(session: Session, t: Thresholds) -> int:
    """Recompute every rollup row in one pass (after a bulk import); return rows written."""
    written = _rebuild(session, t, None, None)
    session.flush()
    return written


def _rebuild(session: Session, t: Thresholds, start: datetime | None, end: datetime | None) -> int:
    """Replace the rollup rows of hours in [start, end) (every hour if None) from calls."""
    bucket = _hour_bucket(session)
    where: ColumnElement[bool]
    if start is None or end is None:
        session.execute(delete(CallHourly))
        where = col(Call.queue_entered_at).is_not(None)
    else:
        session.execute(
            delete(CallHourly).where(col(CallHourly.hour) >= start, col(CallHourly.hour) < end)
        )
        where = in_window(start, end)
    grouped = session.execute(
        select(
            bucket,
            func.coalesce(col(Call.queue), _EMPTY),
            func.coalesce(col(Call.category), _EMPTY),
            *counter_columns(t),
        )
        .where(where)
        .group_by(
            bucket,
            func.coalesce(col(Call.queue), _EMPTY),
            func.coalesce(col(Call.category), _EMPTY),
        )
    ).all()
    rows = []
    for hour, queue, category, *values in grouped:
        at = hour if isinstance(hour, datetime) else datetime.fromisoformat(str(hour))
        rows.append(
            {
                "hour": at.replace(tzinfo=UTC),
                "queue": queue,
                "category": category,
                **{n: int(v or 0) for n, v in zip(COUNTERS, values, strict=True)},
            }
        )
    for first in range(0, len(rows), 5000):
        session.execute(insert(CallHourly), rows[first : first + 5000])
    return len(grouped)
