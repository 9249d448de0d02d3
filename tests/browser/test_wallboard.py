"""The wallboard in Debian's Chromium: a waiting caller past the service level shows up by
itself with its alert; TV mode has no controls; no accessibility violation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlmodel import Session

from api.core.auth import Role
from api.core.db import make_engine
from api.people.users import create_user
from tests.browser.axe import axe_violations, format_violations
from tests.browser.console_site import Site
from tests.integration.test_live_snapshot import queue_member, snapshot
from tests.integration.test_wallboard_pages import waiting_call
from tests.people import PASSWORD


def sign_in_supervisor(page: Page, site: Site, url: str) -> None:
    engine = make_engine(site.settings.database_url)
    with Session(engine) as session:
        create_user(
            session, username="sri", password=PASSWORD, role=Role.supervisor, full_name="Sri"
        )
    engine.dispose()
    page.goto(f"{url}/login")
    page.get_by_label("Nama pengguna").fill("sri")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(f"{url}/wallboard")


def test_a_late_caller_appears_with_its_alert(
    page: Page, site: Site, console_errors: list[str]
) -> None:
    with site.up() as url:
        sign_in_supervisor(page, site, url)
        expect(page.locator("#tile-waiting")).to_have_text("0")
        now = datetime.now(UTC)
        late = waiting_call("081200000004", now - timedelta(seconds=45))
        site.post_events(
            [*late.events, snapshot(now - timedelta(seconds=50), [queue_member("petugas-1001")])]
        )
        expect(page.locator("#tile-waiting")).to_have_text("1")
        expect(page.locator('[data-alert="waiting_past_sl"]')).to_be_visible()
        expect(page.locator("#callers")).to_contain_text("0812-0000-0004")
        violations = axe_violations(page)
        assert violations == [], format_violations(violations)
        page.goto(f"{url}/wallboard?tv=true")
        expect(page.locator("header.top")).to_be_hidden()
        expect(page.locator("#tile-waiting")).to_have_text("1")
    assert console_errors == []
