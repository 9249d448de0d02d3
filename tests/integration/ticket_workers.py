"""The processes of test_tickets_across_nodes.py: an IVR node's process, an SMS gateway,
a contender for node ids. Their own module, importing only what an IVR server imports,
so that each spawned process starts in a fraction of a second."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing.queues
import multiprocessing.synchronize
from pathlib import Path
from typing import Any

import httpx

from agi_scripts.services import Services
from ivr.lapor_api import LaporApi
from ivr.node_lease import NodeIdInUse, NodeLease
from ivr.outbox import now_iso
from ivr.settings import IvrSettings
from ivr.tickets import TicketIssuer

# Node id -> its Asterisk's systemname (call ids look like node1-1795890000.12).
NODES = {21: "node1", 22: "node2", 23: "node3"}
PROCESSES_PER_NODE = 2
CALLS_PER_PROCESS = 20
SMS_GATEWAYS = 2
SMS_MESSAGES = 15
LEASE_CONTENDERS = 4
LEASE_NODE_IDS = range(40, 50)


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
                "taken_at": now_iso(),
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
