"""The officers' console in Debian's Chromium against the real sandbox and real calls.

A citizen's complaint call (carrier, DTMF, a spoken complaint) goes through our IVR and
rings an officer's carrier phone; the officer's page, pushed by the collector's events,
shows the call's ticket, category and caller and plays the recording. Then: the officer
completes the complaint, pauses (the next call goes to the other officer, and
``/stats/live`` shows the reason), loses the live stream to an API restart (the next ring
still shows), and dials a callback from the page (its outcome shows there).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from api.core.auth import Role
from sandbox.harness import Sandbox
from tests.e2e.browser import chromium_page, sign_in
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, user_event
from tests.e2e.kpi_support import CollectorProcess
from tests.e2e.officers import add_officer, event, login
from tests.e2e.services import ApiProcess
from tests.e2e.test_screen_pop import complaint_script

pytestmark = pytest.mark.e2e
CALL_TIMEOUT = 120.0
# Records when the caller panel first shows each ticket (ms since the epoch).
WATCH_POPS = """() => {
  window.popAt = {};
  new MutationObserver(() => {
    const ticket = document.getElementById("caller-ticket");
    const shown = ticket && ticket.textContent;
    if (shown && !(shown in window.popAt)) window.popAt[shown] = Date.now();
  }).observe(document.getElementById("caller"), {childList: true, subtree: true});
}"""


async def state_is(page: Page, label: str) -> None:
    await expect(page.locator("#status .state-label")).to_contain_text(label, timeout=15_000)


async def test_an_officer_takes_a_call_completes_it_pauses_and_calls_back(
    sandbox: Sandbox,
    ivr_node: IvrNode,
    ivr_server: IvrServer,
    console: ApiProcess,
    long_talks: None,
    tmp_path: Path,
) -> None:
    tag = secrets.token_hex(3)
    siti, budi = f"siti{tag}", f"budi{tag}"
    add_officer(console, siti, sandbox.config.agents[0])
    add_officer(console, budi, sandbox.config.agents[1])
    collector = CollectorProcess(sandbox, console, tmp_path)
    collector.start()
    try:
        async with (
            httpx.AsyncClient(base_url=console.url, timeout=30) as api,
            await sandbox.connect_ami() as ami,
            chromium_page("console-e2e") as page,
        ):
            supervisor = {"Authorization": f"Bearer {console.token(Role.supervisor)}"}
            await sign_in(page, console.url, siti)
            await page.evaluate(WATCH_POPS)
            await page.get_by_role("button", name="Masuk antrean").click()
            await ami.wait_for(event("QueueMemberAdded", MemberName=siti), CALL_TIMEOUT)
            await state_is(page, "Siap menerima panggilan")

            # 1. A complaint call rings Siti's phone: the page pops it.
            caller = random_caller()
            ticket_event = user_event(ami, "LaporTicket", caller, CALL_TIMEOUT)
            await sandbox.place_call(LINE, caller, complaint_script(ivr_node))
            ticket = (await ticket_event)["Ticket"]
            rang = await ami.wait_for(event("AgentCalled", MemberName=siti), CALL_TIMEOUT)
            await ami.wait_for(event("AgentConnect", MemberName=siti), CALL_TIMEOUT)
            await expect(page.locator("#caller-ticket")).to_have_text(ticket)
            await expect(page.locator("#caller-category")).to_have_text("Infrastruktur")
            shown_at = (await page.evaluate("() => window.popAt"))[ticket] / 1000
            print(f"ring -> page: {shown_at - float(rang['Timestamp']):.3f} s")
            played = await page.evaluate(
                """async () => {
                  const audio = document.getElementById("recording");
                  await audio.play();
                  await new Promise((done) => setTimeout(done, 500));
                  return audio.currentTime;
                }"""
            )
            assert played > 0

            # 2. She completes the complaint; the trail names her.
            await page.get_by_label("Lokasi").fill("Jl. Kartini, Tanjung Karang")
            await page.get_by_label("Ringkasan keluhan").fill("Lampu jalan padam tiga hari")
            await page.get_by_role("button", name="Simpan").click()
            await expect(page.locator("#form-message")).to_have_text("Tersimpan.")
            history = (await api.get(f"/complaints/{ticket}/history", headers=supervisor)).json()
            assert [(h["actor"], h["role"]) for h in history] == [(siti, "agent")]
            joined = await ami.wait_for(event("QueueCallerJoin", CallerIDNum=caller), 5)
            sandbox.callcenter.rx(f"channel request hangup {joined['Channel']}")
            await expect(page.locator("#caller .notice")).to_be_visible(timeout=15_000)
            await expect(page.locator("#day-calls")).to_have_text("1")
            await expect(page.locator("#day-complaints")).to_have_text("1")

            # 3. She pauses for prayer: the next call goes to Budi.
            await page.get_by_label("Alasan jeda").select_option("sholat")
            await page.get_by_role("button", name="Jeda", exact=True).click()
            await ami.wait_for(event("QueueMemberPause", MemberName=siti), CALL_TIMEOUT)
            await state_is(page, "Jeda: Sholat")
            budi_token = await login(api, budi)
            assert (await api.post("/agents/me/login", headers=budi_token)).status_code == 200
            await ami.wait_for(event("QueueMemberAdded", MemberName=budi), CALL_TIMEOUT)
            second = random_caller()
            await sandbox.place_call(LINE, second, complaint_script(ivr_node))
            joined = await ami.wait_for(event("QueueCallerJoin", CallerIDNum=second), CALL_TIMEOUT)
            connected = await ami.wait_for(
                event("AgentConnect", Uniqueid=joined["Uniqueid"]), CALL_TIMEOUT
            )
            assert connected["MemberName"] == budi
            live = (await api.get("/stats/live", headers=supervisor)).json()
            assert {"agent": siti, "state": "paused", "reason": "sholat"} in live["agents"]
            sandbox.callcenter.rx(f"channel request hangup {joined['Channel']}")
            await api.post("/agents/me/logout", headers=budi_token)

            # 4. The API restarts mid-shift: the stream is cut, and the next ring still shows.
            console.stop()
            await expect(page.locator("#live")).to_have_class("live lost")
            console.start()
            await expect(page.locator("#live")).to_have_text("Terhubung", timeout=20_000)
            await page.get_by_role("button", name="Lanjutkan").click()
            await state_is(page, "Siap menerima panggilan")
            third = random_caller()
            ticket_event = user_event(ami, "LaporTicket", third, CALL_TIMEOUT)
            await sandbox.place_call(LINE, third, complaint_script(ivr_node))
            third_ticket = (await ticket_event)["Ticket"]
            await expect(page.locator("#caller-ticket")).to_have_text(third_ticket, timeout=30_000)
            joined = await ami.wait_for(event("QueueCallerJoin", CallerIDNum=third), 5)
            sandbox.callcenter.rx(f"channel request hangup {joined['Channel']}")
            await page.get_by_role("button", name="Keluar antrean").click()
            await ami.wait_for(event("QueueMemberRemoved", MemberName=siti), CALL_TIMEOUT)

            # 5. A callback dialled from the page reaches the citizen; the outcome shows.
            sandbox.carrier.rx("dialplan set global AGENT_TALK_SECONDS 3")
            citizen = random_caller()
            ivr = {"Authorization": f"Bearer {console.token(Role.ivr)}"}
            now = datetime.now(UTC).isoformat()
            created = await api.post(
                "/callbacks",
                headers=ivr,
                json={
                    "request_id": f"e2e-{secrets.token_hex(8)}",
                    "number": citizen,
                    "line": LINE,
                    "uniqueid": "1795890124.9",
                    "queue_entered_at": now,
                    "requested_at": now,
                },
            )
            callback = f"r{created.json()['id']}"
            await page.reload()
            item = page.locator(f"#cb-{callback}")
            await item.get_by_role("button", name="Telepon").click()
            outcome = page.locator(f"#outcome-{callback} .outcome")
            await expect(outcome).to_have_text("Tersambung", timeout=60_000)
    finally:
        collector.stop()
