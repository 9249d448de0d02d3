"""The calls behind a wallboard figure, and today's calls by hour against the usual."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from api.core.clock import JAKARTA, as_utc
from api.events.hourly import Thresholds, in_window, outcome_conditions
from api.events.models import Call
from api.stats import service as stats

DRILL_LIMIT = 500
# "The usual" for an hour: the same weekday's hour over this many weeks before today.
USUAL_WEEKS = 4
FIGURES = ("offered", "answered", "abandoned", "short_abandoned")


def todays_calls(session: Session, figure: str, t: Thresholds) -> list[Call]:
    """Today's queued calls that ``figure`` counts, newest first (ValueError otherwise)."""
    if figure not in FIGURES:
        raise ValueError(f"no figure {figure!r}")
    lo, hi = stats.window(None, None)
    query = select(Call).where(in_window(lo, hi))
    if figure != "offered":
        query = query.where(outcome_conditions(t)[figure])
    return list(
        session.exec(query.order_by(col(Call.queue_entered_at).desc()).limit(DRILL_LIMIT)).all()
    )


@dataclass(frozen=True)
class HourBar:
    hour: int  # 0-23, WIB
    today: int
    usual: float


def by_hour(session: Session) -> list[HourBar]:
    """Calls offered per WIB hour today, beside that hour's average on the same weekday of
    the last ``USUAL_WEEKS`` weeks."""
    lo, hi = stats.window(None, None)
    today = _offered_by_hour(session, lo, hi)
    usual: dict[int, int] = {}
    for weeks in range(1, USUAL_WEEKS + 1):
        back = timedelta(weeks=weeks)
        for hour, n in _offered_by_hour(session, lo - back, hi - back).items():
            usual[hour] = usual.get(hour, 0) + n
    return [HourBar(h, today.get(h, 0), usual.get(h, 0) / USUAL_WEEKS) for h in range(24)]


def _offered_by_hour(session: Session, lo: datetime, hi: datetime) -> dict[int, int]:
    buckets = stats.timeseries(session, stats.Scope(lo, hi), "hour")
    return {as_utc(b.start).astimezone(JAKARTA).hour: b.offered for b in buckets}
