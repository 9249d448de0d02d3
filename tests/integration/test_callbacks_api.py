"""Callbacks through the API on SQLite and PostgreSQL: the merged list, one officer per
callback, attempts and outcomes (from the dialplan's LaporCallbackDial event), bad input.

Asterisk is replaced by a recording stand-in for the control client only; the real
Originate and dialplan are exercised in tests/e2e/test_callback_dial.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.callbacks.dial import CallbackDial, claim
from api.core.ami_control import AmiCommandError
from api.core.auth import Role
from api.core.db import make_engine
from api.core.deps import control
from api.core.errors import Conflict
from api.core.migrate import upgrade
from api.events.models import Call
from tests.conftest import ApiHarness
from tests.integration.event_factory import FakeCall, ami
from tests.people import PASSWORD, add_agent


@dataclass
class FakeControl:
    """Stands in for AmiControl: records originates, answers like Asterisk would."""

    fail: bool = False
    originated: list[dict[str, Any]] = field(default_factory=list)

    async def originate(self, **action: Any) -> None:
        if self.fail:
            raise AmiCommandError("Originate failed")
        self.originated.append(action)


@pytest.fixture
def asterisk(api: ApiHarness) -> FakeControl:
    fake = FakeControl()
    api.client.app.dependency_overrides[control] = lambda: fake  # type: ignore[attr-defined]
    return fake


def officer(api: ApiHarness, username: str, extension: str | None = "1001") -> dict[str, str]:
    with Session(api.engine) as session:
        add_agent(session, username, extension)
    body = api.client.post("/auth/login", data={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {body.json()['access_token']}"}


def request_callback(api: ApiHarness, number: str, entered: datetime, ticket: str | None) -> str:
    body = {
        "request_id": f"req-{number}-{entered.timestamp():.0f}",
        "ticket": ticket,
        "number": number,
        "line": "082282204761",
        "uniqueid": f"{entered.timestamp():.0f}.1",
        "queue_entered_at": entered.isoformat(),
        "requested_at": (entered + timedelta(minutes=2)).isoformat(),
    }
    response = api.client.post("/callbacks", json=body, headers=api.headers(Role.ivr))
    assert response.status_code == 201, response.text
    return f"r{response.json()['id']}"


def post_events(api: ApiHarness, events: list[dict[str, Any]]) -> None:
    response = api.client.post(
        "/events", json={"events": events}, headers=api.headers(Role.collector)
    )
    assert response.status_code == 200, response.text


def place(api: ApiHarness, caller: str, at: datetime, outcome: str, wait: int = 30) -> FakeCall:
    call = FakeCall(caller, at, outcome, wait=wait)
    post_events(api, call.events)
    return call


def call_id(api: ApiHarness, call: FakeCall) -> str:
    with Session(api.engine) as session:
        row = session.exec(select(Call).where(Call.linkedid == call.uniqueid)).one()
        return f"c{row.id}"


def report_dial(api: ApiHarness, callback_id: str, status: str) -> None:
    """What the dialplan's hangup handler sends, as the collector delivers it."""
    with Session(api.engine) as session:
        channel_id = session.get(CallbackDial, callback_id).channel_id  # type: ignore[union-attr]
    assert channel_id is not None
    event = ami(
        "UserEvent",
        datetime.now(UTC),
        UserEvent="LaporCallbackDial",
        Callback=callback_id,
        DialStatus=status,
        Uniqueid=channel_id,
        Linkedid=channel_id,
        Channel="PJSIP/1001-00000001",
    )
    post_events(api, [event, event])  # delivered twice, recorded once


