"""The post-call survey on real calls: an officer's phone answers and hangs up, the
citizen (still on the line: Queue() option c) hears the question and presses a key; a
rating reaches /stats/survey for the officer who took the call, a skip stores nothing.
In the FastAGI mode and in the classic one (a pyst2 process inside the sandbox)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox.ami import AMIClient, Message
from sandbox.harness import QUEUE, Sandbox
from tests.e2e.calls import random_caller, set_ivr_mode
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, event, wait_until

pytestmark = pytest.mark.e2e

CALL_TIMEOUT = 120.0
QUESTION = "lapor/survei-pertanyaan"


def pressing(key: str) -> str:
    """0 at the greeting (to an officer), then ``key`` every 2 s for 90 s. When the
    question comes depends on the queue and the officer's talk time: before it the key
    lands in a Playback, in Queue() or in the bridge (the officer's phone ignores it),
    and the first one inside the question's answer window is the answer."""
    return "wait:1|dtmf:0|wait:4" + f"|dtmf:{key}|wait:2" * 45


def survey(node: IvrNode) -> dict[str, Any]:
    stats: dict[str, Any] = node.api_get("/stats/survey")
    return stats


def agent_ratings(stats: dict[str, Any], agent: str) -> dict[str, int]:
    for row in stats["by_agent"]:
        if row["agent"] == agent:
            scores: dict[str, int] = row["by_score"]
            return scores
    return {str(score): 0 for score in range(1, 6)}


def asked(sandbox: Sandbox, channel: str) -> bool:
    """Whether the call center played ``channel`` the survey's question."""
    log = sandbox.callcenter.host("log") / "messages.log"
    return f"<{channel}> Playing '{QUESTION}." in log.read_text(errors="replace")


async def answered_call(sandbox: Sandbox, ami: AMIClient, key: str) -> tuple[Message, Message]:
    """A citizen who presses ``key`` all along, through an officer's call to its end;
    returns the call's QueueCallerJoin and AgentConnect."""
    caller = random_caller()
    joined = event(ami, "QueueCallerJoin", CALL_TIMEOUT, CallerIDNum=caller, Queue=QUEUE)
    await sandbox.place_call(LINE, caller, pressing(key))
    linkedid = (await joined)["Linkedid"]
    connected = await event(ami, "AgentConnect", CALL_TIMEOUT, Uniqueid=linkedid)
    await event(ami, "Hangup", CALL_TIMEOUT, Uniqueid=linkedid)
    return joined.result(), connected


@pytest.fixture
def fastagi(ivr_server: IvrServer) -> IvrServer:
    return ivr_server


@pytest.fixture
async def classic(sandbox: Sandbox) -> AsyncIterator[None]:
    await set_ivr_mode(sandbox, "classic")
    try:
        yield
    finally:
        await set_ivr_mode(sandbox, "fastagi")


async def rate_and_skip(sandbox: Sandbox, node: IvrNode) -> list[Message]:
    """One call rated 4, one skipped with 9; the rated one lands for its officer only."""
    before = survey(node)
    async with await sandbox.connect_ami() as ami:
        rated, rated_by = await answered_call(sandbox, ami, "4")
        officer = rated_by["MemberName"]

        def stored() -> bool:
            return agent_ratings(survey(node), officer)["4"] > agent_ratings(before, officer)["4"]

        assert await wait_until(stored, CALL_TIMEOUT)
        skipped, _ = await answered_call(sandbox, ami, "9")
    after = survey(node)
    assert asked(sandbox, rated["Channel"])
    assert asked(sandbox, skipped["Channel"])
    # Exactly one more rating in all, a 4, and it is the answering officer's.
    assert after["total"]["ratings"] == before["total"]["ratings"] + 1
    expected = agent_ratings(before, officer)
    expected["4"] += 1
    assert agent_ratings(after, officer) == expected
    return [rated, skipped]


async def test_a_rating_lands_for_the_officer_and_a_skip_stores_nothing(
    sandbox: Sandbox, ivr_node: IvrNode, fastagi: IvrServer, quiet_call_center: None
) -> None:
    rated, skipped = await rate_and_skip(sandbox, ivr_node)
    assert ("survey", "ok") in fastagi.outcome(rated["Uniqueid"])
    assert ("survey", "ok") in fastagi.outcome(skipped["Uniqueid"])


async def test_the_classic_survey_script_stores_the_rating_too(
    sandbox: Sandbox, ivr_node: IvrNode, classic: None, quiet_call_center: None
) -> None:
    await rate_and_skip(sandbox, ivr_node)


async def test_a_caller_no_officer_answered_is_not_surveyed(
    sandbox: Sandbox, ivr_node: IvrNode, fastagi: IvrServer, long_talks: None
) -> None:
    # No officer in the queue (long_talks empties it): the caller hangs up while waiting.
    caller = random_caller()
    async with await sandbox.connect_ami() as ami:
        joined = event(ami, "QueueCallerJoin", CALL_TIMEOUT, CallerIDNum=caller, Queue=QUEUE)
        await sandbox.place_call(LINE, caller, "wait:1|dtmf:0|wait:12|hangup")
        channel = (await joined)["Channel"]
        await event(ami, "Hangup", CALL_TIMEOUT, Channel=channel)
    assert not asked(sandbox, channel)
    assert not [o for o in fastagi.outcomes if o.script == "survey"]
