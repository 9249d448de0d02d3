"""The officers' console in Debian's Chromium, against the API served over real HTTP on
SQLite (the real-call version with Asterisk is tests/e2e/test_console_browser.py).

Events reach the API as the collector posts them (``POST /events``), so everything the page
shows comes through the same ingest, push and stream as in production.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import update
from sqlmodel import Session

from api.core.auth import ApiToken
from api.core.db import make_engine
from api.main import create_app
from tests.browser.axe import axe_violations, format_violations
from tests.browser.console_site import CALLER, TICKET, Site
from tests.browser.server import serving
from tests.integration.event_factory import FakeCall, ami
from tests.people import PASSWORD

# The focused control: its id, else its text.
FOCUSED = "document.activeElement.id || document.activeElement.textContent.trim()"


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/console")
    expect(page).to_have_url(f"{url}/login?next=/console")
    page.get_by_label("Nama pengguna").fill("siti")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(f"{url}/console")
    expect(page.locator("#live")).to_have_text("Terhubung")


def ringing_call(caller: str = CALLER, ticket: str = TICKET) -> FakeCall:
    return FakeCall(
        caller,
        datetime.now(UTC) - timedelta(seconds=30),
        "answered",
        agent="siti",
        category="infrastruktur",
        ticket=ticket,
    )


def ring_only(call: FakeCall) -> list[dict[str, Any]]:
    """The call's events up to the officer's phone ringing (nobody has answered yet)."""
    connect = next(e for e in call.events if e["name"] == "AgentConnect")
    rang_at = datetime.fromisoformat(connect["received_at"]) - timedelta(seconds=1)
    ring = ami(
        "AgentCalled",
        rang_at,
        MemberName="siti",
        Interface="PJSIP/1001",
        Linkedid=call.uniqueid,
        Uniqueid=call.uniqueid,
        CallerIDNum=call.caller,
    )
    before = [e for e in call.events if e["name"] in {"Newchannel", "UserEvent", "QueueCallerJoin"}]
    return [*before, ring]


def test_a_pushed_ring_pops_the_caller_with_ticket_recording_and_history(
    page: Page, site: Site, console_errors: list[str]
) -> None:
    with site.up() as url:
        sign_in(page, url)
        call = ringing_call()
        site.post_events(ring_only(call))
        expect(page.locator("#ring-banner")).to_be_visible()
        expect(page.locator("#caller-ticket")).to_have_text(TICKET)
        expect(page.locator("#caller-number")).to_have_text("0812-7777-8888")
        expect(page.locator("#caller-category")).to_have_text("Infrastruktur")
        expect(page.locator("#form-ticket")).to_have_text(TICKET)
        assert page.title().startswith("\u260e")
        # The recording plays, and seeking works: the server answers a Range with 206.
        played = page.evaluate(
            """async () => {
              const audio = document.getElementById("recording");
              await audio.play();
              await new Promise((done) => setTimeout(done, 300));
              return audio.currentTime;
            }"""
        )
        assert played > 0
        status = page.evaluate(
            """async (url) => (await fetch(url, {headers: {Range: "bytes=100-199"}})).status""",
            f"{url}/console/recordings/{TICKET}",
        )
        assert status == 206
        violations = axe_violations(page)
        assert violations == [], format_violations(violations)
        # The officer answers: the banner goes.
        answered = ami(
            "AgentConnect",
            datetime.now(UTC),
            MemberName="siti",
            Linkedid=call.uniqueid,
            Uniqueid=call.uniqueid,
        )
        site.post_events([answered])
        expect(page.locator("#ring-banner")).to_be_hidden()
    assert console_errors == []


def test_a_cut_stream_reconnects_and_catches_up_on_the_ring_it_missed(
    page: Page, site: Site
) -> None:
    with site.up() as url:
        sign_in(page, url)
        port = int(url.rsplit(":", 1)[1])
    # The API is down: the stream is cut, and the page says so.
    expect(page.locator("#live")).to_have_class("live lost")
    # Meanwhile the ring is stored and published (another replica's ingest, as it were).
    other = create_app(site.settings)
    with serving(other) as other_url:
        site.url = other_url
        site.post_events(ring_only(ringing_call()))
    with site.up(port):
        # The browser reconnects by itself, with Last-Event-ID: the missed ring shows.
        expect(page.locator("#caller-ticket")).to_have_text(TICKET, timeout=20_000)
        expect(page.locator("#ring-banner")).to_be_visible()
        expect(page.locator("#live")).to_have_text("Terhubung")


def test_the_draft_survives_the_call_ending_and_a_reload(page: Page, site: Site) -> None:
    with site.up() as url:
        sign_in(page, url)
        call = ringing_call()
        site.post_events(ring_only(call))
        expect(page.locator("#form-ticket")).to_have_text(TICKET)
        page.get_by_label("Lokasi").fill("Jl. Raden Intan")
        page.get_by_label("Ringkasan keluhan").fill("Jalan berlubang besar")
        site.post_events(call.events)  # answered, talked, hung up
        expect(page.locator("#caller .notice")).to_be_visible()
        page.reload()
        expect(page).to_have_url(f"{url}/console")  # still signed in
        expect(page.locator(".complaint-form .draft")).to_be_hidden()  # a blank form now
        # The draft is keyed by ticket: opening that ticket's form brings it back.
        page.evaluate(
            "(u) => htmx.ajax('GET', u, {target: '#form', swap: 'innerHTML'})",
            f"/console/form/{call.uniqueid}",
        )
        expect(page.get_by_label("Lokasi")).to_have_value("Jl. Raden Intan")
        expect(page.locator(".complaint-form .draft")).to_be_visible()
        page.get_by_role("button", name="Simpan").click()
        expect(page.locator("#form-message")).to_have_text("Tersimpan.")


def test_keyboard_reaches_every_control_in_order(page: Page, site: Site) -> None:
    with site.up() as url:
        sign_in(page, url)
        site.post_events(ring_only(ringing_call()))
        expect(page.locator("#caller-ticket")).to_have_text(TICKET)
        reached = []
        for _ in range(40):
            page.keyboard.press("Tab")
            reached.append(
                page.evaluate(
                    "document.activeElement.id || document.activeElement.textContent.trim()"
                )
            )
        for control in (
            "Masuk antrean",
            "recording",
            "f-category",
            "f-location",
            "f-summary",
            "f-notes",
            "Simpan",
        ):
            assert control in reached, reached


def test_the_pages_fit_a_phone_and_pass_axe(page: Page, site: Site) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    with site.up() as url:
        page.goto(f"{url}/login")
        violations = axe_violations(page)
        assert violations == [], format_violations(violations)
        sign_in(page, url)
        site.post_events(ring_only(ringing_call()))
        expect(page.locator("#caller-ticket")).to_have_text(TICKET)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        violations = axe_violations(page)
        assert violations == [], format_violations(violations)


def test_when_the_shift_ends_the_open_page_goes_to_sign_in(page: Page, site: Site) -> None:
    with site.up() as url:
        sign_in(page, url)
        engine = make_engine(site.settings.database_url)
        with Session(engine) as session:
            ends = datetime.now(UTC) + timedelta(seconds=2)
            session.execute(update(ApiToken).values(expires_at=ends))
            session.commit()
        engine.dispose()
        page.reload()  # the stream now ends with the session
        expect(page).to_have_url(f"{url}/login?next=/console&reason=expired")
        expect(page.get_by_text("Sesi Anda telah berakhir")).to_be_visible()
