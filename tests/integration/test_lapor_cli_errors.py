"""``lapor`` ends an expected failure with one line on stderr and status 1 (2 for usage),
never a traceback: each case runs the real installed command in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
# A guard against a hang, not a timing assertion.
GUARD_SECONDS = 60


def lapor(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_")}
    return subprocess.run(
        [str(BIN / "lapor"), *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=GUARD_SECONDS,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("lapor: ")
    return lines[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens there once the socket is closed


def test_an_unreachable_database(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://lapor:secret@127.0.0.1:{closed_port()}/lapor"
    done = lapor("db", "upgrade", env={"LAPOR_API_DATABASE_URL": url}, cwd=tmp_path)
    line = one_line_error(done)
    assert "LAPOR_API_DATABASE_URL" in line
    assert "refused" in line.lower()
    assert "secret" not in line  # the password is not echoed


@pytest.mark.parametrize("scheme", ["postgres", "postgres+psycopg"])
def test_a_postgres_url_says_what_to_write(tmp_path: Path, scheme: str) -> None:
    url = f"{scheme}://lapor:secret@127.0.0.1:5432/lapor"
    env = {"LAPOR_API_DATABASE_URL": url}
    line = one_line_error(
        lapor("token", "create", "--role", "ivr", "--name", "x", env=env, cwd=tmp_path)
    )
    assert "postgresql://" in line
    assert "postgresql+psycopg://" in line
    assert "secret" not in line


def test_a_missing_file_is_reported_before_anything_is_migrated(tmp_path: Path) -> None:
    database = tmp_path / "db" / "lapor.db"
    env = {"LAPOR_API_DATABASE_URL": f"sqlite:///{database}"}
    for command in ("import-queue-log", "reconcile"):
        done = lapor(command, str(tmp_path / "no-such-queue_log"), env=env, cwd=tmp_path)
        line = one_line_error(done)
        assert line == f"lapor: {tmp_path / 'no-such-queue_log'}: no such file"
    assert not database.parent.exists()  # no database made, nothing migrated


def test_a_bad_setting_names_its_variable(tmp_path: Path) -> None:
    env = {"LAPOR_API_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "LAPOR_API_PORT": "eighty"}
    line = one_line_error(lapor("db", "upgrade", env=env, cwd=tmp_path))
    assert line.startswith("lapor: LAPOR_API_PORT: ")


def test_usage_errors_exit_2_with_a_usage_line(tmp_path: Path) -> None:
    for args in (["--no-such-option"], ["token", "create", "--role", "ivr"]):
        done = lapor(*args, env={}, cwd=tmp_path)
        assert done.returncode == 2, args
        assert done.stderr.startswith("usage: lapor"), done.stderr
        assert "Traceback" not in done.stderr


def test_a_working_command_still_works(tmp_path: Path) -> None:
    env = {"LAPOR_API_DATABASE_URL": f"sqlite:///{tmp_path / 'lapor.db'}"}
    done = lapor("db", "upgrade", env=env, cwd=tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, "database schema is up to date")
