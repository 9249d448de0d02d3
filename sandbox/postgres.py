"""A throwaway PostgreSQL cluster in the repo's ``var/pg/``, for ``make test`` and for
``make run DB=postgres``.

Design (the simplest we found that stays correct with several runs at once):

* **Who starts it.** The tests do, in ``tests/conftest.py``: the first test that asks for a
  PostgreSQL database starts the cluster (unless ``LAPOR_TEST_PG_DSN`` names a server the
  user already has), and ``pytest_sessionfinish`` releases it, which pytest runs when tests
  fail and on Ctrl-C as well. So ``make test``, CI and a bare ``.venv/bin/pytest
  tests/integration/…`` behave alike, the Makefile needs no shell trap, and a run that
  needs no PostgreSQL (``pytest tests/unit``) starts none. ``make run DB=postgres``
  (``sandbox/devrun.py``) holds the cluster the same way for as long as it runs.
* **Reuse.** ``initdb`` writes ``data.new`` and we rename it ``data`` only once it is
  complete and configured, so a ``data`` folder whose ``PG_VERSION`` matches the installed
  server is a valid cluster: later runs only ``pg_ctl start`` it (about 0.3 s against 0.8 s
  with ``initdb``, CLI included, on the 2-core build machine). A cluster of another major
  version (after an upgrade) is thrown away and made anew; it holds nothing worth keeping.
* **Concurrency.** Two ``flock`` files. ``setup.lock`` (exclusive) serialises every change
  of state: initdb, start, stop. Each user (a test session, ``make run``) holds a shared
  lock on ``users.lock`` while it uses the cluster; whoever releases last (the exclusive
  lock on ``users.lock`` is then free) stops the server. Users register and deregister
  under ``setup.lock``, so no run can join between that check and the stop. A user killed
  outright loses its lock with its process: the server stays up, and the next run finds
  the postmaster (``postmaster.pid``) and reuses it.
* **Not root.** PostgreSQL refuses to run as root. Run as root, the cluster belongs to the
  ``postgres`` system user (Debian's package creates it), or ``nobody`` without one; that
  user must be able to reach the folder (``chmod o+x`` on its parents, or move it with
  ``LAPOR_PG_DIR``). Otherwise it runs as the calling user.
* **Port.** ``LAPOR_PG_PORT`` (default 55432) if free on 127.0.0.1, else the next free
  one, so two checkouts of the repo running tests at once do not collide; the DSN we hand
  out names the real port. The server also listens on a unix socket in ``var/pg/run/``.
* **Throwaway settings.** Trust auth for local connections only (the socket and
  127.0.0.1), ``fsync`` off: a machine crash may ruin it, and ``rm -rf var/pg`` (or
  ``make clean``) starts afresh.

CLI: ``python -m sandbox.postgres start|stop|status``. ``start`` leaves the server running
with no user holding it (the next test run to finish stops it); ``stop`` refuses while a
run uses it, unless ``--force``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import pwd
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psycopg
from psycopg import sql

from sandbox.config import REPO_ROOT, default_cache_dir

DEFAULT_PORT = 55432
# Ports tried from the preferred one upward when another server holds it.
PORT_ATTEMPTS = 10
SUPERUSER = "postgres"
START_TIMEOUT = 60
CONFIG = """
# Lapor throwaway cluster (sandbox/postgres.py): on this machine only, speed over safety.
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
"""
HBA = """\
# Lapor throwaway cluster (sandbox/postgres.py): trust, for this machine only.
local all all trust
host all all 127.0.0.1/32 trust
"""


class ClusterError(RuntimeError):
    """The cluster cannot be made or started here (the message says why)."""


def default_root() -> Path:
    """The cluster's folder: ``LAPOR_PG_DIR``, else ``var/pg`` in the repo.

    As root the server runs as another user, who must reach the folder. A checkout inside
    a private folder (``/root``, a ``mktemp -d``) keeps its cluster in the cache instead,
    one per checkout: ``<cache>/pg-<hash of the repo's path>``.
    """
    configured = os.environ.get("LAPOR_PG_DIR")
    if configured:
        return Path(configured)
    in_repo = REPO_ROOT / "var" / "pg"
    if os.geteuid() != 0 or others_can_reach(REPO_ROOT):
        return in_repo
    key = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:12]
    return default_cache_dir() / f"pg-{key}"


def others_can_reach(folder: Path) -> bool:
    """Whether any user may pass through ``folder`` and every folder above it."""
    return all(path.stat().st_mode & stat.S_IXOTH for path in (folder, *folder.parents))


def default_port() -> int:
    configured = os.environ.get("LAPOR_PG_PORT")
    return int(configured) if configured else DEFAULT_PORT


def dsn(port: int, database: str = SUPERUSER) -> str:
    """A libpq URL of a database of the cluster, as its superuser over 127.0.0.1."""
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


@dataclass(frozen=True)
class Owner:
    """The OS user the server runs as; ``name`` is None for the calling user."""

    name: str | None
    uid: int
    gid: int


def server_owner() -> Owner:
    if os.geteuid() != 0:
        return Owner(None, os.geteuid(), os.getegid())
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return Owner(name, entry.pw_uid, entry.pw_gid)
    raise ClusterError("PostgreSQL will not run as root, and there is no postgres or nobody user")


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


def find_bindir() -> Path:
    """Where initdb and pg_ctl are: the newest /usr/lib/postgresql/<version>/bin (Debian),
    ``LAPOR_PG_BINDIR``, or else the PATH."""
    configured = os.environ.get("LAPOR_PG_BINDIR")
    if configured:
        return Path(configured)
    found = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if found:
        return max(found, key=lambda bindir: _version_key(bindir.parent.name))
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise ClusterError(
        "PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin/initdb): "
        "apt-get install postgresql"
    )


def server_major(bindir: Path) -> str:
    """The major version as PG_VERSION spells it: "15", or "9.6" before 10."""
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    if not match:
        raise ClusterError(f"cannot read the PostgreSQL version from {out!r}")
    major, minor = match.groups()
    return major if int(major) >= 10 or minor is None else f"{major}.{minor}"


@dataclass(frozen=True)
class Cluster:
    """The files of one cluster, all under ``root``."""

    root: Path = field(default_factory=default_root)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        return self.root / "run"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def running_port(self) -> int | None:
        """The port of this cluster's live postmaster, or None if it is not running."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (FileNotFoundError, IndexError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, and someone else's: the server runs as its own user
        return port


