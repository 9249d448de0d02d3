"""Queue membership on every call-center node: an officer's login, pause, resume and
logout reach each node's AMI (``LAPOR_API_AMI_PEER_HOSTS``), and a dead peer node does
not keep them from logging in on the others. Other commands stay on the API's own node.

Fake AMI peers on real sockets stand for the nodes' Asterisk: what matters here is which
node gets which action (the actions themselves are checked against a real Asterisk in
the e2e tests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlmodel import Session

from api.core.migrate import upgrade
from api.core.settings import AmiPeer, ApiSettings, ami_peers
from api.main import create_app
from collector._settings import CollectorSettings
from tests.e2e.services import free_port
from tests.integration.ami_peer import FakeAmi
from tests.people import PASSWORD, add_agent

SECRET = "control-secret"


@dataclass
class Cluster:
    client: httpx.AsyncClient
    own: FakeAmi
    peer: FakeAmi
    officer: dict[str, str]


@pytest.fixture
async def cluster(sqlite_url: str) -> AsyncIterator[Cluster]:
    own, peer = FakeAmi(secret=SECRET), FakeAmi(secret=SECRET)
    await own.start()
    await peer.start()
    dead = free_port()  # a third node whose Asterisk is down: nothing listens there
    app = create_app(
        ApiSettings(
            database_url=sqlite_url,
            ami_port=own.port,
            ami_control_secret=SECRET,
            ami_peer_hosts=f"127.0.0.1:{peer.port}, 127.0.0.1:{dead}",
        )
    )
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_agent(session, "siti", "1001")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        login = await client.post("/auth/login", data={"username": "siti", "password": PASSWORD})
        officer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        yield Cluster(client, own, peer, officer)
    await own.close()
    await peer.close()
    app.state.engine.dispose()


def membership(ami: FakeAmi) -> list[tuple[str, str, str]]:
    """The queue actions a node received: (action, interface, paused)."""
    return [
        (h["Action"], h["Interface"], h.get("Paused", ""))
        for h in map(dict, ami.actions)
        if h.get("Action") in ("QueueAdd", "QueuePause", "QueueRemove")
    ]


async def test_login_pause_resume_and_logout_reach_every_node(cluster: Cluster) -> None:
    for action, body in (
        ("login", None),
        ("pause", {"reason": "sholat"}),
        ("unpause", None),
        ("logout", None),
    ):
        response = await cluster.client.post(
            f"/agents/me/{action}", headers=cluster.officer, json=body
        )
        assert response.status_code == 200, response.text
    wanted = [
        ("QueueAdd", "PJSIP/1001", ""),
        ("QueuePause", "PJSIP/1001", "true"),
        ("QueuePause", "PJSIP/1001", "false"),
        ("QueueRemove", "PJSIP/1001", ""),
        ("QueueRemove", "PJSIP/1001-web", ""),
    ]
    assert membership(cluster.own) == wanted
    assert membership(cluster.peer) == wanted
    [added] = cluster.peer.actions_named("QueueAdd")
    assert dict(added)["MemberName"] == "siti"


async def test_the_apis_own_node_answers_for_the_command(sqlite_url: str) -> None:
    peer = FakeAmi(secret=SECRET)
    await peer.start()
    app = create_app(
        ApiSettings(
            database_url=sqlite_url,
            ami_port=free_port(),  # the API's own node is down
            ami_control_secret=SECRET,
            ami_peer_hosts=f"127.0.0.1:{peer.port}",
        )
    )
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_agent(session, "siti", "1001")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        login = await client.post("/auth/login", data={"username": "siti", "password": PASSWORD})
        officer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        response = await client.post("/agents/me/login", headers=officer)
    assert response.status_code == 503
    assert membership(peer) == [("QueueAdd", "PJSIP/1001", "")]  # sent at the same time
    await peer.close()
    app.state.engine.dispose()


def test_peer_hosts_are_host_and_port_pairs_with_an_optional_node_name() -> None:
    assert ami_peers("") == []
    assert ami_peers("node2, 10.0.0.13:5039,[fd00::14]:5040,[fd00::15]") == [
        AmiPeer("node2", 5038),
        AmiPeer("10.0.0.13", 5039),
        AmiPeer("fd00::14", 5040),
        AmiPeer("fd00::15", 5038),
    ]
    assert ami_peers("node2=10.0.0.12:5038, cc-3.b_x=[fd00::13],node4=ast4") == [
        AmiPeer("10.0.0.12", 5038, "node2"),
        AmiPeer("fd00::13", 5038, "cc-3.b_x"),
        AmiPeer("ast4", 5038, "node4"),
    ]
    for bad in ("node2:0", "node2:99999", "node2:x", "-node2", "fd00::14", "a b", "n=a=b"):
        with pytest.raises(ValueError, match="not an AMI"):
            ami_peers(bad)
    for bad in ("=ast2", "-n=ast2", "n o=ast2", "n;x=ast2", "n\n=ast2", f"{'n' * 65}=ast2"):
        with pytest.raises(ValueError, match="not a node name"):
            ami_peers(bad)
    with pytest.raises(ValueError, match="not an AMI"):
        ApiSettings(ami_peer_hosts="node2;rm")


def test_node_names_follow_the_collectors_rule_and_are_unique() -> None:
    assert ApiSettings(ami_node="node1", ami_peer_hosts="node2=ast2,ast3").ami_node == "node1"
    for name in ("cc1", "a", "n" * 64, "node-1.x_y"):
        assert CollectorSettings(node=name).node == ApiSettings(ami_node=name).ami_node
    for bad in ("-node", "node 1", "n" * 65, "node\n"):
        with pytest.raises(ValueError, match="should match pattern"):
            CollectorSettings(node=bad)
        with pytest.raises(ValueError, match="not a node name"):
            ApiSettings(ami_node=bad)
    for node, peers in (("node1", "node1=ast2"), ("", "node2=ast2,node2=ast3")):
        with pytest.raises(ValueError, match="a node named twice"):
            ApiSettings(ami_node=node, ami_peer_hosts=peers)
