"""Errors for a command Asterisk rejected; each carries Asterisk's reply.

AGICommandError           ``.reply`` holds the reply
├── AGIInvalidCommand     510: unknown command
├── AGIDeadChannel        511: command not permitted on a dead channel
└── AGIUsageError         520: wrong syntax; ``.usage`` holds Asterisk's usage text
"""

from __future__ import annotations

from ivr.errors import AGIError
from ivr.protocol import AGIReply


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
