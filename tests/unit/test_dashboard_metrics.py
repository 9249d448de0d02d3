"""Every metric the Grafana dashboard and the alert rules query is one the services
export.

The exported names come from the services' own code, not from a list kept here: the
API's /metrics exposition (its process registry and the database's gauges, on a fresh
SQLite database), the IVR's registry and the collector's, each parsed as Prometheus
text. Only Prometheus's own series (``up``, ``ALERTS``), Asterisk's res_prometheus
(``asterisk_*``) and the recording rules of alerts.yml are allowed besides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from api.core import metrics_routes
from api.core.db import make_engine
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.stats import service
from api.stats.schemas import Summary
from collector import CollectorSettings
from collector._collector import Collector
from collector._metrics import render
from ivr import metrics as ivr_metrics
from ivr.outbox import Outbox

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((REPO / "monitoring" / "grafana" / "dashboards").glob("*.json"))
RULES = REPO / "monitoring" / "prometheus" / "alerts.yml"
# Series of Prometheus itself, not of a scraped service.
PROMETHEUS_OWN = {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds"}
ASTERISK_PREFIX = "asterisk_"
FAKE_SECRET = "3f9c1e0b7a5d4c2e8f6a1b3c5d"

# ---- A small PromQL reader: the metric names an expression selects ----

KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "inf", "nan", "atan2",
}  # fmt: skip
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENTIFIER = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """Names of the series ``expr`` selects: identifiers that are not function calls,
    keywords, label names (inside ``{}`` or a ``by (...)`` list), durations or Grafana
    variables."""
    text = STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery durations
    text = LABEL_LIST.sub(" ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana's $__rate_interval, ${var}
    text = re.sub(r"\boffset\s+\w+", " ", text)
    names = set()
    for match in IDENTIFIER.finditer(text):
        name, call = match.groups()
        if call or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (state) (lapor_api_officers{state="available"})', {"lapor_api_officers"}),
        (
            "histogram_quantile(0.95, sum by (le) (rate(lapor_ivr_greeting_latency_seconds_bucket"
            "[5m])))",
            {"lapor_ivr_greeting_latency_seconds_bucket"},
        ),
        ("a > 120 or max by (node) (b) > 120", {"a", "b"}),
        ("x and on() y == 0 unless ignoring(instance) z offset 5m", {"x", "y", "z"}),
        ('sum(rate(m_total{route!~"/(console|wallboard)/events"}[$__rate_interval]))', {"m_total"}),
        ("lapor:officers_signed_in:max == 0", {"lapor:officers_signed_in:max"}),
        ("1e3 * vector(0) + time()", set()),
    ],
)
def test_the_reader_finds_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


# ---- What is queried ----


def dashboard_exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            yield node["expr"]
        for value in node.values():
            yield from dashboard_exprs(value)
    elif isinstance(node, list):
        for value in node:
            yield from dashboard_exprs(value)


def rule_groups() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    assert isinstance(groups, list)
    return groups


def queried() -> dict[str, set[str]]:
    """Metric name -> where it is queried."""
    found: dict[str, set[str]] = {}
    sources = [(path.name, expr) for path in DASHBOARDS for expr in dashboard_exprs(load(path))]
    for group in rule_groups():
        for rule in group["rules"]:
            sources.append((f"alerts.yml {rule.get('alert') or rule['record']}", rule["expr"]))
    for where, expr in sources:
        for name in metric_names(expr):
            found.setdefault(name, set()).add(where)
    return found


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# ---- What the services export ----


def sample_names(exposition: str) -> set[str]:
    """The series names a Prometheus text exposition gives, a labelled metric without a
    child yet included (the family's type says which suffixes its samples get)."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "info": ("_info",),
    }
    names = set()
    for family in text_string_to_metric_families(exposition):
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def api_exposition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """GET /metrics's body on a fresh database. Today's service level is exported only
    once a call was answered or abandoned: the summary is given a value here."""
    real_summary = service.summary

    def with_service_level(*args: Any) -> Summary:
        summary: Summary = real_summary(*args)
        return summary.model_copy(update={"sl_pct": 90.0})

    monkeypatch.setattr(service, "summary", with_service_level)
    url = f"sqlite:///{tmp_path / 'lapor.db'}"
    engine = make_engine(url)
    upgrade(engine)
    settings = ApiSettings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    return metrics_routes.exposition(engine, settings).decode()


def ivr_exposition(tmp_path: Path) -> str:
    registry = ivr_metrics.registry(lambda: 0, Outbox(tmp_path / "ivr-spool"))
    return generate_latest(registry).decode()


def collector_exposition(tmp_path: Path) -> str:
    settings = CollectorSettings(  # type: ignore[call-arg]
        _env_file=None,
        buffer_dir=tmp_path / "collector",
        ami_secret=FAKE_SECRET,
        api_token=FAKE_SECRET,
    )
    return render(Collector(settings))().decode()


@pytest.fixture
def exported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    return (
        sample_names(api_exposition(tmp_path, monkeypatch))
        | sample_names(ivr_exposition(tmp_path))
        | sample_names(collector_exposition(tmp_path))
    )


def test_the_services_export_their_figures(exported: set[str]) -> None:
    """The reading of the registries works (a counter's _total, a histogram's _bucket)."""
    for name in (
        "lapor_api_http_requests_total",
        "lapor_api_http_request_duration_seconds_bucket",
        "lapor_api_service_level_ratio",
        "lapor_ivr_greeting_latency_seconds_bucket",
        "lapor_ivr_agi_sessions_total",
        "lapor_collector_oldest_buffered_age_seconds",
    ):
        assert name in exported, name


def test_every_queried_metric_is_exported(exported: set[str]) -> None:
    assert DASHBOARDS, "no dashboard in monitoring/grafana/dashboards"
    recorded = {
        rule["record"] for group in rule_groups() for rule in group["rules"] if "record" in rule
    }
    unknown = {
        name: sorted(where)
        for name, where in queried().items()
        if name not in exported
        and name not in recorded
        and name not in PROMETHEUS_OWN
        and not name.startswith(ASTERISK_PREFIX)
    }
    assert not unknown, f"queried but exported by no service: {unknown}"


def test_the_dashboard_queries_every_part() -> None:
    """Calls, queue, IVR, collector and API each have a panel, with a data source."""
    for path in DASHBOARDS:
        names = {n for expr in dashboard_exprs(load(path)) for n in metric_names(expr)}
        for prefix in ("lapor_api_calls_", "lapor_api_officers", "lapor_ivr_", "lapor_collector_"):
            assert any(name.startswith(prefix) for name in names), f"{path.name}: {prefix}"
        assert "lapor_api_http_request_duration_seconds_bucket" in names
        for panel in load(path)["panels"]:
            if panel["type"] != "row":
                assert panel.get("datasource"), f"{path.name}: {panel['title']}"
                assert panel.get("targets"), f"{path.name}: {panel['title']}"
