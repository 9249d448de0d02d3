"""A real SIP call from the carrier through Asterisk, the IVR and the queue to an agent."""

from __future__ import annotations

import pytest

from sandbox.harness import Sandbox
from tests.e2e.calls import follow_queued_call, queue_log_verbs, random_caller, set_ivr_mode
from tests.e2e.ivr_node import IvrServer

pytestmark = pytest.mark.e2e


# The caller presses 0 (officer) during the greeting: the shortest way to the queue.
TO_OFFICER = "wait:1|dtmf:0"


async def test_call_is_greeted_by_fastagi_then_answered_by_an_agent(
    sandbox: Sandbox, ivr_server: IvrServer
) -> None:
    caller = random_caller()
    async with await sandbox.connect_ami() as ami:
        await sandbox.place_call("082282204761", caller, TO_OFFICER)
        call = await follow_queued_call(ami, caller)

    assert call.ivr_done["Mode"] == "fastagi"
    assert call.ivr_done["AgiStatus"] == "SUCCESS"
    assert call.ivr_done["Status"] == "OK"
    assert call.ivr_done["Greeted"] == call.uniqueid
    assert call.ivr_done["Line"] == "082282204761"
    assert call.ivr_done["Exit"] == "officer"
    assert ivr_server.outcome(call.uniqueid, "call") == [("call", "ok")]
    assert call.connected["Queue"] == "pengaduan"
    assert call.completed["Reason"] in {"agent", "caller"}
    verbs = await queue_log_verbs(sandbox.callcenter.queue_log, call.uniqueid, "COMPLETE")
    assert verbs[:2] == ["ENTERQUEUE", "CONNECT"]
    assert verbs[2] in {"COMPLETEAGENT", "COMPLETECALLER"}


async def test_call_is_greeted_by_classic_pyst2_agi(
    sandbox: Sandbox, ivr_server: IvrServer
) -> None:
    caller = random_caller()
    await set_ivr_mode(sandbox, "classic")
    try:
        async with await sandbox.connect_ami() as ami:
            await sandbox.place_call("082282204761", caller, TO_OFFICER)
            call = await follow_queued_call(ami, caller)
    finally:
        await set_ivr_mode(sandbox, "fastagi")

    assert call.ivr_done["Mode"] == "classic"
    assert call.ivr_done["AgiStatus"] == "SUCCESS"
    assert call.ivr_done["Status"] == "OK"
    assert call.ivr_done["Greeted"] == call.uniqueid
    # The FastAGI server never saw this call: the pyst2 script inside Asterisk ran it.
    assert ivr_server.outcome(call.uniqueid, "call") == []
    verbs = await queue_log_verbs(sandbox.callcenter.queue_log, call.uniqueid, "COMPLETE")
    assert verbs[:2] == ["ENTERQUEUE", "CONNECT"]
    assert verbs[2] in {"COMPLETEAGENT", "COMPLETECALLER"}


@pytest.mark.parametrize(
    ("dialled", "line"),
    [
        ("082282204762", "082282204762"),
        ("+6282282204761", "082282204761"),
        ("6282282204762", "082282204762"),
    ],
)
async def test_every_form_of_both_lines_reaches_the_ivr(
    sandbox: Sandbox, ivr_server: IvrServer, dialled: str, line: str
) -> None:
    caller = random_caller()
    async with await sandbox.connect_ami() as ami:
        await sandbox.place_call(dialled, caller, TO_OFFICER)
        call = await follow_queued_call(ami, caller)
    assert call.ivr_done["Line"] == line
    assert call.ivr_done["Status"] == "OK"
