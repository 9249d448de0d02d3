"""Asterisk's CPU per call: officers on browser phones (WebRTC) or desk phones (plain
SIP), with and without the conversation recorded (MixMonitor).

On the real sandbox: 20 officers' browser phones (JsSIP, each its own user agent, in one
Debian Chromium page with a fake microphone) are registered over WebSocket the whole
time; the carrier's 20 desk phones are registered too. Per mode, the carrier places
``--calls`` citizens' calls at once to a bench line; the call center answers, starts
MixMonitor with the options app_queue gives it in the product (``b``, ``r()``, ``t()``:
three files; here from the dialplan, as the bench dials the officer without a queue) or
not, and dials one officer's browser phone (``PJSIP/<id>-web``: DTLS-SRTP, ICE, rtcp-mux) or
desk phone (``PJSIP/<id>``: RTP). Both sides send audio all along: the citizen and the
desk phone play a recording, the browser its fake microphone's tone. Once every call is
bridged, the call-center Asterisk's CPU time (``/proc``) is read over ``--seconds``;
the figure per call is that minus the idle rate measured first (browsers registered,
no calls), divided by the number of calls, as a share of one core.

    .venv/bin/python -m bench.recorded_calls --calls 20 --seconds 30

The dialplan below is added at run time; the product's config is not changed.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import json
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from playwright.async_api import Page, async_playwright

from bench.ivr_load import cpu_seconds
from sandbox.config import SandboxConfig
from sandbox.harness import Sandbox
from sandbox.ivr_node import give_to_asterisk
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
JSSIP = ROOT / "api" / "web" / "static" / "vendor" / "jssip.min.js"
BENCH_LINE = "0800555"
FIRST_AGENT = 2001
# The carrier's recording, played back to back for longer than any run's calls last: by
# the desk phones (one Playback of a list) and by the citizens (one script step each).
AUDIO_REPEATS = 40
LONG_AUDIO = "&".join(["tt-monkeys"] * AUDIO_REPEATS)
CITIZEN_SCRIPT = "|".join(["play:tt-monkeys"] * AUDIO_REPEATS)

BENCH_DIALPLAN = """; Added by bench/recorded_calls.py at run time; not the product's config.
[from-trunk](+)
exten => _{line}XXXX,1,Goto(bench-recorded,${{EXTEN:{cut}}},1)

[bench-recorded]
exten => _XXXX,1,Answer()
 same => n,GotoIf($["${{BENCH_RECORD}}" != "yes"]?dial)
 same => n,Set(F=${{RECORDING_DIR}}/bench-${{UNIQUEID}})
 same => n,MixMonitor(${{F}}.wav,br(${{F}}-citizen.wav)t(${{F}}-officer.wav))
 same => n(dial),Dial(PJSIP/${{EXTEN}}${{IF($["${{BENCH_PHONE}}" = "webrtc"]?-web)}},30)
 same => n,Hangup()
"""

# One page, one JsSIP user agent per officer; each answers its calls at once with the
# fake microphone (the console's own phone.js answers the same way).
PHONES_JS = """async ({accounts, ws}) => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: false});
  window.sessions = [];
  const started = accounts.map((a) => new Promise((done) => {
    const ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(ws)], uri: a.uri,
      authorization_user: a.username, password: a.password,
      register: true, register_expires: 300, session_timers: false,
    });
    ua.on("registered", () => done("registered"));
    ua.on("registrationFailed", (e) => done(e.cause));
    ua.on("newRTCSession", (e) => {
      if (e.originator !== "remote") return;
      const session = e.session;
      window.sessions.push(session);
      session.on("peerconnection", (ev) => {
        ev.peerconnection.addEventListener("track", (t) => {
          const audio = new Audio();
          audio.srcObject = t.streams[0] || new MediaStream([t.track]);
          audio.play().catch(() => {});
        });
      });
      let quiet = null;
      session.on("icecandidate", (c) => { clearTimeout(quiet); quiet = setTimeout(c.ready, 300); });
      session.answer({mediaStream: stream, pcConfig: {iceServers: []}});
    });
    ua.start();
  }));
  return Promise.all(started);
}"""

# Bytes sent and received by every answered call's peer connection, summed.
TRAFFIC_JS = """async () => {
  let sent = 0, received = 0, calls = 0;
  for (const s of window.sessions) {
    if (!s.connection || s.isEnded()) continue;
    calls += 1;
    (await s.connection.getStats()).forEach((r) => {
      if (r.type === "outbound-rtp") sent += r.bytesSent || 0;
      if (r.type === "inbound-rtp") received += r.bytesReceived || 0;
    });
  }
  return {calls, sent, received};
}"""


@dataclass(frozen=True)
class Mode:
    phone: str  # "webrtc" or "sip"
    recorded: bool

    @property
    def name(self) -> str:
        return f"{self.phone}, {'recorded' if self.recorded else 'not recorded'}"


@dataclass(frozen=True)
class Result:
    mode: Mode
    calls: int
    cpu_percent_total: float
    cpu_percent_per_call: float
    codec: str

    def row(self) -> str:
        return (
            f"| {self.mode.name} | {self.calls} | {self.cpu_percent_total:.1f} % "
            f"| {self.cpu_percent_per_call:.2f} % | {self.codec} |"
        )


def cpu_rate(pid: int, seconds: float) -> float:
    """The process's CPU use over ``seconds``, in percent of one core."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


