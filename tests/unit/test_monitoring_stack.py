"""The `monitoring` compose profile (Prometheus and Grafana) agrees with the repository:
it starts only when asked for, mounts the files that exist, publishes on loopback only,
and scrapes the services where they listen.

Nothing is run: like test_compose.py, these read the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from api.core.auth import Role
from api.people.bootstrap import SERVICE_TOKENS
from collector import CollectorSettings
from ivr.settings import DEFAULT_METRICS_PORT
from tests.unit.test_compose import (
    REPO,
    environment,
    load_compose,
    published_ports,
    services,
    volume_mounts,
)

MONITORING = ("prometheus", "grafana")
PROMETHEUS_CONFIG = REPO / "monitoring" / "prometheus" / "prometheus.yml"
GRAFANA = REPO / "monitoring" / "grafana"


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> the repository file or folder bind-mounted there (read-only)."""
    found = {}
    for entry in service.get("volumes") or []:
        source, target, mode = [*str(entry).split(":"), ""][:3]
        if source.startswith("./"):
            assert mode == "ro", f"{entry}: mount the repository's files read-only"
            found[target] = source
    return found


def scrape_targets() -> dict[str, list[str]]:
    jobs = read_yaml(PROMETHEUS_CONFIG)["scrape_configs"]
    return {
        job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]] for job in jobs
    }


def test_monitoring_starts_only_with_its_profile() -> None:
    for name, service in services().items():
        if name in MONITORING:
            assert service.get("profiles") == ["monitoring"], name
        else:
            assert not service.get("profiles"), f"{name} would not start by default"


def test_monitoring_images_are_pinned() -> None:
    for name in MONITORING:
        image = str(services()[name]["image"])
        repository, _, tag = image.partition(":")
        assert repository in ("prom/prometheus", "grafana/grafana"), image
        assert tag, f"{name}: pin the image tag"
        assert tag != "latest", f"{name}: pin the image tag"


def test_monitoring_is_published_on_loopback_only() -> None:
    for name in MONITORING:
        published = list(published_ports(services()[name]))
        assert published, name
        for entry in published:
            assert entry.host_ip == "127.0.0.1", f"{name}: {entry.entry}"


def test_prometheus_mounts_its_config_rules_and_the_token() -> None:
    prometheus = services()["prometheus"]
    mounts = bind_mounts(prometheus)
    assert mounts["/etc/prometheus/prometheus.yml"] == "./monitoring/prometheus/prometheus.yml"
    assert mounts["/etc/prometheus/alerts.yml"] == "./monitoring/prometheus/alerts.yml"
    for source in mounts.values():
        assert (REPO / source).exists(), source
    config = read_yaml(PROMETHEUS_CONFIG)
    # Relative to the config file: alerts.yml next to it, in the repository and the container.
    assert config["rule_files"] == ["alerts.yml"]
    api_job = next(job for job in config["scrape_configs"] if job["job_name"] == "lapor-api")
    token = Path(api_job["authorization"]["credentials_file"])
    assert volume_mounts(prometheus)[str(token.parent)] == "tokens"
    assert f"tokens:{token.parent}:ro" in [str(v) for v in prometheus["volumes"]]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    # lapor bootstrap writes that token.
    assert (token.stem, Role.monitoring) in SERVICE_TOKENS


def test_prometheus_scrapes_the_services_where_they_listen() -> None:
    targets = scrape_targets()
    api = environment(services()["api"])
    assert targets["lapor-api"] == [f"api:{api['LAPOR_API_PORT']}"]
    ivr_servers = ("ivr", "ivr-backup")
    ivrs = {name: environment(services()[name]) for name in ivr_servers}
    assert targets["lapor-ivr"] == [
        f"{name}:{ivr.get('LAPOR_IVR_METRICS_PORT', DEFAULT_METRICS_PORT)}"
        for name, ivr in ivrs.items()
    ]
    # The probe listeners default to loopback: compose opens them to the private network.
    assert all(ivr["LAPOR_IVR_METRICS_HOST"] == "0.0.0.0" for ivr in ivrs.values())
    collector = environment(services()["collector"])
    port = collector.get("LAPOR_COLLECTOR_METRICS_PORT")
    default = CollectorSettings.model_fields["metrics_port"].default
    assert targets["lapor-collector"] == [f"collector:{port or default}"]
    assert collector["LAPOR_COLLECTOR_METRICS_HOST"] == "0.0.0.0"
    asterisk = environment(services()["asterisk"])
    assert targets["asterisk"] == [f"asterisk:{asterisk['LAPOR_HTTP_PORT']}"]
    for name in ("prometheus", "api", *ivr_servers, "collector", "asterisk"):
        assert "lapor" in services()[name]["networks"], name
    # Never published: the probe listeners ask for no token.
    probes = [(name, DEFAULT_METRICS_PORT) for name in ivr_servers] + [("collector", default)]
    for name, port_number in probes:
        for entry in published_ports(services()[name]):
            assert port_number not in entry.ports, f"{name} publishes {port_number}"


def test_grafana_is_provisioned_from_the_repository() -> None:
    grafana = services()["grafana"]
    mounts = bind_mounts(grafana)
    assert mounts["/etc/grafana/provisioning"] == "./monitoring/grafana/provisioning"
    dashboards_dir = next(t for t, s in mounts.items() if s == "./monitoring/grafana/dashboards")
    providers = read_yaml(GRAFANA / "provisioning" / "dashboards" / "lapor.yml")["providers"]
    assert [p["options"]["path"] for p in providers] == [dashboards_dir]
    assert list((GRAFANA / "dashboards").glob("*.json"))
    sources = read_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    prometheus_port = published_ports(services()["prometheus"])
    port = next(iter(next(prometheus_port).ports))
    assert [s["url"] for s in sources["datasources"]] == [f"http://prometheus:{port}"]
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"


def test_grafana_admin_password_comes_from_env_and_is_required_at_start() -> None:
    grafana = services()["grafana"]
    env = environment(grafana)
    # Optional for compose (the stack starts without the profile) ...
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == "${LAPOR_GRAFANA_ADMIN_PASSWORD:-}"
    # ... refused empty or a placeholder by the entrypoint before Grafana starts.
    script = grafana["entrypoint"][-1]
    assert '"$$GF_SECURITY_ADMIN_PASSWORD"' in script
    assert '""|change-me*) ' in script
    assert script.rstrip().endswith("exec /run.sh")
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_monitoring_keeps_its_data_in_named_volumes() -> None:
    declared = load_compose()["volumes"]
    assert volume_mounts(services()["prometheus"])["/prometheus"] == "prometheus-data"
    assert volume_mounts(services()["grafana"])["/var/lib/grafana"] == "grafana-data"
    assert "prometheus-data" in declared
    assert "grafana-data" in declared
