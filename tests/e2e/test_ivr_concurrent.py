"""Twenty citizens file complaints at the same time: every one gets its own ticket."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.harness import Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, event, played_digits, user_event
from tests.e2e.test_ivr_complaint import CATEGORIES, complaint_script

pytestmark = pytest.mark.e2e

CALLS = 20
# Two officers take 20 calls of about 4 s each, after a 45 s IVR.
CALL_TIMEOUT = 240.0


async def test_twenty_concurrent_complaints_get_distinct_correct_tickets(
    sandbox: Sandbox, ivr_node: IvrNode, ivr_server: IvrServer
) -> None:
    keys = list(CATEGORIES)
    callers = {random_caller(): keys[i % len(keys)] for i in range(CALLS)}
    async with await sandbox.connect_ami() as ami:
        done = {c: user_event(ami, "LaporIvrDone", c, CALL_TIMEOUT) for c in callers}
        await asyncio.gather(
            *(
                sandbox.place_call(LINE, c, complaint_script(ivr_node, k))
                for c, k in callers.items()
            )
        )
        await asyncio.gather(*done.values())
        completed = [
            event(ami, "AgentComplete", CALL_TIMEOUT, Uniqueid=d.result()["Uniqueid"])
            for d in done.values()
        ]
        await asyncio.gather(*completed)

    tickets = set()
    for caller, key in callers.items():
        ivr_done = done[caller].result()
        [stored] = ivr_node.complaints_of(caller)
        assert stored["ticket"] == ivr_done["Ticket"]
        assert stored["category"] == CATEGORIES[key]
        assert stored["uniqueid"] == ivr_done["Uniqueid"]
        assert played_digits(sandbox, ivr_done["Channel"]) == stored["ticket"] * 2
        assert ivr_server.outcome(ivr_done["Uniqueid"]) == [("call", "ok")]
        tickets.add(stored["ticket"])
    assert len(tickets) == CALLS
