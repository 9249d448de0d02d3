"""Hostile values reaching the callback dialplan on the real sandbox Asterisk run nothing
and dial nothing they shouldn't.

The API validates what it sends (tests/integration/test_asterisk_boundary.py); here the
dialplan is attacked directly, as if a value had slipped past: an Originate as the
control user with a hostile ``LAPOR_CALLBACK_LINE`` or number. Before the fix, the first
payload ran ``id`` inside Asterisk through ``$[...]`` and ``SHELL()``.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.ami import AMIClient, Message
from sandbox.harness import CARRIER_AMI_USER, CONTROL_USER, Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.officers import event

pytestmark = pytest.mark.e2e
EVENT_TIMEOUT = 40
MAIN_LINE = "082282204761"


def payloads(marker: str) -> list[str]:
    """Lines that each try to write ``marker`` inside the call center's root filesystem."""
    return [
        f'"|SHELL("$(id>{marker}1)")|"',
        f"${{SHELL(id>{marker}2)}}",
        f"$[SHELL(id>{marker}3)]",
        f"1,SHELL(id>{marker}4)",
        f'0812" = "0812"]?${{SHELL(id>{marker}5)}}:',
    ]


@pytest.fixture
async def carrier(sandbox: Sandbox) -> AsyncIterator[AMIClient]:
    async with await AMIClient.connect(
        "127.0.0.1", sandbox.config.carrier_ami_port, CARRIER_AMI_USER, sandbox.secrets.carrier
    ) as client:
        yield client


async def originate_callback(sandbox: Sandbox, number: str, line: str) -> Message:
    """The officer's phone rings, answers, then [callback] runs with ``number``."""
    async with await AMIClient.connect(
        "127.0.0.1", sandbox.config.ami_port, CONTROL_USER, sandbox.secrets.control
    ) as control:
        return await control.action(
            "Originate",
            timeout=EVENT_TIMEOUT,
            Channel=f"PJSIP/{sandbox.config.agents[0]}",
            Context="callback",
            Exten=number,
            Priority="1",
            CallerID=f'"Callback" <{number}>',
            Variable=f"LAPOR_CALLBACK_LINE={escaped(line)}",
            Async="false",
        )


def escaped(value: str) -> str:
    """``value`` as an Originate ``Variable`` carries it literally: Asterisk splits the
    header on commas and strips quotes unless they are escaped with a backslash."""
    return re.sub(r'([\\",])', r"\\\1", value)


def rootfs_path(sandbox: Sandbox, path: str) -> Path:
    return sandbox.runtime.host_path(path)


def test_no_module_that_runs_commands_is_loaded(sandbox: Sandbox) -> None:
    for module in ("func_shell", "app_system", "app_exec", "func_env", "app_originate"):
        shown = sandbox.callcenter.rx(f"module show like {module}")
        assert "0 modules loaded" in shown, shown


@pytest.mark.parametrize("index", range(5))
async def test_a_hostile_callback_line_runs_nothing_and_calls_from_the_main_line(
    sandbox: Sandbox, carrier: AMIClient, index: int
) -> None:
    marker = f"/tmp/lapor-injected-{secrets.token_hex(4)}-"
    line = payloads(marker)[index]
    citizen = random_caller()
    reply = await originate_callback(sandbox, citizen, line)
    assert reply.get("Response") == "Success", reply
    dialled = await carrier.wait_for(event("Newchannel", Exten=citizen), EVENT_TIMEOUT)
    written = [p for n in range(1, 6) if (p := rootfs_path(sandbox, f"{marker}{n}")).exists()]
    assert written == []
    # The citizen's phone shows the main line, not the hostile text.
    assert dialled["CallerIDNum"] == MAIN_LINE


@pytest.mark.parametrize(
    "number",
    ["0812345678&PJSIP/{agent}", "0812345678,30,U(x)", "0812345678|SHELL(id)|"],
)
async def test_a_number_that_is_not_digits_is_refused_not_dialled(
    sandbox: Sandbox, carrier: AMIClient, number: str
) -> None:
    other_officer = sandbox.config.agents[1]
    hostile = number.format(agent=other_officer)
    reply = await originate_callback(sandbox, hostile, MAIN_LINE)
    assert reply.get("Response") == "Success", reply
    # The officer's leg ran [callback] and hung up; nothing reached the trunk.
    await asyncio.sleep(3)
    trunk_calls = [
        m
        for m in carrier.events
        if m.get("Event") == "Newchannel" and m.get("Exten") in {other_officer, "0812345678"}
    ]
    assert trunk_calls == []
