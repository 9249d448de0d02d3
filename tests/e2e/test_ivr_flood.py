"""Real calls while the FastAGI port is under attack: the IVR keeps serving, and a session
the server refuses still puts the caller through to an officer (the mayor's rule)."""

from __future__ import annotations

import asyncio

import pytest

from ivr.fastagi import FastAGILimits
from sandbox.harness import Sandbox
from tests.e2e.calls import follow_queued_call, random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, event, user_event
from tests.e2e.test_ivr_complaint import CATEGORIES, complaint_script
from tests.integration.agi_peer import AGIPeer, agi_headers, flood, header_bytes

pytestmark = pytest.mark.e2e

CALL_TIMEOUT = 120.0
MIB = 1024 * 1024
FLOODS = {
    "long lines": b"agi_calleridname: " + b"x" * 15_000 + b"\n",
    "many lines": b"agi_flood: x\n",
    "big block": b"agi_arg_1: " + b"y" * 4_000 + b"\n",
}


# The attackers stop on a flag, not on cancellation alone: Python 3.11's wait_for (inside
# the peer helpers) swallows a cancel that lands as its inner await completes, and a loop
# that missed its cancel then ran forever (seen: CI stuck in this test until its time ran out).
ATTACK_STOP_SECONDS = 30.0


async def keep_flooding(
    port: int, line: bytes, counts: dict[str, int], kind: str, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        counts[kind] += await flood(port, line, 4 * MIB)


async def keep_guessing(port: int, counts: dict[str, int], stop: asyncio.Event) -> None:
    """Complete, well-formed requests for the complaint script, without the secret."""
    while not stop.is_set():
        peer = await AGIPeer.connect(port)
        try:
            await peer.write(header_bytes(agi_headers("call?secret=guessed-0123456789")))
            counts["guesses"] += await peer.read_until_gone() == b""
        except ConnectionError:
            counts["guesses"] += 1
        finally:
            await peer.close()


async def test_a_complaint_call_is_served_while_strangers_flood_the_port(
    sandbox: Sandbox, ivr_node: IvrNode, ivr_server: IvrServer
) -> None:
    port = sandbox.config.agi_port
    idle = [await AGIPeer.connect(port) for _ in range(50)]
    counts = dict.fromkeys([*FLOODS, "guesses"], 0)
    stop = asyncio.Event()
    attackers = [
        asyncio.create_task(keep_flooding(port, line, counts, kind, stop))
        for kind, line in FLOODS.items()
    ]
    attackers.append(asyncio.create_task(keep_guessing(port, counts, stop)))
    caller = random_caller()
    try:
        async with await sandbox.connect_ami() as ami:
            done = user_event(ami, "LaporIvrDone", caller, CALL_TIMEOUT)
            await sandbox.place_call(LINE, caller, complaint_script(ivr_node, "1"))
            ivr_done = await done
            await event(ami, "AgentConnect", CALL_TIMEOUT, Uniqueid=ivr_done["Uniqueid"])
    finally:
        stop.set()
        for task in attackers:
            task.cancel()
        _, stuck = await asyncio.wait(attackers, timeout=ATTACK_STOP_SECONDS)
        for peer in idle:
            peer.abort()
    assert not stuck, f"attackers still running after {ATTACK_STOP_SECONDS} s: {stuck}"
    for task in attackers:
        assert task.cancelled() or task.exception() is None, task.exception()

    assert ivr_done["Status"] == "OK"
    assert ivr_done["AgiStatus"] == "SUCCESS"
    [stored] = ivr_node.complaints_of(caller)
    assert stored["ticket"] == ivr_done["Ticket"]
    assert stored["category"] == CATEGORIES["1"]
    assert ivr_server.outcome(ivr_done["Uniqueid"], "call") == [("call", "ok")]
    # The attack went on through the whole call, and each attempt was cut off.
    assert all(counts.values()), counts
    stats = ivr_server.server.stats
    assert stats.rejected >= sum(counts[kind] for kind in FLOODS)
    assert stats.denied >= counts["guesses"]


async def test_a_call_over_the_session_cap_still_reaches_an_officer(
    sandbox: Sandbox, ivr_node: IvrNode
) -> None:
    server = IvrServer(ivr_node, limits=FastAGILimits(max_sessions=3, header_timeout=600))
    await server.start()
    idle = [await AGIPeer.connect(sandbox.config.agi_port) for _ in range(3)]
    caller = random_caller()
    try:
        async with await sandbox.connect_ami() as ami:
            followed = asyncio.ensure_future(follow_queued_call(ami, caller))
            await sandbox.place_call(LINE, caller, "wait:1|dtmf:1")
            call = await followed
    finally:
        for peer in idle:
            await peer.close()
        await server.close()

    # No IVR ran: the dialplan queued the call straight away, and an officer took it.
    assert call.ivr_done["Status"] == ""
    assert call.ivr_done["Ticket"] == ""
    assert call.ivr_done["AgiStatus"] in {"SUCCESS", "FAILURE"}
    assert call.connected["Queue"] == "pengaduan"
    assert server.server.stats.refused >= 1
    assert [o.status for o in server.outcomes if o.uniqueid] == []
    assert ivr_node.complaints_of(caller) == []
