"""Calls an officer's desk phone places itself through the Kamailio edge
(route[FROM_OFFICER], docs/scaling-edge.md "Calls officers place"), on the two-node
sandbox:

1. an officer on a queue call from one node calls a city unit (the consultation call of an
   attended transfer): the call reaches that same node, not the one the edge's round-robin
   would pick next, as the officer's own endpoint in [agents]; the phone then REFERs its
   queue call with Replaces and that node joins the citizen with the unit;
2. an officer with no call calls a unit (any node, challenged by it, let through); an
   X-Lapor-Officer header forged on a citizen's call is removed by the edge (the node sees
   the trunk); the desk phone with a wrong password gets no call out;
3. the node of the officer's call dies: the officer's next call goes to the live node.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from sandbox.ami import AMIClient, Message
from sandbox.cluster import HOST, Cluster
from sandbox.harness import QUEUE, Sandbox, originate_response
from tests.e2e.calls import random_caller
from tests.e2e.test_kpi_truth import wait_until

pytestmark = pytest.mark.e2e
LINE = "082282204761"
OFFICER = "1001"
OTHER = "1002"
UNIT = "0721000101"  # dinas-pu (sandbox/harness.py TRANSFER_NUMBERS)
OTHER_UNIT = "0721000102"
TIMEOUT = 30


def channels(node: Sandbox, carrier: bool = False) -> list[list[str]]:
    """``core show channels concise`` rows: channel, context, exten, priority, state, app,
    data, caller id, ..., uniqueid."""
    instance = node.carrier if carrier else node.callcenter
    text = instance.rx("core show channels concise")
    return [row.split("!") for row in text.splitlines() if row.count("!") > 10]


def officer_legs(node: Sandbox, context: str, exten: str | None = None) -> list[list[str]]:
    """The node's channels of OFFICER's endpoint in ``context`` (and ``exten``)."""
    return [
        r
        for r in channels(node)
        if r[0].startswith(f"PJSIP/{OFFICER}-") and r[1] == context and exten in (None, r[2])
    ]


def rx_all(cluster: Cluster, command: str) -> None:
    for node in cluster.nodes:
        node.callcenter.rx(command)


def talk_seconds(cluster: Cluster) -> str:
    text = cluster.carrier_sandbox.carrier.rx("dialplan show globals")
    found = re.search(r"AGENT_TALK_SECONDS=(\d+)", text)
    return found.group(1) if found else "3"


@pytest.fixture
def only_officer_logged_in(cluster: Cluster) -> Iterator[None]:
    """OFFICER alone in the queue on both nodes, answering and staying on the line; the
    other officer back, every call hung up and the talk time restored afterwards."""
    carrier = cluster.carrier_sandbox.carrier
    talk = talk_seconds(cluster)
    carrier.rx("dialplan set global AGENT_TALK_SECONDS 120")
    rx_all(cluster, f"queue remove member PJSIP/{OTHER} from {QUEUE}")
    cluster.add_member(OFFICER)
    try:
        yield
    finally:
        carrier.rx(f"dialplan set global AGENT_TALK_SECONDS {talk}")
        carrier.rx("channel request hangup all")
        cluster.add_member(OTHER)


async def originate(
    ami: AMIClient, channel: str, caller_id: str = "Petugas", variable: str = "SCRIPT="
) -> Message:
    """Originate ``channel`` on the carrier into [citizen] (waits on the line): the
    OriginateResponse event."""
    reply = await ami.action(
        "Originate",
        Channel=channel,
        Context="citizen",
        Exten="s",
        Priority="1",
        Timeout=str(TIMEOUT * 1000),
        Async="true",
        CallerID=caller_id,
        Variable=variable,
    )
    assert reply.get("Response") == "Success", reply
    return await ami.wait_for(originate_response(reply.get("ActionID", "")), TIMEOUT + 5)


async def getvar(ami: AMIClient, channel: str, name: str) -> str:
    reply = await ami.action("Getvar", Channel=channel, Variable=name)
    assert reply.get("Response") == "Success", reply
    return reply.get("Value", "")


async def officer_on_a_queue_call(cluster: Cluster, caller: str) -> int:
    """``caller`` calls the line and OFFICER answers: the index of the node of the call."""
    await cluster.carrier_sandbox.place_call(LINE, caller)  # no IVR server: to the queue
    found: list[int] = []

    def answered() -> bool:
        found[:] = [
            i
            for i, n in enumerate(cluster.nodes)
            if any(r[0].startswith(f"PJSIP/{OFFICER}-") and r[4] == "Up" for r in channels(n))
        ]
        return bool(found)

    await wait_until(answered, TIMEOUT, f"{OFFICER} to answer the queue call")
    [index] = found
    return index


async def test_a_consult_call_reaches_the_node_of_the_officers_call_and_transfers(
    cluster: Cluster, only_officer_logged_in: None
) -> None:
    sandbox = cluster.carrier_sandbox
    caller = random_caller()
    index = await officer_on_a_queue_call(cluster, caller)
    node, other = cluster.nodes[index], cluster.nodes[1 - index]
    [desk_leg] = [
        r[0]
        for r in channels(sandbox, carrier=True)
        if r[1] == "from-callcenter" and r[2] == OFFICER and r[4] == "Up"
    ]

    async with (
        await sandbox.connect_carrier_ami() as carrier_ami,
        await node.connect_ami() as node_ami,
    ):
        # The desk phone calls the unit. Round-robin alone would send this call to the
        # other node (the queue call was the last one the edge dispatched).
        consult = await originate(carrier_ami, f"PJSIP/{UNIT}@phone-{OFFICER}")
        assert consult.get("Response") == "Success", consult
        assert officer_legs(node, "agents", UNIT), channels(node)
        assert not [r for r in channels(other) if r[2] == UNIT], channels(other)

        # Attended transfer: the phone REFERs its queue call to the unit, replacing its
        # consultation call (its dialog with the node, as the node names the tags).
        [consult_leg] = [
            r[0]
            for r in channels(sandbox, carrier=True)
            if r[0].startswith(f"PJSIP/phone-{OFFICER}-")
        ]
        call_id = await getvar(carrier_ami, consult_leg, "CHANNEL(pjsip,call-id)")
        local_tag = await getvar(carrier_ami, consult_leg, "CHANNEL(pjsip,local_tag)")
        remote_tag = await getvar(carrier_ami, consult_leg, "CHANNEL(pjsip,remote_tag)")
        replaces = quote(f"{call_id};to-tag={remote_tag};from-tag={local_tag}", safe="")
        target = f"<sip:{UNIT}@{cluster.edge_address}?Replaces={replaces}>"
        await carrier_ami.action("Setvar", Channel=desk_leg, Variable="XFER_TARGET", Value=target)
        await carrier_ami.action(
            "Redirect", Channel=desk_leg, Context="desk-transfer", Exten="s", Priority="1"
        )
        transfer = await node_ami.wait_for(lambda m: m.get("Event") == "AttendedTransfer", TIMEOUT)
        assert transfer.get("Result") == "Success", transfer
        # The citizen now talks with the unit, on the node of the call.
        assert transfer.get("TransfereeCallerIDNum") == caller, transfer


async def test_an_idle_officers_call_a_forged_header_and_a_wrong_password(
    cluster: Cluster, only_officer_logged_in: None
) -> None:
    sandbox = cluster.carrier_sandbox
    async with await sandbox.connect_carrier_ami() as carrier_ami:
        # A citizen's call naming an officer in X-Lapor-Officer: the node sees the trunk.
        caller = random_caller()
        forged = await originate(
            carrier_ami,
            f"Local/{LINE}@forged-officer",
            caller_id=f'"Warga" <{caller}>',
            variable=f"__FORGED_OFFICER={OFFICER}",
        )
        assert forged.get("Response") == "Success", forged
        legs = [r[0] for n in cluster.nodes for r in channels(n) if r[7] == caller]
        assert legs
        assert all(leg.startswith("PJSIP/trunk-") for leg in legs), legs

        # An officer with no call calls a unit: any node, as that officer, challenged and
        # let through (the INVITE with the credentials reaches the node that challenged).
        idle = await originate(carrier_ami, f"PJSIP/{OTHER_UNIT}@phone-{OTHER}")
        assert idle.get("Response") == "Success", idle
        idle_legs = [
            r[0]
            for n in cluster.nodes
            for r in channels(n)
            if r[1] == "agents" and r[2] == OTHER_UNIT
        ]
        assert len(idle_legs) == 1, idle_legs
        assert idle_legs[0].startswith(f"PJSIP/{OTHER}-"), idle_legs
        await carrier_ami.action("Hangup", Channel=idle.get("Channel", ""))
        await wait_until(
            lambda: not any(r[2] == OTHER_UNIT for n in cluster.nodes for r in channels(n)),
            TIMEOUT,
            "the unit call to end",
        )

        # The desk phone with a wrong password: challenged by the node, refused, no call.
        refused = await originate(carrier_ami, f"PJSIP/{OTHER_UNIT}@impostor-{OFFICER}")
        assert refused.get("Response") == "Failure", refused
        await asyncio.sleep(0)
        unit_calls = [
            m
            for m in carrier_ami.events
            if m.get("Event") == "Newchannel"
            and m.get("Context") == "from-callcenter"
            and m.get("Exten") == OTHER_UNIT
        ]
        assert len(unit_calls) == 1, unit_calls  # the idle officer's call only
        assert not any(officer_legs(n, "agents", OTHER_UNIT) for n in cluster.nodes)


async def test_a_consult_call_goes_to_a_live_node_when_the_calls_node_died(
    cluster: Cluster, only_officer_logged_in: None
) -> None:
    index = await officer_on_a_queue_call(cluster, random_caller())
    dead, survivor = cluster.nodes[index], cluster.nodes[1 - index]
    dead_uri = f"sip:{HOST}:{dead.config.sip_port}"
    try:
        for pid in dead.callcenter.running_pids():
            os.kill(pid, signal.SIGKILL)
        await wait_until(
            lambda: cluster.edge.node_states().get(dead_uri, "").startswith("I"),
            TIMEOUT,
            "the edge to take the dead node out",
        )
        # The edge still holds the officer's call (no BYE came), noted on the dead node.
        async with await cluster.carrier_sandbox.connect_carrier_ami() as carrier_ami:
            consult = await originate(carrier_ami, f"PJSIP/{UNIT}@phone-{OFFICER}")
        assert consult.get("Response") == "Success", consult
        assert officer_legs(survivor, "agents", UNIT), channels(survivor)
    finally:
        cluster.carrier_sandbox.carrier.rx("channel request hangup all")
        await cluster.restart_node(index)
        await wait_until(
            lambda: cluster.edge.node_states().get(dead_uri, "").startswith("A"),
            TIMEOUT,
            "the edge to take the node back",
        )
