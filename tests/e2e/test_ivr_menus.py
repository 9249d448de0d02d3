"""Menu paths on real calls: officer by 0 from every menu, repeat, bad and missing keys,
and the ticket status check. The scenarios run as concurrent calls."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest

from api.complaints.workflow import ComplaintStatus
from api.core.auth import Role
from sandbox.harness import Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, event, played_digits, user_event

pytestmark = pytest.mark.e2e

CALL_TIMEOUT = 150.0


def stored_ticket(node: IvrNode, status: ComplaintStatus) -> str:
    """A complaint created through the API as another node would, then set to ``status``."""
    ticket = "98" + "".join(secrets.choice("0123456789") for _ in range(6))
    body = {
        "ticket": ticket,
        "category": "infrastruktur",
        "caller_number": random_caller(),
        "line": LINE,
        "recording_path": None,
        "uniqueid": f"e2e.{ticket}",
        "taken_at": "2026-11-28T03:00:00Z",
    }
    token = node.api.token(Role.ivr)
    response = httpx.post(
        f"{node.api.url}/complaints",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 201, response.text
    moved = httpx.post(
        f"{node.api.url}/complaints/{ticket}/status",
        json={"to": status},
        headers={"Authorization": f"Bearer {node.api.token(Role.supervisor)}"},
        timeout=5,
    )
    assert moved.status_code == 200, moved.text
    return ticket


async def test_menu_paths_end_with_an_officer(
    sandbox: Sandbox, ivr_node: IvrNode, ivr_server: IvrServer
) -> None:
    known = stored_ticket(ivr_node, ComplaintStatus.diverifikasi)
    unknown = "97" + "".join(secrets.choice("0123456789") for _ in range(6))
    speech = ivr_node.speech["keluhan"]
    scenarios = {
        # name: (citizen script, expected Exit, expected StatusResult)
        "0 at the greeting": ("wait:1|dtmf:0", "officer", ""),
        "0 at the main menu": ("wait:6|dtmf:0", "officer", ""),
        "9 repeats, then 0": ("wait:6|dtmf:9|wait:2|dtmf:0", "officer", ""),
        "0 at the category menu": ("wait:2|dtmf:1|wait:2|dtmf:0", "officer", ""),
        # An emergency: filed at once (no recording), straight on to the queue.
        "5 at the category menu": ("wait:2|dtmf:1|wait:2|dtmf:5", "emergency", ""),
        "0 at the ticket entry": ("wait:2|dtmf:2|wait:1|dtmf:0#", "officer", ""),
        "three invalid keys": (
            "wait:6|dtmf:7|wait:4|dtmf:8|wait:4|dtmf:5",
            "attempts",
            "",
        ),
        "no input": ("", "attempts", ""),
        "0 at the recording review saves": (
            f"wait:2|dtmf:1|wait:1|dtmf:4|wait:6|play:{speech}|dtmf:#|wait:1|dtmf:0",
            "complaint",
            "",
        ),
        "status of a known ticket": (
            f"wait:2|dtmf:2|wait:1|dtmf:{known}#|wait:12|dtmf:0",
            "officer",
            f"{known}:diverifikasi",
        ),
        "status of an unknown ticket": (
            f"wait:2|dtmf:2|wait:1|dtmf:{unknown}#|wait:6|dtmf:0#",
            "officer",
            f"{unknown}:not_found",
        ),
    }
    callers = {name: random_caller() for name in scenarios}
    async with await sandbox.connect_ami() as ami:
        done = {n: user_event(ami, "LaporIvrDone", c, CALL_TIMEOUT) for n, c in callers.items()}
        for name, (script, _, _) in scenarios.items():
            await sandbox.place_call(LINE, callers[name], script)
        await asyncio.gather(*done.values())
        joined = [
            event(ami, "QueueCallerJoin", CALL_TIMEOUT, Uniqueid=d.result()["Uniqueid"])
            for d in done.values()
        ]
        await asyncio.gather(*joined)

    outcomes = {}
    for name in scenarios:
        ivr_done = done[name].result()
        outcomes[name] = (ivr_done["Exit"], ivr_done["StatusResult"])
        assert ivr_server.outcome(ivr_done["Uniqueid"], "call") == [("call", "ok")], name
    assert outcomes == {name: (e, s) for name, (_, e, s) in scenarios.items()}

    # Only the callers who recorded or chose an emergency left a complaint; the status was
    # read back.
    filed = {"0 at the recording review saves", "5 at the category menu"}
    for name, caller in callers.items():
        expected = 1 if name in filed else 0
        assert len(ivr_node.complaints_of(caller)) == expected, name
    status_channel = done["status of a known ticket"].result()["Channel"]
    assert played_digits(sandbox, status_channel) == known


async def test_ivr_server_down_the_caller_still_reaches_an_officer(sandbox: Sandbox) -> None:
    caller = random_caller()  # no FastAGI server is listening in this test
    async with await sandbox.connect_ami() as ami:
        done = user_event(ami, "LaporIvrDone", caller, CALL_TIMEOUT)
        await sandbox.place_call(LINE, caller, "")
        await done
        connected = event(ami, "AgentConnect", CALL_TIMEOUT, Uniqueid=done.result()["Uniqueid"])
        await connected
    assert done.result()["AgiStatus"] == "FAILURE"
    assert connected.result()["Queue"] == "pengaduan"
