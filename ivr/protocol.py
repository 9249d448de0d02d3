"""AGI wire format: request headers, command lines and replies (no I/O here)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType

from ivr.errors import AGIProtocolError

_HEADER = re.compile(r"(agi_[A-Za-z0-9_]+):(.*)")
_ARG_KEY = re.compile(r"agi_arg_(\d+)")
_REPLY = re.compile(r"(\d{3})(?: (.*))?")
_RESULT = re.compile(r"result=(\S*)(.*)")
_NEEDS_QUOTES = re.compile(r'[\s"\\]')

HANGUP_LINE = "HANGUP"


@dataclass(frozen=True)
class AGIRequest:
    """What Asterisk tells us about the call before the first command."""

    script: str
    uniqueid: str
    channel: str
    callerid: str
    calleridname: str
    dnid: str
    extension: str
    context: str
    language: str
    args: tuple[str, ...]
    env: Mapping[str, str] = field(compare=False)


@dataclass(frozen=True)
class AGIReply:
    """One reply, e.g. ``200 result=35 (dtmf) endpos=12345``.

    ``data`` is the parenthesised part; for a multi-line 520 reply it is the usage text
    and ``raw`` holds all the lines.
    """

    code: int
    result: str
    data: str | None
    fields: Mapping[str, str]
    raw: str

    @property
    def result_int(self) -> int:
        try:
            return int(self.result)
        except ValueError:
            raise AGIProtocolError(f"result is not a number: {self.raw!r}") from None


def parse_headers(lines: Iterable[str]) -> AGIRequest:
    """Parse the ``agi_xxx: value`` block; parsing stops at the first blank line."""
    env: dict[str, str] = {}
    for raw_line in lines:
        line = raw_line.rstrip("\r\n")
        if not line:
            break
        match = _HEADER.fullmatch(line)
        if match is None:
            raise AGIProtocolError(f"malformed header line: {line!r}")
        value = match.group(2)
        env[match.group(1)] = value[1:] if value.startswith(" ") else value
    return request_from_env(env)


def request_from_env(env: Mapping[str, str]) -> AGIRequest:
    """Build an ``AGIRequest`` from already split headers (e.g. pyst2's ``agi.env``)."""
    return AGIRequest(
        script=_script_name(env),
        uniqueid=env.get("agi_uniqueid", ""),
        channel=env.get("agi_channel", ""),
        callerid=env.get("agi_callerid", ""),
        calleridname=env.get("agi_calleridname", ""),
        dnid=env.get("agi_dnid", ""),
        extension=env.get("agi_extension", ""),
        context=env.get("agi_context", ""),
        language=env.get("agi_language", ""),
        args=_arguments(env),
        env=MappingProxyType(dict(env)),
    )


def _script_name(env: Mapping[str, str]) -> str:
    if "agi_network_script" in env:
        return env["agi_network_script"].split("?", 1)[0]
    # Classic AGI: agi_request is the path of the script being run.
    request = env.get("agi_request", "").split("?", 1)[0]
    return PurePosixPath(request).stem if request else ""


def _arguments(env: Mapping[str, str]) -> tuple[str, ...]:
    numbered: list[tuple[int, str]] = []
    for key, value in env.items():
        match = _ARG_KEY.fullmatch(key)
        if match is not None:
            numbered.append((int(match.group(1)), value))
    return tuple(value for _, value in sorted(numbered))


def parse_reply(line: str) -> AGIReply:
    """Parse one single-line reply (``200 ...``, ``510 ...``, ``511 ...``, ``520 ...``)."""
    raw = line.rstrip("\r\n")
    match = _REPLY.fullmatch(raw)
    if match is None:
        raise AGIProtocolError(f"malformed reply: {raw!r}")
    code = int(match.group(1))
    if code != 200:
        return AGIReply(code=code, result="", data=None, fields={}, raw=raw)
    result = _RESULT.fullmatch(match.group(2) or "")
    if result is None:
        raise AGIProtocolError(f"200 reply without result=: {raw!r}")
    data, fields = _split_data_and_fields(result.group(2), raw)
    return AGIReply(code=200, result=result.group(1), data=data, fields=fields, raw=raw)


def _split_data_and_fields(rest: str, raw: str) -> tuple[str | None, Mapping[str, str]]:
    if rest and not rest.startswith(" "):
        raise AGIProtocolError(f"malformed reply: {raw!r}")
    rest = rest.strip()
    data: str | None = None
    if rest.startswith("("):
        # The data may itself contain parentheses (GET VARIABLE values): take the last ")".
        end = rest.rfind(")")
        if end < 0:
            raise AGIProtocolError(f"unterminated (data) in reply: {raw!r}")
        data, rest = rest[1:end], rest[end + 1 :]
    fields: dict[str, str] = {}
    for token in rest.split():
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise AGIProtocolError(f"malformed key=value {token!r} in reply: {raw!r}")
        fields[key] = value
    return data, MappingProxyType(fields)


class ReplyCollector:
    """Assembles one reply from raw lines, taking out-of-band ``HANGUP`` lines aside.

    Feed lines one by one; ``feed`` returns the reply once complete, else None.
    """

    def __init__(self) -> None:
        self.hangup_seen = False
        self._usage_lines: list[str] | None = None

    def feed(self, line: str) -> AGIReply | None:
        line = line.rstrip("\r\n")
        if line == HANGUP_LINE:
            # Asterisk writes HANGUP unprompted, between replies.
            self.hangup_seen = True
            return None
        if self._usage_lines is not None:
            return self._feed_usage(line)
        if line.startswith("520-"):
            self._usage_lines = [line]
            return None
        return parse_reply(line)

    def _feed_usage(self, line: str) -> AGIReply | None:
        assert self._usage_lines is not None
        self._usage_lines.append(line)
        if not line.startswith("520 "):
            return None
        usage = "\n".join(self._usage_lines[1:-1])
        raw = "\n".join(self._usage_lines)
        self._usage_lines = None
        return AGIReply(code=520, result="", data=usage, fields=MappingProxyType({}), raw=raw)


def format_command(name: str, *args: str) -> str:
    """Build one command line (without the newline), quoting arguments as Asterisk parses them."""
    for part in (name, *args):
        if "\r" in part or "\n" in part:
            raise ValueError(f"CR/LF not allowed in an AGI command: {part!r}")
    if not name.strip():
        raise ValueError("empty AGI command name")
    return " ".join([name, *map(_quote, args)])


def _quote(arg: str) -> str:
    if arg and _NEEDS_QUOTES.search(arg) is None:
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
