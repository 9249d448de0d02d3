"""Twenty citizens file complaints at the same time: every one gets its own ticket."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.ami import AMIClient
from sandbox.harness import Sandbox
from tests.e2e.calls import queue_log_verbs, random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, played_digits, user_event
from tests.e2e.test_ivr_complaint import CATEGORIES, complaint_script

pytestmark = pytest.mark.e2e

CALLS = 20
# About 45 s of IVR each, all at once, then two officers take 20 calls of about 4 s each
# one after the other. Generous: a full suite on two busy cores once needed more than 240 s.
CALL_TIMEOUT = 480.0


@pytest.mark.usefixtures("quiet_call_center")
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
        ids = {c: d.result()["Uniqueid"] for c, d in done.items()}
        # queue_log, not AMI: app_queue may send an AgentComplete without the call's
        # fields on a busy node (docs/asterisk.md), but it always logs COMPLETE*.
        verbs = await asyncio.gather(
            *(
                queue_log_verbs(sandbox.callcenter.queue_log, u, "COMPLETE", CALL_TIMEOUT)
                for u in ids.values()
            )
        )
        missing = [u for u, v in zip(ids.values(), verbs, strict=True) if not any_complete(v)]
        assert not missing, f"no COMPLETE in queue_log for {trail(ami, missing)}"

    tickets = set()
    for caller, key in callers.items():
        ivr_done = done[caller].result()
        [stored] = ivr_node.complaints_of(caller)
        assert stored["ticket"] == ivr_done["Ticket"]
        assert stored["category"] == CATEGORIES[key]
        assert stored["uniqueid"] == ivr_done["Uniqueid"]
        assert played_digits(sandbox, ivr_done["Channel"]) == stored["ticket"] * 2
        assert ivr_server.outcome(ivr_done["Uniqueid"], "call") == [("call", "ok")]
        tickets.add(stored["ticket"])
    assert len(tickets) == CALLS


def any_complete(verbs: list[str]) -> bool:
    return any(verb.startswith("COMPLETE") for verb in verbs)


def trail(ami: AMIClient, uniqueids: list[str]) -> str:
    """Each call's AMI events in order, to tell a slow queue from a lost call."""
    return "; ".join(
        f"{u}: "
        + " ".join(
            e.get("Event", "?")
            for e in ami.events
            if u in (e.get("Uniqueid"), e.get("DestLinkedid"))
        )
        for u in uniqueids
    )
