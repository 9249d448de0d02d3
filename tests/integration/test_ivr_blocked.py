"""A blocked caller in the IVR, against the real API (SQLite and PostgreSQL): the block
prompt, an officer only with the emergency key (marked urgent), and an API that can't
answer blocks nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from agi_scripts.call import call
from agi_scripts.common import caller_number, with_services
from agi_scripts.services import Services
from agi_scripts.urgent import URGENT
from api.core.auth import Role
from ivr.lapor_api import LaporApi
from ivr.protocol import request_from_env
from ivr.session import run_call
from ivr.settings import IvrSettings
from tests.conftest import ApiHarness
from tests.integration.agi_peer import agi_headers
from tests.integration.test_ivr_flow import ScriptedChannel

BLOCKED_CALLER = "+6281277770009"  # as the carrier may write it; blocked as 0812…
BLOCK_PROMPT = "lapor/nomor-diblokir"


@pytest.fixture
async def services(api: ApiHarness, tmp_path: Path) -> AsyncIterator[Services]:
    response = api.client.post(
        "/blocklist",
        json={
            "number": "081277770009",
            "reason": "ancaman",
            "until": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        },
        headers=api.headers(Role.supervisor),
    )
    assert response.status_code == 201, response.text
    built = Services.from_settings(IvrSettings(spool_dir=tmp_path, node_id=12))
    transport = httpx.ASGITransport(app=api.client.app)
    built.api = LaporApi("http://api", api.token(Role.ivr), transport=transport)
    built.deliverer.api = built.api
    yield built
    await built.aclose()


def channel(keys: list[str], caller: str = BLOCKED_CALLER) -> ScriptedChannel:
    return ScriptedChannel(request_from_env(agi_headers("call", callerid=caller)), keys, "dtmf")


def prompts(chan: ScriptedChannel) -> list[str]:
    return [line.split()[2] for line in chan.sent if line.startswith(("GET DATA", "STREAM FILE"))]


async def test_without_the_emergency_key_the_call_ends_without_the_queue(
    services: Services,
) -> None:
    chan = channel(["1", "0"])  # the main menu's keys do nothing here
    assert (await run_call(chan, with_services(call, services))).status == "ok"
    assert prompts(chan) == [BLOCK_PROMPT, BLOCK_PROMPT]
    assert chan.variables_set["LAPOR_EXIT"] == "blocked"
    assert URGENT not in chan.variables_set


async def test_the_emergency_key_takes_a_blocked_caller_to_an_officer_as_urgent(
    services: Services,
) -> None:
    chan = channel(["9"])
    assert (await run_call(chan, with_services(call, services))).status == "ok"
    assert prompts(chan) == [BLOCK_PROMPT, "lapor/ke-petugas"]
    assert chan.variables_set["LAPOR_EXIT"] == "blocked_emergency"
    assert chan.variables_set[URGENT] == "1"


async def test_a_caller_not_blocked_hears_the_greeting(services: Services) -> None:
    chan = channel(["0"], caller="081277770008")
    assert (await run_call(chan, with_services(call, services))).status == "ok"
    assert prompts(chan)[:2] == ["lapor/selamat-datang", "lapor/menu-utama"]
    assert chan.variables_set["LAPOR_EXIT"] == "officer"


async def test_an_api_that_cannot_answer_blocks_nobody(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    await services.api.aclose()
    services.api = LaporApi("http://api", "t", transport=httpx.MockTransport(down))
    chan = channel(["0"])
    assert (await run_call(chan, with_services(call, services))).status == "ok"
    assert BLOCK_PROMPT not in prompts(chan)
    assert chan.variables_set["LAPOR_EXIT"] == "officer"
    assert "blocklist not checked" in caplog.text


@pytest.mark.parametrize("reported", ["+6281277770009", "6281277770009", "81277770009"])
def test_the_ivr_takes_the_callers_number_in_the_apis_national_form(reported: str) -> None:
    assert caller_number(channel([], caller=reported)) == "081277770009"
