"""The API's /metrics (token, route templates, domain counters, database gauges) and its
liveness and readiness probes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

from api.core.auth import Role
from tests.conftest import ApiHarness
from tests.e2e.services import ApiProcess, started
from tests.integration.event_factory import FakeCall
from tests.metrics_text import Samples, parse, value


def scrape(api: ApiHarness) -> Samples:
    response = api.client.get("/metrics", headers=api.headers(Role.monitoring))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def test_metrics_needs_a_monitoring_or_admin_token(api: ApiHarness) -> None:
    assert api.client.get("/metrics").status_code == 401
    for role in (Role.agent, Role.supervisor, Role.collector, Role.ivr):
        assert api.client.get("/metrics", headers=api.headers(role)).status_code == 403
    assert api.client.get("/metrics", headers=api.headers(Role.admin)).status_code == 200


def test_requests_are_counted_by_route_template_never_by_raw_path(api: ApiHarness) -> None:
    before = scrape(api)
    headers = api.headers(Role.supervisor)
    status = api.client.get("/complaints/9912345", headers=headers).status_code
    assert api.client.get("/no/such/thing/42").status_code == 404
    after = scrape(api)
    templated = {"method": "GET", "route": "/complaints/{ticket}", "status": str(status)}
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    name = "lapor_api_http_requests_total"
    assert (
        value(after, name, **templated) - before.get((name, frozenset(templated.items())), 0) == 1
    )
    assert (
        value(after, name, **unmatched) - before.get((name, frozenset(unmatched.items())), 0) == 1
    )
    assert not any("9912345" in str(labels) for _, labels in after)
    duration = "lapor_api_http_request_duration_seconds_count"
    assert value(after, duration, method="GET", route="/complaints/{ticket}") >= 1


def test_events_are_counted_stored_duplicate_and_rejected(api: ApiHarness) -> None:
    call = FakeCall("0811", datetime.now(UTC) - timedelta(minutes=2), "answered", wait=4)
    headers = api.headers(Role.collector)
    name = "lapor_api_events_total"
    before = scrape(api)
    for _ in range(2):  # the second time every event is a duplicate
        response = api.client.post("/events", json={"events": call.events}, headers=headers)
        assert response.status_code == 200
    bad = [{**call.events[0], "received_at": "not a time"}, {**call.events[1], "name": ""}]
    assert api.client.post("/events", json={"events": bad}, headers=headers).status_code == 422
    after = scrape(api)
    moved = {
        o: value(after, name, outcome=o) - value(before, name, outcome=o)
        for o in ("stored", "duplicate", "rejected")
    }
    assert moved == {"stored": len(call.events), "duplicate": len(call.events), "rejected": 2}
    # The database's figures moved with the call (today, Asia/Jakarta).
    offered = "lapor_api_calls_offered_today"
    assert value(after, offered) - value(before, offered) == 1
    assert (
        value(after, "lapor_api_calls_answered_today")
        - value(before, "lapor_api_calls_answered_today")
        == 1
    )
    assert 0 <= value(after, "lapor_api_service_level_ratio") <= 1


def test_gauges_from_the_database(api: ApiHarness) -> None:
    samples = scrape(api)
    for state in ("available", "on_call", "ringing", "paused"):
        assert value(samples, "lapor_api_officers", state=state) == 0
    assert value(samples, "lapor_api_callers_waiting") == 0
    # Nothing answered today: no service level rather than a made-up one.
    assert not any(name == "lapor_api_service_level_ratio" for name, _ in samples)
    report = {"ami_connected": True, "ami_state_seconds": 3, "buffered": 7}
    response = api.client.put(
        "/collectors/cc-test", json=report, headers=api.headers(Role.collector)
    )
    assert response.status_code == 204
    samples = scrape(api)
    assert value(samples, "lapor_api_collector_ami_connected", node="cc-test") == 1
    assert value(samples, "lapor_api_collector_buffered_events", node="cc-test") == 7
    assert 0 <= value(samples, "lapor_api_collector_report_age_seconds", node="cc-test") < 60


def test_failed_sign_ins_are_counted(api: ApiHarness) -> None:
    name = "lapor_api_login_failures_total"
    before = value(scrape(api), name)
    form = {"username": "nobody", "password": "wrong password"}
    assert api.client.post("/auth/login", data=form).status_code == 401
    assert value(scrape(api), name) - before == 1


def test_live_and_ready(api: ApiHarness) -> None:
    assert api.client.get("/health/live").json() == {"status": "live"}
    ready = api.client.get("/health/ready")
    assert (ready.status_code, ready.json()["schema"]) == (200, "current")
    with api.engine.begin() as connection:
        (version,) = connection.execute(text("SELECT version_num FROM alembic_version")).one()
        connection.execute(text("UPDATE alembic_version SET version_num = '0025_call_recording'"))
    try:
        behind = api.client.get("/health/ready")
        assert (behind.status_code, behind.json()) == (
            503,
            {"status": "not_ready", "database": "ok", "schema": "behind"},
        )
        assert api.client.get("/health").status_code == 200  # unchanged: a database ping
    finally:
        with api.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})


def test_several_workers_are_counted_together(tmp_path: Path) -> None:
    """``lapor-api`` with two workers: whichever answers the scrape, it counts the
    requests both answered (prometheus-client's multiprocess mode)."""
    process = ApiProcess(
        f"sqlite:///{tmp_path / 'lapor.db'}", tmp_path / "api.log", {"LAPOR_API_WORKERS": "2"}
    )
    headers = {"Authorization": f"Bearer {process.token(Role.monitoring)}"}
    with started(process), httpx.Client(base_url=process.url, timeout=10) as client:
        requests = 40  # new connections: the kernel spreads them over both workers

        def live_count() -> float:
            scraped = parse(client.get("/metrics", headers=headers).text)
            labels = {"method": "GET", "route": "/health/live", "status": "200"}
            return scraped.get(("lapor_api_http_requests_total", frozenset(labels.items())), 0)

        before = live_count()
        for _ in range(requests):
            assert httpx.get(f"{process.url}/health/live", timeout=10).status_code == 200
        for _ in range(4):  # each scrape, from either worker, sees all of them
            assert live_count() - before == requests
