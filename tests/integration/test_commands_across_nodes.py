"""Commands on the right node of several (docs/scaling.md):

- a callback's Originate, a virtual-hold placeholder and an SMS reply go to the API's own
  node, or, only while it is unreachable (nothing listens), to the first reachable peer;
  a live node's refusal, a refused login or an answer that never came stays an error
  there (the action may have run: another node would ring twice);
- a supervisor's ChanSpy goes to the node the officer's call is on (its events' node),
  the API's own node for a call of a node it does not know.

Fake AMI peers on real sockets stand for the nodes (which node gets which action is what
matters; the real ChanSpy on another node is tests/e2e/cluster/test_supervise_across_nodes.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session

from api.core.ami_control import AmiCommandError, AmiControl, AmiUnreachable
from api.core.auth import Role, create_token
from api.core.deps import control_of
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from api.people.users import create_user
from tests.e2e.services import free_port
from tests.integration.ami_peer import FakeAmi, frame
from tests.integration.event_factory import FakeCall
from tests.integration.test_live_snapshot import queue_member, snapshot
from tests.people import PASSWORD, add_agent

SECRET = "control-secret"
Command = Callable[[AmiControl], Awaitable[None]]


class RefusingAmi(FakeAmi):
    """A live node that answers every Originate and MessageSend with Error, or (``silent``)
    never answers them."""

    def __init__(self, silent: bool = False) -> None:
        super().__init__(secret=SECRET)
        self.silent = silent

    def _answer(self, action: dict[str, str], writer: asyncio.StreamWriter) -> None:
        if action.get("Action") not in ("Originate", "MessageSend"):
            return super()._answer(action, writer)
        if not self.silent:
            reply = frame(Response="Error", ActionID=action.get("ActionID", ""), Message="No")
            writer.write(reply)


async def callback(ami: AmiControl) -> None:
    await ami.originate(
        endpoint="1001",
        context="callback",
        number="081234500001",
        caller_label="Callback 7",
        channel_id="cb-7",
        variables={"LAPOR_CALLBACK": "7"},
        ring_seconds=1,
    )


async def placeholder(ami: AmiControl) -> None:
    await ami.place_in_queue(
        number="081234500001",
        caller_label="Callback 7",
        channel_id="vh-7",
        queue_channel_id="vh-7-q",
        variables={"LAPOR_CALLBACK": "7"},
        wait_seconds=60,
    )


async def sms_reply(ami: AmiControl) -> None:
    await ami.message_send(number="081234500001", endpoint="trunk", sender="1717", body="ok")


COMMANDS = {"callback": callback, "placeholder": placeholder, "sms": sms_reply}
ACTION = {"callback": "Originate", "placeholder": "Originate", "sms": "MessageSend"}


@pytest.fixture
async def peer() -> AsyncIterator[FakeAmi]:
    ami = FakeAmi(secret=SECRET)
    await ami.start()
    yield ami
    await ami.close()


def nodes(own_port: int, *peer_ports: int) -> AmiControl:
    return control_of(
        ApiSettings(
            ami_port=own_port,
            ami_control_secret=SECRET,
            ami_node="node1",
            ami_peer_hosts=",".join(
                f"node{i}=127.0.0.1:{port}" for i, port in enumerate(peer_ports, start=2)
            ),
        )
    )


@pytest.mark.parametrize("command", COMMANDS)
async def test_an_unreachable_own_node_hands_the_command_to_the_first_reachable_peer(
    command: str, peer: FakeAmi
) -> None:
    other = FakeAmi(secret=SECRET)
    await other.start()
    try:
        await COMMANDS[command](nodes(free_port(), free_port(), peer.port, other.port))
    finally:
        await other.close()
    assert [dict(a)["Action"] for a in peer.actions if dict(a)["Action"] != "Login"] == [
        ACTION[command]
    ]
    assert other.actions == []


@pytest.mark.parametrize("command", COMMANDS)
async def test_no_node_reachable_is_an_error(command: str) -> None:
    with pytest.raises(AmiUnreachable, match="Asterisk unreachable"):
        await COMMANDS[command](nodes(free_port(), free_port()))


@pytest.mark.parametrize("silent", [False, True], ids=["refused", "no-answer"])
@pytest.mark.parametrize("command", COMMANDS)
async def test_a_live_node_that_refuses_or_does_not_answer_is_not_retried_elsewhere(
    command: str, silent: bool, peer: FakeAmi
) -> None:
    own = RefusingAmi(silent)
    await own.start()
    ami = nodes(own.port, peer.port)
    try:
        with pytest.raises(AmiCommandError) as raised:
            await COMMANDS[command](
                AmiControl(ami.host, own.port, ami.username, SECRET, 0.5, ami.peers)
            )
    finally:
        await own.close()
    assert not isinstance(raised.value, AmiUnreachable)
    assert [dict(a)["Action"] for a in own.actions] == ["Login", ACTION[command]]
    assert peer.actions == []


async def test_a_refused_login_is_not_retried_elsewhere(peer: FakeAmi) -> None:
    own = FakeAmi(secret="another-secret")
    await own.start()
    try:
        with pytest.raises(AmiCommandError, match="login refused"):
            await sms_reply(nodes(own.port, peer.port))
    finally:
        await own.close()
    assert peer.actions == []


def test_on_node_picks_the_named_node_with_the_others_as_its_peers() -> None:
    ami = nodes(5038, 5039, 5040)
    assert ami.on_node("node1") is ami
    assert ami.on_node("") is ami
    assert ami.on_node("node9") is ami  # unknown: logged, the own node
    third = ami.on_node("node3")
    assert (third.node, third.port) == ("node3", 5040)
    assert [(p.node, p.port) for p in third.peers] == [("node1", 5038), ("node2", 5039)]
    assert third.on_node("node1").port == 5038


async def test_a_supervisor_joins_the_call_on_the_node_it_is_on(
    sqlite_url: str, peer: FakeAmi
) -> None:
    own = FakeAmi(secret=SECRET)
    await own.start()
    app = create_app(
        ApiSettings(
            database_url=sqlite_url,
            ami_port=own.port,
            ami_node="node1",
            ami_control_secret=SECRET,
            ami_peer_hosts=f"node2=127.0.0.1:{peer.port}",
        )
    )
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_agent(session, "siti", "1001")
        add_agent(session, "budi", "1003")
        create_user(
            session,
            username="sri",
            password=PASSWORD,
            role=Role.supervisor,
            full_name="Sri",
            extension="1005",
        )
        collector = {
            "Authorization": f"Bearer {create_token(session, name='c', role=Role.collector)}"
        }
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            for officer, node in (("siti", "node2"), ("budi", "node7")):
                stored = await client.post(
                    "/events", json={"events": on_a_call(officer, node)}, headers=collector
                )
                assert stored.status_code == 200, stored.text
            login = await client.post("/auth/login", data={"username": "sri", "password": PASSWORD})
            boss = {"Authorization": f"Bearer {login.json()['access_token']}"}
            for officer in ("siti", "budi"):
                response = await client.post(
                    "/supervision", json={"officer": officer, "mode": "listen"}, headers=boss
                )
                assert response.status_code == 200, response.text
    finally:
        await own.close()
        app.state.engine.dispose()
    assert [dict(a)["Channel"] for a in peer.actions_named("Originate")] == ["PJSIP/1005"]
    assert [dict(a)["Channel"] for a in own.actions_named("Originate")] == ["PJSIP/1005"]
    spy_on = {
        name: [v for a in ami.actions_named("Originate") for k, v in a if k == "Variable"]
        for name, ami in (("node1", own), ("node2", peer))
    }
    assert "LAPOR_SPY_ON=1001" in spy_on["node2"]
    assert "LAPOR_SPY_ON=1003" in spy_on["node1"]  # node7: unknown, the API's own node


def on_a_call(officer: str, node: str) -> list[dict[str, object]]:
    """The events of a call ``officer`` answered on ``node`` a few seconds ago."""
    at = datetime.now(UTC) - timedelta(seconds=20)
    call = FakeCall("081234500001", at, "answered", agent=officer, node=node)
    wanted = {"Newchannel", "UserEvent", "QueueCallerJoin", "AgentCalled", "AgentConnect"}
    member = queue_member(officer, InCall="1", Status="2")
    return [snapshot(at, [member], node=node), *(e for e in call.events if e["name"] in wanted)]
