"""Two call-center nodes behind the Kamailio edge (sandbox/cluster.py), one API on
PostgreSQL, one collector per node and one real IVR server per node (the full route
table, each its own IVR node id, so its own ticket prefix, and its own spool), with real
SIP calls from the carrier:

1. an officer on a call from one node is not offered the other node's caller (no ring,
   no RINGNOANSWER) until free, then is;
2. a batch of calls is spread over both nodes, complaints first; one node's Asterisk is
   SIGKILLed mid-batch, while each of its complaint callers is recording (or hearing the
   ticket read back); every call placed after that, complaints included, lands on the
   survivor, and the officers the dead node had on calls are offered the survivor's
   callers;
3. the dead node is started again; every KPI equals the union of both nodes' queue_logs,
   and every queued call is one API row of its own node: nothing lost, nothing doubled;
4. every complaint an IVR server saved (its log), the dead node's cut-off ones too, is
   stored once in the API under its own node's ticket prefix, no ticket repeats across
   the nodes, none was refused, and the survivor's complaints have their recordings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from agi_scripts.complaint import recording_name
from api.core.auth import Role
from api.events.models import Call
from ivr.settings import IvrSettings
from sandbox.cluster import Cluster, node_name
from sandbox.harness import QUEUE, Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import IvrServer, prepare_node
from tests.e2e.kpi_support import CollectorProcess, QueueLogTruth, api_get, assert_api_equals_truth
from tests.e2e.services import ApiProcess, fresh_api_process
from tests.e2e.test_kpi_truth import next_second, wait_until

pytestmark = pytest.mark.e2e
LINE = "082282204761"
AGENTS = ("petugas-1001", "petugas-1002")
BATCH = 20  # calls before the kill, and again after it
COMPLAINTS_BEFORE = 6  # of the batch before the kill (round-robin: 3 a node)
COMPLAINTS_AFTER = 2  # of the batch after it
TALK_SECONDS = "2"
IVR_NODE_IDS = (91, 92)  # node i's IVR server: its tickets start with IVR_NODE_IDS[i]
# No callback offer within the test (the IVR's default is 120 s in the queue).
CALLBACK_WAIT_SECONDS = 900
TO_OFFICER = "wait:1|dtmf:0"
SAVED = re.compile(r"complaint (\d+) saved")


def complaint(speech: str) -> str:
    """A complaint of category 1: ``speech`` recorded and saved, the ticket heard."""
    return f"wait:2|dtmf:1|wait:1|dtmf:1|wait:6|play:{speech}|dtmf:#|wait:1|dtmf:3"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiProcess]:
    with fresh_api_process(tmp_path / "api.log") as process:
        yield process


@pytest.fixture
async def ivrs(cluster: Cluster, api: ApiProcess) -> AsyncIterator[list[IvrServer]]:
    """Each node's FastAGI: our IVR server with every route, its own IVR node id and
    spool (the node's), delivering to the one API."""
    servers = []
    for node, node_id in zip(cluster.nodes, IVR_NODE_IDS, strict=True):
        token = api.token(Role.ivr, name=f"e2e-ivr-node-{node_id}")
        wanted = IvrSettings(
            api_url=api.url,
            api_token=token,
            node_id=node_id,
            callback_wait_seconds=CALLBACK_WAIT_SECONDS,
        )
        ivr_node = prepare_node(node, api, wanted, carrier=cluster.carrier_sandbox)
        servers.append(IvrServer(ivr_node))
    started = []
    try:
        for server in servers:
            await server.start()
            started.append(server)
        yield servers
    finally:
        for server in started:
            await server.close()


@pytest.fixture
def collectors(
    cluster: Cluster, api: ApiProcess, tmp_path: Path
) -> Iterator[list[CollectorProcess]]:
    """One collector per node, each posting its node's events under the node's name."""
    started = []
    try:
        for index, node in enumerate(cluster.nodes):
            folder = tmp_path / node_name(index)
            folder.mkdir()
            process = CollectorProcess(node, api, folder)
            process.env["LAPOR_COLLECTOR_NODE"] = node_name(index)
            process.start()
            started.append(process)
        yield started
    finally:
        for process in started:
            process.stop()


def queue_lines(node: Sandbox) -> list[list[str]]:
    return [line.split("|") for line in node.callcenter.queue_log.read_text().splitlines()]


def entered(node: Sandbox, callers: set[str]) -> dict[str, str]:
    """caller -> uniqueid of these callers' ENTERQUEUE lines on ``node``."""
    return {
        f[6]: f[1]
        for f in queue_lines(node)
        if len(f) > 6 and f[4] == "ENTERQUEUE" and f[6] in callers
    }


def where(cluster: Cluster, caller: str) -> int | None:
    """The index of the node the caller queued on, if any yet."""
    for index, node in enumerate(cluster.nodes):
        if entered(node, {caller}):
            return index
    return None


def union_truth(cluster: Cluster, callers: set[str]) -> QueueLogTruth:
    """KPIs from both nodes' queue_logs together, over these callers' calls."""
    lines = [f for node in cluster.nodes for f in queue_lines(node)]
    ids = {uid for node in cluster.nodes for uid in entered(node, callers).values()}
    return QueueLogTruth(lines, ids)


def rx_all(cluster: Cluster, command: str) -> None:
    for node in cluster.nodes:
        if node.callcenter.is_running():
            node.callcenter.rx(command)


def ended(cluster: Cluster, callers: set[str]) -> bool:
    """Every one of these callers' queued calls has an outcome in queue_log."""
    truth = union_truth(cluster, callers)
    return truth.finished() == truth.uniqueids


def talking(truth: QueueLogTruth) -> dict[str, str]:
    """uniqueid -> officer of the calls answered and not ended."""
    return {f[1]: f[3] for f in truth.verbs("CONNECT") if f[1] not in truth.finished()}


async def call(cluster: Cluster, caller: str, script: str = TO_OFFICER, delay: float = 0) -> None:
    await asyncio.sleep(delay)
    await cluster.carrier_sandbox.place_call(LINE, caller, script)


async def batch(
    cluster: Cluster, size: int, script: str = TO_OFFICER, after: float = 0
) -> set[str]:
    """``size`` citizens calling 0.4 s apart from ``after`` s on, each running ``script``."""
    callers = [random_caller() for _ in range(size)]
    await asyncio.gather(
        *(call(cluster, c, script, after + 0.4 * i) for i, c in enumerate(callers))
    )
    return set(callers)


def in_ivr(node: Sandbox, callers: set[str]) -> dict[str, str]:
    """caller -> uniqueid of these callers' channels on ``node`` running an AGI now."""
    rows = [r.split("!") for r in node.callcenter.rx("core show channels concise").splitlines()]
    return {r[7]: r[13] for r in rows if len(r) > 13 and r[5] == "AGI" and r[7] in callers}


def recording_ticket(node: Sandbox, uniqueid: str) -> str | None:
    """The ticket of the call's complaint recording on ``node``, once recording began."""
    suffix = f"{recording_name('', uniqueid)}.wav"  # "-<call>.wav" after the ticket
    found = sorted(node.recordings_dir.glob(f"*{suffix}"))
    return found[0].name.removesuffix(suffix) if found else None


def saved_tickets(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Each ticket our IVR servers logged as saved (to the API or their outbox)."""
    return [
        match.group(1)
        for record in caplog.records
        if record.name == "agi_scripts.complaint" and (match := SAVED.match(record.getMessage()))
    ]


def node_of(uniqueid: str) -> int:
    """The index of the node whose call this is, by its ``systemname`` prefix."""
    [index] = [i for i in range(len(IVR_NODE_IDS)) if uniqueid.startswith(f"{node_name(i)}-")]
    return index


async def test_busy_officer_failover_complaints_and_kpis_over_both_nodes(
    cluster: Cluster,
    api: ApiProcess,
    ivrs: list[IvrServer],
    collectors: list[CollectorProcess],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agi_scripts.complaint")
    carrier = cluster.carrier_sandbox.carrier
    speech = ivrs[0].node.speech
    # Log the officers out and in again, so the API (through the collectors) and
    # queue_log both know when every session started.
    for agent in cluster.configs[0].agents:
        rx_all(cluster, f"queue remove member PJSIP/{agent} from {QUEUE}")
        cluster.add_member(agent)
    start = await next_second()
    placed: set[str] = set()

    # 1. Only 1001 logged in, on both nodes, on a long call from one of them.
    carrier.rx("dialplan set global AGENT_TALK_SECONDS 14")
    rx_all(cluster, f"queue remove member PJSIP/1002 from {QUEUE}")
    first = random_caller()
    placed.add(first)
    await call(cluster, first)
    await wait_until(lambda: where(cluster, first) is not None, 20, "the first call to queue")
    busy_node = where(cluster, first)
    assert busy_node is not None
    await wait_until(
        lambda: union_truth(cluster, {first}).verbs("CONNECT"), 20, "1001 to answer the first"
    )
    waiting = ""
    for _ in range(3):  # round-robin: the next call or the one after is the other node's
        caller = random_caller()
        placed.add(caller)
        await call(cluster, caller)
        await wait_until(lambda: where(cluster, caller) is not None, 20, "a call to queue")  # noqa: B023
        if where(cluster, caller) != busy_node:
            waiting = caller
            break
    assert waiting, "the edge sent no call to the other node"
    await asyncio.sleep(3)
    assert not union_truth(cluster, {first}).finished(), "the first call ended too early"
    # Not offered: no ring at all for the busy officer on the other node...
    assert union_truth(cluster, {waiting}).verbs("ENTERQUEUE")
    assert not union_truth(cluster, {waiting}).verbs("RINGNOANSWER", "CONNECT")
    carrier.rx(f"dialplan set global AGENT_TALK_SECONDS {TALK_SECONDS}")
    # ...and offered once free.
    await wait_until(
        lambda: union_truth(cluster, {waiting}).verbs("CONNECT"), 40, "1001 to take the call"
    )
    assert [f[3] for f in union_truth(cluster, {waiting}).verbs("CONNECT")] == ["petugas-1001"]
    await wait_until(lambda: ended(cluster, placed), 60, "the first calls to end")
    cluster.add_member("1002")

    # 2. A batch over both nodes, complaints first (long ones: still recording when the
    # kill comes), one node SIGKILLed mid-batch, a batch after it.
    complainers, queuers = await asyncio.gather(
        batch(cluster, COMPLAINTS_BEFORE, complaint(speech["keluhan-panjang"])),
        batch(cluster, BATCH - COMPLAINTS_BEFORE, after=4),
    )
    before = complainers | queuers
    placed |= before
    victim = cluster.nodes[1]

    def victim_busy() -> bool:
        mine = union_truth(cluster, set(entered(victim, before)))
        return bool(talking(mine)) and len(mine.verbs("ENTERQUEUE")) > len(mine.verbs("CONNECT"))

    cut_complaints: dict[str, str] = {}  # caller -> ticket of node2's complaints in the IVR

    def victim_busy_and_recording() -> bool:
        """node2 has calls answered and waiting, and each of its complaint callers has
        begun recording."""
        if not victim_busy():
            return False
        calls = in_ivr(victim, complainers)
        tickets = {c: recording_ticket(victim, uid) for c, uid in calls.items()}
        cut_complaints.clear()
        cut_complaints.update({c: t for c, t in tickets.items() if t is not None})
        return bool(calls) and len(cut_complaints) == len(calls)

    await wait_until(
        victim_busy_and_recording, 40, "node2 to have calls waiting and complaints recording"
    )
    assert entered(cluster.nodes[0], before)  # the batch is spread over both nodes
    on_victim = set(entered(victim, before))
    talking_on_victim = set(talking(union_truth(cluster, on_victim)).values())
    for pid in victim.callcenter.running_pids():
        os.kill(pid, signal.SIGKILL)
    killed_at = int(time.time())
    await wait_until(lambda: not victim.callcenter.running_pids(), 20, "node2 to die")
    # The citizens' phones of the dead node's calls hear nothing more; real ones hang up.
    for line in carrier.rx("core show channels concise").splitlines():
        fields = line.split("!")
        if len(fields) > 7 and fields[7] in on_victim | set(cut_complaints):
            carrier.rx(f"channel request hangup {fields[0]}")

    late_complainers, late_queuers = await asyncio.gather(
        batch(cluster, COMPLAINTS_AFTER, complaint(speech["keluhan"])),
        batch(cluster, BATCH - COMPLAINTS_AFTER, after=0.2),
    )
    after = late_complainers | late_queuers
    placed |= after
    survivor = cluster.nodes[0]
    await wait_until(
        lambda: all(where(cluster, c) is not None for c in after), 60, "the new calls to queue"
    )
    assert set(entered(survivor, after)) == after  # every new call on the survivor
    # The officers the dead node had on calls take the survivor's callers.
    await wait_until(
        lambda: (
            talking_on_victim
            <= {
                f[3] for f in union_truth(cluster, after).verbs("CONNECT") if int(f[0]) >= killed_at
            }
        ),
        90,
        "the dead node's officers to answer the survivor's calls",
    )

    # 3. The dead node back; every call ends; the API holds both nodes' calls once each.
    await cluster.restart_node(1)
    survivor_calls = set(entered(survivor, placed))
    await wait_until(lambda: ended(cluster, survivor_calls), 150, "the survivor's calls to end")

    def queued_ids() -> set[str]:
        return set(union_truth(cluster, placed).uniqueids)

    def all_stored() -> bool:
        """Every queued call closed in the API, with its talk time where queue_log has one
        (AgentComplete can land a batch after the call's end)."""
        with Session(api.engine) as session:
            rows = {r.linkedid: r for r in session.exec(select(Call)).all()}
        truth = union_truth(cluster, placed)
        completed = {f[1] for f in truth.verbs("COMPLETECALLER", "COMPLETEAGENT")}
        return all(
            uid in rows
            and rows[uid].ended_at is not None
            and (uid not in completed or rows[uid].talk_seconds is not None)
            for uid in truth.uniqueids
        )

    await wait_until(all_stored, 120, "every queued call to be stored and closed")
    end = await next_second()

    truth_all = union_truth(cluster, placed)
    cut = truth_all.uniqueids - truth_all.finished()
    assert cut, "the SIGKILL cut no call off"
    assert_api_equals_truth(api, truth_all, start, end, AGENTS)
    supervisor = api.token(Role.supervisor)
    with Session(api.engine) as session:
        rows = [r for r in session.exec(select(Call)).all() if r.linkedid in queued_ids()]
    # One row per queued call, under the node whose queue_log has it.
    assert sorted(r.linkedid for r in rows) == sorted(queued_ids())
    for index, node in enumerate(cluster.nodes):
        mine = set(entered(node, placed).values())
        assert {r.linkedid for r in rows if r.node == node_name(index)} == mine
        assert all(uid.startswith(f"{node_name(index)}-") for uid in mine)

    # 4. Every complaint an IVR server saved is stored once, under its node's prefix.
    saved = saved_tickets(caplog)
    complainers |= late_complainers

    def stored() -> list[dict[str, Any]]:
        return [
            item
            for caller in complainers
            for item in api_get(api, "/complaints", supervisor, caller=caller)["items"]
        ]

    await wait_until(
        lambda: {c["ticket"] for c in stored()} >= set(saved), 30, "the saved complaints"
    )
    complaints = stored()
    tickets = sorted(c["ticket"] for c in complaints)
    assert tickets == sorted(saved)  # each saved complaint stored once, and no other
    assert len(set(tickets)) == len(tickets)  # no ticket on both nodes, or twice on one
    assert set(cut_complaints.values()) <= set(tickets), "a cut-off complaint was lost"
    by_node: dict[int, list[dict[str, Any]]] = {0: [], 1: []}
    for item in complaints:
        index = node_of(item["uniqueid"])
        assert item["ticket"].startswith(str(IVR_NODE_IDS[index])), item
        by_node[index].append(item)
    assert {c["ticket"] for c in by_node[1]} == set(cut_complaints.values())
    assert {c["caller_number"] for c in by_node[0]} >= late_complainers
    assert {c["caller_number"] for c in by_node[0]} & complainers - late_complainers
    for item in by_node[0]:
        assert survivor.host_of(item["recording_path"]).stat().st_size > 8000, item
    for item in by_node[1]:  # what node2 had written of the recording when it died
        assert victim.host_of(item["recording_path"]).is_file(), item
    assert api_get(api, "/complaints/refused", supervisor) == []
