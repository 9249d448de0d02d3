"""Errors raised by the AGI layer.

AGIError
├── AGIProtocolError      malformed data on the wire (headers or replies)
├── AGIHangup             the channel hung up (or the connection closed)
├── AGITimeout            the peer did not reply to a command in time
└── AGICommandError       Asterisk rejected a command (ivr/command_errors.py, with the
                          errors that carry Asterisk's reply)
"""

from __future__ import annotations


class AGIError(Exception):
    """Base class of every error raised by ``ivr``."""


class AGIProtocolError(AGIError):
    """The peer sent something that is not valid AGI."""


class AGIHangup(AGIError):
    """The channel hung up; only a few commands are still allowed."""


class AGITimeout(AGIError):
    """No reply to a command within its reply timeout; the session cannot go on."""
