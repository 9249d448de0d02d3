"""FastAGI servers started in-process on free ports, for tests that play Asterisk against them.

Each server's call outcomes queue up for the test; ``close`` ends every fake peer and
server the test started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from ivr import CallOutcome, FastAGIServer, Handler
from ivr.access import PeerAccess
from ivr.fastagi import FastAGILimits
from tests.integration.agi_peer import AGIPeer


@dataclass
class RunningServer:
    server: FastAGIServer
    outcome_timeout: float
    outcomes: asyncio.Queue[CallOutcome] = field(default_factory=asyncio.Queue)
    peers: list[AGIPeer] = field(default_factory=list)

    async def connect(self) -> AGIPeer:
        peer = await AGIPeer.connect(self.server.bound_port)
        self.peers.append(peer)
        return peer

    async def next_outcome(self) -> CallOutcome:
        return await asyncio.wait_for(self.outcomes.get(), self.outcome_timeout)


class AGIServers:
    """Starts FastAGI servers for one test (``next_outcome`` waits ``outcome_timeout`` s)."""

    def __init__(self, outcome_timeout: float) -> None:
        self.outcome_timeout = outcome_timeout
        self.started: list[RunningServer] = []

    async def start(
        self,
        routes: Mapping[str, Handler],
        limits: FastAGILimits | None = None,
        access: PeerAccess | None = None,
    ) -> RunningServer:
        outcomes: asyncio.Queue[CallOutcome] = asyncio.Queue()
        server = FastAGIServer(
            routes, port=0, limits=limits, access=access, on_call_end=outcomes.put_nowait
        )
        running = RunningServer(server, self.outcome_timeout, outcomes)
        self.started.append(running)
        await server.start()
        return running

    async def close(self) -> None:
        for running in self.started:
            for peer in running.peers:
                await peer.close()
            await running.server.close(grace=1.0)