@contextmanager
def serve_jssip() -> Iterator[str]:
    """A blank page and JsSIP over http://127.0.0.1 (a secure context: getUserMedia works)."""
    folder = Path(tempfile.mkdtemp(prefix="lapor-bench-web-"))
    shutil.copy(JSSIP, folder / "jssip.min.js")
    (folder / "index.html").write_text(
        '<!doctype html><title>bench</title><script src="jssip.min.js"></script>'
    )
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def install_bench_dialplan(sandbox: Sandbox) -> None:
    conf = sandbox.callcenter.host("etc") / "bench-recorded-calls.conf"
    conf.write_text(BENCH_DIALPLAN.format(line=BENCH_LINE, cut=len(BENCH_LINE)))
    give_to_asterisk(sandbox, conf)
    extensions = sandbox.callcenter.host("etc") / "extensions.conf"
    if "bench-recorded-calls.conf" not in extensions.read_text():
        with extensions.open("a") as file:
            file.write('\n#include "bench-recorded-calls.conf"\n')
    sandbox.callcenter.rx("dialplan reload")


def give_browser_phones_passwords(sandbox: Sandbox, agents: list[str]) -> list[dict[str, str]]:
    """Each ``<id>-web`` endpoint's auth in AstDB, as the webrtc-auth context writes it."""
    accounts = []
    for agent in agents:
        username, password = f"{agent}-web", secrets.token_urlsafe(18)
        value = {"auth_type": "userpass", "username": username, "password": password}
        # The CLI strips unescaped double quotes.
        quoted = json.dumps(value, separators=(",", ":")).replace('"', '\\"')
        out = sandbox.callcenter.rx(f"database put lapor_webrtc/auth {username} {quoted}")
        if "successfully" not in out:
            raise RuntimeError(f"database put for {username}: {out}")
        accounts.append(
            {"uri": f"sip:{username}@127.0.0.1", "username": username, "password": password}
        )
    return accounts


def bridged_officer_legs(sandbox: Sandbox, suffix: str) -> list[str]:
    """The call center's Up channels to officers' phones of the kind ``suffix`` names."""
    legs = []
    for line in sandbox.callcenter.rx("core show channels concise").splitlines():
        fields = line.split("!")
        if len(fields) > 4 and fields[4] == "Up" and fields[0].startswith("PJSIP/"):
            endpoint = fields[0][len("PJSIP/") :].rsplit("-", 1)[0]
            if endpoint.endswith("-web") == (suffix == "-web") and endpoint[:4].isdigit():
                legs.append(fields[0])
    return legs


def channel_count(sandbox: Sandbox) -> int:
    return len(sandbox.callcenter.rx("core show channels concise").splitlines())


def codec_of(sandbox: Sandbox, channel: str) -> str:
    for line in sandbox.callcenter.rx(f"core show channel {channel}").splitlines():
        if "NativeFormats" in line:
            return line.split(":", 1)[1].strip().strip("()")
    return "?"


