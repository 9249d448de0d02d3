"""A supervisor listens to an officer's call on the other node: the API's own node is
node 1 (LAPOR_API_AMI_NODE), node 2 its named peer; the officer's queue call is on node 2,
so the API rings the supervisor's phone from node 2, whose ChanSpy joins the call (ChanSpy
sees only its own Asterisk's channels). Node 1's AMI never gets the Originate.

The officer is a queue member on node 2 only: a call the edge sends to node 1 waits there
unanswered, and the next one (round-robin) goes to node 2.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.ami import Message
from sandbox.cluster import Cluster, node_name
from sandbox.harness import QUEUE
from tests.e2e.calls import random_caller
from tests.e2e.kpi_support import CollectorProcess
from tests.e2e.officers import add_officer, add_supervisor, event, login
from tests.e2e.services import ApiProcess, fresh_api_process
from tests.e2e.test_supervision_calls import on_a_call, supervise

pytestmark = pytest.mark.e2e
LINE = "082282204761"
CALL_TIMEOUT = 60.0
CALLS_TRIED = 3  # round-robin over two nodes: the second call at the latest is on node 2


def api_env(cluster: Cluster) -> dict[str, str]:
    first, second = cluster.nodes
    return {
        "LAPOR_API_AMI_PORT": str(first.config.ami_port),
        "LAPOR_API_AMI_NODE": node_name(0),
        "LAPOR_API_AMI_PEER_HOSTS": f"{node_name(1)}=127.0.0.1:{second.config.ami_port}",
        "LAPOR_API_AMI_CONTROL_SECRET": first.secrets.control,  # the same on every node
        "LAPOR_API_CALLBACK_DIALER_ENABLED": "false",
    }


@pytest.fixture
def officer_on_node2_only(cluster: Cluster) -> Iterator[str]:
    """No member in either node's queue but the officer's phone on node 2, whose officers
    talk long; every member back, every call hung up, afterwards."""
    phone = cluster.configs[0].agents[0]
    officer = f"spy{secrets.token_hex(3)}"
    carrier = cluster.carrier_sandbox.carrier
    carrier.rx("dialplan set global AGENT_TALK_SECONDS 600")
    for node in cluster.nodes:
        for agent in node.config.agents:
            node.callcenter.rx(f"queue remove member PJSIP/{agent} from {QUEUE}")
    cluster.nodes[1].callcenter.rx(
        f"queue add member PJSIP/{phone} to {QUEUE} penalty 0 as {officer}"
    )
    try:
        yield officer
    finally:
        carrier.rx("dialplan set global AGENT_TALK_SECONDS 3")
        for node in cluster.nodes:
            node.callcenter.rx("channel request hangup all")
            node.callcenter.rx(f"queue remove member PJSIP/{phone} from {QUEUE}")
        for agent in cluster.configs[0].agents:
            cluster.add_member(agent)


async def queued_on(cluster: Cluster, caller: str) -> int:
    """The index of the node whose queue_log has ``caller`` entering the queue."""
    for _ in range(int(CALL_TIMEOUT * 10)):
        for index, node in enumerate(cluster.nodes):
            for line in node.callcenter.queue_log.read_text().splitlines():
                fields = line.split("|")
                if len(fields) > 6 and fields[4] == "ENTERQUEUE" and fields[6] == caller:
                    return index
        await asyncio.sleep(0.1)
    raise AssertionError(f"{caller} entered no node's queue")


async def test_a_supervisor_listens_to_a_call_on_another_node_than_the_apis(
    cluster: Cluster, officer_on_node2_only: str, tmp_path: Path
) -> None:
    officer = officer_on_node2_only
    officer_phone, supervisor_phone = cluster.configs[0].agents[:2]
    supervisor = f"sup{secrets.token_hex(3)}"

    def prepare(process: ApiProcess) -> None:
        add_officer(process, officer, officer_phone)
        add_supervisor(process, supervisor, supervisor_phone)

    with fresh_api_process(tmp_path / "api.log", api_env(cluster), prepare) as api:
        # Node 2's collector: the API learns of the call, and that it is node 2's.
        collector = CollectorProcess(cluster.nodes[1], api, tmp_path)
        collector.env["LAPOR_COLLECTOR_NODE"] = node_name(1)
        collector.start()
        try:
            async with (
                httpx.AsyncClient(base_url=api.url, timeout=60) as client,
                await cluster.nodes[0].connect_ami() as first_ami,
                await cluster.nodes[1].connect_ami() as second_ami,
            ):
                for _ in range(CALLS_TRIED):
                    caller = random_caller()
                    await cluster.carrier_sandbox.place_call(LINE, caller)
                    if await queued_on(cluster, caller) == 1:
                        break
                else:
                    raise AssertionError(f"none of {CALLS_TRIED} calls went to node 2")
                connected: Message = await second_ami.wait_for(
                    event("AgentConnect", MemberName=officer), CALL_TIMEOUT
                )
                officer_headers = await login(client, officer)
                await on_a_call(client, officer_headers)

                boss = await login(client, supervisor)
                entry = await supervise(client, boss, officer, "listen")
                spy: Message = await second_ami.wait_for(
                    event("ChanSpyStart", SpyeeLinkedid=connected["Linkedid"]), CALL_TIMEOUT
                )
                assert spy["SpyerChannel"].startswith(f"PJSIP/{supervisor_phone}-")
                assert spy["SpyeeChannel"].startswith(f"PJSIP/{officer_phone}-")
                assert entry["linkedid"] == connected["Linkedid"]
                assert connected["Linkedid"].startswith(f"{node_name(1)}-")
                log = (await client.get("/supervision/log", headers=boss)).json()
                assert [(e["officer"], e["outcome"]) for e in log] == [(officer, "connected")]
                # Node 1 (the API's own) never rang the supervisor's phone.
                assert not any(
                    m.get("Event") == "Newchannel"
                    and m.get("Channel", "").startswith(f"PJSIP/{supervisor_phone}-")
                    for m in first_ami.events
                )
        finally:
            collector.stop()
