"""Transfers from the officer's browser phone to a city unit's number, against the real
sandbox: a REFER to a number the dialplan does not allow is refused and the citizen stays
with the officer; a blind transfer and an attended one (after a cancelled consultation)
connect the citizen to the unit's phone (a carrier number that answers), leave the
officer's page idle, and count as calls the officer answered; a blind transfer to a unit
that doesn't answer (a busy number) brings the citizen back to the queue, and the call's
recording holds both conversations. A transferred citizen is not asked the survey.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from sandbox.ami import AMIClient, Message
from sandbox.harness import QUEUE, TRANSFER_NUMBERS, Sandbox
from tests.e2e.browser import chromium_page, sign_in
from tests.e2e.calls import queue_log_verbs, random_caller
from tests.e2e.ivr_node import LINE, wait_until
from tests.e2e.officers import add_officer, control_env, event
from tests.e2e.services import ApiProcess, fresh_api_process
from tests.e2e.test_survey import asked

pytestmark = pytest.mark.e2e
CALL_TIMEOUT = 60.0
BLIND_TO, ATTENDED_TO, BUSY_UNIT = (item.split("=")[1] for item in TRANSFER_NUMBERS.split(","))
NOT_ALLOWED = "0721999999"
# How long each of a call's two conversations lasts when a blind transfer comes back.
TALK = 2.0
# The citizen back from a unit that did not take the call rings the officer again after
# the queue's join announcement; well within this.
REQUEUE_RING_MS = 30_000
# Resolves to how a REFER of the page's call to ``target`` ended: refused outright, or
# accepted (202) and then failed or done, as the call center's NOTIFY says.
REFER_TO = """(target) => new Promise((done) => {
  window.laporPhone.session.refer(target, { eventHandlers: {
    requestFailed: () => done("refused"), failed: () => done("refused"),
    accepted: () => done("transferred"),
  } });
})"""


def bridge_of(events: list[Message], channel: str) -> str | None:
    """The bridge ``channel`` is in after these events, if any."""
    current = None
    for message in events:
        if message.get("Channel") != channel:
            continue
        if message.get("Event") == "BridgeEnter":
            current = message.get("BridgeUniqueid")
        elif message.get("Event") == "BridgeLeave" and message.get("BridgeUniqueid") == current:
            current = None
    return current


async def bridged(ami: AMIClient, one: str, other: str, timeout: float = 10.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        bridge = bridge_of(ami.events, one)
        if bridge is not None and bridge == bridge_of(ami.events, other):
            return True
        await asyncio.sleep(0.2)
    return False


async def answer_a_call(page: Page, sandbox: Sandbox, ami: AMIClient, username: str) -> Message:
    """A citizen calls, the officer answers in the page; the AgentConnect event."""
    caller = random_caller()
    placed = asyncio.create_task(sandbox.place_call(LINE, caller, "wait:600"))
    await expect(page.locator("#phone-call")).to_have_attribute("data-state", "ringing")
    await page.get_by_role("button", name="Angkat").click()
    connected = await ami.wait_for(
        lambda m: event("AgentConnect", MemberName=username)(m) and m.get("CallerIDNum") == caller,
        CALL_TIMEOUT,
    )
    await placed
    await expect(page.locator("#phone-call")).to_have_attribute("data-state", "on_call")
    return connected


def seconds_of(wav: Path) -> float:
    """A WAV file's duration (soxi), 0 while it can't be read."""
    done = subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True)
    return float(done.stdout) if done.returncode == 0 and done.stdout.strip() else 0.0


def is_dial_to(message: Message, number: str) -> bool:
    return event("DialBegin", DialString=f"{number}@trunk")(message)


async def unit_answered(ami: AMIClient, number: str) -> str:
    """The call center's channel to the unit's number, once the unit answered."""
    begin = await ami.wait_for(lambda m: is_dial_to(m, number), CALL_TIMEOUT)
    channel = begin["DestChannel"]
    await ami.wait_for(event("DialEnd", DestChannel=channel, DialStatus="ANSWER"), CALL_TIMEOUT)
    return channel


async def counted_as_answered(
    sandbox: Sandbox, ami: AMIClient, username: str, call: Message, verb: str
) -> None:
    """The officer's part ended as a transfer: AgentComplete (Reason transfer) and the
    queue_log verb after CONNECT, which api/events/derive.py counts as answered."""
    await ami.wait_for(
        event("AgentComplete", MemberName=username, Channel=call["Channel"], Reason="transfer"),
        CALL_TIMEOUT,
    )
    verbs = await queue_log_verbs(sandbox.callcenter.queue_log, call["Uniqueid"], verb)
    assert verbs[-2:] == ["CONNECT", verb]


async def test_an_officer_transfers_callers_to_city_units_blind_and_attended(
    sandbox: Sandbox, long_talks: None, tmp_path: Path
) -> None:
    username = f"tari{secrets.token_hex(3)}"
    extension = sandbox.config.agents[0]
    env = {
        **control_env(sandbox),
        "LAPOR_API_WEBRTC_WS_URL": f"ws://127.0.0.1:{sandbox.config.http_port}/ws",
        "LAPOR_API_TRANSFER_NUMBERS": TRANSFER_NUMBERS,
    }

    def prepare(process: ApiProcess) -> None:
        add_officer(process, username, extension)

    try:
        with fresh_api_process(tmp_path / "api.log", env, prepare) as api:
            await transfer_calls(sandbox, api, username)
    finally:
        # The next test's officer puts the same browser phone in the queue.
        sandbox.callcenter.rx(f"queue remove member PJSIP/{extension}-web from {QUEUE}")


async def transfer_calls(sandbox: Sandbox, api: ApiProcess, username: str) -> None:
    async with (
        await sandbox.connect_ami() as ami,
        await sandbox.connect_carrier_ami() as carrier,
        chromium_page("browser-transfer") as page,
    ):
        await sign_in(page, api.url, username)
        await expect(page.locator("#phone-reg")).to_have_attribute("data-state", "registered")
        await expect(page.locator("#phone-unit option")).to_have_count(3)
        await page.get_by_role("button", name="Masuk antrean (telepon browser)").click()
        await ami.wait_for(event("QueueMemberAdded", MemberName=username), CALL_TIMEOUT)

        # A number that is not a unit's: refused, the citizen stays with the officer.
        first = await answer_a_call(page, sandbox, ami, username)
        domain = f"127.0.0.1:{sandbox.config.http_port}"
        refused = await page.evaluate(REFER_TO, f"sip:{NOT_ALLOWED}@{domain}")
        assert refused == "refused"
        await asyncio.sleep(2)
        assert not [m for m in carrier.events if m.get("Exten") == NOT_ALLOWED]
        await expect(page.locator("#phone-call")).to_have_attribute("data-state", "on_call")

        # Blind: the citizen goes to the unit, the officer's page is idle at once.
        await page.locator("#phone-unit").select_option(BLIND_TO)
        await page.get_by_role("button", name="Alihkan", exact=True).click()
        blind = await ami.wait_for(event("BlindTransfer", Extension=BLIND_TO), CALL_TIMEOUT)
        assert blind["Result"] == "Success"
        assert blind["TransfereeChannel"] == first["Channel"]
        await expect(page.locator("#phone-call")).to_have_attribute("data-state", "idle")
        unit = await unit_answered(ami, BLIND_TO)
        assert await bridged(ami, first["Channel"], unit)
        await carrier.wait_for(
            event("Newexten", Context="from-callcenter", Exten=BLIND_TO, Application="Answer"),
            CALL_TIMEOUT,
        )
        await counted_as_answered(sandbox, ami, username, first, "BLINDTRANSFER")

        # Blind to a unit that doesn't take it (busy): the citizen is not dropped but
        # comes back to the queue, and an officer (here the same) answers again.
        returning = await answer_a_call(page, sandbox, ami, username)
        await asyncio.sleep(TALK)
        await page.locator("#phone-unit").select_option(BUSY_UNIT)
        await page.get_by_role("button", name="Alihkan", exact=True).click()
        await ami.wait_for(event("BlindTransfer", Extension=BUSY_UNIT), CALL_TIMEOUT)
        # app_queue first tells the returning citizen their place (about 5 s of prompts).
        await expect(page.locator("#phone-call")).to_have_attribute(
            "data-state", "ringing", timeout=REQUEUE_RING_MS
        )
        await page.get_by_role("button", name="Angkat").click()
        await expect(page.locator("#phone-call")).to_have_attribute("data-state", "on_call")
        joins = [
            m
            for m in ami.events
            if m.get("Event") == "QueueCallerJoin" and m.get("Channel") == returning["Channel"]
        ]
        assert len(joins) == 2
        await asyncio.sleep(TALK)
        await page.get_by_role("button", name="Tutup").click()
        await ami.wait_for(event("Hangup", Channel=returning["Channel"]), CALL_TIMEOUT)
        # Both conversations are in the call's recording: the second is appended.
        recording = sandbox.recordings_dir / f"call-{returning['Linkedid']}.wav"
        assert await wait_until(lambda: seconds_of(recording) >= 2 * TALK - 0.5, CALL_TIMEOUT)

        # Attended: consult the unit (the citizen is held), cancel, back to the
        # citizen; consult again, and connect them.
        second = await answer_a_call(page, sandbox, ami, username)
        await page.locator("#phone-unit").select_option(ATTENDED_TO)
        await page.get_by_role("button", name="Hubungi unit dulu").click()
        await expect(page.locator("#phone-call")).to_have_attribute("data-state", "consulting")
        await expect(page.get_by_role("button", name="Sambungkan")).to_be_enabled()
        await page.get_by_role("button", name="Batal").click()
        await expect(page.locator("#phone-call")).to_have_attribute("data-state", "on_call")
        await page.get_by_role("button", name="Hubungi unit dulu").click()
        await expect(page.get_by_role("button", name="Sambungkan")).to_be_enabled()
        await page.get_by_role("button", name="Sambungkan").click()
        attended = await ami.wait_for(event("AttendedTransfer"), CALL_TIMEOUT)
        assert attended["Result"] == "Success"
        await expect(page.locator("#phone-call")).to_have_attribute("data-state", "idle")
        dials = [m["DestChannel"] for m in ami.events if is_dial_to(m, ATTENDED_TO)]
        assert len(dials) == 2  # the cancelled consultation and the one transferred to
        assert await bridged(ami, second["Channel"], dials[-1])
        await counted_as_answered(sandbox, ami, username, second, "ATTENDEDTRANSFER")

        # The units hang up: a transferred citizen is never asked the post-call survey,
        # though Queue()'s option c lets a channel go on in [ivr] once its bridge ends.
        for citizen, unit_leg in ((first, unit), (second, dials[-1])):
            sandbox.callcenter.rx(f"channel request hangup {unit_leg}")
            await ami.wait_for(event("Hangup", Channel=citizen["Channel"]), CALL_TIMEOUT)
            assert not asked(sandbox, citizen["Channel"])
