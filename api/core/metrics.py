"""The API's Prometheus metrics: HTTP requests by route template, and what the domains
count (events ingested, live-stream clients, daily reports, failed sign-ins).

With several uvicorn workers (``LAPOR_API_WORKERS`` > 1), ``lapor-api`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before the workers start, and
``GET /metrics`` sums every worker's files (prometheus-client's multiprocess mode);
with one, it reads this process's registry. Either way a scrape sees the whole API.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.multiprocess import mark_process_dead
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "lapor_api_http_requests",
    "HTTP requests answered, by method, route template ('unmatched' for none) and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "lapor_api_http_request_duration_seconds",
    "Time to answer an HTTP request (a live stream counts until it ends).",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
EVENTS = Counter(
    "lapor_api_events",
    "AMI events posted by collectors: stored, duplicate (already stored), rejected (invalid).",
    ["outcome"],
)
SSE_CLIENTS = Gauge(
    "lapor_api_sse_clients",
    "Live streams (Server-Sent Events) open now.",
    multiprocess_mode="livesum",
)
REPORT_RUNS = Counter(
    "lapor_api_report_runs",
    "Daily report runs by this API: generated, already_stored, claimed_elsewhere, failed.",
    ["outcome"],
)
REPORT_DELIVERIES = Counter(
    "lapor_api_report_deliveries",
    "Daily report delivery attempts by channel: sent, failed.",
    ["channel", "outcome"],
)
LOGIN_FAILURES = Counter(
    "lapor_api_login_failures",
    "Failed sign-ins (wrong username or password, locked out), API and pages alike.",
)


def _zeros() -> None:
    """Every bounded series from zero, so a rate or an increase sees the first one."""
    for outcome in ("stored", "duplicate", "rejected"):
        EVENTS.labels(outcome=outcome)
    for run in ("generated", "already_stored", "claimed_elsewhere", "failed"):
        REPORT_RUNS.labels(outcome=run)
    for channel in ("email", "telegram"):
        for sent in ("sent", "failed"):
            REPORT_DELIVERIES.labels(channel=channel, outcome=sent)


_zeros()


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def worker_exit() -> None:
    """A worker's live gauges (streams open) leave the sum when it stops."""
    if multiprocess():
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None) if isinstance(route, BaseRoute) else None
    return path if isinstance(path, str) else "unmatched"


class HttpMetrics:
    """ASGI middleware: count and time each HTTP request by its matched route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app starts a response

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = route_label(scope)
            HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            HTTP_DURATION.labels(method=method, route=route).observe(time.perf_counter() - started)


def count_events(stored: int, duplicate: int) -> None:
    EVENTS.labels(outcome="stored").inc(stored)
    EVENTS.labels(outcome="duplicate").inc(duplicate)


def count_rejected_events(error_locations: Iterable[tuple[object, ...]]) -> None:
    """A refused batch: one per event an error points at (one if none is named)."""
    events = {loc[1] for loc in error_locations if len(loc) > 1 and loc[0] == "events"}
    EVENTS.labels(outcome="rejected").inc(max(1, len(events)))
