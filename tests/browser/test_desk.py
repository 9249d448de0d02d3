"""The complaints desk in Debian's Chromium, over real HTTP on SQLite: one complaint walks
the whole LAPOR! flow by three people, each in their own browser context."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect
from sqlmodel import Session

from api.core.auth import Role
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from tests.browser.axe import axe_violations, format_violations
from tests.browser.conftest import TIMEOUT_MS, VIEWPORT
from tests.browser.server import serving
from tests.integration.test_agents_console import add_complaint
from tests.integration.test_attachments import png
from tests.people import PASSWORD, add_people

TICKET = "12000077"
CALLER = "081277778888"
PEOPLE = {
    "sri": (Role.supervisor, None),
    "walikota": (Role.leadership, None),
    "petugas-pu": (Role.unit, "dinas-pu"),
}


@pytest.fixture
def settings(tmp_path: Path) -> ApiSettings:
    settings = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 'lapor.db'}",
        ami_port=1,
        attachments_dir=tmp_path / "attachments",
    )
    app = create_app(settings)
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_people(session, PEOPLE)
        add_complaint(session, TICKET, CALLER, hours_ago=1)
        # Taken long ago: past its 3-working-day deadline.
        add_complaint(session, "12000078", CALLER, hours_ago=24 * 10)
    app.state.engine.dispose()
    return settings


@contextmanager
def another_person(browser: Browser, errors: list[str]) -> Iterator[Page]:
    """A page in a fresh context (its own cookies), its errors collected in ``errors``."""
    context = browser.new_context(viewport=VIEWPORT, locale="id-ID", timezone_id="Asia/Jakarta")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/desk/complaints/{TICKET}")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(f"{url}/desk/complaints/{TICKET}")


def status_of(page: Page) -> str:
    return page.locator("h1 .status-tag").inner_text()


def test_one_complaint_walks_the_whole_flow_by_three_people(
    page: Page, browser: Browser, settings: ApiSettings, console_errors: list[str]
) -> None:
    with serving(create_app(settings)) as url:
        # Bagian Organisasi verifies the complaint, then reports it.
        sign_in(page, url, "sri")
        expect(page.locator(".status-tag")).to_have_text("Diterima")
        page.locator("#action-diverifikasi textarea").fill("Lokasi sudah dicek")
        page.locator("#action-diverifikasi").get_by_role("button", name="Verifikasi").click()
        expect(page.locator(".status-tag")).to_have_text("Diverifikasi")
        page.get_by_role("button", name="Laporkan ke pimpinan").click()
        expect(page.locator(".status-tag")).to_have_text("Dilaporkan")

        # Leadership orders Dinas PU to follow it up.
        with another_person(browser, console_errors) as leadership:
            sign_in(leadership, url, "walikota")
            leadership.get_by_label("Unit/OPD yang ditugaskan").select_option("dinas-pu")
            leadership.get_by_label("Instruksi tindak lanjut").fill("Tambal jalan minggu ini")
            leadership.get_by_role("button", name="Perintahkan tindak lanjut").click()
            expect(leadership.locator(".status-tag")).to_have_text("Ditindaklanjuti")

        # Dinas PU finds it on its board and closes it with a note and a photo.
        with another_person(browser, console_errors) as unit:
            sign_in(unit, url, "petugas-pu")
            unit.get_by_role("link", name="Papan keluhan").click()
            card = unit.locator(f'.complaint-card[data-ticket="{TICKET}"]')
            expect(card).to_be_visible()
            expect(unit.locator(".complaint-card")).to_have_count(1)
            card.get_by_role("link", name=TICKET).click()
            unit.get_by_label("Catatan penyelesaian").fill("Jalan sudah ditambal")
            photo = FilePayload(name="jalan.png", mimeType="image/png", buffer=png(40, 30))
            unit.get_by_label("Lampiran (opsional)").set_input_files(files=[photo])
            unit.get_by_role("button", name="Selesaikan").click()
            expect(unit.locator(".status-tag")).to_have_text("Selesai")
            expect(unit.locator("#attachments .attachment")).to_have_count(1)
            expect(unit.locator("#attachments")).to_contain_text("jalan.png")

        page.reload()
        rows = page.locator("#trail tbody tr")
        expect(rows).to_have_count(4)
        expect(page.locator("#trail .actor")).to_have_text(["sri", "sri", "walikota", "petugas-pu"])
        expect(rows.nth(2)).to_contain_text("Tambal jalan minggu ini")
        expect(rows.nth(3)).to_contain_text("Jalan sudah ditambal")
        expect(rows.nth(3)).to_contain_text("jalan.png")
        thumb = page.locator("#attachments img.thumb")
        expect(thumb).to_have_attribute("alt", "jalan.png")
        page.wait_for_function("document.querySelector('#attachments img.thumb').complete")
        assert thumb.evaluate("img => img.naturalWidth") == 40
        violations = axe_violations(page)
        assert violations == [], format_violations(violations)

        page.goto(f"{url}/desk")
        expect(page.locator("#column-selesai .complaint-card")).to_have_count(1)
        expect(page.locator("#column-diterima .late-count")).to_have_text("1 terlambat")
        violations = axe_violations(page)
        assert violations == [], format_violations(violations)
    assert console_errors == []


def test_a_refused_action_shows_the_reason_in_indonesian(
    page: Page, settings: ApiSettings, console_errors: list[str]
) -> None:
    with serving(create_app(settings)) as url:
        sign_in(page, url, "sri")
        page.get_by_label("Tiket keluhan asli").fill("12999999")
        page.get_by_role("button", name="Tandai duplikat").click()
        expect(page.locator("#desk-error")).to_have_text("Tiket keluhan asli tidak dikenal.")
        expect(page.locator(".status-tag")).to_have_text("Diterima")
        violations = axe_violations(page)
        assert violations == [], format_violations(violations)
    # Chromium logs the page's own 422 status; nothing else may go wrong.
    assert [e for e in console_errors if "status of 422" not in e] == []
    assert len(console_errors) == 1
