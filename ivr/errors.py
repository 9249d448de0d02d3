"""Errors raised by the AGI layer.

AGIError
├── AGIProtocolError      malformed data on the wire (headers or replies)
├── AGIHangup             the channel hung up (or the connection closed)
├── AGITimeout            the peer did not reply to a command in time
└── AGICommandError       Asterisk rejected a command; ``.reply`` holds the reply
    ├── AGIInvalidCommand 510: unknown command
    ├── AGIDeadChannel    511: command not permitted on a dead channel
    └── AGIUsageError     520: wrong syntax; ``.usage`` holds Asterisk's usage text
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivr.protocol import AGIReply


class AGIError(Exception):
    """Base class of every error raised by ``ivr``."""


class AGIProtocolError(AGIError):
    """The peer sent something that is not valid AGI."""


class AGIHangup(AGIError):
    """The channel hung up; only a few commands are still allowed."""


class AGITimeout(AGIError):
    """No reply to a command within its reply timeout; the session cannot go on."""


class AGICommandError(AGIError):
    """Asterisk answered a command with an error reply."""

    def __init__(self, reply: AGIReply, message: str | None = None) -> None:
        super().__init__(message or reply.raw)
        self.reply = reply


class AGIInvalidCommand(AGICommandError):
    """510: Asterisk does not know the command."""


class AGIDeadChannel(AGICommandError):
    """511: the command is not permitted on a dead channel."""


class AGIUsageError(AGICommandError):
    """520: the command's syntax was wrong."""

    def __init__(self, reply: AGIReply, usage: str) -> None:
        super().__init__(reply, f"invalid command syntax: {usage}")
        self.usage = usage
