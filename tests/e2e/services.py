"""Our own services as real processes for end-to-end tests: the API (and later others)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import httpx
from sqlmodel import Session

from api.core.auth import Role, create_token
from api.core.db import make_engine
from api.core.migrate import upgrade
from sandbox.config import SandboxConfig
from sandbox.harness import Sandbox
from tests.conftest import temporary_postgres_database

BIN = Path(sys.executable).parent


class Service(Protocol):
    def start(self) -> None: ...
    def close(self) -> None: ...


S = TypeVar("S", bound=Service)


@contextmanager
def started(service: S) -> Iterator[S]:
    """``service`` started for the ``with`` block, and closed after it."""
    service.start()
    try:
        yield service
    finally:
        service.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


MAX_SLOT = 26  # RTP ranges end at 10999 + 2000·26


def free_slot() -> int:
    """The configured sandbox slot, unless the e2e session's own sandbox is up in it."""
    first = int(os.environ.get("LAPOR_SANDBOX_SLOT") or 0)
    candidates: list[int] = [first, *range(first + 1, MAX_SLOT + 1), *range(first)]
    for candidate in candidates:
        config = SandboxConfig.from_env(candidate)
        if not any(Sandbox(config, build=False).status().values()):
            return candidate
    raise RuntimeError("every sandbox slot is in use")


class ApiProcess:
    """``lapor-api`` in a subprocess on a free loopback port; can be stopped and restarted."""

    def __init__(
        self, database_url: str, log_path: Path, extra_env: Mapping[str, str] | None = None
    ) -> None:
        self.database_url = database_url
        self.extra_env = dict(extra_env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self.engine = make_engine(database_url)
        upgrade(self.engine)

    def token(self, role: Role, name: str | None = None) -> str:
        with Session(self.engine) as session:
            return create_token(session, name=name or f"e2e-{role}", role=role)

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    def start(self, timeout: float = 20) -> None:
        env = {
            **os.environ,
            "LAPOR_API_DATABASE_URL": self.database_url,
            "LAPOR_API_PORT": str(self.port),
            "LAPOR_API_LOG_LEVEL": "warning",
            **self.extra_env,
        }
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(BIN / "lapor-api")], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"lapor-api exited:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"lapor-api not healthy after {timeout} s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def close(self) -> None:
        self.stop()
        self.engine.dispose()


@contextmanager
def fresh_api_process(
    log_path: Path,
    extra_env: Mapping[str, str] | None = None,
    prepare: Callable[[ApiProcess], None] | None = None,
) -> Iterator[ApiProcess]:
    """A started API process on its own new PostgreSQL database, closed and dropped after.

    ``prepare`` runs on the migrated database before the process starts (seed users…).
    """
    with temporary_postgres_database() as url:
        process = ApiProcess(url, log_path, extra_env=extra_env)
        if prepare is not None:
            prepare(process)
        with started(process):
            yield process
