"""Debian's Chromium for e2e tests, through Playwright's async API (e2e tests are async:
they wait on AMI events while the page works). The launch and screenshot conventions are
tests/browser/conftest.py's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Page, async_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENS, TIMEOUT_MS, VIEWPORT
from tests.people import PASSWORD


@asynccontextmanager
async def chromium_page(name: str) -> AsyncIterator[Page]:
    """A fresh page (1366x768, id-ID, Jakarta time); its screenshot is saved at the end as
    ``var/test-artifacts/screens/<name>.png``."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(
            viewport=VIEWPORT, locale="id-ID", timezone_id="Asia/Jakarta"
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = await context.new_page()
        try:
            yield page
        finally:
            SCREENS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=SCREENS / f"{name}.png", full_page=True)
            await browser.close()


async def sign_in(page: Page, url: str, username: str, lands: str = "/console") -> None:
    """Sign in through the form; ``lands`` is the page the role is sent to."""
    await page.goto(f"{url}/login")
    await page.get_by_label("Nama pengguna").fill(username)
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await page.wait_for_url(f"{url}{lands}")
