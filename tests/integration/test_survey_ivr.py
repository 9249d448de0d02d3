"""The survey script against a scripted channel and the real API (SQLite, PostgreSQL):
a key 1-5 lands in /stats/survey for the officer on the channel, anything else stores
nothing, and a rating made while the API is down waits in the outbox and is stored
once however often it is delivered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agi_scripts.common import with_services
from agi_scripts.services import Services
from agi_scripts.survey import survey
from api.core.auth import Role
from ivr import AGIRequest
from ivr.lapor_api import LaporApi
from ivr.protocol import request_from_env
from ivr.session import run_call
from ivr.settings import IvrSettings
from tests.conftest import ApiHarness
from tests.integration.agi_peer import agi_headers
from tests.integration.test_ivr_flow import ScriptedChannel
from tests.integration.test_stats_api import get

LINKEDID = "1795890124.10"
OFFICER = "petugas-1001"


class SurveyChannel(ScriptedChannel):
    """A caller's channel after Queue(): app_queue's MEMBERNAME on it (or none)."""

    def __init__(self, request: AGIRequest, keys: list[str], member: str | None) -> None:
        super().__init__(request, keys, record="dtmf")
        self.member = member

    def respond(self, line: str) -> str:
        if line == "GET VARIABLE MEMBERNAME":
            return f"200 result=1 ({self.member})" if self.member else "200 result=0"
        if line.startswith("GET DATA") and self.keys == ["hangup"]:
            self.hung_up = True
            return "200 result=-1"
        return super().respond(line)

    def asked(self) -> bool:
        return any(line.startswith("GET DATA lapor/survei-pertanyaan") for line in self.sent)


def survey_channel(keys: list[str], member: str | None = OFFICER) -> SurveyChannel:
    headers = agi_headers("survey", uniqueid=LINKEDID, arg_1=f"linkedid={LINKEDID}")
    return SurveyChannel(request_from_env(headers), keys, member)


@pytest.fixture
async def services(api: ApiHarness, tmp_path: Path) -> AsyncIterator[Services]:
    built = Services.from_settings(IvrSettings(spool_dir=tmp_path, node_id=12))
    await built.api.aclose()
    transport = httpx.ASGITransport(app=api.client.app)
    built.api = LaporApi("http://api", api.token(Role.ivr), transport=transport)
    built.deliverer.api = built.api
    yield built
    await built.aclose()


def ratings(api: ApiHarness) -> dict[str, Any]:
    body: dict[str, Any] = get(api, "/stats/survey")
    return body


async def test_a_key_from_1_to_5_is_the_officers_rating(
    api: ApiHarness, services: Services
) -> None:
    chan = survey_channel(["4"])
    outcome = await run_call(chan, with_services(survey, services))
    assert outcome.status == "ok"
    [agent] = ratings(api)["by_agent"]
    assert (agent["agent"], agent["ratings"], agent["average"]) == (OFFICER, 1, 4)
    assert services.outbox.pending() == []
    assert any("survei-terima-kasih" in line for line in chan.sent)


@pytest.mark.parametrize("keys", [["9"], ["0"], [""], ["hangup"]], ids=str)
async def test_any_other_key_silence_or_a_hangup_stores_nothing(
    api: ApiHarness, services: Services, keys: list[str]
) -> None:
    chan = survey_channel(keys)
    outcome = await run_call(chan, with_services(survey, services))
    assert outcome.status in ("ok", "hangup")
    assert chan.asked()
    assert ratings(api)["total"]["ratings"] == 0
    assert services.outbox.pending() == []
    assert not any("survei-terima-kasih" in line for line in chan.sent)


async def test_a_call_no_officer_took_is_not_surveyed(api: ApiHarness, services: Services) -> None:
    chan = survey_channel(["5"], member=None)
    await run_call(chan, with_services(survey, services))
    assert not chan.asked()
    assert ratings(api)["total"]["ratings"] == 0


async def test_a_rating_survives_an_api_outage_and_is_stored_once(
    api: ApiHarness, services: Services
) -> None:
    up = services.api

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    services.api = LaporApi("http://api", "t", transport=httpx.MockTransport(refuse))
    services.deliverer.api = services.api
    outcome = await run_call(survey_channel(["2"]), with_services(survey, services))
    assert outcome.status == "ok"
    [pending] = services.outbox.pending()
    assert (pending.kind, pending.key, pending.payload["rating"]) == ("survey", LINKEDID, 2)
    assert ratings(api)["total"]["ratings"] == 0
    await services.api.aclose()

    # The API is back: the delivery loop sends it, and a second copy (a retry whose first
    # answer was lost) is recognised by the call's linkedid.
    services.api = services.deliverer.api = up
    assert await services.deliverer.flush() == 0
    services.outbox.put(pending.kind, pending.key, pending.payload)
    assert await services.deliverer.flush() == 0
    stats = ratings(api)
    assert stats["total"]["ratings"] == 1
    assert stats["by_agent"][0]["agent"] == OFFICER
