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

import contextlib
import multiprocessing
import multiprocessing.queues
import multiprocessing.synchronize
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from api.complaints.models import Complaint, ComplaintChannel
from api.core.auth import Role
from api.core.clock import utc_now
from api.ivr_nodes.service import IvrNodeLease
from api.refused.service import RefusedComplaint
from tests.conftest import temporary_postgres_database
from tests.e2e.services import ApiProcess
from tests.integration.ticket_workers import (
    CALLS_PER_PROCESS,
    LEASE_CONTENDERS,
    LEASE_NODE_IDS,
    NODES,
    PROCESSES_PER_NODE,
    SMS_GATEWAYS,
    SMS_MESSAGES,
    ivr_node_process,
    lease_contender,
    sms_gateway_process,
)

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    """One two-worker API per database for both tests (they use different node ids)."""
    folder = tmp_path_factory.mktemp(f"api-{request.param}")
    with contextlib.ExitStack() as stack:
        url = (
            f"sqlite:///{folder / 'lapor.db'}"
            if request.param == "sqlite"
            else stack.enter_context(temporary_postgres_database())
        )
        process = ApiProcess(url, folder / "api.log", {"LAPOR_API_WORKERS": "2"})
        stack.callback(process.close)
        process.start(timeout=60)  # two workers, each building the app, on a busy machine
        yield process


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
            session.exec(
                update(IvrNodeLease)
                .where(col(IvrNodeLease.node_id).in_(LEASE_NODE_IDS))
                .values(expires_at=utc_now() - timedelta(seconds=1))
            )
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
    """The holder of each of the race's node ids."""
    with Session(api.engine) as session:
        rows = session.exec(
            select(IvrNodeLease).where(col(IvrNodeLease.node_id).in_(LEASE_NODE_IDS))
        ).all()
    return {row.node_id: row.holder for row in rows}
