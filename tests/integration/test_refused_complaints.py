"""A complaint the API refuses is kept for supervisors, counted live, and re-filed.

The IVR's real outbox delivers to the real API app (in process, over ASGI), on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from api.core.auth import Role
from ivr.lapor_api import LaporApi
from ivr.outbox import Deliverer, Outbox
from tests.conftest import ApiHarness
from tests.integration.test_complaints_api import complaint


@pytest.fixture
async def deliverer(api: ApiHarness, tmp_path: Path) -> Any:
    transport = httpx.ASGITransport(app=api.client.app)
    client = LaporApi("http://api", api.token(Role.ivr), transport=transport)
    yield Deliverer(Outbox(tmp_path / "spool"), client)
    await client.aclose()


def live(api: ApiHarness) -> dict[str, Any]:
    response = api.client.get("/stats/live", headers=api.headers(Role.supervisor))
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_a_ticket_already_taken_is_kept_visible_and_refiled(
    api: ApiHarness, deliverer: Deliverer
) -> None:
    first = complaint("10000001", uniqueid="1795890124.7", caller_number="081200000001")
    second = complaint(
        "10000001",
        uniqueid="1795990000.3",
        caller_number="081200000002",
        recording_path="/rec/10000001-1795990000-3.wav",
    )
    for body in (first, second):
        deliverer.outbox.put("complaint", body["ticket"] + body["uniqueid"], body)
    assert await deliverer.flush() == 0
    # Nothing set aside unseen: the spool is empty and the API holds the second call's.
    assert deliverer.outbox.pending() == []
    assert not deliverer.outbox.rejected_dir.exists()
    supervisor = api.headers(Role.supervisor)
    [held] = api.client.get("/complaints/refused", headers=supervisor).json()
    assert (held["ticket"], held["uniqueid"]) == ("10000001", "1795990000.3")
    assert held["caller_number"] == "081200000002"
    assert held["status_code"] == 409
    assert "already belongs to another complaint" in held["reason"]
    view = live(api)
    assert view["refused_complaints"] == 1
    assert [r["id"] for r in view["refused"]] == [held["id"]]
    # A redelivery of the same refusal keeps one row.
    deliverer.outbox.put("complaint", "again", second)
    assert await deliverer.flush() == 0
    assert live(api)["refused_complaints"] == 1

    refiled = api.client.post(
        f"/complaints/refused/{held['id']}/refile", json={}, headers=supervisor
    )
    assert refiled.status_code == 200, refiled.text
    new = refiled.json()["complaint"]
    assert new["ticket"].startswith("90")  # the API's own counter, no IVR node's prefix
    assert new["ticket"] != "10000001"
    assert new["caller_number"] == "081200000002"
    assert new["recording_path"] == "/rec/10000001-1795990000-3.wav"
    assert new["category"] == "infrastruktur"
    assert refiled.json()["notified"] == "callback"
    # The citizen is called back and told the new ticket.
    callbacks = api.client.get("/callbacks", headers=supervisor).json()
    assert [(c["number"], c["ticket"]) for c in callbacks if c["source"] == "request"] == [
        ("081200000002", new["ticket"])
    ]
    history = api.client.get(f"/complaints/{new['ticket']}/history", headers=supervisor).json()
    assert "IVR ticket 10000001" in history[-1]["note"]
    again = api.client.post(f"/complaints/refused/{held['id']}/refile", json={}, headers=supervisor)
    assert again.status_code == 409
    assert again.json()["error"] == "already_refiled"
    assert live(api)["refused_complaints"] == 0
    everything = api.client.get(
        "/complaints/refused", params={"include_refiled": True}, headers=supervisor
    ).json()
    assert [r["refiled_ticket"] for r in everything] == [new["ticket"]]
    # The node's ticket floor counts the held ticket too.
    floor = api.client.get("/ivr/nodes/10/tickets", headers=api.headers(Role.ivr)).json()
    assert floor["highest_ticket"] == "10000001"


async def test_an_invalid_complaint_is_kept_too_and_needs_a_category(
    api: ApiHarness, deliverer: Deliverer
) -> None:
    deliverer.outbox.put("complaint", "10000002", complaint("10000002", category="bogus"))
    assert await deliverer.flush() == 0
    supervisor = api.headers(Role.supervisor)
    [held] = api.client.get("/complaints/refused", headers=supervisor).json()
    assert held["status_code"] == 422
    url = f"/complaints/refused/{held['id']}/refile"
    missing = api.client.post(url, json={"notify": "none"}, headers=supervisor)
    assert missing.status_code == 422
    assert missing.json()["error"] == "category_needed"
    done = api.client.post(
        url, json={"category": "lainnya", "notify": "none"}, headers=supervisor
    ).json()
    assert done["complaint"]["category"] == "lainnya"
    assert done["notified"] == "none"


def test_only_supervisors_refile_and_only_the_ivr_hands_over(api: ApiHarness) -> None:
    body = {"complaint": complaint(), "status_code": 409, "reason": "conflict"}
    assert (
        api.client.post(
            "/complaints/refused", json=body, headers=api.headers(Role.agent)
        ).status_code
        == 403
    )
    held = api.client.post("/complaints/refused", json=body, headers=api.headers(Role.ivr))
    assert held.status_code == 201
    refile = f"/complaints/refused/{held.json()['id']}/refile"
    assert api.client.post(refile, json={}, headers=api.headers(Role.agent)).status_code == 403
    assert api.client.get("/complaints/refused", headers=api.headers(Role.agent)).status_code == 200
