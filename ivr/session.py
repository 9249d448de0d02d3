"""What happens around a handler: status variables, logging, outcome (server and classic)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from ivr.channel import Channel, Handler
from ivr.command_errors import AGIDeadChannel
from ivr.errors import AGIError, AGIHangup, AGITimeout

logger = logging.getLogger(__name__)

# "timeout": the peer stopped answering commands; "refused": over the session cap;
# "denied": the peer's address or the AGI secret did not pass the access check.
CallStatus = Literal[
    "ok", "failed", "unknown_script", "hangup", "bad_request", "timeout", "refused", "denied"
]

# Channel variables the dialplan branches on after AGI() returns.
STATUS_VARIABLE = "LAPOR_STATUS"
ERROR_VARIABLE = "LAPOR_ERROR"
_MAX_ERROR_CHARS = 200


@dataclass(frozen=True)
class CallOutcome:
    uniqueid: str
    script: str
    status: CallStatus
    error: str | None = None


async def run_call(channel: Channel, handler: Handler) -> CallOutcome:
    """Run ``handler`` on ``channel`` and report the result to the dialplan."""
    request = channel.request
    try:
        await handler(channel)
    except (AGIHangup, AGIDeadChannel) as exc:
        logger.info("caller hung up: %s", exc)
        return CallOutcome(request.uniqueid, request.script, "hangup")
    except AGITimeout as exc:
        # Nothing more can be sent on this session, so no status variables either.
        logger.warning("session abandoned: %s", exc)
        return CallOutcome(request.uniqueid, request.script, "timeout", short_error(exc))
    except Exception as exc:
        logger.exception("handler %s failed", request.script)
        error = short_error(exc)
        await _report_failure(channel, error)
        return CallOutcome(request.uniqueid, request.script, "failed", error)
    if STATUS_VARIABLE not in channel.variables_set:
        await _set_quietly(channel, STATUS_VARIABLE, "OK")
    return CallOutcome(request.uniqueid, request.script, "ok")


async def reject_unknown_script(channel: Channel) -> CallOutcome:
    request = channel.request
    error = f"unknown script: {request.script}"
    logger.warning("%s", error)
    await _report_failure(channel, error)
    await _verbose_quietly(channel, f"Lapor IVR: {error}")
    return CallOutcome(request.uniqueid, request.script, "unknown_script", error)


def short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    # An AGI argument (format_command quotes it); the dialplan FILTER()s it before its
    # UserEvent, so parentheses and commas may stay for the reader.
    return " ".join(text.split())[:_MAX_ERROR_CHARS]


async def _report_failure(channel: Channel, error: str) -> None:
    await _set_quietly(channel, STATUS_VARIABLE, "FAILED")
    await _set_quietly(channel, ERROR_VARIABLE, error)


async def _set_quietly(channel: Channel, name: str, value: str) -> None:
    try:
        await channel.set_variable(name, value)
    except (AGIError, OSError) as exc:
        logger.info("could not set %s: %s", name, exc)


async def _verbose_quietly(channel: Channel, message: str) -> None:
    try:
        await channel.verbose(message)
    except (AGIError, OSError) as exc:
        logger.info("could not send VERBOSE: %s", exc)
