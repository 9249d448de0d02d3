"""What the wallboard shows, from the same live view and summary as ``/stats/live``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from api.collectors.service import Outage, outages
from api.console.officer import state_since
from api.core.clock import utc_now
from api.events.hourly import Thresholds
from api.reports.delivery_record import undelivered_reports
from api.stats import service as stats
from api.stats.schemas import LiveAgent, LiveView
from api.surveys import service as surveys
from api.surveys.service import AgentSurvey, SurveyStats

# A report that failed to reach the mayor stays on the board this long.
REPORT_ALERT = timedelta(days=2)
# Problems float up: ringing unanswered, then paused, on a call, available, signed out.
_ORDER = {"ringing": 0, "paused": 1, "on_call": 2, "available": 3, "logged_out": 4}


@dataclass(frozen=True)
class OfficerRow:
    agent: str
    state: str
    reason: str | None
    since: datetime | None


@dataclass(frozen=True)
class Board:
    live: LiveView
    officers: list[OfficerRow]
    alerts: list[str]  # keys of the catalog's [alerts]
    outages: list[Outage]  # collectors silent, Asterisk unreachable: with since when
    counts: dict[str, int]  # officers per state
    service_level_seconds: int
    target_pct: float
    survey: SurveyStats  # today's post-call ratings

    @property
    def longest_wait(self) -> int:
        return max((c.wait_seconds for c in self.live.waiting), default=0)

    @property
    def ratings(self) -> dict[str, AgentSurvey]:
        """Today's ratings of each officer who has any."""
        return {row.agent: row for row in self.survey.by_agent}


def board(
    session: Session,
    thresholds: Thresholds,
    horizon: timedelta,
    target_pct: float,
    silent_after: timedelta,
) -> Board:
    live = stats.live(session, thresholds, thresholds, horizon)
    officers = sorted(
        (_row(session, agent, horizon) for agent in live.agents),
        key=lambda row: (_ORDER.get(row.state, 9), row.since or live.at, row.agent),
    )
    counts = {state: 0 for state in _ORDER}
    for row in officers:
        counts[row.state] = counts.get(row.state, 0) + 1
    alerts = _alerts(live, counts, thresholds.service_level, target_pct)
    if undelivered_reports(session, since=utc_now() - REPORT_ALERT):
        alerts.append("report_undelivered")
    down = outages(session, live.at, silent_after)
    survey = surveys.stats(session, *stats.window(None, None))
    return Board(
        live, officers, alerts, down, counts, thresholds.service_level, target_pct, survey=survey
    )


def _row(session: Session, agent: LiveAgent, horizon: timedelta) -> OfficerRow:
    since = state_since(session, agent.agent, agent.state, horizon)
    return OfficerRow(agent.agent, agent.state, agent.reason, since)


def _alerts(live: LiveView, counts: dict[str, int], sl_seconds: int, target: float) -> list[str]:
    alerts = []
    if any(c.wait_seconds > sl_seconds for c in live.waiting):
        alerts.append("waiting_past_sl")
    if live.today.sl_pct is not None and live.today.sl_pct < target:
        alerts.append("sl_below_target")
    if sum(n for state, n in counts.items() if state != "logged_out") == 0:
        alerts.append("no_officer")
    if live.refused_complaints:
        alerts.append("refused_complaints")
    return alerts
