"""The collector's Prometheus metrics and readiness, read from its parts at scrape time
and served on the probe listener (ivr/metrics_http.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector as MetricsSource

from collector._collector import Collector


class _Figures(MetricsSource):
    def __init__(self, collector: Collector) -> None:
        self.collector = collector

    def collect(self) -> Iterator[Metric]:
        c = self.collector
        sender = c.sender
        yield GaugeMetricFamily(
            "lapor_collector_ami_connected",
            "1 while logged into the node's AMI, else 0.",
            value=1 if c.session.connected else 0,
        )
        posted, rejected = (0, 0) if sender is None else (sender.delivered, sender.rejected)
        for name, text, value in (
            (
                "ami_logins",
                "Successful AMI logins (the first and every reconnect).",
                c.session.connections,
            ),
            ("events_received", "AMI events received and buffered.", c.received),
            ("events_posted", "Events the API took (stored or already had).", posted),
            ("events_rejected", "Events the API refused for good (422), set aside.", rejected),
        ):
            yield CounterMetricFamily(f"lapor_collector_{name}", text, value=value)
        yield GaugeMetricFamily(
            "lapor_collector_buffered_events",
            "Events waiting in the disk buffer for the API.",
            value=len(c.buffer),
        )
        yield GaugeMetricFamily(
            "lapor_collector_oldest_buffered_age_seconds",
            "Age of the oldest event waiting in the disk buffer (0 when it is empty).",
            value=oldest_age(c),
        )


def oldest_age(collector: Collector) -> float:
    oldest = collector.buffer.oldest_received_at()
    if oldest is None:
        return 0.0
    return max(0.0, (datetime.now(UTC) - oldest).total_seconds())


def render(collector: Collector) -> Callable[[], bytes]:
    """The exposition text of the collector's metrics, with the process's own."""
    registry = CollectorRegistry()
    registry.register(_Figures(collector))
    ProcessCollector(registry=registry)
    return lambda: generate_latest(registry)


def readiness(collector: Collector, within: float) -> Callable[[], str | None]:
    """Ready: logged into AMI, and the sender delivered within ``within`` seconds or no
    event has waited that long (a wrong AMI secret or an API that refuses the token
    makes it not ready)."""

    def problem() -> str | None:
        if not collector.session.connected:
            return "not logged into AMI"
        age = oldest_age(collector)
        if age < within:
            return None
        delivered_at = None if collector.sender is None else collector.sender.delivered_at
        if delivered_at is not None and time.monotonic() - delivered_at < within:
            return None
        return f"nothing delivered for {within:g} s; oldest buffered event {age:.0f} s old"

    return problem
