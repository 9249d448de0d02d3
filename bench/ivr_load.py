"""IVR under load: N concurrent SIPp calls through the whole citizen flow, three ways.

Each call: greeting, 1 (new complaint), 1 (category), a 5 s recording from G.711 audio,
#, 3 (save), the ticket read back twice, the queue, an officer (a Local channel that
answers, talks 2 s and hangs up). The call center hangs up; SIPp counts the call as
completed when it receives that BYE.

Modes, in one run on the same sandbox:
  fastagi  our FastAGI server (``lapor-ivr``, its own process) with the API on SQLite
  classic  the same handlers as classic pyst2 AGI, one Python process per call
  twin     a dialplan-only twin of the flow (Read/Record/Playback), Asterisk's own limit

SIPp is the load generator (Debian ``sip-tester``), not the carrier instance, so the
call center gets the machine's two cores to itself. It prints completed and failed
calls, calls per second, answer-to-greeting p50/p95 (from Asterisk's own log: AGI start
or Answer, to "Playing lapor/selamat-datang"), CPU seconds per call of Asterisk and of
the IVR (the FastAGI server process, or the classic AGI children), and the server's RSS.

    .venv/bin/python -m bench.ivr_load --calls 200 --concurrency 200 --rate 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from bench.sipp_scenario import scenario
from ivr.settings import IvrSettings
from sandbox.config import SandboxConfig
from sandbox.harness import QUEUE, Sandbox
from sandbox.ivr_node import give_to_asterisk, prepare_ivr_node

BIN = Path(sys.executable).parent
PCAPS = Path("/usr/share/sip-tester")
LINE = "082282204761"
TWIN_LINE = "0800000000"
OFFICERS = 60
CLK_TCK = os.sysconf("SC_CLK_TCK")

BENCH_DIALPLAN = """; Added by bench/ivr_load.py at run time; never part of the product's config.
[bench-officer]
exten => _X.,1,Answer()
 same => n,Wait(2)
 same => n,Hangup()

[from-trunk](+)
exten => {twin_line},1,Set(__LAPOR_LINE=${{EXTEN}})
 same => n,Goto(bench-twin,s,1)

; The main path of agi_scripts/call.py in dialplan only.
[bench-twin]
exten => s,1,Answer()
 same => n,Set(CHANNEL(language)=id)
 same => n,Read(key,lapor/selamat-datang&lapor/menu-utama,1,,1,5)
 same => n,Read(category,lapor/menu-kategori,1,,1,5)
 same => n,Playback(lapor/rekam-instruksi)
 same => n,Record(${{RECORDING_DIR}}/twin-${{UNIQUEID}}.wav,6,180,k)
 same => n,Read(save,lapor/rekam-pilihan,1,,1,5)
 same => n,Set(__LAPOR_TICKET=${{CUT(UNIQUEID,.,2)}})
 same => n,Playback({readback})
 same => n,Playback(lapor/ke-petugas)
 same => n,Queue({queue},t)
 same => n,Hangup()
