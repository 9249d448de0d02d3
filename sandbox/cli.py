"""Start, stop, inspect the local Asterisk pair, and place test calls.

Test tooling, not in the wheel: run it from the repository root as ``python -m sandbox.cli``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import shutil
import subprocess
import sys
from pathlib import Path

from ivr.commandline import add_version
from sandbox.cluster import Cluster, node_name
from sandbox.config import SandboxConfig, state_dir_for
from sandbox.harness import Sandbox, reset_state
from sandbox.instance import InstanceError
from sandbox.rootfs import SandboxUnavailable
from sandbox.sms import CarrierPhones

PROG = "python -m sandbox.cli"


def build_script(digits: str, audio: str | None, hold: int | None) -> str:
    """Citizen steps for the carrier: greet-wait, DTMF, optional speech, then stay or leave."""
    steps = ["wait:2"]
    if digits:
        steps.append(f"dtmf:{digits}")
    if audio:
        steps.append(f"play:{audio}")
    if hold is not None:
        steps += [f"wait:{hold}", "hangup"]
    return "|".join(steps)


def install_audio(sandbox: Sandbox, source: Path) -> str:
    """Convert an audio file to 8 kHz mono WAV inside the carrier; return its play path."""
    if not source.is_file():
        raise SystemExit(f"audio file not found: {source}")
    if shutil.which("sox") is None:
        raise SystemExit("sox is needed to convert the audio file (apt-get install sox)")
    target = sandbox.carrier.host("sounds") / (source.stem + ".wav")
    subprocess.run(
        ["sox", str(source), "-r", "8000", "-c", "1", "-b", "16", str(target)], check=True
    )
    return sandbox.carrier.path(f"sounds/{source.stem}")


async def cmd_up(sandbox: Sandbox, args: argparse.Namespace) -> int:
    await sandbox.up(login_agents=not args.no_agents)
    c = sandbox.config
    print(f"call center: SIP 127.0.0.1:{c.sip_port}, AMI 127.0.0.1:{c.ami_port}")
    print(f"carrier:     SIP 127.0.0.1:{c.carrier_sip_port}, AMI 127.0.0.1:{c.carrier_ami_port}")
    print(f"FastAGI expected at {c.agi_host}:{c.agi_port}; agents {', '.join(c.agents)}")
    print(f"queue_log:   {sandbox.callcenter.queue_log}")
    return 0


async def cluster_command(args: argparse.Namespace) -> int:
    """``up``, ``down`` or ``status`` of a cluster: ``--nodes N`` call-center nodes on
    slots S…S+N-1 (S: ``LAPOR_SANDBOX_SLOT``), the carrier and the SIP edge on slot S."""
    first = SandboxConfig.from_env().slot
    cluster = Cluster(range(first, first + args.nodes), build=args.command == "up")
    if args.command == "down":
        cluster.down()
        print("cluster stopped")
        return 0
    if args.command == "status":
        states = cluster.status()
        for name, running in states.items():
            print(f"{name}: {'running' if running else 'stopped'}")
        return 0 if all(states.values()) else 1
    await cluster.up(login_agents=not args.no_agents)
    print(f"SIP edge:    Kamailio on {cluster.edge_address} (log {cluster.edge.log_file})")
    print(
        f"             browser phones at {cluster.edge_ws_url}, JSON-RPC at "
        f"{cluster.edge_rpc_url} (token in {cluster.edge.host_path('etc/kamailio.cfg')})"
    )
    for index, node in enumerate(cluster.nodes):
        c = node.config
        print(
            f"{node_name(index)}:       SIP 127.0.0.1:{c.sip_port}, AMI 127.0.0.1:{c.ami_port}, "
            f"FastAGI expected at {c.agi_host}:{c.agi_port}, queue_log {node.callcenter.queue_log}"
        )
    c = cluster.configs[0]
    print(f"carrier:     SIP 127.0.0.1:{c.carrier_sip_port}, AMI 127.0.0.1:{c.carrier_ami_port}")
    return 0


async def cmd_down(sandbox: Sandbox, args: argparse.Namespace) -> int:
    sandbox.down()
    print("sandbox stopped")
    return 0


async def cmd_reset(sandbox: Sandbox, args: argparse.Namespace) -> int:
    """A clean start for ``make run``: its database, recordings, IVR spool and collector
    buffer go. Never done implicitly; refused while the sandbox runs."""
    if any(sandbox.status().values()):
        print(
            f"{PROG}: the sandbox is running (make run?): stop it first (Ctrl-C, or {PROG} down)",
            file=sys.stderr,
        )
        return 1
    state = state_dir_for(sandbox.config.slot)
    removed = reset_state(state)
    for path in removed:
        print(f"removed {path}")
    print(f"{state} is clean: the next make run starts from an empty call center")
    return 0


async def cmd_status(sandbox: Sandbox, args: argparse.Namespace) -> int:
    states = sandbox.status()
    for name, running in states.items():
        print(f"{name}: {'running' if running else 'stopped'}")
    return 0 if all(states.values()) else 1


async def cmd_call(sandbox: Sandbox, args: argparse.Namespace) -> int:
    if not all(sandbox.status().values()):
        print(f"the sandbox is not running: start it with '{PROG} up'", file=sys.stderr)
        return 1
    audio = install_audio(sandbox, Path(args.audio)) if args.audio else None
    caller = args.caller or "0812" + "".join(random.choices("0123456789", k=8))
    script = build_script(args.digits, audio, args.hold)
    await sandbox.place_call(args.line, caller, script, args.name)
    print(f"calling {args.line} from {caller} (steps: {script})")
    print(f"watch it: tail -f {sandbox.callcenter.host('log/messages.log')}")
    return 0


async def cmd_sms(sandbox: Sandbox, args: argparse.Namespace) -> int:
    if not all(sandbox.status().values()):
        print(f"the sandbox is not running: start it with '{PROG} up'", file=sys.stderr)
        return 1
    sender = args.sender or "0812" + "".join(random.choices("0123456789", k=8))
    async with await CarrierPhones.connect(sandbox) as phones:
        await phones.send(sender, args.text, args.line)
        print(f"SMS to {args.line} from {sender}: {args.text}")
        try:
            answer = await phones.next_reply(sender, args.wait)
        except TimeoutError:
            print(f"no reply within {args.wait} s (is the API up, with SMS_API_TOKEN set?)")
            return 1
    print(f"reply: {answer.body}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    add_version(p)
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the call center and the carrier")
    up.add_argument("--no-agents", action="store_true", help="don't log agents into the queue")
    down = sub.add_parser("down", help="stop both instances")
    status = sub.add_parser("status", help="show whether each instance runs")
    for command in (up, down, status):
        command.add_argument(
            "--nodes",
            type=int,
            default=1,
            help="N>1: N call-center nodes behind a Kamailio SIP edge, on slots S..S+N-1",
        )
    sub.add_parser(
        "reset",
        help="delete make run's kept state (database, recordings, IVR spool, collector buffer)",
    )
    call = sub.add_parser("call", help="place a test call from the carrier")
    call.add_argument("line", nargs="?", default="082282204761", help="number to call")
    call.add_argument("--digits", default="", help="DTMF digits the citizen presses")
    call.add_argument("--audio", help="an audio file the citizen speaks after the digits")
    call.add_argument("--caller", help="the citizen's number (random 0812… by default)")
    call.add_argument("--name", default="Warga Uji", help="the citizen's caller name")
    call.add_argument("--hold", type=int, help="hang up this many seconds after the steps")
    sms = sub.add_parser("sms", help="send a test SMS from the carrier and print the reply")
    sms.add_argument("text", help='the SMS, e.g. "lapor 1 jalan rusak"')
    sms.add_argument("--line", default="082282204761", help="number to text")
    sms.add_argument("--from", dest="sender", help="the citizen's number (random by default)")
    sms.add_argument("--wait", type=float, default=15.0, help="seconds to wait for the reply")
    return p


COMMANDS = {
    "up": cmd_up,
    "down": cmd_down,
    "status": cmd_status,
    "reset": cmd_reset,
    "call": cmd_call,
    "sms": cmd_sms,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if getattr(args, "nodes", 1) > 1:
            return asyncio.run(cluster_command(args))
        sandbox = Sandbox(build=args.command == "up")
        return asyncio.run(COMMANDS[args.command](sandbox, args))
    except (SandboxUnavailable, InstanceError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
