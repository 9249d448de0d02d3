"""Lapor's asyncio AGI layer: FastAGI server, classic AGI runner, typed channel API."""

from ivr.channel import Channel, DigitsResult, Handler, RecordResult
from ivr.command_errors import AGICommandError, AGIDeadChannel, AGIInvalidCommand, AGIUsageError
from ivr.errors import AGIError, AGIHangup, AGIProtocolError
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