def listed(api: ApiHarness, **params: str) -> list[dict[str, Any]]:
    response = api.client.get("/callbacks", params=params, headers=api.headers(Role.supervisor))
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def test_requests_and_abandoned_calls_merge_oldest_first(api: ApiHarness) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    old_request = request_callback(api, "081200000001", now - timedelta(hours=3), "99000001")
    abandoned = place(api, "081200000002", now - timedelta(hours=2), "abandoned")
    place(api, "081200000002", now - timedelta(hours=1), "abandoned")  # same citizen again
    timed_out = place(api, "081200000003", now - timedelta(minutes=90), "exit_timeout", 120)
    new_request = request_callback(api, "081200000004", now - timedelta(minutes=30), None)
    # Not listed: a short abandon, a caller answered since, one asking via the IVR instead,
    # and an abandoned call older than the horizon.
    place(api, "081200000005", now - timedelta(hours=2), "abandoned", wait=2)
    place(api, "081200000006", now - timedelta(hours=2), "abandoned")
    place(api, "081200000006", now - timedelta(hours=1), "answered")
    place(api, "081200000007", now - timedelta(hours=2), "callback")
    place(api, "081200000008", now - timedelta(days=8), "abandoned")

    items = listed(api)
    assert [(i["id"], i["source"], i["number"]) for i in items] == [
        (old_request, "request", "081200000001"),
        (call_id(api, abandoned), "abandoned", "081200000002"),
        (call_id(api, timed_out), "abandoned", "081200000003"),
        (new_request, "request", "081200000004"),
    ]
    assert items[0]["ticket"] == "99000001"
    assert items[1]["uniqueid"] == abandoned.uniqueid
    assert {(i["attempts"], i["outcome"], i["claimed_by"]) for i in items} == {(0, None, None)}
    assert [i["id"] for i in listed(api, number="081200000002")] == [items[1]["id"]]
    assert [i["id"] for i in listed(api, limit="2")] == [items[0]["id"], items[1]["id"]]


def test_dial_attempts_and_outcomes_are_recorded(api: ApiHarness, asterisk: FakeControl) -> None:
    siti = officer(api, "siti")
    entered = datetime.now(UTC) - timedelta(hours=1)
    callback = request_callback(api, "081211112222", entered, "99000002")
    abandoned = place(api, "081211112222", entered - timedelta(minutes=10), "abandoned")

    first = api.client.post(f"/callbacks/{callback}/dial", headers=siti)
    assert first.status_code == 200, first.text
    assert (first.json()["attempts"], first.json()["claimed_by"]) == (1, "siti")
    [action] = asterisk.originated
    assert action["endpoint"] == "1001"  # the officer's phone first
    assert (action["context"], action["number"]) == ("callback", "081211112222")
    assert action["variables"]["LAPOR_CALLBACK"] == callback

    report_dial(api, callback, "BUSY")
    busy = api.client.get(f"/callbacks/{callback}", headers=siti).json()
    assert (busy["attempts"], busy["outcome"], busy["claimed_by"]) == (1, "busy", None)

    assert api.client.post(f"/callbacks/{callback}/dial", headers=siti).status_code == 200
    report_dial(api, callback, "NOANSWER")
    assert api.client.get(f"/callbacks/{callback}", headers=siti).json()["outcome"] == ("no_answer")

    assert api.client.post(f"/callbacks/{callback}/dial", headers=siti).status_code == 200
    report_dial(api, callback, "ANSWER")
    reached = api.client.get(f"/callbacks/{callback}", headers=siti).json()
    assert (reached["attempts"], reached["outcome"]) == (3, "reached")
    # Reached: off the list, and so is the same citizen's abandoned call.
    assert listed(api, number="081211112222") == []
    assert api.client.get(f"/callbacks/{call_id(api, abandoned)}", headers=siti).status_code == 200
    again = api.client.post(f"/callbacks/{callback}/dial", headers=siti)
    assert (again.status_code, again.json()["error"]) == (409, "already_reached")
    assert len(asterisk.originated) == 3


def test_a_second_officer_gets_409_while_the_first_calls(
    api: ApiHarness, asterisk: FakeControl
) -> None:
    siti, budi = officer(api, "siti"), officer(api, "budi", "1002")
    call = place(api, "081233334444", datetime.now(UTC) - timedelta(minutes=20), "abandoned")
    callback = call_id(api, call)
    assert api.client.post(f"/callbacks/{callback}/dial", headers=siti).status_code == 200
    taken = api.client.post(f"/callbacks/{callback}/dial", headers=budi)
    assert (taken.status_code, taken.json()["error"]) == (409, "already_claimed")
    assert "siti" in taken.json()["message"]
    assert [a["endpoint"] for a in asterisk.originated] == ["1001"]
    assert listed(api)[0]["claimed_by"] == "siti"
    report_dial(api, callback, "CONGESTION")
    assert api.client.get(f"/callbacks/{callback}", headers=budi).json()["outcome"] == "no_answer"
    assert api.client.post(f"/callbacks/{callback}/dial", headers=budi).status_code == 200


