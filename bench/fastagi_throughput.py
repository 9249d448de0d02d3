"""FastAGI server throughput: N concurrent fake-Asterisk calls against ``lapor-ivr``'s server.

The server runs in its own process (as in production) with a handler shaped like a short
IVR turn: ANSWER, STREAM FILE, GET DATA, two SET VARIABLEs. The client plays Asterisk
over loopback TCP and answers every command at once, so the figures are the Python
side's own cost per call, not audio time.

    make bench    # or: .venv/bin/python -m bench.fastagi_throughput --calls 5000 --concurrency 200
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import time
from multiprocessing.connection import Connection
from pathlib import Path

from ivr import Channel, FastAGIServer
from ivr.fastagi import FastAGILimits
from tests.integration.agi_peer import AGIPeer


async def ivr_turn(channel: Channel) -> None:
    await channel.answer()
    await channel.stream_file("lapor/selamat-datang", "0123456789")
    await channel.get_data("lapor/menu-utama", 3000, 1)
    await channel.set_variable("LAPOR_CHOICE", "1")


def serve(ready: Connection) -> None:
    async def main() -> None:
        # No session cap in the way: this measures the server's own cost per call.
        server = FastAGIServer(
            {"turn": ivr_turn}, port=0, limits=FastAGILimits(max_sessions=100_000)
        )
        await server.start()
        ready.send(server.bound_port)
        await asyncio.Event().wait()

    asyncio.run(main())


async def one_call(port: int, index: int) -> float:
    started = time.perf_counter()
    peer = await AGIPeer.connect(port)
    try:
        await peer.send_headers("turn", uniqueid=f"1700000000.{index}")
        await peer.answer_until_closed("200 result=49")
    finally:
        await peer.close()
    return time.perf_counter() - started


async def run(port: int, calls: int, concurrency: int) -> list[float]:
    gate = asyncio.Semaphore(concurrency)

    async def gated(index: int) -> float:
        async with gate:
            return await one_call(port, index)

    return await asyncio.gather(*(gated(i) for i in range(calls)))


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(send,), daemon=True)
    server.start()
    try:
        port = receive.recv()
        started = time.perf_counter()
        latencies = sorted(asyncio.run(run(port, args.calls, args.concurrency)))
        elapsed = time.perf_counter() - started
        assert server.pid is not None
        rss = peak_rss_mib(server.pid)
    finally:
        server.terminate()
        server.join()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"calls: {args.calls} at concurrency {args.concurrency} (cpus: {os.cpu_count()})")
    print(f"throughput: {args.calls / elapsed:.0f} calls/s over {elapsed:.2f} s")
    print(
        f"latency per call: p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )
    print(f"server peak RSS: {rss:.1f} MiB")


if __name__ == "__main__":
    main()
