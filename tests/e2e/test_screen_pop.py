"""The screen pop against the real sandbox: a citizen's complaint call goes through our
IVR (a new ticket), an officer logged in through the API answers it on their carrier
phone, and while they talk ``GET /agents/me/current-call`` shows that ticket and the
caller's earlier one."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.core.auth import Role
from sandbox.harness import Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, user_event
from tests.e2e.kpi_support import CollectorProcess
from tests.e2e.officers import add_officer, event, login
from tests.e2e.services import ApiProcess

pytestmark = pytest.mark.e2e
CALL_TIMEOUT = 120.0


def complaint_script(node: IvrNode) -> str:
    """1 (new complaint), category 1, speak after the beep, #, then 3 (save)."""
    speech = node.speech["keluhan"]
    return f"wait:2|dtmf:1|wait:1|dtmf:1|wait:6|play:{speech}|dtmf:#|wait:1|dtmf:3"


async def screen_pop(api: httpx.AsyncClient, headers: dict[str, str], present: bool) -> Any:
    """current-call once it shows a call (``present``) or no longer does."""
    for _ in range(120):
        response = await api.get("/agents/me/current-call", headers=headers)
        if (response.status_code == 200) == present:
            return response.json()
        await asyncio.sleep(0.5)
    raise AssertionError(f"current-call stayed {response.status_code}: {response.text}")


async def test_the_officer_sees_the_callers_ticket_during_the_call(
    sandbox: Sandbox,
    ivr_node: IvrNode,
    ivr_server: IvrServer,
    console: ApiProcess,
    long_talks: None,
    tmp_path: Path,
) -> None:
    username = f"pop{secrets.token_hex(3)}"
    add_officer(console, username, sandbox.config.agents[0])
    caller = random_caller()
    earlier = f"98{secrets.randbelow(10**6):06d}"
    collector = CollectorProcess(sandbox, console, tmp_path)
    collector.start()
    try:
        async with (
            httpx.AsyncClient(base_url=console.url, timeout=30) as api,
            await sandbox.connect_ami() as ami,
        ):
            ivr = {"Authorization": f"Bearer {console.token(Role.ivr)}"}
            before = await api.post(
                "/complaints",
                headers=ivr,
                json={
                    "ticket": earlier,
                    "category": "kependudukan",
                    "caller_number": caller,
                    "line": LINE,
                    "uniqueid": "1795000000.1",
                    "taken_at": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
                },
            )
            assert before.status_code == 201, before.text
            officer = await login(api, username)
            assert (await api.post("/agents/me/login", headers=officer)).status_code == 200
            await ami.wait_for(event("QueueMemberAdded", MemberName=username), CALL_TIMEOUT)

            ticket_event = user_event(ami, "LaporTicket", caller, CALL_TIMEOUT)
            await sandbox.place_call(LINE, caller, complaint_script(ivr_node))
            ticket = (await ticket_event)["Ticket"]
            joined = await ami.wait_for(event("QueueCallerJoin", CallerIDNum=caller), CALL_TIMEOUT)
            connected = await ami.wait_for(
                event("AgentConnect", Uniqueid=joined["Uniqueid"]), CALL_TIMEOUT
            )
            assert connected["MemberName"] == username

            pop = await screen_pop(api, officer, present=True)
            assert pop["caller"] == caller
            assert pop["line"] == LINE
            assert pop["ticket"]["ticket"] == ticket
            assert pop["ticket"]["category"] == "infrastruktur"
            assert [t["ticket"] for t in pop["earlier"]] == [earlier]

            sandbox.callcenter.rx(f"channel request hangup {joined['Channel']}")
            await screen_pop(api, officer, present=False)
            await api.post("/agents/me/logout", headers=officer)
    finally:
        collector.stop()
