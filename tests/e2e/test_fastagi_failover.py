"""Two IVR servers for one node: the first one dies in mid-call, callers hardly notice.

Two ``lapor-ivr`` processes (node ids 97 and 98, each with its own spool) serve the
sandbox's dialplan as AGI_URL and AGI_BACKUP_URL. The first is stopped while two callers
are recording their complaint and two are in the menu: with SIGKILL (a crash, an OOM
kill, a pulled plug: no grace, no clean-up) and with SIGTERM (an operator's stop: the
server gives running calls 5 s, then cuts them, saving a complaint whose recording had
begun on its way out). Each still gets a ticket read back
and reaches the queue, and the API has each complaint once, with its recording. A call
placed after the crash gets the whole IVR from the second server.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.ami import Message
from sandbox.harness import Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE, IvrNode, event, played_digits, user_event, wait_until
from tests.e2e.ivr_process import IvrProcess

pytestmark = pytest.mark.e2e

CALL_TIMEOUT = 150.0
PRIMARY_NODE, BACKUP_NODE = 97, 98


def recording_script(node: IvrNode) -> str:
    """A complaint (category 1) with a long recording: still speaking when the crash comes."""
    return (
        f"wait:2|dtmf:1|wait:1|dtmf:1|wait:6|play:{node.speech['keluhan-panjang']}"
        "|dtmf:#|wait:1|dtmf:3"
    )


def late_menu_script(node: IvrNode) -> str:
    """Listens to the greeting and menu for a while (the crash comes then), then a
    complaint of category 2."""
    return f"wait:10|dtmf:1|wait:1|dtmf:2|wait:6|play:{node.speech['keluhan']}|dtmf:#|wait:1|dtmf:3"


def fresh_script(node: IvrNode) -> str:
    return f"wait:2|dtmf:1|wait:1|dtmf:4|wait:6|play:{node.speech['keluhan']}|dtmf:#|wait:1|dtmf:3"


@pytest.fixture
def ivr_pair(sandbox: Sandbox, ivr_node: IvrNode, tmp_path: Path) -> Iterator[list[IvrProcess]]:
    """The primary on the sandbox's AGI port and the backup on its backup port, rendered
    into the dialplan as AGI_URL and AGI_BACKUP_URL."""
    config = sandbox.config
    primary = IvrProcess(sandbox, ivr_node.api, tmp_path / "primary", PRIMARY_NODE, config.agi_port)
    backup = IvrProcess(
        sandbox, ivr_node.api, tmp_path / "backup", BACKUP_NODE, config.agi_backup_port
    )
    sandbox.use_backup_agi(True)
    try:
        primary.start()
        backup.start()
        yield [primary, backup]
    finally:
        primary.stop()
        backup.stop()
        sandbox.use_backup_agi(False)


def in_agi(sandbox: Sandbox, callers: list[str]) -> bool:
    """Whether each caller's channel is running an AGI now."""
    rows = [
        line.split("!") for line in sandbox.callcenter.rx("core show channels concise").splitlines()
    ]
    running = {row[7] for row in rows if len(row) > 7 and row[5] == "AGI"}
    return all(caller in running for caller in callers)


def greetings(sandbox: Sandbox, channel: str) -> int:
    log = (sandbox.callcenter.host("log") / "messages.log").read_text(errors="replace")
    return sum(
        1
        for line in log.splitlines()
        if channel in line and "Playing 'lapor/selamat-datang" in line
    )


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
async def test_a_stopped_ivr_server_costs_callers_nothing_but_a_prompt(
    sandbox: Sandbox,
    ivr_node: IvrNode,
    ivr_pair: list[IvrProcess],
    quiet_call_center: None,
    how: signal.Signals,
) -> None:
    primary, _ = ivr_pair
    recorders = [random_caller() for _ in range(2)]
    in_menu = [random_caller() for _ in range(2)]
    after_crash = random_caller()
    callers = [*recorders, *in_menu, after_crash]
    before = set(sandbox.recordings_dir.glob(f"{PRIMARY_NODE}*.wav"))
    async with await sandbox.connect_ami() as ami:
        done = {c: user_event(ami, "LaporIvrDone", c, CALL_TIMEOUT) for c in callers}
        tickets = {c: user_event(ami, "LaporTicket", c, CALL_TIMEOUT) for c in callers}
        failovers = {c: user_event(ami, "LaporAgiFailover", c, CALL_TIMEOUT) for c in callers}
        joined = {c: event(ami, "QueueCallerJoin", CALL_TIMEOUT, CallerIDNum=c) for c in callers}
        for caller in recorders:
            await sandbox.place_call(LINE, caller, recording_script(ivr_node))
        recording = await wait_until(
            lambda: len(set(sandbox.recordings_dir.glob(f"{PRIMARY_NODE}*.wav")) - before) >= 2,
            timeout=60,
        )
        assert recording, "the first callers never started recording"
        for caller in in_menu:
            await sandbox.place_call(LINE, caller, late_menu_script(ivr_node))
        assert await wait_until(lambda: in_agi(sandbox, in_menu), timeout=20)
        await asyncio.sleep(1)  # past the blocklist check, into the greeting
        await asyncio.to_thread(primary.stop, how)
        await sandbox.place_call(LINE, after_crash, fresh_script(ivr_node))
        await asyncio.gather(*done.values(), *tickets.values(), *joined.values())
        await asyncio.gather(*failovers.values())

    seen: set[str] = set()
    for caller in callers:
        ivr_done: Message = done[caller].result()
        ticket = tickets[caller].result()["Ticket"]
        failover = failovers[caller].result()
        assert failover["Script"] == "call"
        # Unreachable: FAILURE; died in mid-session: Asterisk says SUCCESS (docs/asterisk.md).
        expected_status = "FAILURE" if caller == after_crash else "SUCCESS"
        assert failover["AgiStatus"] == expected_status, (caller, failover)
        assert ivr_done["Exit"] == "complaint", (caller, ivr_done)
        assert ivr_done["Status"] == "OK"
        assert ivr_done["Ticket"] == ticket
        # The ticket read back twice, by the backup (the recorders' ticket is the primary's).
        assert played_digits(sandbox, ivr_done["Channel"]) == ticket * 2, caller
        node = PRIMARY_NODE if caller in recorders else BACKUP_NODE
        assert ticket.startswith(str(node)), (caller, ticket)
        # Stored once, with the recording Asterisk wrote while the primary was gone.
        [stored] = await wait_until(lambda c=caller: ivr_node.complaints_of(c), timeout=30)
        assert stored["ticket"] == ticket
        assert stored["uniqueid"] == ivr_done["Uniqueid"]
        audio = ivr_node.host_path(stored["recording_path"])
        assert audio.stat().st_size > 8000, caller
        assert joined[caller].result()["Queue"] == "pengaduan"
        seen.add(ticket)
    assert len(seen) == len(callers)
    # Where each call was when the primary died, and what the backup skipped.
    steps = {c: failovers[c].result()["Step"] for c in callers}
    # SIGTERM's grace: a recorder's complaint may be saved by the primary as it stops.
    recorder_steps = {"recording", "saved"} if how == signal.SIGTERM else {"recording"}
    assert {steps[c] for c in recorders} <= recorder_steps
    assert [steps[c] for c in in_menu] == ["menu", "menu"]
    assert steps[after_crash] == ""
    for caller in in_menu:  # greeted once, by the primary: the backup started at the menu
        assert greetings(sandbox, done[caller].result()["Channel"]) == 1
    assert greetings(sandbox, done[after_crash].result()["Channel"]) == 1
