"""The agents' console without Asterisk: clear errors for a missing phone or a dead AMI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.complaints.models import ComplaintCategory, ComplaintCreate, create_complaint
from api.core.clock import WorkCalendar
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.events.models import Call
from api.main import create_app
from tests.people import PASSWORD, add_agent


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    # Port 1: nothing listens there, so every AMI command fails to connect.
    app = create_app(ApiSettings(database_url=sqlite_url, ami_port=1))
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_agent(session, "siti", "1001", full_name="S")
        add_agent(session, "budi", full_name="B")
    with TestClient(app) as test_client:
        yield test_client


def token_of(client: TestClient, username: str) -> dict[str, str]:
    body = client.post("/auth/login", data={"username": username, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {body['access_token']}"}


def test_an_officer_without_a_phone_is_told_so(client: TestClient) -> None:
    response = client.post("/agents/me/login", headers=token_of(client, "budi"))
    assert response.status_code == 422
    assert "extension" in response.json()["message"]


@pytest.mark.parametrize("action", ["login", "logout", "unpause"])
def test_unreachable_asterisk_is_503(client: TestClient, action: str) -> None:
    response = client.post(f"/agents/me/{action}", headers=token_of(client, "siti"))
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"


def test_pause_needs_a_reason(client: TestClient) -> None:
    response = client.post(
        "/agents/me/pause", headers=token_of(client, "siti"), json={"reason": ""}
    )
    assert response.status_code == 422


def add_complaint(session: Session, ticket: str, caller: str, hours_ago: int) -> None:
    taken = datetime.now(UTC) - timedelta(hours=hours_ago)
    data = ComplaintCreate(
        ticket=ticket,
        category=ComplaintCategory.infrastruktur,
        caller_number=caller,
        line="082282204761",
        uniqueid=f"1700000000.{ticket}",
        taken_at=taken,
    )
    create_complaint(session, data=data, calendar=WorkCalendar())


def test_screen_pop_shows_the_new_ticket_and_the_callers_earlier_ones(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        add_complaint(session, "12000001", "081211112222", hours_ago=48)
        add_complaint(session, "12000002", "081211112222", hours_ago=0)
        add_complaint(session, "12000003", "089900000000", hours_ago=1)
        session.add(
            Call(
                node="cc1",
                linkedid="1700000000.9",
                caller="081211112222",
                line="082282204761",
                answered_at=datetime.now(UTC),
                agent="siti",
                ticket="12000002",
            )
        )
        session.commit()
    headers = token_of(client, "siti")
    pop = client.get("/agents/me/current-call", headers=headers).json()
    assert pop["caller"] == "081211112222"
    assert pop["ticket"]["ticket"] == "12000002"
    assert [t["ticket"] for t in pop["earlier"]] == ["12000001"]
    other = client.get("/agents/me/current-call", headers=token_of(client, "budi"))
    assert other.status_code == 422  # budi has no phone


def test_no_call_in_progress_is_404(client: TestClient) -> None:
    response = client.get("/agents/me/current-call", headers=token_of(client, "siti"))
    assert response.status_code == 404
    assert response.json()["error"] == "no_current_call"
