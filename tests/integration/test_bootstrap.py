"""``lapor bootstrap``: the admin and the service tokens, idempotent, on SQLite and PostgreSQL.

The real ``lapor`` command runs in a subprocess, as the compose init service runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from api.core.auth import Role, hash_token, revoke_token
from api.core.db import make_engine
from collector._settings import CollectorSettings
from ivr.settings import IvrSettings

LAPOR = Path(sys.executable).with_name("lapor")
PASSWORD = "a-real-admin-passphrase"


def run_bootstrap(
    database_url: str, tokens: Path, password: str | None = PASSWORD, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_")}
    env |= {"LAPOR_API_DATABASE_URL": database_url, **extra_env}
    if password is not None:
        env["LAPOR_ADMIN_PASSWORD"] = password
    return subprocess.run(
        [str(LAPOR), "bootstrap", "--tokens-dir", str(tokens)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def snapshot(database_url: str, tokens: Path) -> dict[str, Any]:
    """Every file under ``tokens`` (name, mode, content) and the rows bootstrap touches."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            users = conn.execute(
                text("SELECT id, username, role, password_hash, active FROM app_user ORDER BY id")
            ).all()
            token_rows = conn.execute(
                text(
                    "SELECT id, name, role, token_hash, revoked_at, expires_at "
                    "FROM api_token ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    files = {p.name: (p.stat().st_mode & 0o777, p.read_text()) for p in sorted(tokens.iterdir())}
    return {
        "users": [tuple(r) for r in users],
        "tokens": [tuple(r) for r in token_rows],
        "files": files,
    }


def test_bootstrap_twice_changes_nothing_the_second_time(database_url: str, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    first = run_bootstrap(database_url, tokens)
    assert first.returncode == 0, first.stderr
    assert "admin admin: created" in first.stdout
    after_first = snapshot(database_url, tokens)

    second = run_bootstrap(database_url, tokens)
    assert second.returncode == 0, second.stderr
    assert "admin admin: already there" in second.stdout
    assert snapshot(database_url, tokens) == after_first

    # What was made: one admin, one live token per service in a file only its owner reads.
    assert [(u[1], u[2]) for u in after_first["users"]] == [("admin", "admin")]
    assert sorted(after_first["files"]) == [
        "collector.token",
        "gateway.token",
        "ivr.token",
        "monitoring.token",
    ]
    live = {(t[1], t[2], t[3]) for t in after_first["tokens"] if t[4] is None}
    for stem in ("ivr", "collector", "gateway"):
        mode, content = after_first["files"][f"{stem}.token"]
        assert mode == 0o600
        assert (f"bootstrap-{stem}", Role(stem).value, hash_token(content.strip())) in live
    # Neither the password nor a token is printed.
    for output in (first.stdout + first.stderr, second.stdout + second.stderr):
        assert PASSWORD not in output
        for _, content in after_first["files"].values():
            assert content.strip() not in output


def test_the_services_read_their_token_files(sqlite_url: str, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    assert run_bootstrap(sqlite_url, tokens).returncode == 0
    ivr_token = (tokens / "ivr.token").read_text().strip()
    collector_token = (tokens / "collector.token").read_text().strip()

    ivr = IvrSettings.from_env({"LAPOR_IVR_API_TOKEN_FILE": str(tokens / "ivr.token")})
    collector = CollectorSettings(api_token_file=tokens / "collector.token")
    assert ivr.api_token == ivr_token
    assert collector.token() == collector_token


def test_a_revoked_or_lost_token_is_replaced_and_the_old_one_stays_revoked(
    sqlite_url: str, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    assert run_bootstrap(sqlite_url, tokens).returncode == 0
    old_ivr = (tokens / "ivr.token").read_text()
    old_gateway = (tokens / "gateway.token").read_text()
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        assert revoke_token(session, name="bootstrap-ivr") == 1
    engine.dispose()
    (tokens / "gateway.token").unlink()

    again = run_bootstrap(sqlite_url, tokens, password=None)
    assert again.returncode == 0, again.stderr
    assert (tokens / "ivr.token").read_text() != old_ivr
    assert (tokens / "gateway.token").read_text() != old_gateway
    rows = snapshot(sqlite_url, tokens)["tokens"]
    live_names = sorted(t[1] for t in rows if t[4] is None)
    assert live_names == [
        "bootstrap-collector",
        "bootstrap-gateway",
        "bootstrap-ivr",
        "bootstrap-monitoring",
    ]
    revoked = {t[3] for t in rows if t[4] is not None}
    assert {hash_token(old_ivr.strip()), hash_token(old_gateway.strip())} == revoked


@pytest.mark.parametrize("password", [None, "short"])
def test_no_admin_without_a_usable_password(
    sqlite_url: str, tmp_path: Path, password: str | None
) -> None:
    result = run_bootstrap(sqlite_url, tmp_path / "tokens", password=password)
    assert result.returncode == 1
    assert result.stderr.startswith("lapor bootstrap: ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "tokens").exists()


def test_admin_password_from_a_file(sqlite_url: str, tmp_path: Path) -> None:
    secret = tmp_path / "admin_password"
    secret.write_text(PASSWORD + "\n")
    result = run_bootstrap(
        sqlite_url, tmp_path / "tokens", password=None, LAPOR_ADMIN_PASSWORD_FILE=str(secret)
    )
    assert result.returncode == 0, result.stderr
    assert "admin admin: created" in result.stdout
