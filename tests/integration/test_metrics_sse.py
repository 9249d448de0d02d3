"""``lapor_api_sse_clients`` counts the live streams open now, over real HTTP."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import REGISTRY

from tests.integration.test_live_bus import TIMEOUT, Server, server, sse_events

__all__ = ["server"]  # the fixture, used here


def clients() -> float:
    found = REGISTRY.get_sample_value("lapor_api_sse_clients")
    assert found is not None
    return found


async def test_an_open_stream_is_counted_until_it_closes(server: Server) -> None:
    before = clients()
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client,
        client.stream("GET", "/test/events") as response,
    ):
        stream = sse_events(response)
        assert (await anext(stream))["retry"] == "2000"  # the stream is open
        assert clients() - before == 1
    async with asyncio.timeout(TIMEOUT):  # until the server notices the client has gone
        while True:
            if clients() == before:
                break
            await asyncio.sleep(0.05)
