"""Real-browser fixtures: Playwright's sync API driving Debian's /usr/bin/chromium.

Browser tests are plain ``def`` tests, not ``async def`` (collection refuses them here).
pytest-asyncio runs async tests inside a running event loop, where Playwright's sync API
refuses to work; its async API would tie every browser test and fixture to one shared loop
(``loop_scope`` on each of them), apart from the per-test loops of the rest of the suite.
With the sync API the servers under test run in a thread (``tests.browser.server``).

The driver and the browser are package-scoped, not session-scoped: while the sync driver
is alive, its event loop, suspended mid-run in a greenlet, counts as this thread's running
loop, and pytest-asyncio could run no other loop. So they stop after the last test of
``tests/browser`` (and its sub-packages), before the async tests of the rest of the suite.

Never run ``playwright install``: the tests use Debian's Chromium, which ``make setup``
installs. ``page`` writes a full-page screenshot of every test to
``var/test-artifacts/screens/<module>.<test>.png`` and collects the page's console errors
and uncaught exceptions in ``console_errors``, for the test to assert there are none.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from tests.browser.console_site import Site, make_site
from tests.vendored import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",  # a microphone that beeps
    "--use-fake-ui-for-media-stream",  # and no permission prompt for it
    "--autoplay-policy=no-user-gesture-required",
    "--no-sandbox",  # the tests run as root
]
SCREENS = ROOT / "var" / "test-artifacts" / "screens"
VIEWPORT = ViewportSize(width=1366, height=768)
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here) and inspect.iscoroutinefunction(
            getattr(item, "obj", None)
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: browser tests are plain def tests (see {__file__})"
            )


def screenshot_path(node: pytest.Item) -> Path:
    """Where ``page`` saves the screenshot of the test ``node``."""
    module = Path(str(node.path)).stem
    return SCREENS / re.sub(r"[^\w.\[\]-]+", "_", f"{module}.{node.name}.png")


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium for tests/browser (about 200 MiB, 370 MiB with a page open)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def console_errors() -> list[str]:
    """The page's console errors and uncaught exceptions so far, filled in by ``page``."""
    return []


@pytest.fixture
def page(
    browser: Browser, console_errors: list[str], request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A page in a fresh context: 1366x768, Indonesian locale, Jakarta time."""
    context = browser.new_context(viewport=VIEWPORT, locale="id-ID", timezone_id="Asia/Jakarta")
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    opened.on("console", lambda message: _record_console_error(message, console_errors))
    opened.on("pageerror", lambda error: console_errors.append(f"uncaught: {error}"))
    try:
        yield opened
    finally:
        if not opened.is_closed():
            path = screenshot_path(request.node)
            path.parent.mkdir(parents=True, exist_ok=True)
            opened.screenshot(path=path, full_page=True)
        context.close()


def _record_console_error(message: ConsoleMessage, errors: list[str]) -> None:
    if message.type == "error":
        where = message.location
        errors.append(f"console.error: {message.text} ({where['url']}:{where['lineNumber']})")


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """The API on its own SQLite file, with an officer and a recorded complaint."""
    return make_site(tmp_path)
