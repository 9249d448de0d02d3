"""A citizen's complaint by phone, end to end: real carrier calls, our IVR, the real API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from sandbox.ami import Message
from sandbox.harness import Sandbox
from tests.e2e.calls import random_caller, set_ivr_mode
from tests.e2e.ivr_node import (
    LINE,
    IvrNode,
    IvrServer,
    event,
    played_digits,
    user_event,
    wait_until,
)

pytestmark = pytest.mark.e2e

# The recorded categories; 5 (darurat) files without a recording: test_urgent_calls.py.
CATEGORIES = {"1": "infrastruktur", "2": "kependudukan", "3": "pelayanan_publik", "4": "lainnya"}
# A whole call takes about 45 s (prompts, a 3 s complaint, the ticket read twice, an officer).
CALL_TIMEOUT = 120.0


def complaint_script(node: IvrNode, category: str, speech: str = "keluhan") -> str:
    """1 during the greeting, the category, speak after the beep, #, then 3 (save)."""
    return (
        f"wait:2|dtmf:1|wait:1|dtmf:{category}|wait:6|play:{node.speech[speech]}"
        "|dtmf:#|wait:1|dtmf:3"
    )


async def test_each_category_complaint_is_stored_read_back_and_queued(
    sandbox: Sandbox, ivr_node: IvrNode, ivr_server: IvrServer
) -> None:
    callers = {key: random_caller() for key in CATEGORIES}
    async with await sandbox.connect_ami() as ami:
        done = {key: user_event(ami, "LaporIvrDone", c, CALL_TIMEOUT) for key, c in callers.items()}
        tickets = {
            key: user_event(ami, "LaporTicket", c, CALL_TIMEOUT) for key, c in callers.items()
        }
        for key, caller in callers.items():
            await sandbox.place_call(LINE, caller, complaint_script(ivr_node, key))
        await asyncio.gather(*done.values())
        connected = {
            key: event(ami, "AgentConnect", CALL_TIMEOUT, Uniqueid=done[key].result()["Uniqueid"])
            for key in CATEGORIES
        }
        await asyncio.gather(*connected.values())

    seen = set()
    for key, caller in callers.items():
        ivr_done, ticket_event = done[key].result(), tickets[key].result()
        ticket = ticket_event["Ticket"]
        [stored] = ivr_node.complaints_of(caller)
        assert stored["ticket"] == ticket
        assert ticket.startswith("99")
        assert len(ticket) == 8
        assert stored["category"] == CATEGORIES[key] == ticket_event["Category"]
        assert stored["line"] == LINE == ticket_event["Line"]
        assert stored["uniqueid"] == ivr_done["Uniqueid"]
        assert stored["status"] == "diterima"
        audio = ivr_node.host_path(stored["recording_path"])
        # Named by ticket and call: never the same file as another call's recording.
        assert audio.name == f"{ticket}-{ivr_done['Uniqueid'].replace('.', '-')}.wav"
        assert audio.stat().st_size > 8000
        # Officers play it through the API, seeking with Range.
        async with httpx.AsyncClient(timeout=5) as client:
            served = await client.get(
                f"{ivr_node.api.url}/complaints/{ticket}/recording",
                headers={
                    "Authorization": f"Bearer {ivr_node.reader_token}",
                    "Range": "bytes=0-43",
                },
            )
        assert served.status_code == 206
        assert served.content == audio.read_bytes()[:44]
        assert served.content.startswith(b"RIFF")
        assert (ivr_done["Exit"], ivr_done["Ticket"], ivr_done["Category"]) == (
            "complaint",
            ticket,
            CATEGORIES[key],
        )
        assert played_digits(sandbox, ivr_done["Channel"]) == ticket * 2
        assert ivr_server.outcome(ivr_done["Uniqueid"], "call") == [("call", "ok")]
        # The officer's leg inherits the ticket (__LAPOR_TICKET).
        assert connected[key].result()["Queue"] == "pengaduan"
        seen.add(ticket)
    assert len(seen) == len(CATEGORIES)


async def follow_complaint_call(
    sandbox: Sandbox, node: IvrNode, caller: str, category: str = "1"
) -> tuple[Message, Message]:
    """Place a main-path complaint call; return its LaporIvrDone and LaporTicket events."""
    async with await sandbox.connect_ami() as ami:
        done = user_event(ami, "LaporIvrDone", caller, CALL_TIMEOUT)
        ticket = user_event(ami, "LaporTicket", caller, CALL_TIMEOUT)
        await sandbox.place_call(LINE, caller, complaint_script(node, category))
        await asyncio.gather(done, ticket)
    return done.result(), ticket.result()


