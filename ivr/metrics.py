"""The IVR's Prometheus metrics, served by ``lapor-ivr`` on its probe listener
(ivr/metrics_http.py).

Counters live here, unregistered; ``registry`` gathers them with the gauges read at
scrape time (sessions in progress, the outbox's backlog). Labels are bounded: a route is
one of the server's script names or ``unknown``, never a caller's data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from ivr.channel import Channel
    from ivr.lapor_api import LaporApi
    from ivr.outbox import Outbox
    from ivr.session import CallOutcome

AGI_SESSIONS = Counter(
    "lapor_ivr_agi_sessions",
    "AGI sessions served, by script and outcome (handled: ended normally or by hang-up).",
    ["route", "outcome"],
    registry=None,
)
AGI_REFUSED = Counter(
    "lapor_ivr_agi_refused",
    "FastAGI connections refused: rejected (bad request, unknown script), over_capacity"
    " (the session cap), denied (peer address or AGI secret).",
    ["reason"],
    registry=None,
)
GREETING_LATENCY = Histogram(
    "lapor_ivr_greeting_latency_seconds",
    "From the AGI session's start (answer included) to the welcome prompt starting.",
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)
API_REQUESTS = Counter(
    "lapor_ivr_api_requests",
    "Requests to the Lapor API: ok, rejected (a 4xx retrying can't fix), unavailable.",
    ["outcome"],
    registry=None,
)
API_OUTCOMES = ("ok", "rejected", "unavailable")
SESSION_OUTCOMES = ("handled", "failed")
# A refused session's status to its ``reason`` label.
REFUSALS = {
    "bad_request": "rejected",
    "unknown_script": "rejected",
    "refused": "over_capacity",
    "denied": "denied",
}


def observe_greeting(channel: Channel) -> None:
    """The welcome prompt is about to play on ``channel``."""
    GREETING_LATENCY.observe(max(0.0, time.monotonic() - channel.started))


class SessionCounter:
    """The FastAGI server's ``on_call_end``: count each session by route and outcome."""

    def __init__(self, routes: Iterable[str]) -> None:
        self.routes = frozenset(routes)
        # Every series from zero, so a rate or an increase sees the first one.
        for route in (*self.routes, "unknown"):
            for outcome in SESSION_OUTCOMES:
                AGI_SESSIONS.labels(route=route, outcome=outcome)
        for reason in set(REFUSALS.values()):
            AGI_REFUSED.labels(reason=reason)
        for api_outcome in API_OUTCOMES:
            API_REQUESTS.labels(outcome=api_outcome)

    def __call__(self, outcome: CallOutcome) -> None:
        if outcome.status in REFUSALS:
            AGI_REFUSED.labels(reason=REFUSALS[outcome.status]).inc()
            return
        route = outcome.script if outcome.script in self.routes else "unknown"
        result = "handled" if outcome.status in ("ok", "hangup") else "failed"
        AGI_SESSIONS.labels(route=route, outcome=result).inc()


class _Gauges(Collector):
    """What is read at scrape time: sessions in progress and the outbox's backlog."""

    def __init__(self, active_sessions: Callable[[], int], outbox: Outbox) -> None:
        self._active_sessions = active_sessions
        self._outbox = outbox

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "lapor_ivr_agi_sessions_active",
            "AGI sessions in progress.",
            value=self._active_sessions(),
        )
        depth, oldest = self._outbox.backlog()
        yield GaugeMetricFamily(
            "lapor_ivr_outbox_depth", "Records waiting in the outbox for the API.", value=depth
        )
        yield GaugeMetricFamily(
            "lapor_ivr_outbox_oldest_age_seconds",
            "Age of the oldest record waiting in the outbox (0 when it is empty).",
            value=0.0 if oldest is None else max(0.0, time.time() - oldest),
        )


def registry(active_sessions: Callable[[], int], outbox: Outbox) -> CollectorRegistry:
    """Every IVR metric, with the process's own (CPU, memory, open files)."""
    found = CollectorRegistry()
    for metric in (AGI_SESSIONS, AGI_REFUSED, GREETING_LATENCY, API_REQUESTS):
        found.register(metric)
    found.register(_Gauges(active_sessions, outbox))
    ProcessCollector(registry=found)
    return found


def readiness(
    serving: Callable[[], bool], api: LaporApi, outbox: Outbox, outbox_max: int
) -> Callable[[], str | None]:
    """Ready: serving FastAGI, and the API answered at the last try or the outbox holds
    fewer than ``outbox_max`` records (calls are still taken while the API is away)."""

    def problem() -> str | None:
        if not serving():
            return "FastAGI server not started"
        if api.reachable:
            return None
        depth, _ = outbox.backlog()
        if depth < outbox_max:
            return None
        return f"API unreachable and {depth} records in the outbox (limit {outbox_max})"

    return problem