"""

SCENARIO = scenario(
    "lapor citizen",
    """  {steps}
  <recv request="BYE" timeout="{bye_timeout_ms}"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
]]></send>
</scenario>
""",
)


def play(pcap: str) -> str:
    return f'<nop><action><exec play_pcap_audio="{PCAPS / pcap}"/></action></nop>'


def pause(ms: int) -> str:
    return f'<pause milliseconds="{ms}"/>'


# Audio from the start, as a phone sends it (Asterisk's Answer waits up to 500 ms for the
# caller's first frame); 1 at 2 s; category 2; the record prompt (4.6 s) and beep; 5 s of
# speech; #; 3. Each SIPp capture has a fixed RTP timestamp, and Asterisk drops an
# RFC 4733 event whose timestamp is not newer than the last one, so digits go in
# timestamp order and the final 3 is a copy of SIPp's capture moved later in time.
STEPS = [
    play("g711a.pcap"),
    pause(2000),
    play("dtmf_2833_1.pcap"),
    pause(1500),
    play("dtmf_2833_2.pcap"),
    pause(6500),
    play("g711a.pcap"),
    pause(5000),
    play("dtmf_2833_pound.pcap"),
    pause(1500),
    '<nop><action><exec play_pcap_audio="dtmf_3_late.pcap"/></action></nop>',
]


def late_dtmf_copy(source: Path, target: Path, shift: int = 200_000) -> None:
    """Copy an RFC 4733 capture with RTP sequence and timestamp moved ``shift`` later."""
    data = bytearray(source.read_bytes())
    offset = 24  # pcap global header
    while offset < len(data):
        length = int.from_bytes(data[offset + 8 : offset + 12], "little")
        rtp = offset + 16 + 42  # record header, Ethernet + IPv4 + UDP headers
        seq = int.from_bytes(data[rtp + 2 : rtp + 4], "big")
        stamp = int.from_bytes(data[rtp + 4 : rtp + 8], "big")
        data[rtp + 2 : rtp + 4] = ((seq + shift) % 65536).to_bytes(2, "big")
        data[rtp + 4 : rtp + 8] = ((stamp + shift) % 2**32).to_bytes(4, "big")
        data[offset + 16 + 40 : offset + 16 + 42] = b"\0\0"  # UDP checksum: none
        offset += 16 + length
    target.write_bytes(data)


@dataclass
class ModeResult:
    mode: str
    completed: int
    failed: int
    seconds: float
    greet_ms: list[float]
    asterisk_cpu: float
    ivr_cpu: float
    ivr_rss_mib: float | None

    def row(self) -> str:
        per_call = max(self.completed, 1)
        p50 = statistics.median(self.greet_ms) if self.greet_ms else float("nan")
        p95 = _percentile(self.greet_ms, 95)
        rss = f"{self.ivr_rss_mib:.1f} MiB" if self.ivr_rss_mib is not None else "-"
        return (
            f"| {self.mode} | {self.completed} | {self.failed} | "
            f"{self.completed / self.seconds:.2f} | {p50:.0f} / {p95:.0f} ms | "
            f"{1000 * self.asterisk_cpu / per_call:.0f} ms | "
            f"{1000 * self.ivr_cpu / per_call:.1f} ms | {rss} |"
        )


def _percentile(values: list[float], pct: int) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def cpu_seconds(pid: int, children: bool = False) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime are fields 14-17 (1-based), i.e. 11-14 after ")".
    ticks = int(fields[13]) + int(fields[14]) if children else int(fields[11]) + int(fields[12])
    return ticks / CLK_TCK


def peak_rss_mib(pid: int) -> float:
    match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else float("nan")


_LOG_LINE = re.compile(r"^\[(\S+ \S+)\] VERBOSE\[\d+\]\[(C-[0-9a-f]+)\] (.*)$")


def greeting_latencies(log: Path, since: str) -> list[float]:
    """Per call: ms from AGI()/Answer() in [ivr]/[bench-twin] to the greeting's playback."""
    starts: dict[str, datetime] = {}
    latencies = []
    for line in log.read_text(errors="replace").splitlines():
        match = _LOG_LINE.match(line)
        if match is None or match.group(1) < since:
            continue
        stamp, call, text = match.groups()
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f")
        if _is_call_start(text):
            starts.setdefault(call, at)
        elif "Playing 'lapor/selamat-datang" in text and call in starts:
            latencies.append((at - starts.pop(call)).total_seconds() * 1000)
    return latencies


def _is_call_start(text: str) -> bool:
    # FastAGI scripts run in the [fastagi] subroutine, classic ones straight from [ivr].
    in_ivr = "Executing [s@ivr:" in text or "Executing [s@fastagi:" in text
    ivr_agi = in_ivr and " AGI(" in text and "callback" not in text and "survey" not in text
    return ivr_agi or "Executing [s@bench-twin:1] Answer(" in text


def sipp_counts(stat_file: Path) -> tuple[int, int]:
    lines = [line.split(";") for line in stat_file.read_text().splitlines() if line]
    header, last = lines[0], lines[-1]
    return int(last[header.index("SuccessfulCall(C)")]), int(last[header.index("FailedCall(C)")])


def asterisk_pid(sandbox: Sandbox) -> int:
    pids = sandbox.callcenter.running_pids()
    if not pids:
        raise RuntimeError("the call-center Asterisk is not running")
    return pids[0]


def install_bench_dialplan(sandbox: Sandbox) -> None:
    ticket = "&".join(f"lapor/angka-{d}" for d in "12345678")
    readback = f"lapor/tiket-anda&{ticket}&lapor/tiket-ulangi&{ticket}"
    conf = sandbox.callcenter.host("etc") / "bench-ivr-load.conf"
    conf.write_text(BENCH_DIALPLAN.format(twin_line=TWIN_LINE, readback=readback, queue=QUEUE))
    give_to_asterisk(sandbox, conf)
    extensions = sandbox.callcenter.host("etc") / "extensions.conf"
    if "bench-ivr-load.conf" not in extensions.read_text():
        with extensions.open("a") as file:
            file.write('\n#include "bench-ivr-load.conf"\n')
    sandbox.callcenter.rx("dialplan reload")
    for i in range(OFFICERS):
        sandbox.callcenter.rx(
            f"queue add member Local/{1000 + i}@bench-officer/n to {QUEUE} penalty 0 as bench-{i}"
        )


