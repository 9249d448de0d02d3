"""``make run``: the whole call center on localhost until Ctrl-C.

Starts the sandbox Asterisk pair, the API, the FastAGI IVR server and the AMI
collector, prints where everything is, and stops all of it on Ctrl-C (or SIGTERM), or as
soon as one of the services exits on its own.

Everything the call center keeps lives in one state folder, ``var/`` in the checkout
(``var/slot-N`` for ``LAPOR_SANDBOX_SLOT=N``; ``LAPOR_VAR_DIR`` moves it) and survives
every restart: the database ``lapor.db``, the recordings, the IVR spool (ticket counter,
outbox) and the collector's disk buffer. Only ``make clean`` or ``make reset``
clears it. Ports follow the sandbox slot, the API's too (8000 + 100·slot unless
``LAPOR_API_PORT`` is set).

The API's database: ``LAPOR_API_DATABASE_URL`` if set; else, with ``LAPOR_DEV_DB=postgres``
(``make run DB=postgres``), the database ``lapor`` in the throwaway PostgreSQL cluster
(sandbox/postgres.py; kept across runs, stopped on exit unless a test run uses it); else
SQLite in the state folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from collector import CollectorSettings
from ivr.settings import DEFAULT_METRICS_PORT as IVR_METRICS_PORT
from ivr.settings import IvrSettings
from sandbox import postgres
from sandbox.config import REPO_ROOT, SandboxConfig, state_dir_for
from sandbox.harness import Sandbox
from sandbox.ivr_node import prepare_ivr_node

CONFIG = SandboxConfig.from_env()
COLLECTOR_METRICS_PORT: int = CollectorSettings.model_fields["metrics_port"].default
STATE_DIR = state_dir_for(CONFIG.slot)
API_PORT = int(os.environ.get("LAPOR_API_PORT") or 8000 + 100 * CONFIG.slot)
API_URL = f"http://127.0.0.1:{API_PORT}"
SQLITE_URL = f"sqlite:///{STATE_DIR}/lapor.db"
DEV_DATABASES = ("sqlite", "postgres")
# Set by main() from dev_database() before anything uses it.
DATABASE_URL = SQLITE_URL
COLLECTOR_DIR = STATE_DIR / "collector"
# The IVR may wait up to its lease's lapse (about 30 s) for a node id a lost spool held.
READY_TIMEOUT = 90.0


def start_service(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    print(f"starting {name}: {' '.join(args)}", flush=True)
    # Its own process group: Ctrl-C reaches only this program, which stops the services
    # in order (see run()).
    return subprocess.Popen(args, env={**os.environ, **env}, cwd=REPO_ROOT, process_group=0)


def banner(sandbox: Sandbox) -> str:
    c = sandbox.config
    return f"""
Lapor Call Center is running (Ctrl-C stops everything)
  Asterisk call center  SIP udp 127.0.0.1:{c.sip_port}   AMI 127.0.0.1:{c.ami_port}
  Sandbox carrier       SIP udp 127.0.0.1:{c.carrier_sip_port}   AMI 127.0.0.1:{c.carrier_ami_port}
  FastAGI IVR server    127.0.0.1:{c.agi_port}
  IVR metrics           http://127.0.0.1:{ivr_metrics_port(c)}/metrics   (and /health/ready)
  Collector metrics     http://127.0.0.1:{collector_metrics_port(c)}/metrics   (the same)
  Asterisk metrics      http://127.0.0.1:{c.http_port}/metrics
  API                   {API_URL}   docs: {API_URL}/docs
  Officers' console     {API_URL}/console   (an officer's user on phone 1001: see README)
  API database          {DATABASE_URL}
  queue_log             {sandbox.callcenter.queue_log}
  Asterisk log          {sandbox.callcenter.host("log/messages.log")}

