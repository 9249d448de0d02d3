"""The throwaway PostgreSQL cluster (sandbox/postgres.py): made once, reused, shared.

Each test makes its own cluster in a temporary folder on a free port, so none depends on a
server already running on this machine (5432) or on the repo's var/pg.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

from api.core.auth import Role, create_token
from api.core.migrate import upgrade
from sandbox import devrun, postgres
from sandbox.config import REPO_ROOT, default_cache_dir
from tests.conftest import unavailable


@pytest.fixture
def root() -> Iterator[Path]:
    """A cluster folder the server's user (postgres or nobody, under root) can reach:
    pytest's tmp_path lives in a folder only root may enter."""
    try:
        postgres.find_bindir()
    except postgres.ClusterError as exc:
        unavailable(str(exc))
    base = Path(tempfile.mkdtemp(prefix="lapor-pg-test-"))
    base.chmod(0o755)
    try:
        yield base / "pg"
    finally:
        postgres.stop(base / "pg", force=True)
        shutil.rmtree(base)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def answers(dsn: str) -> bool:
    try:
        psycopg.connect(dsn, connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


def test_a_stopped_cluster_starts_again_with_its_data_and_without_initdb(root: Path) -> None:
    port = free_port()
    first = postgres.acquire(root, port)
    assert (first.initialized, first.started, first.port) == (True, True, port)
    assert first.dsn == f"postgresql://postgres@127.0.0.1:{port}/postgres"
    with psycopg.connect(first.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (note text)")
        conn.execute("INSERT INTO kept VALUES ('from the first run')")
    assert first.release() is True
    assert not answers(first.dsn)
    assert postgres.status(root).startswith("stopped")

    second = postgres.acquire(root, port)
    assert (second.initialized, second.started) == (False, True)
    with psycopg.connect(second.dsn) as conn:
        assert conn.execute("SELECT note FROM kept").fetchall() == [("from the first run",)]
    assert second.release() is True


def test_the_server_listens_on_loopback_and_a_socket_in_its_folder_with_local_trust(
    root: Path,
) -> None:
    lease = postgres.acquire(root, free_port())
    try:
        with psycopg.connect(lease.dsn) as conn:
            settings: dict[str, str] = dict(
                conn.execute(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('listen_addresses', 'unix_socket_directories', 'port', 'fsync')"
                ).fetchall()
            )
        assert settings == {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(root / "run"),
            "port": str(lease.port),
            "fsync": "off",
        }
        over_socket = f"host={root / 'run'} port={lease.port} user=postgres dbname=postgres"
        assert answers(over_socket)
        rules = [
            line.split()
            for line in (root / "data" / "pg_hba.conf").read_text().splitlines()
            if line and not line.startswith("#")
        ]
        assert rules == [
            ["local", "all", "all", "trust"],
            ["host", "all", "all", "127.0.0.1/32", "trust"],
        ]
    finally:
        lease.release()


def test_the_last_user_stops_it_and_a_running_one_is_reused(root: Path) -> None:
    tests = postgres.acquire(root, free_port())
    dev_run = postgres.acquire(root, free_port())  # finds it running: same server
    assert (dev_run.initialized, dev_run.started, dev_run.port) == (False, False, tests.port)
    assert tests.release() is False
    assert answers(dev_run.dsn), "still in use by the other run"
    with pytest.raises(postgres.ClusterError, match="in use"):
        postgres.stop(root)
    assert dev_run.release() is True
    assert not answers(dev_run.dsn)


def test_a_busy_port_moves_the_cluster_to_the_next_free_one(root: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        if not postgres.port_free(busy + 1):
            pytest.skip(f"port {busy + 1} is taken too")
        lease = postgres.acquire(root, busy)
        try:
            assert lease.port == busy + 1
            assert answers(lease.dsn)
        finally:
            lease.release()


def test_two_runs_starting_at_once_make_one_cluster(root: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "sandbox.postgres", "start", "--dir", str(root)]
    runs = [
        subprocess.Popen(
            [*command, "--port", str(port)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0].strip() for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert outputs == [postgres.dsn(port)] * 2
    assert sorted(path.name for path in root.iterdir() if path.name.startswith("data")) == ["data"]
    assert answers(postgres.dsn(port))


def test_make_run_on_postgres_keeps_its_lapor_database_across_runs(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAPOR_API_DATABASE_URL", raising=False)
    monkeypatch.setenv("LAPOR_DEV_DB", "postgres")
    monkeypatch.setenv("LAPOR_PG_DIR", str(root))
    monkeypatch.setenv("LAPOR_PG_PORT", str(free_port()))
    url, lease = devrun.dev_database()
    assert lease is not None
    assert url == f"postgresql+psycopg://postgres@127.0.0.1:{lease.port}/lapor"
    engine = create_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        create_token(session, name="ivr-devrun", role=Role.ivr)
    engine.dispose()
    assert lease.release() is True

    again, lease = devrun.dev_database()
    assert (again, lease is not None) == (url, True)
    engine = create_engine(again)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM api_token")).scalars().all() == ["ivr-devrun"]
    engine.dispose()
    assert lease is not None
    assert lease.release() is True


def test_make_run_stays_on_sqlite_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAPOR_API_DATABASE_URL", raising=False)
    monkeypatch.delenv("LAPOR_DEV_DB", raising=False)
    assert devrun.dev_database() == (devrun.SQLITE_URL, None)
    monkeypatch.setenv("LAPOR_DEV_DB", "mysql")
    with pytest.raises(SystemExit, match="sqlite or postgres"):
        devrun.dev_database()
    monkeypatch.setenv("LAPOR_API_DATABASE_URL", "postgresql+psycopg://u@db/x")
    assert devrun.dev_database() == ("postgresql+psycopg://u@db/x", None)


def test_a_checkout_in_a_private_folder_keeps_its_cluster_in_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    private = tmp_path / "private" / "lapor"
    private.mkdir(parents=True)
    (tmp_path / "private").chmod(0o700)
    monkeypatch.delenv("LAPOR_PG_DIR", raising=False)
    monkeypatch.setattr(postgres, "REPO_ROOT", private)
    if os.geteuid() == 0:
        root = postgres.default_root()
        assert not postgres.others_can_reach(private)
        assert root.parent == default_cache_dir()
        assert root.name.startswith("pg-")
    else:
        assert postgres.default_root() == private / "var" / "pg"
