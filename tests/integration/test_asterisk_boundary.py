"""Values that cross into Asterisk, over HTTP against a fake AMI that records every byte.

Each case was reproduced against the project before the fix: a pause reason carried a
second AMI action, a comma added Originate variables, a trailing newline split an
Originate in two, and a repeated header in a crafted event put a ``Channel:`` header into
the callback's Originate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session

from api.core.auth import Role, create_token
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from tests.integration.ami_peer import FakeAmi
from tests.integration.event_factory import FakeCall
from tests.people import PASSWORD, add_agent

CITIZEN = "081299990000"


@dataclass
class Env:
    client: httpx.AsyncClient
    ami: FakeAmi
    officer: dict[str, str]
    ivr: dict[str, str]
    collector: dict[str, str]


@pytest.fixture
async def env(sqlite_url: str) -> AsyncIterator[Env]:
    ami = FakeAmi(secret="control-secret")
    await ami.start()
    app = create_app(
        ApiSettings(
            database_url=sqlite_url,
            ami_port=ami.port,
            ami_control_user="control",
            ami_control_secret="control-secret",
        )
    )
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_agent(session, "siti", "1001")
        ivr = create_token(session, name="ivr-1", role=Role.ivr)
        collector = create_token(session, name="collector-1", role=Role.collector)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        login = await client.post("/auth/login", data={"username": "siti", "password": PASSWORD})
        officer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        yield Env(
            client,
            ami,
            officer,
            {"Authorization": f"Bearer {ivr}"},
            {"Authorization": f"Bearer {collector}"},
        )
    await ami.close()
    app.state.engine.dispose()


@pytest.mark.parametrize(
    "reason",
    [
        "lunch\r\n\r\nAction: QueuePause\r\nInterface: PJSIP/1002\r\nPaused: 1",
        "lunch\n\nAction: Originate\nChannel: PJSIP/1002\nExten: 0900123",
        "lunch\rAction: QueueAdd",
        "lunch\x00",
        "sholat, rapat",
        "a|b",
        "${SHELL(id)}",
    ],
)
async def test_a_pause_reason_that_could_split_an_action_is_refused(env: Env, reason: str) -> None:
    response = await env.client.post(
        "/agents/me/pause", headers=env.officer, json={"reason": reason}
    )
    assert response.status_code == 422, response.text
    assert env.ami.actions == []  # not even a login: nothing reached Asterisk


async def test_a_plain_pause_reason_is_exactly_one_action_for_the_officer(env: Env) -> None:
    response = await env.client.post(
        "/agents/me/pause", headers=env.officer, json={"reason": "rapat dinas"}
    )
    assert response.status_code == 200, response.text
    [pause] = env.ami.actions_named("QueuePause")
    headers = dict(pause)
    assert [key for key, _ in pause] == [
        "Action",
        "ActionID",
        "Interface",
        "Paused",
        "Queue",
        "Reason",
    ]
    assert (headers["Interface"], headers["Paused"], headers["Reason"]) == (
        "PJSIP/1001",
        "true",
        "rapat dinas",
    )
    assert [dict(a)["Action"] for a in env.ami.actions] == ["Login", "QueuePause"]


def callback_body(**changes: str) -> dict[str, str]:
    now = datetime.now(UTC).isoformat()
    body = {
        "request_id": "ivr-0123456789",
        "number": CITIZEN,
        "line": "082282204761",
        "uniqueid": "1795890124.1",
        "queue_entered_at": now,
        "requested_at": now,
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"line": "1,CALLERID(num)=0900,LAPOR_X=1"},
        {"line": "082282204761\n"},
        {"number": f"{CITIZEN}\n"},
        {"number": f"{CITIZEN},LAPOR_X=1"},
        {"number": "0812&PJSIP/1002"},
        {"ticket": "1\nChannel: PJSIP/1002"},
        {"ticket": "12345678\n"},
    ],
)
async def test_a_callback_request_with_a_value_not_of_its_kind_is_refused(
    env: Env, changes: dict[str, str]
) -> None:
    response = await env.client.post("/callbacks", headers=env.ivr, json=callback_body(**changes))
    assert response.status_code == 422, response.text


async def test_a_crafted_event_cannot_reach_the_callback_originate(env: Env) -> None:
    """Repeated headers (joined by the collector with a newline), commas and newlines in an
    abandoned call's events: the callback still sends one Originate of the intended
    headers, its Caller ID without the event's ticket."""
    at = datetime.now(UTC) - timedelta(minutes=10)
    call = FakeCall(
        CITIZEN,
        at,
        "abandoned",
        wait=40,
        ticket="12345678\nChannel: PJSIP/1002",
        line="1,Ticket: 12345678",
    )
    posted = await env.client.post("/events", headers=env.collector, json={"events": call.events})
    assert posted.status_code == 200, posted.text
    listed = (await env.client.get("/callbacks", headers=env.officer)).json()
    [item] = [i for i in listed if i["source"] == "abandoned"]
    assert (item["ticket"], item["line"]) == (None, None)

    dialled = await env.client.post(f"/callbacks/{item['id']}/dial", headers=env.officer)
    assert dialled.status_code == 200, dialled.text
    [originate] = env.ami.actions_named("Originate")
    assert [dict(a)["Action"] for a in env.ami.actions] == ["Login", "Originate"]
    keys = [key for key, _ in originate]
    assert keys.count("Channel") == 1
    headers = dict(originate)
    assert headers["Channel"] == "PJSIP/1001"
    assert headers["Exten"] == CITIZEN
    assert headers["CallerID"] == f'"Callback {item["id"]}" <{CITIZEN}>'
    variables = [value for key, value in originate if key == "Variable"]
    assert sorted(variables) == sorted(
        [
            f"LAPOR_CALLBACK={item['id']}",
            "LAPOR_CALLBACK_LINE=",
            "LAPOR_CALLBACK_RING=40",
        ]
    )
