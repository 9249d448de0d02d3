"""The wallboard's TV mode left open under continuous calls: it survives an API restart
(the stream reconnects, the board redraws) and its JavaScript heap stays bounded.

The soak lasts ``LAPOR_TV_SOAK_SECONDS`` (600 by default, as a night on the wall is
sampled by ten minutes); the heap is read through the DevTools protocol after a forced
garbage collection, once the page has warmed up and again at the end.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from api.core.clock import JAKARTA
from tests.browser.console_site import Site
from tests.browser.test_wallboard import sign_in_supervisor
from tests.integration.event_factory import FakeCall

SOAK_SECONDS = float(os.environ.get("LAPOR_TV_SOAK_SECONDS", "600"))
# What the page may keep on top of its warmed-up heap after the soak.
HEAP_GROWTH_BOUND = 4 * 1024 * 1024


class Calls(threading.Thread):
    """Posts a finished call's events every half second until stopped (API down: retries)."""

    def __init__(self, site: Site) -> None:
        super().__init__(daemon=True)
        self.site, self.stopped, self.posted = site, threading.Event(), 0

    def run(self) -> None:
        # Today's calls (WIB), or the figures on the board would not move.
        midnight = datetime.now(JAKARTA).replace(hour=0, minute=0, second=0, microsecond=0)
        start = max(datetime.now(UTC) - timedelta(minutes=30), midnight.astimezone(UTC))
        while not self.stopped.wait(0.5):
            call = FakeCall(f"0812{self.posted:08d}", start, "answered", agent="petugas-1001")
            start += timedelta(seconds=1)
            try:
                self.site.post_events(call.events)
                self.posted += 1
            except Exception:
                continue


def heap_used(page: Page) -> int:
    cdp = page.context.new_cdp_session(page)
    cdp.send("HeapProfiler.collectGarbage")
    used: int = cdp.send("Runtime.getHeapUsage")["usedSize"]
    cdp.detach()
    return used


def test_tv_mode_survives_a_restart_and_keeps_its_heap(page: Page, site: Site) -> None:
    with site.up() as url:
        port = int(url.rsplit(":", 1)[1])
        sign_in_supervisor(page, site, url)
        page.goto(f"{url}/wallboard?tv=true")
        calls = Calls(site)
        calls.start()
        expect(page.locator("#tile-offered")).not_to_have_text("0", timeout=20_000)
        warm = heap_used(page)
    deadline = time.monotonic() + SOAK_SECONDS
    try:
        # The API is down for a moment: the board says its data is old.
        expect(page.locator(".board .stale")).to_be_visible(timeout=30_000)
        with site.up(port):
            expect(page.locator(".board .stale")).to_be_hidden(timeout=30_000)
            before = int(page.locator("#tile-offered").inner_text().replace(".", ""))
            while time.monotonic() < deadline:
                page.wait_for_timeout(5_000)
            expect(page.locator(".board .stale")).to_be_hidden()
            after = int(page.locator("#tile-offered").inner_text().replace(".", ""))
            grown = heap_used(page) - warm
    finally:
        calls.stopped.set()
        calls.join(5)
    assert after > before  # still redrawing with new calls at the end
    print(f"TV mode: {SOAK_SECONDS:.0f} s, {calls.posted} calls, heap grew {grown} bytes")
    assert grown < HEAP_GROWTH_BOUND, f"the heap grew {grown} bytes"