async def run_mode(
    sandbox: Sandbox, pid: int, mode: Mode, calls: int, seconds: float, idle: float, page: Page
) -> Result:
    suffix = "-web" if mode.phone == "webrtc" else ""
    sandbox.callcenter.rx(f"dialplan set global BENCH_PHONE {mode.phone}")
    sandbox.callcenter.rx(f"dialplan set global BENCH_RECORD {'yes' if mode.recorded else 'no'}")
    agents = [str(FIRST_AGENT + i) for i in range(calls)]
    await asyncio.gather(
        *(
            sandbox.place_call(f"{BENCH_LINE}{agent}", f"0812555{agent}", CITIZEN_SCRIPT)
            for agent in agents
        )
    )
    deadline = time.monotonic() + 60
    while len(legs := bridged_officer_legs(sandbox, suffix)) < calls:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{mode.name}: only {len(legs)} of {calls} calls reached an officer")
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)  # past call setup (DTLS handshakes, MixMonitor's files opened)
    if suffix:
        before = await page.evaluate(TRAFFIC_JS)
    total = await asyncio.to_thread(cpu_rate, pid, seconds)
    if suffix:
        after = await page.evaluate(TRAFFIC_JS)
        if (
            after["calls"] < calls
            or after["sent"] <= before["sent"]
            or after["received"] <= before["received"]
        ):
            raise RuntimeError(
                f"{mode.name}: browser audio did not flow both ways: {before} {after}"
            )
    codec = codec_of(sandbox, legs[0])
    still = len(bridged_officer_legs(sandbox, suffix))
    if still < calls:
        raise RuntimeError(f"{mode.name}: {calls - still} calls ended during the measurement")
    sandbox.callcenter.rx("channel request hangup all")
    for _ in range(60):
        if channel_count(sandbox) == 0:
            break
        await asyncio.sleep(0.5)
    sandbox.carrier.rx("channel request hangup all")
    await asyncio.sleep(2)
    return Result(mode, calls, total, (total - idle) / calls, codec)


async def bench(sandbox: Sandbox, calls: int, seconds: float, modes: list[Mode]) -> list[Result]:
    agents = [str(FIRST_AGENT + i) for i in range(calls)]
    install_bench_dialplan(sandbox)
    sandbox.carrier.rx(f"dialplan set global AGENT_SPEECH {LONG_AUDIO}")
    sandbox.carrier.rx("dialplan set global AGENT_TALK_SECONDS 600")
    sandbox.carrier.rx("dialplan set global AGENT_ANSWER_DELAY 0")
    accounts = give_browser_phones_passwords(sandbox, agents)
    pid = sandbox.callcenter.running_pids()[0]
    results = []
    with serve_jssip() as url:
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page()
                await page.goto(url)
                ws = f"ws://127.0.0.1:{sandbox.config.http_port}/ws"
                states = await page.evaluate(PHONES_JS, {"accounts": accounts, "ws": ws})
                if set(states) != {"registered"}:
                    raise RuntimeError(f"browser phones did not all register: {states}")
                await asyncio.sleep(5)
                idle = await asyncio.to_thread(cpu_rate, pid, seconds / 2)
                print(
                    f"idle, {calls} browser phones registered: Asterisk {idle:.1f} % of a core",
                    flush=True,
                )
                for mode in modes:
                    results.append(await run_mode(sandbox, pid, mode, calls, seconds, idle, page))
                    print(results[-1].row(), flush=True)
            finally:
                await browser.close()
    return results


async def up_and_bench(
    sandbox: Sandbox, calls: int, seconds: float, modes: list[Mode]
) -> list[Result]:
    try:
        await sandbox.up(login_agents=False)
        return await bench(sandbox, calls, seconds, modes)
    finally:
        sandbox.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    config = SandboxConfig.from_env()
    agents = tuple(str(FIRST_AGENT + i) for i in range(args.calls))
    sandbox = Sandbox(replace(config, agents=agents))
    modes = [Mode(phone, recorded) for phone in ("sip", "webrtc") for recorded in (False, True)]
    results = asyncio.run(up_and_bench(sandbox, args.calls, args.seconds, modes))
    print(f"\n{args.calls} calls at once, Asterisk CPU over {args.seconds:.0f} s each\n")
    print(
        "| officer's phone, recording | calls | Asterisk CPU, all calls "
        "| per call, over idle | codec |"
    )
    print("|---|---|---|---|---|")
    for result in results:
        print(result.row())


if __name__ == "__main__":
    main()
