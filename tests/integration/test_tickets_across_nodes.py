"""Tickets stay unique across IVR nodes and the SMS path, under real concurrency.

One ``lapor-api`` with two worker processes (two API replicas on one database) on SQLite
and on PostgreSQL. Separate processes hammer it at once, each released by one barrier:

- three IVR nodes, each with its own spool and node id and *two* processes on that spool
  (a node's FastAGI server and its classic AGI scripts share one counter), each claiming
  the node's lease, issuing tickets and delivering complaints through the outbox exactly
  as a call does (``agi_scripts/services.py``);
- two SMS gateways posting the same SMS at once (a gateway's retry reaching the other
  replica), so the API's own ticket counter is raced too.

And a lease race: contenders with their own spools PUT the same node ids at once, on
free ids and on lapsed leases: exactly one wins each id.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.queues
import multiprocessing.synchronize
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from agi_scripts.services import Services
from api.complaints.models import Complaint, ComplaintChannel
from api.core.auth import Role
from api.core.clock import utc_now
from api.ivr_nodes.service import IvrNodeLease
from api.refused.service import RefusedComplaint
from ivr.lapor_api import LaporApi
from ivr.node_lease import NodeIdInUse, NodeLease
from ivr.settings import IvrSettings
from ivr.tickets import TicketIssuer
from tests.e2e.services import ApiProcess, started

# Node id -> its Asterisk's systemname (call ids look like node1-1795890000.12).
NODES = {21: "node1", 22: "node2", 23: "node3"}
PROCESSES_PER_NODE = 2
CALLS_PER_PROCESS = 20
SMS_GATEWAYS = 2
SMS_MESSAGES = 15
LEASE_CONTENDERS = 4
LEASE_NODE_IDS = range(40, 50)
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiProcess]:
    process = ApiProcess(database_url, tmp_path / "api.log", {"LAPOR_API_WORKERS": "2"})
    with started(process):
        yield process


def ivr_node_process(
    api_url: str,
    token: str,
    spool: str,
    node_id: int,
    worker: int,
    start: multiprocessing.synchronize.Barrier,
    results: multiprocessing.queues.Queue[Any],
) -> None:
    """One IVR process on a node's spool: claim the lease, then take calls."""
    settings = IvrSettings(
        api_url=api_url, api_token=token, spool_dir=Path(spool), node_id=node_id, api_timeout=30
    )

    async def calls() -> list[tuple[str, str, bool]]:
        services = Services.from_settings(settings)
        lease = NodeLease(services.api, services.tickets, settings.spool_dir, ttl=60)
        await lease.claim()
        await asyncio.to_thread(start.wait)
        taken = []
        for n in range(CALLS_PER_PROCESS):
            ticket = await services.issue_ticket()
            uniqueid = f"{NODES[node_id]}-{1795890000 + n}.{worker * 1000 + n}"
            payload = {
                "ticket": ticket,
                "category": "infrastruktur",
                "caller_number": f"0812{node_id:02d}{worker}{n:05d}",
                "line": "082282204761",
                "recording_path": None,
                "uniqueid": uniqueid,
                "taken_at": utc_now().isoformat(),
            }
            taken.append((ticket, uniqueid, await services.submit("complaint", ticket, payload)))
        await services.aclose()
        return taken

    results.put(("ivr", node_id, asyncio.run(calls())))


def sms_gateway_process(
    api_url: str,
    token: str,
    start: multiprocessing.synchronize.Barrier,
    results: multiprocessing.queues.Queue[Any],
) -> None:
    """An SMS gateway posting the same SMS as the other one (each a retransmission)."""
    headers = {"Authorization": f"Bearer {token}"}
    tickets = []
    with httpx.Client(base_url=api_url, headers=headers, timeout=60) as client:
        start.wait()
        for n in range(SMS_MESSAGES):
            text = f"lapor 1 jalan berlubang di gang {n}"
            response = client.post("/sms/inbound", json={"number": f"0813{n:08d}", "text": text})
            response.raise_for_status()
            tickets.append((f"0813{n:08d}", response.json()["ticket"]))
    results.put(("sms", 0, tickets))


