"""A backup IVR server taking a call over: "call" and "callback" resume from the progress
the first server marked on the channel (agi_scripts/progress.py).

The channel here keeps its variables like Asterisk does across two AGI sessions of one
call; the e2e test test_fastagi_failover.py kills a real server in mid-call.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from agi_scripts.call import call
from agi_scripts.callback import REQUEST_VARIABLE, callback
from agi_scripts.common import with_services
from agi_scripts.services import Services
from ivr import AGIRequest
from ivr.lapor_api import LaporApi
from ivr.protocol import request_from_env
from ivr.session import run_call
from ivr.settings import IvrSettings
from tests.integration.agi_peer import agi_headers
from tests.integration.test_ivr_flow import ScriptedChannel, services

# The backup's node id is 12 (services()): a ticket of node 11 is the first server's.
FIRST_TICKET = "11000004"


class KeptChannel(ScriptedChannel):
    """A ScriptedChannel whose variables persist, as a channel's do between AGIs."""

    def __init__(self, request: AGIRequest, keys: list[str], kept: dict[str, str]) -> None:
        super().__init__(request, keys, "dtmf")
        self.kept = kept

    def respond(self, line: str) -> str:
        match = re.fullmatch(r"GET VARIABLE (\S+)", line)
        if match and match.group(1) in self.kept:
            return f"200 result=1 ({self.kept[match.group(1)]})"
        return super().respond(line)

    async def set_variable(self, name: str, value: str) -> None:
        await super().set_variable(name, value)
        self.kept[name] = value


def taken_over(keys: list[str], **kept: str) -> KeptChannel:
    request = request_from_env(agi_headers("call", callerid="081299990000"))
    return KeptChannel(request, keys, kept)


def prompts(chan: KeptChannel) -> list[str]:
    return re.findall(r"lapor/([a-z-]+)", " ".join(chan.sent))


def read_back(chan: KeptChannel) -> str:
    [playback] = chan.executed("Playback")
    return "".join(re.findall(r"angka-(\d)", playback))


async def test_a_ticket_issued_before_the_recording_is_recorded_with_the_same_ticket(
    tmp_path: Path,
) -> None:
    stored: dict[str, dict[str, object]] = {}
    svc = services(tmp_path, True, stored)
    chan = taken_over(
        ["3"], LAPOR_STEP="ticket", LAPOR_STEP_TICKET=FIRST_TICKET, LAPOR_STEP_CATEGORY="lainnya"
    )
    assert (await run_call(chan, with_services(call, svc))).status == "ok"
    assert list(stored) == [FIRST_TICKET]  # no new ticket issued
    assert stored[FIRST_TICKET]["recording_path"] == f"/rec/{FIRST_TICKET}-1700000000-1.wav"
    assert [line for line in chan.sent if line.startswith("RECORD FILE")]
    assert "selamat-datang" not in prompts(chan)
    assert read_back(chan) == FIRST_TICKET * 2
    assert chan.kept["LAPOR_EXIT"] == "complaint"
    await svc.aclose()


async def test_a_recording_under_way_is_saved_and_its_ticket_read_back(tmp_path: Path) -> None:
    stored: dict[str, dict[str, object]] = {}
    svc = services(tmp_path, True, stored)
    chan = taken_over(
        [], LAPOR_STEP="recording", LAPOR_STEP_TICKET=FIRST_TICKET, LAPOR_STEP_CATEGORY="lainnya"
    )
    assert (await run_call(chan, with_services(call, svc))).status == "ok"
    # The file Asterisk wrote for the first server: same ticket, same call.
    assert stored[FIRST_TICKET]["recording_path"] == f"/rec/{FIRST_TICKET}-1700000000-1.wav"
    assert stored[FIRST_TICKET]["category"] == "lainnya"
    assert not [line for line in chan.sent if line.startswith(("RECORD FILE", "GET DATA"))]
    assert read_back(chan) == FIRST_TICKET * 2
    assert chan.kept["__LAPOR_TICKET"] == FIRST_TICKET
    assert chan.kept["LAPOR_STEP"] == "saved"
    await svc.aclose()


async def test_a_saved_complaint_is_only_read_back(tmp_path: Path) -> None:
    stored: dict[str, dict[str, object]] = {}
    svc = services(tmp_path, True, stored)
    chan = taken_over(
        [], LAPOR_STEP="saved", LAPOR_STEP_TICKET=FIRST_TICKET, LAPOR_STEP_CATEGORY="lainnya"
    )
    assert (await run_call(chan, with_services(call, svc))).status == "ok"
    assert stored == {}
    assert read_back(chan) == FIRST_TICKET * 2
    assert chan.kept["LAPOR_EXIT"] == "complaint"
    await svc.aclose()


