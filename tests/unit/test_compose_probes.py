"""Compose and the services' probes: health checks ask readiness where a restart can
help, the probe listeners (no token) are never published, and Asterisk's res_prometheus
is loaded by the call center only."""

from __future__ import annotations

from pathlib import Path

from collector import CollectorSettings
from ivr.settings import DEFAULT_METRICS_PORT as IVR_METRICS_PORT
from tests.unit.test_compose import load_compose

REPO = Path(__file__).resolve().parents[2]
COLLECTOR_METRICS_PORT = CollectorSettings.model_fields["metrics_port"].default


def check_of(service: str) -> str:
    return " ".join(load_compose()["services"][service]["healthcheck"]["test"])


def test_api_and_collector_health_checks_ask_readiness() -> None:
    assert "http://127.0.0.1:8000/health/ready" in check_of("api")
    assert f"http://127.0.0.1:{COLLECTOR_METRICS_PORT}/health/ready" in check_of("collector")


def test_the_ivr_health_check_asks_liveness_only() -> None:
    # Restarting the IVR cuts the calls in progress; readiness is Prometheus's to watch.
    check = check_of("ivr")
    assert f"http://127.0.0.1:{IVR_METRICS_PORT}/health/live" in check
    assert "/health/ready" not in check


def test_the_probe_listeners_are_never_published() -> None:
    services = load_compose()["services"]
    for name, port in (("ivr", IVR_METRICS_PORT), ("collector", COLLECTOR_METRICS_PORT)):
        published = " ".join(str(p) for p in services[name].get("ports", []))
        assert str(port) not in published, name
        assert services[name]["environment"][f"LAPOR_{name.upper()}_METRICS_HOST"] == "0.0.0.0"


def test_res_prometheus_is_loaded_by_the_call_center_only() -> None:
    unused = (REPO / "asterisk_conf" / "modules_unused.conf").read_text()
    carrier = (REPO / "sandbox" / "carrier" / "modules.conf").read_text()
    assert "res_prometheus.so" not in unused
    assert "noload => res_prometheus.so" in carrier
    prometheus = (REPO / "asterisk_conf" / "prometheus.conf").read_text()
    assert "enabled = yes" in prometheus