def test_an_unanswered_officer_phone_frees_the_callback_without_an_attempt(
    api: ApiHarness, asterisk: FakeControl
) -> None:
    siti = officer(api, "siti")
    callback = request_callback(api, "081255556666", datetime.now(UTC), None)
    asterisk.fail = True
    response = api.client.post(f"/callbacks/{callback}/dial", headers=siti)
    assert (response.status_code, response.json()["error"]) == (503, "unavailable")
    item = api.client.get(f"/callbacks/{callback}", headers=siti).json()
    assert (item["attempts"], item["claimed_by"], item["outcome"]) == (0, None, None)


def test_bad_input_is_a_clear_4xx(api: ApiHarness, asterisk: FakeControl) -> None:
    siti, nophone = officer(api, "siti"), officer(api, "nophone", extension=None)
    supervisor = api.headers(Role.supervisor)
    too_long = ("r" + "9" * 30, "r99999999999999999999", "r999999999999999999")
    for bad in ("x1", "r", "r0", "r-1", "c1e5", *too_long):
        response = api.client.get(f"/callbacks/{bad}", headers=supervisor)
        assert response.status_code in (404, 422), (bad, response.status_code)
    missing = api.client.get("/callbacks/r999999", headers=supervisor)
    assert (missing.status_code, missing.json()["error"]) == (404, "callback_not_found")
    assert api.client.post("/callbacks/c999999/dial", headers=siti).status_code == 404
    assert api.client.post("/callbacks/zz/dial", headers=siti).status_code == 422
    answered = place(api, "081277778888", datetime.now(UTC), "answered")
    assert api.client.post(
        f"/callbacks/{call_id(api, answered)}/dial", headers=siti
    ).status_code == (404)
    callback = request_callback(api, "081299990000", datetime.now(UTC), None)
    no_phone = api.client.post(f"/callbacks/{callback}/dial", headers=nophone)
    assert no_phone.status_code == 422
    assert "extension" in no_phone.json()["message"]
    # A withheld number can't be called back: the request is refused at the edge (the
    # IVR does not offer a callback without a number).
    withheld = {
        "request_id": "req-withheld",
        "number": "anonymous",
        "uniqueid": "1.1",
        "queue_entered_at": datetime.now(UTC).isoformat(),
        "requested_at": datetime.now(UTC).isoformat(),
    }
    refused = api.client.post("/callbacks", json=withheld, headers=api.headers(Role.ivr))
    assert refused.status_code == 422
    assert api.client.get("/callbacks", params={"limit": 0}, headers=supervisor).status_code == 422
    assert asterisk.originated == []


def migrated(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def test_racing_officers_claim_a_callback_once(database_url: str) -> None:
    engines = [migrated(database_url) for _ in range(4)]
    start = threading.Barrier(len(engines))
    wins: list[str] = []
    losses: list[str] = []

    def officer_presses_dial(index: int) -> None:
        with Session(engines[index]) as session:
            start.wait()
            try:
                claim(session, callback_id="r1", number="081200000001", agent=f"agent-{index}")
                wins.append(f"agent-{index}")
            except Conflict as exc:
                losses.append(exc.error_id)

    threads = [threading.Thread(target=officer_presses_dial, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    assert losses == ["already_claimed"] * 3
    with Session(engines[0]) as session:
        [row] = session.exec(select(CallbackDial)).all()
        assert row.claimed_by == wins[0]
        # An expired claim (the outcome never arrived) can be taken over.
        row.claimed_until = datetime.now(UTC) - timedelta(seconds=1)
        session.add(row)
        session.commit()
        claim(session, callback_id="r1", number="081200000001", agent="late")
        assert session.get(CallbackDial, "r1").claimed_by == "late"  # type: ignore[union-attr]
    for engine in engines:
        engine.dispose()
