"""The officer's browser phone (JsSIP in Debian's Chromium, fake microphone) against the
real sandbox: it registers with the console's short-lived credential, a citizen's queue
call from the carrier rings in the page, the officer answers there and audio flows both
ways, hangs up, signs out, and the credential no longer registers.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlmodel import Session, select

from api.core.auth import ApiToken
from api.people.phone_credentials import BrowserPhoneCredential
from sandbox.harness import Sandbox
from tests.e2e.browser import chromium_page, sign_in
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE
from tests.e2e.officers import add_officer, control_env, event
from tests.e2e.services import ApiProcess, fresh_api_process

pytestmark = pytest.mark.e2e
CALL_TIMEOUT = 60.0
SILENT_STUN = {"urls": ["stun:127.0.0.1:9"]}
# The citizen speaks (the carrier plays a recording) for the whole test.
CITIZEN_TALKS = "|".join(["play:tt-monkeys"] * 8)
# Both byte counters of the page's call have grown past ``first`` (getStats is async:
# each poll starts one and reads the last one that finished).
AUDIO_GREW = """(first) => {
  window.laporPhone.stats().then((s) => { window.lastStats = s; });
  const s = window.lastStats;
  return !!s && s.bytesReceived > first.bytesReceived && s.bytesSent > first.bytesSent;
}"""
# A bare JsSIP user agent registering with ``account``; resolves to "registered" or the
# failure's cause.
REGISTER_WITH = """(account) => new Promise((done) => {
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(account.ws_url)], uri: account.uri,
    authorization_user: account.username, password: account.password, register: true,
  });
  ua.on("registered", () => { ua.stop(); done("registered"); });
  ua.on("registrationFailed", (e) => { ua.stop(); done(e.cause); });
  ua.start();
})"""


async def assert_audio_both_ways(page: Page) -> None:
    """The page's call receives and sends audio: both byte counts keep growing."""
    await page.wait_for_function("() => window.laporPhone.session.connection")
    first = await page.evaluate("window.laporPhone.stats()")
    await page.wait_for_function(AUDIO_GREW, arg=first, timeout=20_000)


def ws_url(sandbox: Sandbox) -> str:
    return f"ws://127.0.0.1:{sandbox.config.http_port}/ws"


async def register_with(page: Page, url: str, account: dict[str, Any]) -> str:
    await page.goto(f"{url}/login")
    await page.add_script_tag(url="/static/vendor/jssip.min.js")
    result: str = await page.evaluate(REGISTER_WITH, account)
    return result


async def test_an_officer_answers_a_queue_call_in_the_console_and_the_credential_dies_at_sign_out(
    sandbox: Sandbox, long_talks: None, tmp_path: Path
) -> None:
    username = f"rina{secrets.token_hex(3)}"
    extension = sandbox.config.agents[0]
    # Debug logging: the log must show the credential's requests, and never the password.
    env = {
        **control_env(sandbox),
        "LAPOR_API_WEBRTC_WS_URL": ws_url(sandbox),
        "LAPOR_API_LOG_LEVEL": "debug",
        # A STUN server that never answers: the page waits for it a little, then uses its
        # host candidates, as with a city's TURN server that is down.
        "LAPOR_API_WEBRTC_ICE_SERVERS": json.dumps([SILENT_STUN]),
    }

    def prepare(process: ApiProcess) -> None:
        add_officer(process, username, extension)

    with fresh_api_process(tmp_path / "api.log", env, prepare) as api:
        async with await sandbox.connect_ami() as ami, chromium_page("browser-phone") as page:
            async with page.expect_response("**/console/phone/credential") as issued:
                await sign_in(page, api.url, username)
            account = await (await issued.value).json()
            assert account["username"] == f"{extension}-web"
            assert account["ice_servers"] == [SILENT_STUN]
            await expect(page.locator("#phone-reg")).to_have_attribute("data-state", "registered")
            await page.get_by_role("button", name="Masuk antrean (telepon browser)").click()
            await ami.wait_for(
                event("QueueMemberAdded", MemberName=username, Interface=f"PJSIP/{extension}-web"),
                CALL_TIMEOUT,
            )

            # A citizen calls: it rings in the page, with the banner and the tab's title.
            caller = random_caller()
            # No IVR here: the call goes straight to the queue, and the carrier's originate
            # returns once the officer answers.
            placed = asyncio.create_task(sandbox.place_call(LINE, caller, CITIZEN_TALKS))
            await expect(page.locator("#phone-call")).to_have_attribute("data-state", "ringing")
            await expect(page.locator("#ring-banner")).to_be_visible()
            await expect(page).to_have_title("☎ Panggilan masuk")
            await page.get_by_role("button", name="Angkat").click()
            await ami.wait_for(event("AgentConnect", MemberName=username), CALL_TIMEOUT)
            await placed
            await expect(page.locator("#phone-call")).to_have_attribute("data-state", "on_call")

            await assert_audio_both_ways(page)

            await page.get_by_role("button", name="Tutup").click()
            await ami.wait_for(event("AgentComplete", MemberName=username), CALL_TIMEOUT)
            await expect(page.locator("#phone-call")).to_have_attribute("data-state", "idle")

            # Signing out revokes the credential (a fresh REGISTER with it is refused) and
            # takes the browser phone out of the queue.
            await page.get_by_role("button", name="Keluar", exact=True).click()
            await page.wait_for_url("**/login**")
            await ami.wait_for(
                event(
                    "QueueMemberRemoved", MemberName=username, Interface=f"PJSIP/{extension}-web"
                ),
                CALL_TIMEOUT,
            )
            # (Asterisk answers 500, not 401: the endpoint's auth object no longer exists.)
            refused = await register_with(page, api.url, account)
            assert refused in {"SIP Failure Code", "Authentication Error"}
    assert_logged_without_secret(tmp_path / "api.log", account["password"])


def assert_logged_without_secret(log_path: Path, password: str) -> None:
    """Read once the API process has ended (its log is complete)."""
    log = log_path.read_text(encoding="utf-8")
    assert "/console/phone/credential" in log
    assert password not in log


async def test_a_session_that_expires_without_sign_out_loses_its_browser_phone_credential(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    username = f"rina{secrets.token_hex(3)}"
    extension = sandbox.config.agents[0]
    env = {
        **control_env(sandbox),
        "LAPOR_API_WEBRTC_WS_URL": ws_url(sandbox),
        "LAPOR_API_BROWSER_PHONE_SWEEP_SECONDS": "0.5",
        "LAPOR_API_LOG_LEVEL": "debug",
    }

    def prepare(process: ApiProcess) -> None:
        add_officer(process, username, extension)

    with fresh_api_process(tmp_path / "api.log", env, prepare) as api:
        async with chromium_page("browser-phone-sweep") as page:
            async with page.expect_response("**/console/phone/credential") as issued:
                await sign_in(page, api.url, username)
            account = await (await issued.value).json()
            assert await register_with(page, api.url, account) == "registered"

            with Session(api.engine) as session:  # the shift is over, nobody signed out
                for token in session.exec(select(ApiToken).where(ApiToken.name == username)):
                    token.expires_at = token.created_at
                    session.add(token)
                session.commit()
            for _ in range(100):
                with Session(api.engine) as session:
                    if session.exec(select(BrowserPhoneCredential)).first() is None:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the sweep did not revoke the expired session's credential")
            refused = await register_with(page, api.url, account)
            assert refused in {"SIP Failure Code", "Authentication Error"}
    assert_logged_without_secret(tmp_path / "api.log", account["password"])
