"""``make run``: the whole call center on localhost until Ctrl-C.

Starts the sandbox Asterisk pair, the FastAGI IVR server and the API, prints where
everything is, and stops all of it on Ctrl-C (or SIGTERM).

The API's database: ``LAPOR_API_DATABASE_URL`` if set; else, with ``LAPOR_DEV_DB=postgres``
(``make run DB=postgres``), the database ``lapor`` in the throwaway PostgreSQL cluster in
var/pg (sandbox/postgres.py; kept across runs, stopped on exit unless a test run uses it);
else SQLite in var/lapor.db.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from ivr.settings import IvrSettings
from sandbox import postgres
from sandbox.config import REPO_ROOT
from sandbox.harness import Sandbox
from sandbox.ivr_node import prepare_ivr_node

API_PORT = int(os.environ.get("LAPOR_API_PORT", "8000"))
SQLITE_URL = f"sqlite:///{REPO_ROOT}/var/lapor.db"
DEV_DATABASES = ("sqlite", "postgres")


def start_service(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    print(f"starting {name}: {' '.join(args)}", flush=True)
    return subprocess.Popen(args, env={**os.environ, **env}, cwd=REPO_ROOT)


def banner(sandbox: Sandbox, database_url: str) -> str:
    c = sandbox.config
    return f"""
Lapor Call Center is running (Ctrl-C stops everything)
  Asterisk call center  SIP udp 127.0.0.1:{c.sip_port}   AMI 127.0.0.1:{c.ami_port}
  Sandbox carrier       SIP udp 127.0.0.1:{c.carrier_sip_port}   AMI 127.0.0.1:{c.carrier_ami_port}
  FastAGI IVR server    127.0.0.1:{c.agi_port}
  API                   http://127.0.0.1:{API_PORT}   docs: http://127.0.0.1:{API_PORT}/docs
  API database          {database_url}
  queue_log             {sandbox.callcenter.queue_log}
  Asterisk log          {sandbox.callcenter.host("log/messages.log")}

Place a test call from another terminal:
  {REPO_ROOT}/.venv/bin/lapor-sandbox call 082282204761 --digits 1
Send a test SMS (the reply is printed):
  {REPO_ROOT}/.venv/bin/lapor-sandbox sms "lapor 1 jalan rusak di Jl. Teuku Umar"
"""


def service_token(bin_dir: Path, database_url: str, role: str, name: str) -> str:
    """A new service token on the dev database (printed once by `lapor token create`)."""
    env = {**os.environ, "LAPOR_API_DATABASE_URL": database_url}
    return subprocess.run(
        [str(bin_dir / "lapor"), "token", "create", "--role", role, "--name", name],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def ivr_env(sandbox: Sandbox, bin_dir: Path, database_url: str) -> dict[str, str]:
    """A fresh IVR token on the dev database, and the node's spool and classic env file."""
    env = {**os.environ, "LAPOR_API_DATABASE_URL": database_url}
    lapor = str(bin_dir / "lapor")
    subprocess.run([lapor, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    token = service_token(bin_dir, database_url, "ivr", "ivr-devrun")
    wanted = IvrSettings(api_url=f"http://127.0.0.1:{API_PORT}", api_token=token)
    return prepare_ivr_node(sandbox, wanted).as_env()


def collector_env(sandbox: Sandbox, bin_dir: Path, database_url: str) -> dict[str, str]:
    """The AMI collector on the call center, posting to the dev API with a fresh token."""
    token = service_token(bin_dir, database_url, "collector", "collector")
    return {
        "LAPOR_COLLECTOR_NODE": "callcenter",
        "LAPOR_COLLECTOR_AMI_PORT": str(sandbox.config.ami_port),
        "LAPOR_COLLECTOR_AMI_SECRET": sandbox.secrets.collector,
        "LAPOR_COLLECTOR_API_URL": f"http://127.0.0.1:{API_PORT}",
        "LAPOR_COLLECTOR_API_TOKEN": token,
        "LAPOR_COLLECTOR_BUFFER_DIR": str(REPO_ROOT / "var" / "collector"),
    }


def sms_env(sandbox: Sandbox, bin_dir: Path, database_url: str) -> dict[str, str]:
    """SMS: the dialplan posts them to the dev API with a fresh gateway token, and the API
    replies over AMI as the control user (which also drives the agents' console)."""
    token = service_token(bin_dir, database_url, "gateway", "sms-devrun")
    sandbox.callcenter.rx(f"dialplan set global SMS_API_URL http://127.0.0.1:{API_PORT}")
    sandbox.callcenter.rx(f"dialplan set global SMS_API_TOKEN {token}")
    return {
        "LAPOR_API_AMI_PORT": str(sandbox.config.ami_port),
        "LAPOR_API_AMI_CONTROL_SECRET": sandbox.secrets.control,
    }


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def dev_database() -> tuple[str, postgres.ClusterLease | None]:
    """The API's database URL, and the var/pg cluster's lease when it runs there."""
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
    database_url, lease = dev_database()
    try:
        return run(database_url)
    finally:
        if lease is not None:
            lease.release()


def run(database_url: str) -> int:
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
                    "LAPOR_AGI_SECRET": sandbox.secrets.agi,
                    **ivr_env(sandbox, bin_dir, database_url),
                },
            )
        )
        services.append(
            start_service(
                "API",
                [str(bin_dir / "lapor-api")],
                {
                    "LAPOR_API_PORT": str(API_PORT),
                    "LAPOR_API_DATABASE_URL": database_url,
                    "LAPOR_API_RECORDINGS_DIR": str(sandbox.recordings_dir),
                    "LAPOR_API_DOCS_ENABLED": "true",
                    **sms_env(sandbox, bin_dir, database_url),
                },
            )
        )
        services.append(
            start_service(
                "collector",
                [str(bin_dir / "lapor-collector")],
                collector_env(sandbox, bin_dir, database_url),
            )
        )
        print(banner(sandbox, database_url), flush=True)
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
