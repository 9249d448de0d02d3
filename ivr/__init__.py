"""Lapor's asyncio AGI layer: FastAGI server, classic AGI runner, typed channel API."""

from ivr.channel import Channel, DigitsResult, Handler, RecordResult
from ivr.errors import (
    AGICommandError,
    AGIDeadChannel,
    AGIError,
    AGIHangup,
    AGIInvalidCommand,
    AGIProtocolError,
    AGIUsageError,
)
from ivr.fastagi import FastAGIServer, ServerStats
from ivr.logs import UniqueIdFilter, configure_logging
from ivr.protocol import AGIReply, AGIRequest, format_command, parse_headers, parse_reply
from ivr.session import CallOutcome, CallStatus, run_call

__all__ = [
    "AGICommandError",
    "AGIDeadChannel",
    "AGIError",
    "AGIHangup",
    "AGIInvalidCommand",
    "AGIProtocolError",
    "AGIReply",
    "AGIRequest",
    "AGIUsageError",
    "CallOutcome",
    "CallStatus",
    "Channel",
    "DigitsResult",
    "FastAGIServer",
    "Handler",
    "RecordResult",
    "ServerStats",
    "UniqueIdFilter",
    "configure_logging",
    "format_command",
    "parse_headers",
    "parse_reply",
    "run_call",
]