def test_ivr_nodes_and_the_sms_path_never_issue_a_ticket_twice(
    api: ApiProcess, tmp_path: Path
) -> None:
    token = api.token(Role.ivr)
    gateway = api.token(Role.gateway)
    parties = len(NODES) * PROCESSES_PER_NODE + SMS_GATEWAYS
    start = SPAWN.Barrier(parties, timeout=120)
    results: multiprocessing.queues.Queue[Any] = SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=ivr_node_process,
            args=(api.url, token, str(tmp_path / f"spool-{node}"), node, worker, start, results),
        )
        for node in NODES
        for worker in range(PROCESSES_PER_NODE)
    ] + [
        SPAWN.Process(target=sms_gateway_process, args=(api.url, gateway, start, results))
        for _ in range(SMS_GATEWAYS)
    ]
    for process in processes:
        process.start()
    answers = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0

    issued = [call for kind, _, calls in answers if kind == "ivr" for call in calls]
    tickets = [ticket for ticket, _, _ in issued]
    assert len(tickets) == len(NODES) * PROCESSES_PER_NODE * CALLS_PER_PROCESS
    assert len(set(tickets)) == len(tickets)
    assert all(delivered for _, _, delivered in issued)
    # Each node's processes shared one counter: its sequences are 1..N, none twice, no gap.
    by_node: dict[str, list[int]] = defaultdict(list)
    for ticket in tickets:
        by_node[ticket[:2]].append(int(ticket[2:]))
    calls_per_node = PROCESSES_PER_NODE * CALLS_PER_PROCESS
    assert {node: sorted(seq) for node, seq in by_node.items()} == {
        f"{node}": list(range(1, calls_per_node + 1)) for node in NODES
    }
    # Both gateways got the same ticket for the same SMS; the API's counter has no gap.
    sms = [sent for kind, _, sent in answers if kind == "sms"]
    assert sms[0] == sms[1]
    assert sorted(t for _, t in sms[0]) == [f"90{n:06d}" for n in range(1, SMS_MESSAGES + 1)]

    with Session(api.engine) as session:
        stored = session.exec(select(Complaint)).all()
        refused = session.exec(select(RefusedComplaint)).all()
    assert refused == []
    assert Counter(c.ticket for c in stored) == Counter(tickets + [t for _, t in sms[0]])
    phone = {c.ticket: c.uniqueid for c in stored if c.channel is ComplaintChannel.phone}
    assert phone == {ticket: uniqueid for ticket, uniqueid, _ in issued}
    for node in NODES:
        spool = tmp_path / f"spool-{node}"
        assert list((spool / "outbox").glob("*.json")) == []
        assert not (spool / "rejected").exists()


def lease_contender(
    api_url: str,
    token: str,
    spool: str,
    rounds: multiprocessing.synchronize.Barrier,
    phase_gate: multiprocessing.synchronize.Barrier,
    results: multiprocessing.queues.Queue[Any],
) -> None:
    """Claim every node id of ``LEASE_NODE_IDS`` at the same moment as the other
    contenders, twice: on free ids, then (after the test let every lease lapse) again."""

    async def contend() -> list[tuple[str, int, bool]]:
        api = LaporApi(api_url, token, timeout=60)
        outcomes = []
        for phase in ("free", "lapsed"):
            for node_id in LEASE_NODE_IDS:
                lease = NodeLease(api, TicketIssuer(Path(spool), node_id), Path(spool), ttl=60)
                await asyncio.to_thread(rounds.wait)
                with contextlib.suppress(NodeIdInUse):
                    await lease.claim()
                outcomes.append((phase, node_id, lease.held))
            await asyncio.to_thread(phase_gate.wait)  # the test lets the leases lapse now
            await asyncio.to_thread(phase_gate.wait)
        await api.aclose()
        return outcomes

    outcomes = asyncio.run(contend())
    results.put((spool, outcomes))


def test_spools_racing_for_one_node_id_leave_exactly_one_holder(
    api: ApiProcess, tmp_path: Path
) -> None:
    token = api.token(Role.ivr)
    # The contenders wait for each other before every claim; the test joins the barrier
    # between the phases, when it ages every lease past its expiry.
    rounds = SPAWN.Barrier(LEASE_CONTENDERS, timeout=120)
    phase_gate = SPAWN.Barrier(LEASE_CONTENDERS + 1, timeout=300)
    results: multiprocessing.queues.Queue[Any] = SPAWN.Queue()
    spools = [tmp_path / f"spool-{n}" for n in range(LEASE_CONTENDERS)]
    processes = [
        SPAWN.Process(
            target=lease_contender,
            args=(api.url, token, str(spool), rounds, phase_gate, results),
        )
        for spool in spools
    ]
    for process in processes:
        process.start()
    holders: dict[str, dict[int, str]] = {}
    for phase in ("free", "lapsed"):
        phase_gate.wait()  # every contender has claimed every id in this phase
        holders[phase] = leases(api)
        with Session(api.engine) as session:
            session.exec(update(IvrNodeLease).values(expires_at=utc_now() - timedelta(seconds=1)))
            session.commit()
        phase_gate.wait()
    answers = dict(results.get(timeout=300) for _ in processes)
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0

    identities = {str(spool): (spool / "node-identity").read_text().strip() for spool in spools}
    for phase in ("free", "lapsed"):
        winners: dict[int, list[str]] = defaultdict(list)
        for spool, outcomes in answers.items():
            for at, node_id, held in outcomes:
                if at == phase and held:
                    winners[node_id].append(identities[spool])
        assert {node: len(w) for node, w in winners.items()} == dict.fromkeys(LEASE_NODE_IDS, 1)
        assert {node: w[0] for node, w in winners.items()} == holders[phase]
    # Lapsed leases changed hands only by a claim that won; a lapsed holder may win again.
    assert set(holders["lapsed"]) == set(LEASE_NODE_IDS)


def leases(api: ApiProcess) -> dict[int, str]:
    with Session(api.engine) as session:
        rows = session.exec(select(IvrNodeLease).order_by(col(IvrNodeLease.node_id))).all()
    return {row.node_id: row.holder for row in rows}
