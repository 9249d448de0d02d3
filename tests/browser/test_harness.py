"""The browser harness itself: Debian's Chromium, the vendored htmx and axe, the fixtures."""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Page, expect

from tests.browser.axe import axe_violations, format_violations
from tests.browser.conftest import VIEWPORT, screenshot_path
from tests.browser.server import serving
from tests.vendored import HTMX_DIR, read_manifest

# What our console pages should send: no inline script or style at all. htmx's indicator
# styles are an inline <style>, so the page turns them off.
CSP = "default-src 'self'"
HTMX_CONFIG = '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false}\'>'

GOOD = f"""<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Pengaduan Warga</title>{HTMX_CONFIG}
<script src="/static/vendor/htmx.min.js"></script></head>
<body><main>
<h1>Pengaduan Warga</h1>
<label for="nomor">Nomor tiket</label> <input id="nomor" name="nomor">
<button hx-get="/fragment" hx-target="#hasil">Cari</button>
<p id="hasil">Belum dicari</p>
</main></body></html>"""

BAD = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Halaman buruk</title></head>
<body><main>
<h1>Halaman buruk</h1>
<input id="tanpa-label">
<p id="pucat" style="color: #bbbbbb; background: #ffffff">Teks yang hampir tak terbaca</p>
</main></body></html>"""

BROKEN = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Rusak</title></head>
<body><script>console.error("sengaja rusak"); throw new Error("sengaja gagal");</script>
</body></html>"""


def harness_app(fragment_text: str) -> FastAPI:
    app = FastAPI()
    app.mount("/static/vendor", StaticFiles(directory=HTMX_DIR), name="vendor")
    # Only the good page keeps to the policy; the others use inline style and script.
    app.add_api_route("/good", _page(GOOD, {"Content-Security-Policy": CSP}))
    app.add_api_route("/bad", _page(BAD, {}))
    app.add_api_route("/broken", _page(BROKEN, {}))

    @app.get("/favicon.ico")
    def no_icon() -> Response:  # Chromium asks for one; a 404 would be a console error
        return Response(status_code=204)

    @app.get("/fragment", response_class=HTMLResponse)
    def fragment() -> HTMLResponse:
        return HTMLResponse(f'<span id="ditemukan">{fragment_text}</span>')

    return app


def _page(html: str, headers: dict[str, str]) -> Callable[[], HTMLResponse]:
    def show() -> HTMLResponse:
        return HTMLResponse(html, headers=headers)

    return show


@pytest.fixture(scope="module")
def fragment_text() -> str:
    return f"Tiket {secrets.token_hex(4)} ditemukan"


@pytest.fixture(scope="module")
def site(fragment_text: str) -> Iterator[str]:
    with serving(harness_app(fragment_text)) as url:
        yield url


def test_htmx_loads_at_the_recorded_version(
    page: Page, site: str, console_errors: list[str]
) -> None:
    page.goto(f"{site}/good")
    assert page.evaluate("window.htmx.version") == read_manifest(HTMX_DIR)["htmx.min.js"].version
    assert console_errors == []


def test_an_hx_get_button_swaps_in_the_servers_fragment(
    page: Page, site: str, fragment_text: str, console_errors: list[str]
) -> None:
    page.goto(f"{site}/good")
    page.get_by_role("button", name="Cari").click()
    expect(page.locator("#hasil #ditemukan")).to_have_text(fragment_text)
    assert console_errors == []


def test_axe_finds_the_unlabelled_input_and_the_low_contrast_text(page: Page, site: str) -> None:
    page.goto(f"{site}/bad")
    violations = axe_violations(page)
    found = {(v["id"], tuple(v["targets"])) for v in violations}
    assert found == {("label", ("#tanpa-label",)), ("color-contrast", ("#pucat",))}, (
        format_violations(violations)
    )


def test_axe_finds_nothing_on_a_good_page(page: Page, site: str) -> None:
    page.goto(f"{site}/good")
    violations = axe_violations(page, impact_at_least="minor")
    assert violations == [], format_violations(violations)


def test_console_errors_and_uncaught_exceptions_are_collected(
    page: Page, site: str, console_errors: list[str]
) -> None:
    page.goto(f"{site}/broken")
    assert [error.split(" (")[0] for error in console_errors] == [
        "console.error: sengaja rusak",
        "uncaught: sengaja gagal",
    ]


@pytest.fixture
def written_screenshot(request: pytest.FixtureRequest) -> Iterator[Path]:
    """Set up before ``page`` and torn down after it: checks the PNG ``page`` left."""
    path = screenshot_path(request.node)
    path.unlink(missing_ok=True)
    yield path
    width, height = struct.unpack(">II", path.read_bytes()[16:24])  # the PNG's IHDR
    assert width == VIEWPORT["width"]
    assert height >= 2000, "the whole page, not only the 768 px viewport"


def test_page_saves_a_full_page_screenshot(written_screenshot: Path, page: Page, site: str) -> None:
    page.goto(f"{site}/good")
    page.evaluate("document.body.style.height = '2000px'")


def test_the_fake_microphone_gives_a_live_audio_track(page: Page, site: str) -> None:
    page.goto(f"{site}/good")
    states = page.evaluate(
        """async () => {
        const stream = await navigator.mediaDevices.getUserMedia({audio: true});
        return stream.getAudioTracks().map((track) => track.readyState);
    }"""
    )
    assert states == ["live"]
