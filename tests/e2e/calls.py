"""Helpers to place a carrier call and follow it through AMI and queue_log."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path

from sandbox.ami import AMIClient, Message
from sandbox.harness import Sandbox

CALL_TIMEOUT = 45.0


def random_caller() -> str:
    """A citizen's mobile number no other test uses."""
    return "0812" + "".join(secrets.choice("0123456789") for _ in range(8))


@dataclass(frozen=True)
class FollowedCall:
    uniqueid: str
    joined: Message
    ivr_done: Message
    connected: Message
    completed: Message


async def follow_queued_call(ami: AMIClient, caller: str) -> FollowedCall:
    """Wait for a caller's call to pass the IVR, join the queue, be answered and complete."""

    def event(name: str, **fields: str) -> asyncio.Future[Message]:
        def match(message: Message) -> bool:
            return message.get("Event") == name and all(
                message.get(key) == value for key, value in fields.items()
            )

        return asyncio.ensure_future(ami.wait_for(match, CALL_TIMEOUT))

    joined = await event("QueueCallerJoin", CallerIDNum=caller)
    uniqueid = joined["Uniqueid"]
    ivr_done = await event("UserEvent", UserEvent="LaporIvrDone", Uniqueid=uniqueid)
    connected = await event("AgentConnect", Uniqueid=uniqueid)
    completed = await event("AgentComplete", Uniqueid=uniqueid)
    return FollowedCall(uniqueid, joined, ivr_done, connected, completed)


async def queue_log_verbs(path: Path, uniqueid: str, until: str, timeout: float = 10) -> list[str]:
    """The queue_log verbs of one call, once a verb starting with ``until`` is written."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        verbs = [
            fields[4]
            for fields in (line.split("|") for line in path.read_text().splitlines())
            if len(fields) > 4 and fields[1] == uniqueid
        ]
        if any(verb.startswith(until) for verb in verbs):
            return verbs
        if asyncio.get_running_loop().time() > deadline:
            return verbs
        await asyncio.sleep(0.2)


async def set_ivr_mode(sandbox: Sandbox, mode: str) -> None:
    out = sandbox.callcenter.rx(f"dialplan set global IVR_MODE {mode}")
    assert "IVR_MODE" in out, out
