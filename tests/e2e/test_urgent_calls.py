"""Priority by category, end to end: an emergency caller overtakes callers who waited longer.

One officer, paused while the callers queue. Two ordinary callers go straight to an officer
and wait out the callback offer (a 3 s queue timeout), so they are back in the queue at
priority 10, ahead of newer callers; then an emergency caller (new complaint, category key
5, darurat) joins. When the officer becomes available, the emergency is served first, and
the call record, the complaint and the stats all know it was urgent.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from api.events.models import Call
from sandbox.harness import QUEUE, TRANSFER_NUMBERS, Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, event, user_event, wait_until
from tests.e2e.kpi_support import CollectorProcess, running_collector

pytestmark = pytest.mark.e2e

CALLBACK_WAIT = 3
CALL_TIMEOUT = 120.0
# 0 at the greeting: straight to an officer.
TO_OFFICER = "wait:1|dtmf:0"
# 1 at the greeting (new complaint), then 5 at the category menu (darurat).
EMERGENCY = "wait:2|dtmf:1|wait:1|dtmf:5"


@pytest.fixture
def collector(sandbox: Sandbox, ivr_node: IvrNode, tmp_path: Path) -> Iterator[CollectorProcess]:
    with running_collector(sandbox, ivr_node.api, tmp_path) as process:
        yield process


def queue_log(sandbox: Sandbox) -> list[list[str]]:
    return [line.split("|") for line in sandbox.callcenter.queue_log.read_text().splitlines()]


def verbs_of(sandbox: Sandbox, uniqueid: str) -> list[str]:
    return [f[4] for f in queue_log(sandbox) if len(f) > 4 and f[1] == uniqueid]


# The prompts [queue-wait] says (app_queue's own position prompts are antrean-* too).
WAIT_PROMPTS = "lapor/antrean-(perkiraan|sebentar-lagi|lebih-dari)"


def heard_a_wait(sandbox: Sandbox, channel: str) -> bool:
    """Whether the call center played ``channel`` an estimated wait ([queue-wait])."""
    log = (sandbox.callcenter.host("log") / "messages.log").read_text(errors="replace")
    return re.search(re.escape(channel) + rf"\b.*Playing '{WAIT_PROMPTS}", log) is not None


def requeued(sandbox: Sandbox, uniqueid: str) -> bool:
    return verbs_of(sandbox, uniqueid).count("ENTERQUEUE") == 2


async def test_an_emergency_overtakes_earlier_callers(
    sandbox: Sandbox, ivr_node: IvrNode, quiet_call_center: None, collector: CollectorProcess
) -> None:
    server = IvrServer(ivr_node, replace(ivr_node.settings, callback_wait_seconds=CALLBACK_WAIT))
    await server.start()
    officer = sandbox.config.agents[0]
    first, second, emergency = random_caller(), random_caller(), random_caller()
    for agent in sandbox.config.agents:
        sandbox.callcenter.rx(f"queue pause member PJSIP/{agent} queue {QUEUE}")
    try:
        async with await sandbox.connect_ami() as ami:
            done = {
                c: user_event(ami, "LaporIvrDone", c, CALL_TIMEOUT)
                for c in (first, second, emergency)
            }
            for caller in (first, second):
                await sandbox.place_call(LINE, caller, TO_OFFICER)
                uniqueid = (await done[caller])["Uniqueid"]
                # Offered a callback after 3 s, declined (no key): back in at priority 10.
                await wait_until(lambda u=uniqueid: requeued(sandbox, u), 60)
            join = event(ami, "QueueCallerJoin", CALL_TIMEOUT, CallerIDNum=emergency)
            await sandbox.place_call(LINE, caller=emergency, script=EMERGENCY)
            joined = await join
            # Longer than the callback wait: an urgent caller is never timed out of the queue.
            await asyncio.sleep(CALLBACK_WAIT + 3)
            ids = {c: done[c].result()["Uniqueid"] for c in (first, second, emergency)}
            connected = {
                c: event(ami, "AgentConnect", CALL_TIMEOUT, Uniqueid=u) for c, u in ids.items()
            }
            sandbox.callcenter.rx(f"queue unpause member PJSIP/{officer} queue {QUEUE}")
            await asyncio.gather(*connected.values())
    finally:
        for agent in sandbox.config.agents:
            sandbox.callcenter.rx(f"queue unpause member PJSIP/{agent} queue {QUEUE}")
        await server.close()

    # It joined ahead of both, who had waited longer and been re-queued at priority 10.
    assert (joined["Position"], joined["Count"]) == ("1", "3")
    assert [done[c].result()["Urgent"] for c in (first, second, emergency)] == ["", "", "1"]
    connects = [f[1] for f in queue_log(sandbox) if len(f) > 4 and f[4] == "CONNECT"]
    served = [u for u in connects if u in ids.values()]
    assert served == [ids[emergency], ids[first], ids[second]]
    assert verbs_of(sandbox, ids[emergency])[:2] == ["ENTERQUEUE", "CONNECT"]  # no offer
    for caller in (first, second):
        assert verbs_of(sandbox, ids[caller])[:4] == [
            "ENTERQUEUE",
            "EXITWITHTIMEOUT",
            "ENTERQUEUE",
            "CONNECT",
        ]

    # Filed at once with a ticket and no recording.
    [complaint] = ivr_node.complaints_of(emergency)
    assert (complaint["category"], complaint["recording_path"]) == ("darurat", None)
    assert complaint["ticket"] == done[emergency].result()["Ticket"]

    def urgency() -> dict[str, bool] | None:
        with Session(ivr_node.api.engine) as session:
            rows = session.exec(select(Call).where(col(Call.linkedid).in_(ids.values()))).all()
        found = {row.linkedid: row.urgent for row in rows if row.answered_at is not None}
        return found if len(found) == len(ids) else None

    stored = await wait_until(urgency, 60)
    assert stored == {ids[first]: False, ids[second]: False, ids[emergency]: True}
    summary = ivr_node.api_get("/stats/summary")
    assert summary["urgent"] >= 1


async def test_an_emergency_whose_transfer_failed_goes_back_ahead_of_newer_ones(
    sandbox: Sandbox, ivr_server: IvrServer, long_talks: None
) -> None:
    """A blind transfer the unit did not take puts the citizen back in the queue: an
    emergency at priority 30, ahead of a newer emergency (20) and everyone else.

    The transfer itself is what Asterisk does on a REFER (test_browser_transfer.py does
    one from the browser phone): BLINDTRANSFER set on the citizen's channel, which then
    runs the unit's extension in [agents]; here the CLI does those two steps.

    Also: with an officer serving and a call completed, a caller is told the estimated
    wait before the queue; an urgent caller is not (it would count every caller)."""
    officer = sandbox.config.agents[0]
    sandbox.add_member(officer)
    warm, first, newer, ordinary = (random_caller() for _ in range(4))
    busy_unit = TRANSFER_NUMBERS.split(",")[-1].split("=")[1]  # rings busy on the carrier
    try:
        async with await sandbox.connect_ami() as ami:
            # One completed call, so the queue has figures to estimate a wait from.
            join = event(ami, "QueueCallerJoin", CALL_TIMEOUT, CallerIDNum=warm)
            await sandbox.place_call(LINE, warm, TO_OFFICER)
            warm_channel = (await join)["Channel"]
            await event(ami, "AgentConnect", CALL_TIMEOUT, Channel=warm_channel)
            completed = event(ami, "AgentComplete", CALL_TIMEOUT, Channel=warm_channel)
            sandbox.callcenter.rx(f"channel request hangup {warm_channel}")
            await completed
            join = event(ami, "QueueCallerJoin", CALL_TIMEOUT, CallerIDNum=first)
            await sandbox.place_call(LINE, first, EMERGENCY)
            channel, uniqueid = (await join)["Channel"], join.result()["Uniqueid"]
            await event(ami, "AgentConnect", CALL_TIMEOUT, Channel=channel)
            joins = {}
            for caller, script in ((newer, EMERGENCY), (ordinary, TO_OFFICER)):
                joins[caller] = event(ami, "QueueCallerJoin", CALL_TIMEOUT, CallerIDNum=caller)
                await sandbox.place_call(LINE, caller, script)
                await joins[caller]
            sandbox.callcenter.rx(
                f"dialplan set chanvar {channel} BLINDTRANSFER PJSIP/{officer}-transfer"
            )
            sandbox.callcenter.rx(f"channel redirect {channel} agents,{busy_unit},1")
            # (The AMI client also matches past events: queue_log tells the second join.)
            await wait_until(lambda: requeued(sandbox, uniqueid), CALL_TIMEOUT)
            uniqueids = {c: joins[c].result()["Uniqueid"] for c in (newer, ordinary)}
    finally:
        sandbox.callcenter.rx("channel request hangup all")
    lines = [f for f in queue_log(sandbox) if len(f) > 4]
    back_at = [i for i, f in enumerate(lines) if f[1] == uniqueid and f[4] == "ENTERQUEUE"][1]
    assert lines[back_at][7] == "1"  # ENTERQUEUE's position
    assert lines[back_at][6] == first  # under the citizen's number, not the line's
    # Both others were waiting then: joined before it came back, and had not left.
    for uniqueid in uniqueids.values():
        before = [f[4] for f in lines[:back_at] if f[1] == uniqueid]
        assert before == ["ENTERQUEUE"]
    told = {c: heard_a_wait(sandbox, joins[c].result()["Channel"]) for c in (newer, ordinary)}
    assert told == {newer: False, ordinary: True}