State, kept across runs in {STATE_DIR}
  database              {DATABASE_URL}
  recordings            {sandbox.recordings_dir}
  IVR spool             {sandbox.spool_dir}   (ticket counter, outbox)
  collector buffer      {COLLECTOR_DIR}
  A clean start: make reset (or make clean) in {REPO_ROOT}

Place a test call from another terminal, in {REPO_ROOT}:
  .venv/bin/python -m sandbox.cli call 082282204761 --digits 1
Send a test SMS (the reply is printed):
  .venv/bin/python -m sandbox.cli sms "lapor 1 jalan rusak di Jl. Teuku Umar"
"""


def ivr_metrics_port(config: SandboxConfig) -> int:
    """The IVR's probe listener, apart per sandbox slot like every other port."""
    return IVR_METRICS_PORT + 100 * config.slot


def collector_metrics_port(config: SandboxConfig) -> int:
    return COLLECTOR_METRICS_PORT + 100 * config.slot


def lapor(bin_dir: Path, *args: str, check: bool = True) -> str:
    """Run the ``lapor`` admin command on the dev database; its output."""
    env = {**os.environ, "LAPOR_API_DATABASE_URL": DATABASE_URL}
    return subprocess.run(
        [str(bin_dir / "lapor"), *args], env=env, check=check, capture_output=True, text=True
    ).stdout.strip()


def service_token(bin_dir: Path, role: str, name: str) -> str:
    """A new service token on the dev database (printed once by `lapor token create`);
    the previous run's token of that name is revoked first."""
    lapor(bin_dir, "token", "revoke", "--name", name, check=False)
    return lapor(bin_dir, "token", "create", "--role", role, "--name", name)


def ivr_env(sandbox: Sandbox, bin_dir: Path) -> dict[str, str]:
    """A fresh IVR token on the dev database, and the node's spool and classic env file."""
    token = service_token(bin_dir, "ivr", "ivr-devrun")
    wanted = IvrSettings(api_url=API_URL, api_token=token)
    return prepare_ivr_node(sandbox, wanted).as_env()


def collector_env(sandbox: Sandbox, bin_dir: Path) -> dict[str, str]:
    """The AMI collector on the call center, posting to the dev API with a fresh token."""
    token = service_token(bin_dir, "collector", "collector")
    return {
        "LAPOR_COLLECTOR_NODE": "callcenter",
        "LAPOR_COLLECTOR_AMI_PORT": str(sandbox.config.ami_port),
        "LAPOR_COLLECTOR_AMI_SECRET": sandbox.secrets.collector,
        "LAPOR_COLLECTOR_API_URL": API_URL,
        "LAPOR_COLLECTOR_API_TOKEN": token,
        "LAPOR_COLLECTOR_BUFFER_DIR": str(COLLECTOR_DIR),
        "LAPOR_COLLECTOR_METRICS_PORT": str(collector_metrics_port(sandbox.config)),
        "LAPOR_COLLECTOR_QUEUE_LOG": str(sandbox.callcenter.queue_log),
    }


def sms_env(sandbox: Sandbox, bin_dir: Path) -> dict[str, str]:
    """SMS: the dialplan posts them to the dev API with a fresh gateway token, and the API
    replies over AMI as the control user (which also drives the agents' console)."""
    token = service_token(bin_dir, "gateway", "sms-devrun")
    sandbox.callcenter.rx(f"dialplan set global SMS_API_URL {API_URL}")
    sandbox.callcenter.rx(f"dialplan set global SMS_API_TOKEN {token}")
    return {
        "LAPOR_API_AMI_PORT": str(sandbox.config.ami_port),
        "LAPOR_API_AMI_CONTROL_SECRET": sandbox.secrets.control,
    }


