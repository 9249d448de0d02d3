"""agi_scripts/greet.py as a classic AGI subprocess, with the test playing Asterisk."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.agi_peer import header_bytes

REPO_ROOT = Path(__file__).resolve().parents[2]
GREET = REPO_ROOT / "agi_scripts" / "greet.py"
UNIQUEID = "1700000100.5"
# Seconds for any single exchange with the script before the test fails.
IO_TIMEOUT = 10.0


def classic_headers() -> dict[str, str]:
    return {
        "agi_request": str(GREET),
        "agi_channel": "PJSIP/carrier-00000002",
        "agi_language": "id",
        "agi_type": "PJSIP",
        "agi_uniqueid": UNIQUEID,
        "agi_version": "22.0.0",
        "agi_callerid": "08123456789",
        "agi_calleridname": "Jos\u00e9",
        "agi_context": "lapor-inbound",
        "agi_extension": "112",
        "agi_priority": "3",
    }


class ClassicScript:
    """Asterisk's side of a classic AGI: the script's stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        assert process.stdin is not None
        assert process.stdout is not None
        self.stdin = process.stdin
        self.stdout = process.stdout

    async def write(self, data: bytes) -> None:
        self.stdin.write(data)
        await self.stdin.drain()

    async def expect(self, command: str, *reply_lines: str) -> None:
        line = await asyncio.wait_for(self.stdout.readline(), IO_TIMEOUT)
        assert line.decode().rstrip("\n") == command
        reply = "".join(f"{reply_line}\n" for reply_line in reply_lines or ("200 result=1",))
        await self.write(reply.encode())

    async def finish(self) -> tuple[int, bytes, str]:
        """Wait for exit; returns exit code, unread stdout and stderr."""
        self.stdin.close()
        rest = await asyncio.wait_for(self.stdout.read(), IO_TIMEOUT)
        assert self.process.stderr is not None
        stderr = await asyncio.wait_for(self.process.stderr.read(), IO_TIMEOUT)
        code = await asyncio.wait_for(self.process.wait(), IO_TIMEOUT)
        return code, rest, stderr.decode()


@pytest.fixture
async def greet_script() -> AsyncIterator[ClassicScript]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "LAPOR_LOG_LEVEL": "INFO"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(GREET),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd="/",
    )
    script = ClassicScript(process)
    try:
        await script.write(header_bytes(classic_headers()))
        yield script
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


async def test_greet_classic_happy_path(greet_script: ClassicScript) -> None:
    await greet_script.expect("ANSWER", "200 result=0")
    await greet_script.expect('STREAM FILE lapor/selamat-datang ""', "200 result=0 endpos=48000")
    await greet_script.expect(f"SET VARIABLE LAPOR_GREETED {UNIQUEID}")
    await greet_script.expect("SET VARIABLE LAPOR_STATUS OK")

    code, rest, stderr = await greet_script.finish()
    assert (code, rest) == (0, b"")
    assert f"[{UNIQUEID}] call start script=greet channel=PJSIP/carrier-00000002" in stderr
    assert f"[{UNIQUEID}] call end status=ok" in stderr


async def test_greet_classic_hangup_line_is_out_of_band(greet_script: ClassicScript) -> None:
    await greet_script.expect("ANSWER", "200 result=0")
    await greet_script.expect(
        'STREAM FILE lapor/selamat-datang ""', "HANGUP", "200 result=0 endpos=1200"
    )
    # Only commands allowed on a dead channel follow, each matched to its own reply.
    await greet_script.expect(f"SET VARIABLE LAPOR_GREETED {UNIQUEID}", "200 result=1")
    await greet_script.expect("SET VARIABLE LAPOR_STATUS OK")

    code, rest, _ = await greet_script.finish()
    assert (code, rest) == (0, b"")


async def test_greet_classic_usage_error_then_in_sync(greet_script: ClassicScript) -> None:
    await greet_script.expect(
        "ANSWER",
        "520-Invalid command syntax.  Proper usage follows:",
        " Usage: ANSWER",
        "  Answers channel if not already in answer state.",
        "520 End of proper usage.",
    )
    await greet_script.expect("SET VARIABLE LAPOR_STATUS FAILED")
    await greet_script.expect(
        "SET VARIABLE LAPOR_ERROR "
        '"AGIUsageError: invalid command syntax: Usage: ANSWER'
        ' Answers channel if not already in answer state."'
    )

    code, rest, stderr = await greet_script.finish()
    assert (code, rest) == (1, b"")
    assert f"[{UNIQUEID}] handler greet failed" in stderr
    assert "Traceback" in stderr


async def test_greet_classic_stdin_closed_is_a_hangup(greet_script: ClassicScript) -> None:
    line = await asyncio.wait_for(greet_script.stdout.readline(), IO_TIMEOUT)
    assert line == b"ANSWER\n"

    code, rest, stderr = await greet_script.finish()
    assert (code, rest) == (0, b"")
    assert "call end status=hangup" in stderr
