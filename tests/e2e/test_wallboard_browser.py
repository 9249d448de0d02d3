"""The wallboard in Debian's Chromium against real calls: a burst of answered calls and
abandons through the real IVR, queue and collector shows on the board figure by figure
equal to ``/stats/summary`` and ``/stats/live`` at the same moment, and a caller waiting
past the service level (nobody in the queue) raises the alert."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect
from sqlmodel import Session

from api.core.auth import Role
from api.people.users import create_user
from api.web.templates import NONE, number_id
from sandbox.harness import QUEUE, Sandbox
from tests.e2e.browser import chromium_page, sign_in
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer
from tests.e2e.kpi_support import CollectorProcess
from tests.e2e.officers import event
from tests.e2e.services import ApiProcess
from tests.e2e.test_kpi_truth import all_delivered, wait_until
from tests.people import PASSWORD

pytestmark = pytest.mark.e2e
CALL_TIMEOUT = 120.0
STRAIGHT_TO_QUEUE = "wait:1|dtmf:0"


async def answered_calls(sandbox: Sandbox, callers: Collection[str]) -> None:
    for caller in callers:
        await sandbox.place_call(LINE, caller, STRAIGHT_TO_QUEUE)
        await asyncio.sleep(1.5)


async def test_the_board_equals_the_stats_and_a_late_caller_raises_the_alert(
    sandbox: Sandbox,
    ivr_node: IvrNode,
    ivr_server: IvrServer,
    console: ApiProcess,
    quiet_call_center: None,
    tmp_path: Path,
) -> None:
    with Session(console.engine) as session:
        create_user(
            session, username="sri", password=PASSWORD, role=Role.supervisor, full_name="Sri"
        )
    supervisor = {"Authorization": f"Bearer {console.token(Role.supervisor)}"}
    collector = CollectorProcess(sandbox, console, tmp_path)
    collector.start()
    try:
        async with (
            httpx.AsyncClient(base_url=console.url, timeout=30) as api,
            await sandbox.connect_ami() as ami,
            chromium_page("wallboard-e2e") as page,
        ):
            await sign_in(page, console.url, "sri", lands="/wallboard")

            # 1. Three calls the officers answer.
            answered = [random_caller() for _ in range(3)]
            await answered_calls(sandbox, answered)
            await wait_until(
                lambda: all_delivered(console, answered), 180, "the answered calls' ends"
            )
            # 2. Nobody in the queue: one caller gives up, one waits on past the SL.
            for agent in sandbox.config.agents:
                sandbox.callcenter.rx(f"queue remove member PJSIP/{agent} from {QUEUE}")
            gives_up, waits = random_caller(), random_caller()
            await sandbox.place_call(LINE, gives_up, STRAIGHT_TO_QUEUE)
            await sandbox.place_call(LINE, waits, STRAIGHT_TO_QUEUE)
            left = await ami.wait_for(event("QueueCallerJoin", CallerIDNum=gives_up), CALL_TIMEOUT)
            stays = await ami.wait_for(event("QueueCallerJoin", CallerIDNum=waits), CALL_TIMEOUT)
            await asyncio.sleep(8)
            sandbox.callcenter.rx(f"channel request hangup {left['Channel']}")
            await wait_until(lambda: all_delivered(console, [gives_up]), 120, "the abandon")
            await expect(page.locator('[data-alert="waiting_past_sl"]')).to_be_visible(
                timeout=40_000
            )
            await expect(page.locator('[data-alert="no_officer"]')).to_be_visible()

            # 3. The board's figures are the API's at the same moment.
            summary = (await api.get("/stats/summary", headers=supervisor)).json()
            live = (await api.get("/stats/live", headers=supervisor)).json()
            assert summary["answered"] >= 3
            assert summary["abandoned"] >= 1
            expected = {
                "offered": summary["offered"],
                "answered": summary["answered"],
                "abandoned": summary["abandoned"],
                "waiting": len(live["waiting"]),
                "available": sum(a["state"] == "available" for a in live["agents"]),
                "paused": sum(a["state"] == "paused" for a in live["agents"]),
            }
            for name, value in expected.items():
                await expect(page.locator(f"#tile-{name}")).to_have_text(
                    number_id(value), timeout=15_000
                )
            sl = summary["sl_pct"]
            shown = NONE if sl is None else number_id(sl, 1) + " %"
            await expect(page.locator("#tile-sl")).to_have_text(shown)
            assert waits in [c["caller"] for c in live["waiting"]]
            sandbox.callcenter.rx(f"channel request hangup {stays['Channel']}")
    finally:
        collector.stop()
        for agent in sandbox.config.agents:
            sandbox.callcenter.rx(f"queue remove member PJSIP/{agent} from {QUEUE}")
            sandbox.add_member(agent)
