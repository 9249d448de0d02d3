"""The commands behave like commands: ``--help`` prints help (and the environment variables
each service reads, from its settings class) and exits 0 without starting anything;
``--version`` prints the package's version; an unknown option exits 2 with a usage line;
the collector refuses to start without its AMI secret or API token. Each case runs the real
installed command in a subprocess."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import ivr.settings
from api.core.settings import CODE_ROOT, ApiSettings
from collector._settings import CollectorSettings

BIN = Path(sys.executable).parent
GUARD_SECONDS = 60  # against a command that starts serving instead of answering
SERVICES = ("lapor-api", "lapor-ivr", "lapor-collector")


def run(command: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_")}
    return subprocess.run(
        [str(BIN / command), *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=GUARD_SECONDS,
    )


def expected_variables(command: str) -> set[str]:
    """What each service reads, from its settings classes (not from the help's generator)."""
    if command == "lapor-api":
        return {f"LAPOR_API_{name.upper()}" for name in ApiSettings.model_fields}
    if command == "lapor-collector":
        return {f"LAPOR_COLLECTOR_{name.upper()}" for name in CollectorSettings.model_fields}
    fields = {f"LAPOR_IVR_{f.name.upper()}" for f in dataclasses.fields(ivr.settings.IvrSettings)}
    # Every variable named in the settings module, except the classic scripts' env file.
    source = Path(ivr.settings.__file__).read_text(encoding="utf-8")
    named = set(re.findall(r'"(LAPOR_[A-Z_]*[A-Z])"', source)) - {"LAPOR_IVR_ENV_FILE"}
    return fields | named


@pytest.mark.parametrize("command", SERVICES)
def test_help_lists_the_environment_and_starts_nothing(command: str, tmp_path: Path) -> None:
    database = tmp_path / "lapor.db"
    done = run(
        command,
        "--help",
        cwd=tmp_path,
        LAPOR_API_DATABASE_URL=f"sqlite:///{database}",
        LAPOR_COLLECTOR_BUFFER_DIR=str(tmp_path / "buffer"),
        LAPOR_IVR_SPOOL_DIR=str(tmp_path / "spool"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {command} ")
    listed = set(re.findall(r"^  (LAPOR_[A-Z_]+) ", done.stdout, re.MULTILINE))
    assert listed >= expected_variables(command)
    assert "--version" in done.stdout
    assert list(tmp_path.iterdir()) == []  # no database, buffer or spool made


@pytest.mark.parametrize("command", [*SERVICES, "lapor"])
def test_version(command: str, tmp_path: Path) -> None:
    done = run(command, "--version", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, f"{command} {version('lapor-callcenter')}\n")


def test_the_sandbox_tool_has_a_version_too() -> None:
    # Test tooling, not installed: run from the repository root.
    done = subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "--version"],
        cwd=CODE_ROOT,
        capture_output=True,
        text=True,
        timeout=GUARD_SECONDS,
    )
    assert done.stdout == f"python -m sandbox.cli {version('lapor-callcenter')}\n"


@pytest.mark.parametrize("command", SERVICES)
def test_an_unknown_option_is_a_usage_error(command: str, tmp_path: Path) -> None:
    done = run(command, "--port", "9", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"usage: {command} ")
    assert "unrecognized arguments: --port 9" in done.stderr or "invalid choice" in done.stderr


def refusal(tmp_path: Path, **env: str) -> str:
    done = run(
        "lapor-collector",
        cwd=tmp_path,
        LAPOR_COLLECTOR_BUFFER_DIR=str(tmp_path / "buffer"),
        LAPOR_COLLECTOR_AMI_PORT="9",  # nothing there, should it start anyway
        **env,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("lapor-collector: refusing to start: ")
    assert not (tmp_path / "buffer").exists()
    return lines[0]


def test_the_collector_refuses_to_start_without_its_ami_secret(tmp_path: Path) -> None:
    line = refusal(tmp_path, LAPOR_COLLECTOR_AMI_SECRET="", LAPOR_COLLECTOR_API_TOKEN="t0k3n")
    assert "LAPOR_COLLECTOR_AMI_SECRET" in line
    assert "API token" not in line


def test_the_collector_refuses_to_start_without_its_api_token(tmp_path: Path) -> None:
    empty = tmp_path / "token"
    empty.write_text("\n", encoding="utf-8")  # a token file that is there but empty
    line = refusal(
        tmp_path, LAPOR_COLLECTOR_AMI_SECRET="s3cret", LAPOR_COLLECTOR_API_TOKEN_FILE=str(empty)
    )
    assert "LAPOR_COLLECTOR_API_TOKEN" in line
    assert "AMI secret" not in line