def wait_healthy(
    name: str, process: subprocess.Popen[bytes], url: str, timeout: float = READY_TIMEOUT
) -> None:
    """Until ``url`` answers 200: the API's /health (the IVR claims its node id from it at
    start-up), the IVR's and the collector's /health/ready (a call placed before the
    FastAGI server listens would skip the IVR and go straight to the queue)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the {name} exited during start-up (status {process.returncode})")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"the {name} did not answer {url} within {timeout:.0f} s")


async def wait_for_stop(services: dict[str, subprocess.Popen[bytes]]) -> str | None:
    """Until Ctrl-C/SIGTERM (None) or a service exits on its own (its name)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        for name, process in services.items():
            if process.poll() is not None:
                return name
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    return None


def dev_database() -> tuple[str, postgres.ClusterLease | None]:
    """The API's database URL, and the PostgreSQL cluster's lease when it runs there."""
    given = os.environ.get("LAPOR_API_DATABASE_URL")
    if given:
        return given, None
    kind = os.environ.get("LAPOR_DEV_DB") or "sqlite"
    if kind not in DEV_DATABASES:
        raise SystemExit(f"DB (LAPOR_DEV_DB) must be sqlite or postgres, not {kind!r}")
    if kind == "sqlite":
        return SQLITE_URL, None
    try:
        lease = postgres.acquire()
    except postgres.ClusterError as exc:
        raise SystemExit(f"PostgreSQL for make run: {exc}") from exc
    try:
        return postgres.ensure_database(lease.dsn, "lapor"), lease
    except BaseException:
        lease.release()
        raise


def main() -> int:
    global DATABASE_URL
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE_URL, lease = dev_database()
    try:
        return run()
    finally:
        if lease is not None:
            lease.release()


def run() -> int:
    sandbox = Sandbox(CONFIG, state_dir=STATE_DIR)
    services: dict[str, subprocess.Popen[bytes]] = {}
    bin_dir = Path(sys.executable).parent
    status = 0
    try:
        asyncio.run(sandbox.up())
        lapor(bin_dir, "db", "upgrade")
        services["API"] = start_service(
            "API",
            [str(bin_dir / "lapor-api")],
            {
                "LAPOR_API_PORT": str(API_PORT),
                "LAPOR_API_DATABASE_URL": DATABASE_URL,
                "LAPOR_API_DOCS_ENABLED": "true",
                "LAPOR_API_RECORDINGS_DIR": str(sandbox.recordings_dir),
                **sms_env(sandbox, bin_dir),
            },
        )
        wait_healthy("API", services["API"], f"{API_URL}/health")
        services["IVR"] = start_service(
            "IVR",
            [str(bin_dir / "lapor-ivr")],
            {
                "LAPOR_AGI_HOST": sandbox.config.agi_host,
                "LAPOR_AGI_PORT": str(sandbox.config.agi_port),
                "LAPOR_AGI_SECRET": sandbox.secrets.agi,
                "LAPOR_IVR_METRICS_PORT": str(ivr_metrics_port(sandbox.config)),
                **ivr_env(sandbox, bin_dir),
            },
        )
        services["collector"] = start_service(
            "collector", [str(bin_dir / "lapor-collector")], collector_env(sandbox, bin_dir)
        )
        ivr_ready = f"http://127.0.0.1:{ivr_metrics_port(sandbox.config)}/health/ready"
        wait_healthy("IVR", services["IVR"], ivr_ready)
        collector_ready = f"http://127.0.0.1:{collector_metrics_port(sandbox.config)}/health/ready"
        wait_healthy("collector", services["collector"], collector_ready)
        print(banner(sandbox), flush=True)
        ended = asyncio.run(wait_for_stop(services))
        if ended is not None:
            code = services[ended].returncode
            print(f"\nthe {ended} exited (status {code}); see its log above", flush=True)
            status = 1
    finally:
        print("\nstopping…", flush=True)
        # The API last: the IVR releases its node lease through it on the way out (else
        # the next run's IVR waits for the lease to lapse before it takes calls).
        for service in reversed(services.values()):
            if service.poll() is None:
                service.terminate()
            try:
                service.wait(timeout=10)
            except subprocess.TimeoutExpired:
                service.kill()
        sandbox.down()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