async def test_api_stopped_during_a_call_the_complaint_arrives_once_after_restart(
    sandbox: Sandbox, ivr_node: IvrNode, ivr_server: IvrServer
) -> None:
    caller = random_caller()
    ivr_node.api.stop()
    try:
        ivr_done, ticket_event = await follow_complaint_call(sandbox, ivr_node, caller, "2")
        ticket = ticket_event["Ticket"]
        # The caller still got a ticket, read back twice, and went to an officer.
        assert ivr_done["Exit"] == "complaint"
        assert ivr_done["Ticket"] == ticket
        assert played_digits(sandbox, ivr_done["Channel"]) == ticket * 2
        assert (ivr_node.outbox_dir / f"complaint-{ticket}.json").exists()
    finally:
        ivr_node.api.start()
    delivered = await wait_until(lambda: ivr_node.complaints_of(caller), timeout=60)
    assert [c["ticket"] for c in delivered] == [ticket]
    assert delivered[0]["category"] == "kependudukan"
    assert delivered[0]["uniqueid"] == ivr_done["Uniqueid"]
    assert not (ivr_node.outbox_dir / f"complaint-{ticket}.json").exists()
    # A second delivery pass (say, another process) finds nothing and duplicates nothing.
    assert await ivr_server.services.deliverer.flush() == 0
    assert len(ivr_node.complaints_of(caller)) == 1


async def test_classic_agi_takes_a_complaint(
    sandbox: Sandbox, ivr_node: IvrNode, ivr_server: IvrServer
) -> None:
    caller = random_caller()
    await set_ivr_mode(sandbox, "classic")
    try:
        ivr_done, ticket_event = await follow_complaint_call(sandbox, ivr_node, caller, "3")
    finally:
        await set_ivr_mode(sandbox, "fastagi")
    ticket = ticket_event["Ticket"]
    assert ivr_done["Mode"] == "classic"
    assert ivr_done["AgiStatus"] == "SUCCESS"
    assert ivr_done["Exit"] == "complaint"
    assert ivr_server.outcome(ivr_done["Uniqueid"], "call") == []  # the pyst2 script ran it
    assert played_digits(sandbox, ivr_done["Channel"]) == ticket * 2
    [stored] = await wait_until(lambda: ivr_node.complaints_of(caller), timeout=30)
    assert stored["ticket"] == ticket
    assert stored["category"] == "pelayanan_publik"
    assert ivr_node.host_path(stored["recording_path"]).stat().st_size > 8000


def wav_seconds(path: Path) -> float:
    """Length of a 16-bit 8 kHz mono WAV, from its size (header: 44 bytes)."""
    return (path.stat().st_size - 44) / 16000


async def test_rerecord_keeps_the_second_take_and_a_hangup_keeps_the_partial_audio(
    sandbox: Sandbox, ivr_node: IvrNode, ivr_server: IvrServer
) -> None:
    long_speech, short_speech = ivr_node.speech["keluhan-panjang"], ivr_node.speech["keluhan"]
    rerecord, hangup = random_caller(), random_caller()
    scripts = {
        # Long first take, 2 (re-record), short second take, 3 (save).
        rerecord: f"wait:2|dtmf:1|wait:1|dtmf:1|wait:6|play:{long_speech}|dtmf:#|wait:1|dtmf:2"
        f"|wait:1|play:{short_speech}|dtmf:#|wait:1|dtmf:3",
        # Hangs up while still speaking: the recording never ended normally.
        hangup: f"wait:2|dtmf:1|wait:1|dtmf:2|wait:6|play:{short_speech}|hangup",
    }
    async with await sandbox.connect_ami() as ami:
        tickets = {c: user_event(ami, "LaporTicket", c, CALL_TIMEOUT) for c in scripts}
        hangup_end = event(ami, "Hangup", CALL_TIMEOUT, CallerIDNum=hangup)
        for caller, script in scripts.items():
            await sandbox.place_call(LINE, caller, script)
        await asyncio.gather(*tickets.values(), hangup_end)

    [kept] = ivr_node.complaints_of(rerecord)
    assert kept["ticket"] == tickets[rerecord].result()["Ticket"]
    audio = ivr_node.host_path(kept["recording_path"])
    # Only the short second take is on disk (the long first take was about 12 s).
    assert 1.0 < wav_seconds(audio) < 6.0
    assert [p.name for p in audio.parent.glob(f"{kept['ticket']}*")] == [audio.name]

    [partial] = await wait_until(lambda: ivr_node.complaints_of(hangup), timeout=10)
    assert partial["ticket"] == tickets[hangup].result()["Ticket"]
    assert partial["category"] == "kependudukan"
    assert wav_seconds(ivr_node.host_path(partial["recording_path"])) > 0.5