def start_api(workdir: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    env = {
        **os.environ,
        "LAPOR_API_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "LAPOR_API_PORT": str(port),
        "LAPOR_API_LOG_LEVEL": "warning",
    }
    subprocess.run([BIN / "lapor", "db", "upgrade"], env=env, check=True, capture_output=True)
    token = subprocess.run(
        [BIN / "lapor", "token", "create", "--role", "ivr", "--name", "bench-ivr"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    api = subprocess.Popen([BIN / "lapor-api"], env=env, stderr=subprocess.DEVNULL)
    time.sleep(2)
    return api, token


def run_sipp(
    sandbox: Sandbox, workdir: Path, mode: str, calls: int, concurrency: int, rate: float
) -> tuple[int, int, float]:
    c = sandbox.config
    late_dtmf_copy(PCAPS / "dtmf_2833_3.pcap", workdir / "dtmf_3_late.pcap")
    scenario = workdir / "citizen.xml"
    scenario.write_text(SCENARIO.format(steps="\n  ".join(STEPS), bye_timeout_ms=180_000))
    stats = workdir / f"sipp-{mode}.csv"
    service = TWIN_LINE if mode == "twin" else LINE
    command = [
        "sipp",
        *("-sf", str(scenario), "-s", service, f"127.0.0.1:{c.sip_port}"),
        *("-i", "127.0.0.1", "-p", str(c.carrier_sip_port)),
        # SIPp sends every call's audio from one port, outside both RTP ranges.
        *("-mi", "127.0.0.1", "-mp", str(c.sip_port + 1000)),
        *("-r", str(rate), "-l", str(concurrency), "-m", str(calls)),
        *("-trace_stat", "-stf", str(stats), "-fd", "1"),
        *("-nostdin", "-timeout", "900s", "-timeout_error"),
    ]
    started = time.monotonic()
    subprocess.run(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    completed, failed = sipp_counts(stats)
    return completed, failed, elapsed


def run_mode(
    sandbox: Sandbox,
    workdir: Path,
    mode: str,
    args: argparse.Namespace,
    ivr_pid: int | None,
) -> ModeResult:
    sandbox.callcenter.rx(
        f"dialplan set global IVR_MODE {'classic' if mode == 'classic' else 'fastagi'}"
    )
    pid = asterisk_pid(sandbox)
    since = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    ast_before, children_before = cpu_seconds(pid), cpu_seconds(pid, children=True)
    ivr_before = cpu_seconds(ivr_pid) if ivr_pid and mode == "fastagi" else 0.0
    completed, failed, seconds = run_sipp(
        sandbox, workdir, mode, args.calls, args.concurrency, args.rate
    )
    ast_cpu = cpu_seconds(pid) - ast_before
    if mode == "classic":
        ivr_cpu = cpu_seconds(pid, children=True) - children_before
    elif mode == "fastagi" and ivr_pid:
        ivr_cpu = cpu_seconds(ivr_pid) - ivr_before
    else:
        ivr_cpu = 0.0
    greet = greeting_latencies(sandbox.callcenter.host("log") / "messages.log", since)
    rss = peak_rss_mib(ivr_pid) if mode == "fastagi" and ivr_pid else None
    return ModeResult(mode, completed, failed, seconds, greet, ast_cpu, ivr_cpu, rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20, help="new calls per second")
    parser.add_argument("--modes", default="fastagi,classic,twin")
    args = parser.parse_args()
    config = SandboxConfig.from_env()
    # The carrier is stopped during the run, so the call center may use its RTP ports
    # too: 2000 ports, room for 1000 calls (one RTP + one RTCP port each).
    sandbox = Sandbox(replace(config, rtp_end=config.carrier_rtp_end))
    workdir = Path(tempfile.mkdtemp(prefix="lapor-bench-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        asyncio.run(sandbox.up(login_agents=False))
        # SIPp takes the carrier's trunk address; the carrier would only compete for CPU.
        sandbox.carrier.stop()
        install_bench_dialplan(sandbox)
        api_port = 18000 + sandbox.config.slot
        api, token = start_api(workdir, api_port)
        processes.append(api)
        wanted = IvrSettings(
            api_url=f"http://127.0.0.1:{api_port}",
            api_token=token,
            callback_wait_seconds=900,  # no callback offers during the run
        )
        env = {
            **os.environ,
            **prepare_ivr_node(sandbox, wanted).as_env(),
            "LAPOR_AGI_HOST": sandbox.config.agi_host,
            "LAPOR_AGI_PORT": str(sandbox.config.agi_port),
            "LAPOR_AGI_SECRET": sandbox.secrets.agi,
            # Room for every call of the run: the cap is not what this measures.
            "LAPOR_IVR_MAX_SESSIONS": str(max(args.concurrency * 2, 300)),
            "LAPOR_LOG_LEVEL": "WARNING",
        }
        ivr = subprocess.Popen([BIN / "lapor-ivr"], env=env)
        processes.append(ivr)
        time.sleep(1)
        results = []
        for mode in args.modes.split(","):
            results.append(run_mode(sandbox, workdir, mode, args, ivr.pid))
            print(results[-1].row(), flush=True)
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        sandbox.down()
    print(
        f"\n{args.calls} calls, at most {args.concurrency} at once, {args.rate}/s; "
        f"{OFFICERS} officers (Local channels, 2 s talk)\n"
    )
    print(
        "| mode | completed | failed | calls/s | answer→greeting p50 / p95 "
        "| Asterisk CPU/call | IVR CPU/call | IVR RSS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for result in results:
        print(result.row())


if __name__ == "__main__":
    main()