async def test_an_emergency_with_its_ticket_is_filed_with_that_ticket(tmp_path: Path) -> None:
    stored: dict[str, dict[str, object]] = {}
    svc = services(tmp_path, True, stored)
    chan = taken_over(
        [], LAPOR_STEP="ticket", LAPOR_STEP_TICKET=FIRST_TICKET, LAPOR_STEP_CATEGORY="darurat"
    )
    assert (await run_call(chan, with_services(call, svc))).status == "ok"
    assert stored[FIRST_TICKET]["recording_path"] is None
    assert chan.kept["LAPOR_EXIT"] == "emergency"
    await svc.aclose()


async def test_a_call_in_its_last_prompt_goes_straight_on(tmp_path: Path) -> None:
    svc = services(tmp_path, True, {})
    chan = taken_over(["1"], LAPOR_STEP="menu", LAPOR_EXIT="officer")
    assert (await run_call(chan, with_services(call, svc))).status == "ok"
    assert prompts(chan) == []
    assert chan.keys == ["1"]  # nothing asked
    await svc.aclose()


async def test_a_call_in_the_menus_restarts_at_the_main_menu_without_the_greeting(
    tmp_path: Path,
) -> None:
    stored: dict[str, dict[str, object]] = {}
    svc = services(tmp_path, True, stored)
    chan = taken_over(["1", "2", "3"], LAPOR_STEP="menu")
    assert (await run_call(chan, with_services(call, svc))).status == "ok"
    assert prompts(chan)[:2] == ["menu-utama", "menu-kategori"]
    assert list(stored) == ["12000001"]  # a new complaint, the backup's own ticket
    await svc.aclose()


async def test_marks_that_are_not_the_ivr_s_resume_nothing_past_the_main_menu(
    tmp_path: Path,
) -> None:
    stored: dict[str, dict[str, object]] = {}
    svc = services(tmp_path, True, stored)
    for ticket, category in (("1100${X}", "lainnya"), (FIRST_TICKET, "semua"), ("", "lainnya")):
        chan = taken_over(
            ["0"], LAPOR_STEP="recording", LAPOR_STEP_TICKET=ticket, LAPOR_STEP_CATEGORY=category
        )
        assert (await run_call(chan, with_services(call, svc))).status == "ok"
        assert prompts(chan)[0] == "menu-utama", (ticket, category)
        assert chan.kept["LAPOR_EXIT"] == "officer"
    # An unknown step is a new call: greeted.
    chan = taken_over(["0"], LAPOR_STEP="recorded")
    assert (await run_call(chan, with_services(call, svc))).status == "ok"
    assert prompts(chan)[0] == "selamat-datang"
    assert stored == {}
    await svc.aclose()


def callback_services(tmp_path: Path, requests: list[dict[str, object]]) -> Services:
    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(httpx.Response(200, content=request.content).json())
        return httpx.Response(201, json=requests[-1])

    built = Services.from_settings(IvrSettings(spool_dir=tmp_path, node_id=12))
    built.api = LaporApi("http://api", "t", transport=httpx.MockTransport(handle))
    built.deliverer.api = built.api
    return built


async def test_an_accepted_callback_is_stored_under_its_first_id_without_asking_again(
    tmp_path: Path,
) -> None:
    requests: list[dict[str, object]] = []
    svc = callback_services(tmp_path, requests)
    first_id = "0b6f1c9e-3f7d-4a55-9a51-2f4f2b8c1d11"
    request = request_from_env(agi_headers("callback", callerid="081299990000"))
    chan = KeptChannel(request, [], {REQUEST_VARIABLE: first_id})
    assert (await run_call(chan, with_services(callback, svc))).status == "ok"
    assert not [line for line in chan.sent if line.startswith("GET DATA")]
    assert [r["request_id"] for r in requests] == [first_id]
    assert chan.kept["LAPOR_CALLBACK"] == "accepted"
    # A new offer, accepted: its id is on the channel before the request is stored.
    svc2 = callback_services(tmp_path / "two", requests)
    chan = KeptChannel(request, ["1"], {})
    assert (await run_call(chan, with_services(callback, svc2))).status == "ok"
    assert chan.kept[REQUEST_VARIABLE] == requests[-1]["request_id"] != first_id
    await svc.aclose()
    await svc2.aclose()