def _run(owner: Owner, cwd: Path | str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program as the server's user, in a clean environment."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}
    if "TZ" in os.environ:
        env["TZ"] = os.environ["TZ"]
    switch = owner.name is not None
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        user=owner.uid if switch else None,
        group=owner.gid if switch else None,
        extra_groups=[] if switch else None,
        capture_output=True,
        text=True,
        check=False,
    )


def _failed(what: str, result: subprocess.CompletedProcess[str]) -> ClusterError:
    output = (result.stdout + result.stderr).strip()
    return ClusterError(f"{what} failed (exit {result.returncode}): {output}")


def port_free(port: int) -> bool:
    # SO_REUSEADDR as PostgreSQL binds: only a listener blocks, not TIME_WAIT leftovers.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def _locked(path: Path, mode: int = fcntl.LOCK_EX) -> Iterator[IO[str]]:
    with path.open("a") as handle:
        fcntl.flock(handle, mode)
        yield handle


@dataclass
class _Setup:
    """What one ``_ensure_running`` did, for callers and tests."""

    port: int
    initialized: bool = False
    started: bool = False


class _Tools:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.owner = server_owner()
        self.bindir = find_bindir()

    def prepare_root(self) -> None:
        root = self.cluster.root
        root.mkdir(parents=True, exist_ok=True)
        self.cluster.sockets.mkdir(mode=0o700, exist_ok=True)
        if self.owner.name is None:
            return
        for folder in (root, self.cluster.sockets):
            os.chown(folder, self.owner.uid, self.owner.gid)
        if _run(self.owner, "/", "test", "-w", root, "-a", "-x", root).returncode != 0:
            raise ClusterError(
                f"PostgreSQL runs as user {self.owner.name}, who cannot reach {root}: make "
                "its parent folders searchable (chmod o+x) or set LAPOR_PG_DIR elsewhere"
            )

    def valid(self) -> bool:
        try:
            version = (self.cluster.data / "PG_VERSION").read_text().strip()
        except FileNotFoundError:
            return False
        return version == server_major(self.bindir)

    def initdb(self) -> None:
        data, fresh = self.cluster.data, self.cluster.root / "data.new"
        shutil.rmtree(fresh, ignore_errors=True)
        result = _run(
            self.owner,
            self.cluster.root,
            self.bindir / "initdb",
            "--pgdata",
            fresh,
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C.UTF-8",
            "--no-sync",
        )
        if result.returncode != 0:
            raise _failed("initdb", result)
        with (fresh / "postgresql.conf").open("a") as conf:
            conf.write(CONFIG)
        (fresh / "pg_hba.conf").write_text(HBA)
        shutil.rmtree(data, ignore_errors=True)
        fresh.rename(data)

    def start(self, preferred: int) -> int:
        """Start the server on the first free port from ``preferred``; return the port."""
        attempts: list[str] = []
        for port in range(preferred, preferred + PORT_ATTEMPTS):
            if not port_free(port):
                attempts.append(f"{port} in use")
                continue
            self.cluster.log.unlink(missing_ok=True)
            options = f"-p {port} -k {shlex.quote(str(self.cluster.sockets))}"
            result = self.pg_ctl("start", "-l", self.cluster.log, "-o", options)
            if result.returncode == 0:
                return port
            if port_free(port):  # not a race for the port: a real failure
                log = self.cluster.log.read_text() if self.cluster.log.exists() else ""
                raise ClusterError(f"{_failed('pg_ctl start', result)}\n{log[-2000:]}")
            attempts.append(f"{port} taken meanwhile")
        raise ClusterError(f"no free port for PostgreSQL: {', '.join(attempts)}")

    def stop(self) -> subprocess.CompletedProcess[str]:
        return self.pg_ctl("stop", "-m", "fast")

    def pg_ctl(self, command: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return _run(
            self.owner,
            self.cluster.root,
            self.bindir / "pg_ctl",
            command,
            "-D",
            self.cluster.data,
            "-w",
            "-t",
            str(START_TIMEOUT),
            *args,
        )

    def ensure_running(self, preferred: int) -> _Setup:
        """Under setup.lock: make the cluster if needed, start it if not running."""
        port = self.cluster.running_port()
        if port is not None:
            setup = _Setup(port)
        else:
            setup = _Setup(preferred)
            if not self.valid():
                self.initdb()
                setup.initialized = True
            setup.port = self.start(preferred)
            setup.started = True
        try:
            psycopg.connect(dsn(setup.port), connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            raise ClusterError(
                f"the cluster in {self.cluster.root} does not answer: {exc}"
            ) from exc
        return setup


class ClusterLease:
    """The cluster running and held in use; ``release()`` stops it unless others use it."""

    def __init__(self, cluster: Cluster, setup: _Setup, users: IO[str]) -> None:
        self.cluster = cluster
        self.port = setup.port
        self.dsn = dsn(setup.port)
        self.initialized = setup.initialized
        self.started = setup.started
        self._users: IO[str] | None = users

    def release(self) -> bool:
        """Stop using the cluster; stop it if nobody else does. True if it was stopped."""
        if self._users is None:
            return False
        tools = _Tools(self.cluster)
        with _locked(self.cluster.root / "setup.lock"):
            self._users.close()
            self._users = None
            with (self.cluster.root / "users.lock").open("a") as probe:
                try:
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                if self.cluster.running_port() is None:
                    return False
                result = tools.stop()
                if result.returncode != 0:
                    raise _failed("pg_ctl stop", result)
                return True


def acquire(root: Path | None = None, port: int | None = None) -> ClusterLease:
    """Make and start the cluster as needed (reusing a running one), and hold it in use."""
    cluster = Cluster(root or default_root())
    tools = _Tools(cluster)
    tools.prepare_root()
    with _locked(cluster.root / "setup.lock"):
        setup = tools.ensure_running(port or default_port())
        users = (cluster.root / "users.lock").open("a")
        fcntl.flock(users, fcntl.LOCK_SH)
    return ClusterLease(cluster, setup, users)


def ensure_cluster(root: Path | None = None, port: int | None = None) -> str:
    """Make and start the cluster as needed and leave it running; return its DSN."""
    cluster = Cluster(root or default_root())
    tools = _Tools(cluster)
    tools.prepare_root()
    with _locked(cluster.root / "setup.lock"):
        return dsn(tools.ensure_running(port or default_port()).port)


def stop(root: Path | None = None, *, force: bool = False) -> bool:
    """Stop the cluster unless a run still uses it (``force`` stops it anyway).

    True if it was stopped, False if it was not running."""
    cluster = Cluster(root or default_root())
    if not cluster.root.is_dir():
        return False
    with _locked(cluster.root / "setup.lock"), (cluster.root / "users.lock").open("a") as probe:
        if cluster.running_port() is None:
            return False
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not force:
                raise ClusterError(
                    f"the cluster in {cluster.root} is in use by a test run or make run "
                    "(stop --force stops it anyway)"
                ) from None
        result = _Tools(cluster).stop()
        if result.returncode != 0:
            raise _failed("pg_ctl stop", result)
    return True


def ensure_database(admin_dsn: str, name: str) -> str:
    """Create database ``name`` if missing; return its SQLAlchemy URL (psycopg driver)."""
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def status(root: Path | None = None) -> str:
    cluster = Cluster(root or default_root())
    port = cluster.running_port()
    if port is not None:
        return f"running: {dsn(port)} (socket in {cluster.sockets}, log {cluster.log})"
    if (cluster.data / "PG_VERSION").exists():
        return f"stopped: cluster in {cluster.data}"
    return f"none: no cluster in {cluster.root} yet"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.postgres", description="The throwaway PostgreSQL in var/pg."
    )
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--dir", type=Path, help="cluster folder (default: LAPOR_PG_DIR, var/pg)")
    parser.add_argument("--port", type=int, help="preferred port (default: LAPOR_PG_PORT, 55432)")
    parser.add_argument("--force", action="store_true", help="stop even while in use")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            print(ensure_cluster(args.dir, args.port))
        elif args.command == "stop":
            print("stopped" if stop(args.dir, force=args.force) else "not running")
        else:
            print(status(args.dir))
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
