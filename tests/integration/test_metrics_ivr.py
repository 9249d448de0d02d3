"""``lapor-ivr``'s probe listener: /metrics moving with real FastAGI sessions (a fake
Asterisk peer), liveness, readiness from the outbox bound, and a port scanner's junk."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time

import httpx

from tests.e2e.services import free_port
from tests.integration.agi_peer import AGIPeer
from tests.integration.test_fastagi_limits import StartIvr, greet_session, start_ivr
from tests.metrics_text import Samples, parse, value

__all__ = ["start_ivr"]  # the fixture, used here


async def get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        return await client.get(path)


async def scrape(port: int) -> Samples:
    response = await get(port, "/metrics")
    assert response.status_code == 200
    return parse(response.text)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_sessions_greeting_and_refusals_are_counted(start_ivr: StartIvr) -> None:
    port = free_port()
    ivr = await start_ivr(LAPOR_IVR_METRICS_PORT=str(port))
    assert (await get(port, "/health/live")).status_code == 200
    before = await scrape(port)
    for _ in range(3):
        assert (await greet_session(ivr.port))[:1] == ["ANSWER"]
    await greet_session(ivr.port, "no-such-script")
    peer = await AGIPeer.connect(ivr.port)  # a stranger's junk instead of headers
    with contextlib.suppress(ConnectionError):
        await peer.write(b"GET / HTTP/1.0\r\n" + b"x" * 20_000 + b"\n")
    await peer.close()
    refused = "lapor_ivr_agi_refused_total"
    for _ in range(300):  # the server counts it once it has closed the session
        after = await scrape(port)
        if moved(before, after, refused, reason="rejected") >= 2:
            break
        await asyncio.sleep(0.1)
    sessions = "lapor_ivr_agi_sessions_total"
    assert moved(before, after, sessions, route="greet", outcome="handled") == 3
    assert moved(before, after, sessions, route="greet", outcome="failed") == 0
    assert moved(before, after, refused, reason="rejected") == 2
    assert moved(before, after, "lapor_ivr_greeting_latency_seconds_count") == 3
    assert value(after, "lapor_ivr_agi_sessions_active") == 0
    # The script's name a peer sends never becomes a label of its own.
    assert not any("no-such-script" in str(labels) for _, labels in after)


async def test_ready_while_the_outbox_is_under_its_bound(start_ivr: StartIvr) -> None:
    port = free_port()
    ivr = await start_ivr(LAPOR_IVR_METRICS_PORT=str(port), LAPOR_IVR_READY_OUTBOX_MAX="2")
    # No API here (port 9): readiness rests on the outbox alone.
    assert (await get(port, "/health/ready")).status_code == 200
    outbox = ivr.spool / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    for key in ("9800001", "9800002"):
        record = {"kind": "callback", "key": key, "payload": {"number": "0811"}}
        (outbox / f"callback-{key}.json").write_text(json.dumps(record))
    an_hour_ago = time.time() - 3600
    os.utime(outbox / "callback-9800001.json", (an_hour_ago, an_hour_ago))
    not_ready = await get(port, "/health/ready")
    assert not_ready.status_code == 503
    assert "2 records in the outbox" in not_ready.text
    samples = await scrape(port)
    assert value(samples, "lapor_ivr_outbox_depth") == 2
    assert value(samples, "lapor_ivr_outbox_oldest_age_seconds") >= 3600
    assert value(samples, "lapor_ivr_api_requests_total", outcome="unavailable") >= 1
    (outbox / "callback-9800002.json").unlink()
    assert (await get(port, "/health/ready")).status_code == 200
    assert (await get(port, "/health/live")).status_code == 200


async def test_a_port_scanner_gets_nothing_and_hurts_nothing(start_ivr: StartIvr) -> None:
    port = free_port()
    ivr = await start_ivr(LAPOR_IVR_METRICS_PORT=str(port))
    junk = [
        b"\x16\x03\x01\x02\x00" + b"\x00" * 500 + b"\n",  # a TLS hello
        b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n",  # an oversized request line
        b"POST /metrics HTTP/1.1\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 100 + b"\r\n",  # too many headers
        b"",  # connect and say nothing
    ]
    answers = []
    for data in junk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(data)
        writer.write_eof()
        answers.append(await asyncio.wait_for(reader.read(), 30))
        writer.close()
    assert answers[2].startswith(b"HTTP/1.1 405 ")
    assert [a for i, a in enumerate(answers) if i != 2] == [b"", b"", b"", b""]
    assert (await get(port, "/health/live")).status_code == 200
    assert (await greet_session(ivr.port))[:1] == ["ANSWER"]
    assert (await get(port, "/nothing")).status_code == 404
