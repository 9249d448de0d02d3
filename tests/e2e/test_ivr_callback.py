"""The callback offer: after the wait in the queue, 1 asks an officer to call back."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from sandbox.harness import Sandbox
from tests.e2e.calls import queue_log_verbs, random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, event, user_event

pytestmark = pytest.mark.e2e

CALLBACK_WAIT = 3
CALL_TIMEOUT = 120.0
# When the offer starts depends on prompt lengths and the machine's load (the recording
# notice added 3 s). 1 is pressed every 3 s for 30 s instead of once at a guessed moment:
# before the offer it lands in a Playback or in Queue(), which ignore it, and the first
# 1 inside the offer's 5 s answer window accepts.
PRESS_ONE_FOR_A_WHILE = "|dtmf:1|wait:3" * 10


async def test_callback_accepted_is_stored_and_the_call_ends(
    sandbox: Sandbox, ivr_node: IvrNode
) -> None:
    server = IvrServer(ivr_node, replace(ivr_node.settings, callback_wait_seconds=CALLBACK_WAIT))
    await server.start()
    speech = ivr_node.speech["keluhan"]
    officer, complained = random_caller(), random_caller()
    scripts = {
        # 0 at the greeting, then 1 during the offer.
        officer: "wait:1|dtmf:0|wait:8" + PRESS_ONE_FOR_A_WHILE,
        # A complaint first (the ticket read back takes about 20 s), then 1 during the offer.
        complained: f"wait:2|dtmf:1|wait:1|dtmf:1|wait:6|play:{speech}|dtmf:#|wait:1|dtmf:3"
        "|wait:20" + PRESS_ONE_FOR_A_WHILE,
    }
    # Every officer busy, so the callers wait out LAPOR_CALLBACK_WAIT.
    for agent in sandbox.config.agents:
        sandbox.callcenter.rx(f"queue pause member PJSIP/{agent} queue pengaduan")
    try:
        async with await sandbox.connect_ami() as ami:
            offers = {c: user_event(ami, "LaporCallback", c, CALL_TIMEOUT) for c in scripts}
            ended = {c: event(ami, "Hangup", CALL_TIMEOUT, CallerIDNum=c) for c in scripts}
            ticket = user_event(ami, "LaporTicket", complained, CALL_TIMEOUT)
            for caller, script in scripts.items():
                await sandbox.place_call(LINE, caller, script)
            await asyncio.gather(*offers.values(), *ended.values(), ticket)
    finally:
        for agent in sandbox.config.agents:
            sandbox.callcenter.rx(f"queue unpause member PJSIP/{agent} queue pengaduan")
        await server.close()

    expected_ticket = {officer: None, complained: ticket.result()["Ticket"]}
    for caller in scripts:
        offer = offers[caller].result()
        [stored] = ivr_node.api_get("/callbacks", number=caller)
        assert stored["ticket"] == expected_ticket[caller]
        assert offer["Ticket"] == (expected_ticket[caller] or "")
        assert offer["Number"] == caller
        entered = datetime.fromtimestamp(int(offer["QueueEntered"]), UTC)
        assert datetime.fromisoformat(stored["queue_entered_at"]) == entered
        assert stored["uniqueid"] == offer["Uniqueid"]
        # The call left the queue by timeout and ended there: no second ENTERQUEUE.
        verbs = await queue_log_verbs(sandbox.callcenter.queue_log, offer["Uniqueid"], "EXIT")
        assert verbs == ["ENTERQUEUE", "EXITWITHTIMEOUT"]
        assert server.outcome(offer["Uniqueid"]) == [("call", "ok"), ("callback", "ok")]
