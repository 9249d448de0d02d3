"""Adding an officer without restarting Asterisk (docs/operations.md, "Adding an officer").

Officer 1001 is on a call. Officer 1003 is added as the guide says: a line in the agents
file, pjsip_agents.conf rendered again, ``module reload res_pjsip.so``. The call with
1001 stays up; 1003's phone registers and takes the next call of the queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from sandbox.ami import AMIClient, Message
from sandbox.harness import QUEUE, Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE, IvrServer, event

pytestmark = pytest.mark.e2e

TO_OFFICER = "wait:1|dtmf:0"
NEW_OFFICER = "1003"
CALL_TIMEOUT = 60.0
# Long enough that no call ends by itself during the test; the test hangs them up.
TALK_SECONDS = 600


@pytest.fixture
def only_first_officer(sandbox: Sandbox) -> Iterator[str]:
    """The first officer free, the second paused (so the next call can only go to a new
    one), calls that last; all put back afterwards, the new officer removed again."""
    first, second = sandbox.config.agents[:2]
    sandbox.add_member(first)
    sandbox.add_member(second)
    sandbox.callcenter.rx(f"queue unpause member PJSIP/{first} queue {QUEUE}")
    sandbox.callcenter.rx(f"queue pause member PJSIP/{second} queue {QUEUE} reason rapat")
    sandbox.carrier.rx(f"dialplan set global AGENT_TALK_SECONDS {TALK_SECONDS}")
    try:
        yield first
    finally:
        sandbox.carrier.rx("dialplan set global AGENT_TALK_SECONDS 3")
        sandbox.callcenter.rx(f"queue remove member PJSIP/{NEW_OFFICER} from {QUEUE}")
        sandbox.callcenter.rx(f"queue unpause member PJSIP/{second} queue {QUEUE}")
        sandbox.reload_officers(list(sandbox.config.agents))


async def call_an_officer(sandbox: Sandbox, ami: AMIClient) -> Message:
    """A citizen asks for an officer; the queue's AgentConnect when one answers."""
    caller = random_caller()
    connected = event(ami, "AgentConnect", CALL_TIMEOUT, CallerIDNum=caller)
    await sandbox.place_call(LINE, caller, TO_OFFICER)
    return await connected


async def test_an_officer_added_during_a_call_keeps_it_up_and_takes_the_next_one(
    sandbox: Sandbox, ivr_server: IvrServer, only_first_officer: str
) -> None:
    hang_up: list[str] = []
    async with await sandbox.connect_ami() as ami:
        try:
            first = await call_an_officer(sandbox, ami)
            hang_up += [first["Channel"], first["DestChannel"]]
            assert first["MemberName"] == f"petugas-{only_first_officer}"
            dropped = [event(ami, "Hangup", TALK_SECONDS, Channel=channel) for channel in hang_up]

            await asyncio.to_thread(sandbox.reload_officers, [*sandbox.config.agents, NEW_OFFICER])
            await sandbox.wait_agents_registered(CALL_TIMEOUT, (NEW_OFFICER,))
            assert f"PJSIP/{NEW_OFFICER}" not in sandbox.callcenter.rx(f"queue show {QUEUE}")
            sandbox.add_member(NEW_OFFICER)  # the officer logs in, as from the console

            second = await call_an_officer(sandbox, ami)
            hang_up += [second["Channel"], second["DestChannel"]]
            assert second["MemberName"] == f"petugas-{NEW_OFFICER}"

            # The first call never ended: both of its legs are still up, bridged.
            assert not any(future.done() for future in dropped)
            channels = sandbox.callcenter.rx("core show channels concise")
            assert first["Channel"] in channels
            assert first["DestChannel"] in channels
            for future in dropped:
                future.cancel()
        finally:
            for channel in hang_up:
                sandbox.callcenter.rx(f"channel request hangup {channel}")
