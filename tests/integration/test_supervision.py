"""Listen, whisper, barge over HTTP: who may, what is refused before a phone rings, and
that every attempt is logged. Nothing listens on the AMI port here, so an attempt that
gets as far as Asterisk fails as "your phone was not reached" (the real calls are in
tests/e2e/test_supervision_calls.py). SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from api.core.auth import Role, create_token
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from api.people.users import create_user
from tests.conftest import ApiHarness
from tests.integration.event_factory import FakeCall
from tests.integration.test_live_snapshot import queue_member, snapshot
from tests.people import PASSWORD, add_agent

ON_CALL = {"Newchannel", "UserEvent", "QueueCallerJoin", "AgentCalled", "AgentConnect"}


def on_a_call(officer: str) -> list[dict[str, Any]]:
    """The events of a call ``officer`` answered a few seconds ago and is still on."""
    at = datetime.now(UTC) - timedelta(seconds=20)
    call = FakeCall("081234500001", at, "answered", agent=officer, node="cc1")
    member = queue_member(officer, InCall="1", Status="2")
    return [snapshot(at, [member]), *(e for e in call.events if e["name"] in ON_CALL)]


@pytest.fixture
def app_engine(database_url: str) -> Iterator[tuple[TestClient, Engine]]:
    app = create_app(ApiSettings(database_url=database_url, ami_port=1))
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_agent(session, "siti", "1001")
        add_agent(session, "dodi", "ops-2")  # a joiner ChanSpy's channel prefix can't take
        create_user(
            session,
            username="sri",
            password=PASSWORD,
            role=Role.supervisor,
            full_name="Sri",
            extension="1005",
        )
        create_user(
            session, username="nophone", password=PASSWORD, role=Role.supervisor, full_name="N"
        )
    with TestClient(app, follow_redirects=False) as client:
        yield client, app.state.engine


@pytest.fixture
def client(app_engine: tuple[TestClient, Engine]) -> TestClient:
    return app_engine[0]


@pytest.fixture
def collector(app_engine: tuple[TestClient, Engine]) -> dict[str, str]:
    with Session(app_engine[1]) as session:
        return {"Authorization": f"Bearer {create_token(session, name='c', role=Role.collector)}"}


def token(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/auth/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def supervise(client: TestClient, who: str, officer: str, mode: str = "listen") -> tuple[int, str]:
    response = client.post(
        "/supervision", json={"officer": officer, "mode": mode}, headers=token(client, who)
    )
    return response.status_code, response.json().get("error", "")


def test_refused_before_any_phone_rings(client: TestClient) -> None:
    assert supervise(client, "sri", "nobody") == (404, "no_officer")
    assert supervise(client, "sri", "siti") == (409, "not_on_a_call")
    assert supervise(client, "nophone", "siti")[0] == 422
    assert supervise(client, "sri", "dodi") == (422, "endpoint_not_spyable")
    assert supervise(client, "sri", "siti", "shout")[0] == 422
    assert supervise(client, "sri", "siti; Action: Originate")[0] == 422
    log = client.get("/supervision/log", headers=token(client, "sri")).json()
    assert log == []  # nothing reached Asterisk, nothing to log


def test_every_attempt_is_logged(client: TestClient, collector: dict[str, str]) -> None:
    events = on_a_call("siti")
    stored = client.post("/events", json={"events": events}, headers=collector)
    assert stored.status_code == 200
    assert supervise(client, "sri", "siti", "whisper") == (503, "unavailable")
    [entry] = client.get("/supervision/log", headers=token(client, "sri")).json()
    assert entry["supervisor"] == "sri"
    assert entry["officer"] == "siti"
    assert entry["mode"] == "whisper"
    assert entry["linkedid"] == events[1]["fields"]["Linkedid"]
    assert entry["outcome"] == "failed"
    assert "unreachable" in entry["error"]


def test_only_supervisors_and_admins(api: ApiHarness) -> None:
    body = {"officer": "siti", "mode": "listen"}
    for role in (Role.agent, Role.leadership, Role.unit, Role.collector):
        headers = api.headers(role)
        assert api.client.post("/supervision", json=body, headers=headers).status_code == 403
        assert api.client.get("/supervision/log", headers=headers).status_code == 403


def test_the_wallboard_offers_it_for_officers_on_a_call(
    client: TestClient, collector: dict[str, str]
) -> None:
    stored = client.post("/events", json={"events": on_a_call("siti")}, headers=collector)
    assert stored.status_code == 200
    signed_in = client.post("/login", data={"username": "sri", "password": PASSWORD})
    assert signed_in.status_code == 303
    page = client.get("/wallboard").text
    csrf = re.search(r'"X-CSRF-Token": "([0-9a-f]{64})"', page)
    assert csrf is not None
    row = page.split('data-agent="siti"')[1].split("</tr>")[0]
    assert 'hx-vals=\'{"officer": "siti", "mode": "whisper"}\'' in row
    headers = {"X-CSRF-Token": csrf.group(1), "Sec-Fetch-Site": "same-origin"}
    form = {"officer": "siti", "mode": "barge"}
    answer = client.post("/wallboard/supervise", data=form, headers=headers)
    assert answer.status_code == 503
    assert "Telepon Anda tidak diangkat" in answer.text
    refused = client.post(
        "/wallboard/supervise", data=form, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert refused.status_code == 403  # no CSRF token
