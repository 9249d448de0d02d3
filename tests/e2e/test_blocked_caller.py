"""A blocked number on real SIP calls: it hears the block prompt, never reaches the queue
without the emergency key, and with it is answered by an officer."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.core.auth import Role
from sandbox.harness import Sandbox
from tests.e2e.calls import follow_queued_call, queue_log_verbs, random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, event, user_event
from tests.e2e.test_queue_announcements import played_sounds

pytestmark = pytest.mark.e2e

CALL_TIMEOUT = 60.0
BLOCK_PROMPT = "lapor/nomor-diblokir"
# The caller presses nothing (or only the main menu's keys) and stays on the line.
NO_EMERGENCY = "wait:2|dtmf:0|wait:40"
EMERGENCY = "wait:2|dtmf:9|wait:40"


@pytest.fixture
def blocked_number(ivr_node: IvrNode) -> Iterator[str]:
    """A fresh number on the blocklist (blocked in its +62 spelling), unblocked after."""
    number = random_caller()
    api = ivr_node.api
    headers = {"Authorization": f"Bearer {api.token(Role.supervisor, name='e2e-spv')}"}
    body = {"number": "+62" + number[1:], "reason": "telepon iseng (e2e)"}
    response = httpx.post(f"{api.url}/blocklist", json=body, headers=headers, timeout=5)
    assert response.status_code == 201, response.text
    assert response.json()["number"] == number
    try:
        yield number
    finally:
        httpx.delete(f"{api.url}/blocklist/{number}", headers=headers, timeout=5)


async def test_without_the_emergency_key_a_blocked_call_ends_outside_the_queue(
    sandbox: Sandbox, ivr_server: IvrServer, quiet_call_center: None, blocked_number: str
) -> None:
    async with await sandbox.connect_ami() as ami:
        done = user_event(ami, "LaporIvrDone", blocked_number, CALL_TIMEOUT)
        joined = event(ami, "QueueCallerJoin", CALL_TIMEOUT, CallerIDNum=blocked_number)
        await sandbox.place_call(LINE, blocked_number, NO_EMERGENCY)
        ivr_done = await done
        await event(ami, "Hangup", CALL_TIMEOUT, Uniqueid=ivr_done["Uniqueid"])
        # A queued call would have joined before its hangup.
        queued = joined.done()
        joined.cancel()
    assert ivr_done["Exit"] == "blocked"
    assert not queued
    heard = played_sounds(sandbox, ivr_done["Channel"])
    assert heard.count(BLOCK_PROMPT) == 2, heard
    assert "lapor/selamat-datang" not in heard
    assert "lapor/ke-petugas" not in heard
    assert ivr_server.outcome(ivr_done["Uniqueid"]) == [("call", "ok")]
    # Not a citizen who gave up in the queue: app_queue wrote nothing of this call.
    lines = sandbox.callcenter.queue_log.read_text().splitlines()
    assert [line for line in lines if f"|{ivr_done['Uniqueid']}|" in line] == []


async def test_the_emergency_key_takes_a_blocked_caller_to_an_officer(
    sandbox: Sandbox, ivr_server: IvrServer, quiet_call_center: None, blocked_number: str
) -> None:
    async with await sandbox.connect_ami() as ami:
        await sandbox.place_call(LINE, blocked_number, EMERGENCY)
        call = await follow_queued_call(ami, blocked_number)
    assert call.ivr_done["Exit"] == "blocked_emergency"
    assert call.connected["Queue"] == "pengaduan"
    heard = played_sounds(sandbox, call.joined["Channel"])
    assert heard[:2] == [BLOCK_PROMPT, "lapor/ke-petugas"], heard
    verbs = await queue_log_verbs(sandbox.callcenter.queue_log, call.uniqueid, "COMPLETE")
    assert verbs[:2] == ["ENTERQUEUE", "CONNECT"]
