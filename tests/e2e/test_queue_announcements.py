"""What a waiting caller hears, on real calls: their position from app_queue, with the
number read from our Indonesian words, and the wait the dialplan estimates."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import pytest

from sandbox.ami import AMIClient, Message
from sandbox.harness import QUEUE, Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, event, wait_until

pytestmark = pytest.mark.e2e

CALL_TIMEOUT = 60.0
HEARD_TIMEOUT = 30.0
# 0 at the greeting (straight to an officer), then on the line until the test ends.
TO_AN_OFFICER = "wait:1|dtmf:0|wait:110"
WAIT_PROMPTS = {
    "lapor/antrean-sebentar-lagi",
    "lapor/antrean-perkiraan",
    "lapor/antrean-lebih-dari",
}


def played_sounds(sandbox: Sandbox, channel: str) -> list[str]:
    """Every sound file the call center played to ``channel``, in order (its verbose log:
    prompts, app_queue's announcements and the digits/ words of numbers).

    Channel names start again at trunk-00000000 when Asterisk restarts (other tests
    restart it), so only the log from the latest call of that name into the IVR counts.
    """
    text = (sandbox.callcenter.host("log") / "messages.log").read_text(errors="replace")
    text = text[max(0, text.rfind(f'[s@ivr:1] NoOp("{channel}"')) :]
    pattern = re.compile(r"<" + re.escape(channel) + r"> Playing '([^']+)\.[^'.]+'")
    return pattern.findall(text)


def contains(sounds: list[str], sentence: list[str]) -> bool:
    return any(sounds[i : i + len(sentence)] == sentence for i in range(len(sounds)))


async def heard(sandbox: Sandbox, channel: str, sentence: list[str]) -> list[str]:
    """Wait until ``channel`` was played ``sentence``; return all it was played."""
    await wait_until(lambda: contains(played_sounds(sandbox, channel), sentence), HEARD_TIMEOUT)
    return played_sounds(sandbox, channel)


async def join(sandbox: Sandbox, ami: AMIClient, caller: str) -> Message:
    """Place a call to an officer from ``caller``; return its QueueCallerJoin."""
    joined = event(ami, "QueueCallerJoin", CALL_TIMEOUT, CallerIDNum=caller, Queue=QUEUE)
    await sandbox.place_call(LINE, caller, TO_AN_OFFICER)
    return await joined


def position_sentence(position: int) -> list[str]:
    return ["lapor/antrean-urutan", f"digits/{position}", "lapor/antrean-dalam-antrean"]


async def test_waiting_callers_hear_their_position_in_indonesian(
    sandbox: Sandbox,
    ivr_node: IvrNode,
    ivr_server: IvrServer,
    quiet_call_center: None,
    long_talks: None,
) -> None:
    # No officer in the queue (long_talks): everyone who calls waits, in joining order.
    async with await sandbox.connect_ami() as ami:
        joins = [await join(sandbox, ami, random_caller()) for _ in range(3)]
    assert [j["Position"] for j in joins] == ["1", "2", "3"]
    first, second, third = (j["Channel"] for j in joins)

    second_heard = await heard(sandbox, second, position_sentence(2))
    assert contains(second_heard, position_sentence(2)), second_heard
    # Our Indonesian "dua", not Asterisk's English "two" (the fallback for a missing file).
    assert ivr_node.host_path("/usr/share/asterisk/sounds/id/digits/2.wav").is_file()
    third_heard = await heard(sandbox, third, position_sentence(3))
    assert contains(third_heard, position_sentence(3)), third_heard
    first_heard = await heard(sandbox, first, ["lapor/antrean-berikutnya"])
    assert "lapor/antrean-berikutnya" in first_heard, first_heard
    assert "lapor/antrean-urutan" not in first_heard
    # No officer serves: no wait is promised to anyone.
    for channel in (first, second, third):
        assert not WAIT_PROMPTS & set(played_sounds(sandbox, channel))


def queue_figures(sandbox: Sandbox) -> tuple[int, int]:
    """app_queue's average hold and talk time of the queue (s), as `queue show` says."""
    out = sandbox.callcenter.rx(f"queue show {QUEUE}")
    found = re.search(r"\((\d+)s holdtime, (\d+)s talktime\)", out)
    assert found, out
    return int(found.group(1)), int(found.group(2))


def number_words(number: int) -> list[str]:
    """The digits/ files Asterisk reads a number under 100 from (English-structured rules,
    which it uses for language "id")."""
    if number < 20:
        return [f"digits/{number}"]
    tens, units = divmod(number, 10)
    return [f"digits/{tens * 10}"] + ([f"digits/{units}"] if units else [])


@pytest.fixture
def wait_globals(sandbox: Sandbox) -> Iterator[None]:
    """The dialplan's wait threshold put back as rendered after the test."""
    rendered = (sandbox.callcenter.host("etc") / "extensions.conf").read_text()
    found = re.search(r"^QUEUE_WAIT_SOON = (\d+)$", rendered, re.M)
    assert found, "QUEUE_WAIT_SOON is not in the rendered dialplan"
    try:
        yield
    finally:
        sandbox.callcenter.rx(f"dialplan set global QUEUE_WAIT_SOON {found.group(1)}")


async def test_the_wait_is_said_from_app_queues_figures(
    sandbox: Sandbox,
    ivr_node: IvrNode,
    ivr_server: IvrServer,
    quiet_call_center: None,
    long_talks: None,
    wait_globals: None,
) -> None:
    officer = sandbox.config.agents[0]
    sandbox.add_member(officer)
    answered, talking = random_caller(), random_caller()
    async with await sandbox.connect_ami() as ami:
        # One answered call, so app_queue has figures; then the officer stays on a call.
        sandbox.carrier.rx("dialplan set global AGENT_TALK_SECONDS 2")
        first = await join(sandbox, ami, answered)
        # Its channel ends once Queue() returned, after app_queue counted the call.
        await event(ami, "Hangup", CALL_TIMEOUT, Channel=first["Channel"])
        sandbox.carrier.rx("dialplan set global AGENT_TALK_SECONDS 110")
        busy = event(ami, "AgentConnect", CALL_TIMEOUT, CallerIDNum=talking)
        await join(sandbox, ami, talking)
        await busy

        # Under the threshold: "sebentar lagi", and no number.
        sandbox.callcenter.rx("dialplan set global QUEUE_WAIT_SOON 100000")
        soon = (await join(sandbox, ami, random_caller()))["Channel"]
        soon_heard = await heard(sandbox, soon, ["lapor/antrean-sebentar-lagi"])
        assert "lapor/antrean-sebentar-lagi" in soon_heard, soon_heard
        assert "lapor/antrean-perkiraan" not in soon_heard

        # Over it: whole minutes rounded up (at least one), from the larger of the average
        # hold time and the one caller ahead times the average talk time (one officer).
        sandbox.callcenter.rx("dialplan set global QUEUE_WAIT_SOON 0")
        hold, talk = queue_figures(sandbox)
        minutes = max(1, math.ceil(max(hold, 1 * talk) / 60))
        said = ["lapor/antrean-perkiraan", *number_words(minutes), "lapor/antrean-menit"]
        estimate = (await join(sandbox, ami, random_caller()))["Channel"]
        estimate_heard = await heard(sandbox, estimate, said)
        assert contains(estimate_heard, said), (hold, talk, estimate_heard)
        # Then app_queue's position: second in line.
        then = await heard(sandbox, estimate, position_sentence(2))
        assert contains(then, position_sentence(2)), then
