"""A real SIP call from the carrier through Asterisk, the IVR and the queue to an agent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agi_scripts.routes import ROUTES
from ivr import CallOutcome, FastAGIServer
from sandbox.harness import Sandbox
from tests.e2e.calls import follow_queued_call, queue_log_verbs, random_caller, set_ivr_mode

pytestmark = pytest.mark.e2e


@pytest.fixture
async def ivr_server(sandbox: Sandbox) -> AsyncIterator[list[CallOutcome]]:
    """Our FastAGI server on the port the sandbox dialplan calls; yields finished calls."""
    outcomes: list[CallOutcome] = []
    server = FastAGIServer(
        ROUTES,
        host=sandbox.config.agi_host,
        port=sandbox.config.agi_port,
        on_call_end=outcomes.append,
    )
    await server.start()
    try:
        yield outcomes
    finally:
        await server.close()


async def test_call_is_greeted_by_fastagi_then_answered_by_an_agent(
    sandbox: Sandbox, ivr_server: list[CallOutcome]
) -> None:
    caller = random_caller()
    async with await sandbox.connect_ami() as ami:
        await sandbox.place_call("082282204761", caller)
        call = await follow_queued_call(ami, caller)

    assert call.ivr_done["Mode"] == "fastagi"
    assert call.ivr_done["AgiStatus"] == "SUCCESS"
    assert call.ivr_done["Status"] == "OK"
    assert call.ivr_done["Greeted"] == call.uniqueid
    assert call.ivr_done["Line"] == "082282204761"
    handled = [o for o in ivr_server if o.uniqueid == call.uniqueid]
    assert [(o.script, o.status) for o in handled] == [("greet", "ok")]
    assert call.connected["Queue"] == "pengaduan"
    assert call.completed["Reason"] in {"agent", "caller"}
    verbs = await queue_log_verbs(sandbox.callcenter.queue_log, call.uniqueid, "COMPLETE")
    assert verbs[:2] == ["ENTERQUEUE", "CONNECT"]
    assert verbs[2] in {"COMPLETEAGENT", "COMPLETECALLER"}


async def test_call_is_greeted_by_classic_pyst2_agi(
    sandbox: Sandbox, ivr_server: list[CallOutcome]
) -> None:
    caller = random_caller()
    await set_ivr_mode(sandbox, "classic")
    try:
        async with await sandbox.connect_ami() as ami:
            await sandbox.place_call("082282204761", caller)
            call = await follow_queued_call(ami, caller)
    finally:
        await set_ivr_mode(sandbox, "fastagi")

    assert call.ivr_done["Mode"] == "classic"
    assert call.ivr_done["AgiStatus"] == "SUCCESS"
    assert call.ivr_done["Status"] == "OK"
    assert call.ivr_done["Greeted"] == call.uniqueid
    # The FastAGI server never saw this call: the pyst2 script inside Asterisk ran it.
    assert all(o.uniqueid != call.uniqueid for o in ivr_server)
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
    sandbox: Sandbox, ivr_server: list[CallOutcome], dialled: str, line: str
) -> None:
    caller = random_caller()
    async with await sandbox.connect_ami() as ami:
        await sandbox.place_call(dialled, caller)
        call = await follow_queued_call(ami, caller)
    assert call.ivr_done["Line"] == line
    assert call.ivr_done["Status"] == "OK"
