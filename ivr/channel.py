"""The typed channel API that AGI handlers are written against."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from asterisk_values import UnsafeValue
from ivr.command_errors import (
    AGICommandError,
    AGIDeadChannel,
    AGIInvalidCommand,
    AGIUsageError,
)
from ivr.errors import AGIError, AGIHangup
from ivr.protocol import AGIReply, AGIRequest, format_command

logger = logging.getLogger(__name__)

# Asterisk still accepts these once the channel is dead (res_agi.c, "dead" flag).
_ALLOWED_AFTER_HANGUP = tuple(
    f"{name} "
    for name in (
        "EXEC",
        "GET VARIABLE",
        "SET VARIABLE",
        "GET FULL VARIABLE",
        "DATABASE",
        "NOOP",
        "VERBOSE",
    )
)

# RECORD FILE's default maximum length, in milliseconds.
DEFAULT_RECORD_TIMEOUT_MS = 120_000
# EXEC answers -2 when the application does not exist.
_EXEC_APP_NOT_FOUND = -2


@dataclass(frozen=True)
class DigitsResult:
    digits: str
    timed_out: bool


@dataclass(frozen=True)
class RecordResult:
    ended_by: Literal["dtmf", "timeout", "hangup"]
    digit: str | None
    endpos: int  # samples written


def allowed_after_hangup(command_line: str) -> bool:
    return f"{command_line.upper()} ".startswith(_ALLOWED_AFTER_HANGUP)


class Channel(ABC):
    """One call's AGI session. Subclasses provide the transport (``send``)."""

    def __init__(self, request: AGIRequest) -> None:
        self.request = request
        # When the session began (time.monotonic()): the greeting's latency counts from it.
        self.started = time.monotonic()
        self.hung_up = False
        self.variables_set: dict[str, str] = {}

    @abstractmethod
    async def send(self, command_line: str) -> AGIReply:
        """Write one command line and return its reply (out-of-band lines handled)."""

    async def command(self, name: str, *args: str) -> AGIReply:
        """Send a command and turn error replies into exceptions."""
        line = format_command(name, *args)
        if self.hung_up and not allowed_after_hangup(line):
            raise AGIHangup(f"channel hung up; not sending {name}")
        reply = await self.send(line)
        if reply.code == 200:
            return reply
        if reply.code == 510:
            raise AGIInvalidCommand(reply)
        if reply.code == 511:
            self.hung_up = True
            raise AGIDeadChannel(reply)
        if reply.code == 520:
            raise AGIUsageError(reply, reply.data or "")
        raise AGICommandError(reply)

    async def answer(self) -> None:
        self._raise_if_hangup(await self.command("ANSWER"), "ANSWER")

    async def stream_file(self, name: str, escape_digits: str = "") -> str | None:
        reply = await self.command("STREAM FILE", name, escape_digits)
        if reply.result == "-1":
            # -1 means either "file not found" or "hung up". After a hangup Asterisk
            # announces it (HANGUP line or 511) before answering the next command.
            await self.command("NOOP")
            if self.hung_up:
                raise AGIHangup("hung up during STREAM FILE")
            logger.warning("could not play %s (missing file?)", name)
            return None
        return _digit(reply)

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> DigitsResult:
        reply = await self.command("GET DATA", prompt, str(timeout_ms), str(max_digits))
        self._raise_if_hangup(reply, "GET DATA")
        return DigitsResult(digits=reply.result, timed_out=reply.data == "timeout")

    async def record_file(
        self,
        path: str,
        fmt: str = "wav",
        escape_digits: str = "#",
        timeout_ms: int = DEFAULT_RECORD_TIMEOUT_MS,
        silence_s: int | None = None,
        beep: bool = True,
    ) -> RecordResult:
        args = [path, fmt, escape_digits, str(timeout_ms)]
        if beep:
            args.append("BEEP")
        if silence_s is not None:
            args.append(f"s={silence_s}")
        reply = await self.command("RECORD FILE", *args)
        return self._record_result(reply)

    def _record_result(self, reply: AGIReply) -> RecordResult:
        endpos = int(reply.fields.get("endpos", "0"))
        if reply.data == "dtmf":
            return RecordResult(ended_by="dtmf", digit=_digit(reply), endpos=endpos)
        if reply.data == "timeout":
            # result is leftover milliseconds here, not a digit; this also covers silence.
            return RecordResult(ended_by="timeout", digit=None, endpos=endpos)
        if reply.data == "hangup":
            # Not an exception: the partial recording is on disk and must be kept.
            self.hung_up = True
            return RecordResult(ended_by="hangup", digit=None, endpos=endpos)
        raise AGIError(f"RECORD FILE failed: {reply.raw}")

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        reply = await self.command("SAY DIGITS", digits, escape_digits)
        self._raise_if_hangup(reply, "SAY DIGITS")
        return _digit(reply)

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, value)
        self.variables_set[name] = value

    async def get_variable(self, name: str) -> str | None:
        reply = await self.command("GET VARIABLE", name)
        return reply.data if reply.result == "1" else None

    async def exec(self, app: str, *args: str) -> int:
        """Run a dialplan application; its arguments are joined with commas, so none of
        them may contain one (it would become an extra argument)."""
        for arg in args:
            if "," in arg:
                raise UnsafeValue("dialplan application argument", arg)
        reply = await self.command("EXEC", app, *([",".join(args)] if args else []))
        result = reply.result_int
        if result == _EXEC_APP_NOT_FOUND:
            raise AGICommandError(reply, f"application not found: {app}")
        return result

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command("VERBOSE", message, str(level))

    async def hangup(self) -> None:
        if self.hung_up:
            return
        await self.command("HANGUP")
        self.hung_up = True

    def _raise_if_hangup(self, reply: AGIReply, command: str) -> None:
        if reply.result == "-1":
            self.hung_up = True
            raise AGIHangup(f"hung up during {command}")


def _digit(reply: AGIReply) -> str | None:
    code = reply.result_int
    return chr(code) if code > 0 else None


Handler = Callable[[Channel], Awaitable[None]]
