"""Classic AGI (Asterisk runs the script, talks on stdin/stdout) on top of pyst2."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import sys
from typing import TextIO

from asterisk.agi import AGI

from ivr.channel import Channel, Handler
from ivr.errors import AGIHangup
from ivr.logs import call_context, configure_logging
from ivr.protocol import AGIReply, AGIRequest, ReplyCollector, request_from_env
from ivr.session import run_call

logger = logging.getLogger(__name__)


class _Discard(io.TextIOBase):
    """Swallows pyst2's debug chatter (it writes every header and reply to stderr)."""

    def write(self, text: str) -> int:
        return len(text)


class ClassicChannel(Channel):
    """A channel whose commands go to stdout and whose replies come from stdin.

    The reads block the event loop; a classic AGI process serves exactly one call.
    """

    def __init__(self, request: AGIRequest, stdin: TextIO, stdout: TextIO) -> None:
        super().__init__(request)
        self._stdin = stdin
        self._stdout = stdout

    def mark_hung_up(self, *_: object) -> None:
        self.hung_up = True

    async def send(self, command_line: str) -> AGIReply:
        try:
            self._stdout.write(command_line + "\n")
            self._stdout.flush()
        except BrokenPipeError as exc:
            self.hung_up = True
            raise AGIHangup("Asterisk closed stdout") from exc
        collector = ReplyCollector()
        while True:
            line = self._stdin.readline()
            if not line.endswith("\n"):
                self.hung_up = True
                raise AGIHangup("stdin closed while waiting for a reply")
            reply = collector.feed(line)
            if collector.hangup_seen:
                self.hung_up = True
            if reply is not None:
                return reply


def _utf8(stream: TextIO) -> TextIO:
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(encoding="utf-8", errors="replace")
    return stream


def run_classic(handler: Handler, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Serve one classic AGI call with ``handler``; returns the process exit code."""
    configure_logging(os.environ.get("LAPOR_LOG_LEVEL", "INFO"), "lapor-agi")
    agi = AGI(
        stdin=_utf8(stdin or sys.stdin), stdout=_utf8(stdout or sys.stdout), stderr=_Discard()
    )
    request = request_from_env(agi.env)
    channel = ClassicChannel(request, agi.stdin, agi.stdout)
    # Asterisk signals a classic AGI's hangup with SIGHUP (unless AGISIGHUP=no).
    signal.signal(signal.SIGHUP, channel.mark_hung_up)
    with call_context(request.uniqueid, request.linkedid):
        logger.info("call start script=%s channel=%s", request.script, request.channel)
        outcome = asyncio.run(run_call(channel, handler))
        logger.info("call end status=%s", outcome.status)
    return 1 if outcome.status == "failed" else 0
