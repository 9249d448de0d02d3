"""``make run``: the whole call center on localhost until Ctrl-C.

Starts the sandbox Asterisk pair, the FastAGI IVR server and the API on SQLite, prints
where everything is, and stops all of it on Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from sandbox.config import REPO_ROOT
from sandbox.harness import Sandbox

API_PORT = int(os.environ.get("LAPOR_API_PORT", "8000"))
DATABASE_URL = os.environ.get("LAPOR_API_DATABASE_URL", f"sqlite:///{REPO_ROOT}/var/lapor.db")


def start_service(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    print(f"starting {name}: {' '.join(args)}", flush=True)
    return subprocess.Popen(args, env={**os.environ, **env}, cwd=REPO_ROOT)


def banner(sandbox: Sandbox) -> str:
    c = sandbox.config
    return f"""
Lapor Call Center is running (Ctrl-C stops everything)
  Asterisk call center  SIP udp 127.0.0.1:{c.sip_port}   AMI 127.0.0.1:{c.ami_port}
  Sandbox carrier       SIP udp 127.0.0.1:{c.carrier_sip_port}   AMI 127.0.0.1:{c.carrier_ami_port}
  FastAGI IVR server    127.0.0.1:{c.agi_port}
  API                   http://127.0.0.1:{API_PORT}   docs: http://127.0.0.1:{API_PORT}/docs
  queue_log             {sandbox.callcenter.queue_log}
  Asterisk log          {sandbox.callcenter.host("log/messages.log")}

Place a test call from another terminal:
  {REPO_ROOT}/.venv/bin/lapor-sandbox call 082282204761 --digits 1
"""


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main() -> int:
    sandbox = Sandbox()
    services: list[subprocess.Popen[bytes]] = []
    bin_dir = Path(sys.executable).parent
    try:
        asyncio.run(sandbox.up())
        services.append(
            start_service(
                "IVR",
                [str(bin_dir / "lapor-ivr")],
                {
                    "LAPOR_AGI_HOST": sandbox.config.agi_host,
                    "LAPOR_AGI_PORT": str(sandbox.config.agi_port),
                },
            )
        )
        services.append(
            start_service(
                "API",
                [str(bin_dir / "lapor-api")],
                {"LAPOR_API_PORT": str(API_PORT), "LAPOR_API_DATABASE_URL": DATABASE_URL},
            )
        )
        print(banner(sandbox), flush=True)
        asyncio.run(wait_for_signal())
    finally:
        print("\nstopping…", flush=True)
        for service in services:
            service.terminate()
        for service in services:
            try:
                service.wait(timeout=10)
            except subprocess.TimeoutExpired:
                service.kill()
        sandbox.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
