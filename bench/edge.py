"""The SIP edge's cost: the same SIPp call load against one node directly, and against
two nodes behind Kamailio (sandbox/cluster.py, edge/kamailio.cfg).

Each call: INVITE, answered by the node's IVR (a stand-in FastAGI handler that answers),
then the queue; SIPp hangs up after ``--hold`` seconds. One run brings the two-node
cluster up, stops the carrier (SIPp takes its trunk address), then:

  direct  Kamailio stopped, SIPp calls node 1 from the edge's own address (the trunk the
          node knows), so node 1 serves every call;
  edge    Kamailio started again, SIPp calls it from the carrier's address, and the
          dispatcher spreads the calls over both nodes.

It prints, per mode: completed and failed calls, INVITE→200 OK time (mean, p50, p95, from
SIPp's ``-trace_rtt``), and CPU milliseconds per call of the Asterisk nodes and of
Kamailio (from /proc). The edge's overhead per call is the difference in INVITE→200 time
and Kamailio's CPU per call.

    .venv/bin/python -m bench.edge --calls 600 --rate 30 --hold 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.sipp_scenario import scenario
from ivr import Channel, FastAGIServer
from sandbox.cluster import Cluster
from sandbox.config import SandboxConfig

LINE = "082282204761"
CLK_TCK = os.sysconf("SC_CLK_TCK")

SCENARIO = scenario(
    "lapor edge",
    """  <pause milliseconds="{hold_ms}"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[routes]
