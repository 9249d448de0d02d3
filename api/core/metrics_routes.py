"""``GET /metrics``: the API's Prometheus metrics, with figures read from the database
at scrape time (officers and callers now, collectors, today's service level).

It needs a token like every route but health: role ``monitoring`` (a service token for
Prometheus, ``lapor token create --role monitoring``) or ``admin``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.collectors.service import CollectorStatus
from api.core.auth import Principal, Role, require_roles
from api.core.clock import as_utc
from api.core.metrics import multiprocess
from api.core.settings import ApiSettings
from api.events.hourly import Thresholds
from api.stats import live_view, service

router = APIRouter(tags=["health"])
OFFICER_STATES = ("available", "on_call", "ringing", "paused")


class DatabaseFigures(Collector):
    """Gauges computed from the database at each scrape, as ``/stats/live`` computes them."""

    def __init__(self, engine: Engine, settings: ApiSettings) -> None:
        self.engine, self.settings = engine, settings

    def collect(self) -> Iterator[Metric]:
        with Session(self.engine) as session:
            yield from self._live(session)
            yield from self._collectors(session)
            yield from self._today(session)

    def _live(self, session: Session) -> Iterator[Metric]:
        now = datetime.now(UTC)
        horizon = self.settings.call_end_horizon
        scene = live_view.Scene(session, live_view.snapshots(session), now, horizon)
        officers = GaugeMetricFamily(
            "lapor_api_officers", "Officers signed into the queue, by state.", labels=["state"]
        )
        states = [agent.state for agent in live_view.agents(scene)]
        for state in OFFICER_STATES:
            officers.add_metric([state], states.count(state))
        yield officers
        yield GaugeMetricFamily(
            "lapor_api_callers_waiting",
            "Callers waiting in the queue now.",
            value=len(live_view.waiting(scene)),
        )

    def _collectors(self, session: Session) -> Iterator[Metric]:
        connected = GaugeMetricFamily(
            "lapor_api_collector_ami_connected",
            "1 if the node's collector last reported its AMI session up.",
            labels=["node"],
        )
        buffered = GaugeMetricFamily(
            "lapor_api_collector_buffered_events",
            "Events in the node's collector buffer at its last report.",
            labels=["node"],
        )
        age = GaugeMetricFamily(
            "lapor_api_collector_report_age_seconds",
            "Seconds since the node's collector last reported.",
            labels=["node"],
        )
        now = datetime.now(UTC)
        for row in session.exec(select(CollectorStatus)).all():
            connected.add_metric([row.node], 1 if row.ami_connected else 0)
            buffered.add_metric([row.node], row.buffered)
            age.add_metric([row.node], (now - as_utc(row.reported_at)).total_seconds())
        yield from (connected, buffered, age)

    def _today(self, session: Session) -> Iterator[Metric]:
        s = self.settings
        t = Thresholds(s.short_abandon_seconds, s.service_level_seconds)
        lo, hi = service.window(None, None)
        today = service.summary(session, service.Scope(lo, hi), t, t)
        yield GaugeMetricFamily(
            "lapor_api_calls_offered_today",
            "Calls offered to the queue today (Asia/Jakarta), as /stats/summary counts them.",
            value=today.offered,
        )
        yield GaugeMetricFamily(
            "lapor_api_calls_answered_today",
            "Calls answered today (Asia/Jakarta), as /stats/summary counts them.",
            value=today.answered,
        )
        if today.sl_pct is not None:  # absent while nothing was answered or abandoned
            yield GaugeMetricFamily(
                "lapor_api_service_level_ratio",
                "Today's service level (answered within the target / offered), 0..1.",
                value=today.sl_pct / 100,
            )


def exposition(engine: Engine, settings: ApiSettings) -> bytes:
    """Every API metric as Prometheus text: the process's (or, with several workers,
    all workers') counters, then the database's figures."""
    if multiprocess():
        workers = CollectorRegistry()
        MultiProcessCollector(workers)  # type: ignore[no-untyped-call]
        counted = generate_latest(workers)
    else:
        counted = generate_latest(REGISTRY)
    database = CollectorRegistry()
    database.register(DatabaseFigures(engine, settings))
    return counted + generate_latest(database)


@router.get("/metrics", response_class=Response)
def metrics(
    request: Request,
    _: Annotated[Principal, Depends(require_roles(Role.monitoring, Role.admin))],
) -> Response:
    """Prometheus metrics (text exposition format)."""
    body = exposition(request.app.state.engine, request.app.state.settings)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