From: "Warga" <sip:08[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: sip:08[call_number]@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
</scenario>
""",
)


async def answer(channel: Channel) -> None:
    """The stand-in IVR: answer, then on to the queue."""
    await channel.answer()


def serve_ivr(cluster: Cluster, stop: threading.Event) -> None:
    """Every node's FastAGI port served by ``answer`` until ``stop`` is set."""

    async def run() -> None:
        servers = [
            FastAGIServer(
                {"greet": answer, "call": answer},
                host=node.config.agi_host,
                port=node.config.agi_port,
            )
            for node in cluster.nodes
        ]
        for server in servers:
            await server.start()
        await asyncio.to_thread(stop.wait)
        for server in servers:
            await server.close()

    asyncio.run(run())


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK_TCK


@dataclass
class Result:
    mode: str
    completed: int
    failed: int
    rtd_ms: list[float]
    asterisk_cpu: float
    kamailio_cpu: float

    def row(self) -> str:
        calls = max(self.completed, 1)
        rtd = self.rtd_ms or [float("nan")]
        p95 = sorted(rtd)[min(len(rtd) - 1, round(0.95 * (len(rtd) - 1)))]
        return (
            f"| {self.mode} | {self.completed} | {self.failed} | "
            f"{statistics.fmean(rtd):.1f} / {statistics.median(rtd):.1f} / {p95:.1f} ms | "
            f"{1000 * self.asterisk_cpu / calls:.1f} ms | "
            f"{1000 * self.kamailio_cpu / calls:.2f} ms |"
        )


def sipp_counts(stat_file: Path) -> tuple[int, int]:
    lines = [line.split(";") for line in stat_file.read_text().splitlines() if line]
    header, last = lines[0], lines[-1]
    return int(last[header.index("SuccessfulCall(C)")]), int(last[header.index("FailedCall(C)")])


def response_times(workdir: Path) -> list[float]:
    """SIPp's -trace_rtt values (ms), one per answered call."""
    values = []
    for path in workdir.glob("*_rtt.csv"):
        for line in path.read_text().splitlines()[1:]:
            fields = line.split(";")
            if len(fields) > 1 and fields[1]:
                values.append(float(fields[1]))
        path.unlink()
    return values


def run_sipp(
    workdir: Path, mode: str, target: int, source: int, media: int, args: argparse.Namespace
) -> tuple[int, int, list[float]]:
    scenario = workdir / "edge.xml"
    scenario.write_text(SCENARIO.format(hold_ms=int(args.hold * 1000)))
    stats = workdir / f"sipp-{mode}.csv"
    command = [
        "sipp",
        *("-sf", str(scenario), "-s", LINE, f"127.0.0.1:{target}"),
        *("-i", "127.0.0.1", "-p", str(source)),
        *("-mi", "127.0.0.1", "-mp", str(media)),
        *("-r", str(args.rate), "-l", str(args.concurrency), "-m", str(args.calls)),
        *("-trace_stat", "-stf", str(stats), "-fd", "1", "-trace_rtt", "-rtt_freq", "1"),
        *("-trace_err", "-error_file", str(workdir / f"sipp-{mode}-errors.log")),
        *("-nostdin", "-timeout", "600s", "-timeout_error"),
    ]
    subprocess.run(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    completed, failed = sipp_counts(stats)
    return completed, failed, response_times(workdir)


def measure(
    cluster: Cluster, workdir: Path, mode: str, target: int, source: int, args: argparse.Namespace
) -> Result:
    nodes = [pid for node in cluster.nodes for pid in node.callcenter.running_pids()]
    kamailio = cluster.edge.running_pids()
    ast_before, kam_before = cpu_seconds(nodes), cpu_seconds(kamailio)
    media = cluster.configs[0].sip_port + 1000
    completed, failed, rtd = run_sipp(workdir, mode, target, source, media, args)
    return Result(
        mode,
        completed,
        failed,
        rtd,
        cpu_seconds(nodes) - ast_before,
        cpu_seconds(kamailio) - kam_before,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--rate", type=float, default=30, help="new calls per second")
    parser.add_argument("--concurrency", type=int, default=300)
    parser.add_argument("--hold", type=float, default=3, help="seconds SIPp stays on a call")
    args = parser.parse_args()
    first = SandboxConfig.from_env().slot
    cluster = Cluster([first, first + 1])
    workdir = Path(tempfile.mkdtemp(prefix="lapor-bench-edge-"))
    stop = threading.Event()
    ivr = threading.Thread(target=serve_ivr, args=(cluster, stop), daemon=True)
    results = []
    started = time.monotonic()
    try:
        asyncio.run(cluster.up(login_agents=False))
        cluster.carrier_sandbox.carrier.stop()  # SIPp takes its trunk address
        ivr.start()
        c = cluster.configs[0]
        cluster.edge.stop()  # direct: SIPp is the trunk node 1 knows (the edge's address)
        results.append(measure(cluster, workdir, "direct", c.sip_port, cluster.edge_port, args))
        print(results[-1].row(), flush=True)
        cluster.edge.start()
        asyncio.run(cluster.edge.wait_ready(c.ready_timeout))
        time.sleep(2)  # the dispatcher's first probes mark the nodes up
        results.append(
            measure(cluster, workdir, "edge", cluster.edge_port, c.carrier_sip_port, args)
        )
        print(results[-1].row(), flush=True)
    finally:
        stop.set()
        cluster.down()
    direct, edge = results
    print(
        f"\n{args.calls} calls at {args.rate}/s, each held {args.hold} s; "
        f"run took {time.monotonic() - started:.0f} s; SIPp's files in {workdir}\n"
    )
    print(
        "| mode | completed | failed | INVITE→200 mean / p50 / p95 "
        "| Asterisk CPU/call (all nodes) | Kamailio CPU/call |"
    )
    print("|---|---|---|---|---|---|")
    for result in results:
        print(result.row())
    if direct.rtd_ms and edge.rtd_ms:
        extra = statistics.fmean(edge.rtd_ms) - statistics.fmean(direct.rtd_ms)
        kam = 1000 * edge.kamailio_cpu / max(edge.completed, 1)
        print(f"\nedge overhead per call: {extra:+.1f} ms INVITE→200, {kam:.2f} ms Kamailio CPU")


if __name__ == "__main__":
    main()
