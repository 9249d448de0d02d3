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
_LEADING_INT = re.compile(r"\s*([+-]?\d+)")

HANGUP_LINE = "HANGUP"
LINKEDID_ARG = "linkedid="
# Lines in one multi-line 520 reply (Asterisk's usage texts run to about 40).
MAX_REPLY_LINES = 256


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

    @property
    def linkedid(self) -> str:
        """The call's linkedid if the dialplan passed it (an argument ``linkedid=<id>``:
        the AGI headers don't carry it), else "". Not validated here."""
        for arg in self.args:
            if arg.startswith(LINKEDID_ARG):
                return arg.removeprefix(LINKEDID_ARG)
        return ""


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
    return request_from_env(parse_header_env(lines))


def parse_header_env(lines: Iterable[str]) -> dict[str, str]:
    """The ``agi_xxx: value`` block as a dict; parsing stops at the first blank line."""
    env: dict[str, str] = {}
    for raw_line in lines:
        line = raw_line.rstrip("\r\n")
        if not line:
            break
        match = _HEADER.fullmatch(line)
        if match is None:
            raise AGIProtocolError(f"malformed header line: {line[:80]!r}")
        value = match.group(2)
        env[match.group(1)] = value[1:] if value.startswith(" ") else value
    return env


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

    Feed lines one by one; ``feed`` returns the reply once complete, else None. A 520
    reply longer than ``max_lines`` is a protocol error, so a peer cannot grow it forever.
    """

    def __init__(self, max_lines: int = MAX_REPLY_LINES) -> None:
        self.hangup_seen = False
        self._usage_lines: list[str] | None = None
        self._max_lines = max_lines

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
            if len(self._usage_lines) >= self._max_lines:
                raise AGIProtocolError(f"520 reply longer than {self._max_lines} lines")
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


def split_command(line: str) -> list[str]:
    """A command line's words as res_agi splits them (the inverse of ``format_command``).

    Whitespace separates words, double quotes group them, and a backslash takes the next
    character literally; ``""`` is an empty word.
    """
    words: list[str] = []
    current: list[str] = []
    in_word = quoted = escaped = False
    for char in line.rstrip("\r\n"):
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char.isspace() and not quoted:
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            continue
        else:
            current.append(char)
        in_word = True
    if in_word:
        words.append("".join(current))
    return words


# Seconds Asterisk waits for a key when GET DATA or GET OPTION names no timeout: the
# channel's response timeout (TIMEOUT(response)), 10 s unless the dialplan changed it.
DEFAULT_KEY_TIMEOUT = 10.0
# The longest any one command may take: what a command without a limit of its own gets
# (RECORD FILE with -1, EXEC Dial or Queue), and the cap on every other estimate.
UNBOUNDED_COMMAND_SECONDS = 3600.0
# SAY DIGITS, NUMBER, ALPHA and PHONETIC: seconds per character said.
SAY_SECONDS_PER_CHARACTER = 1.0
# EXEC applications that return at once, or once their prompts have played (which the
# caller's reply margin covers). Any other application may take as long as it likes.
QUICK_APPLICATIONS = frozenset(
    {
        "answer",
        "background",
        "log",
        "noop",
        "playback",
        "progress",
        "sayalpha",
        "saydigits",
        "saynumber",
        "set",
        "userevent",
        "verbose",
    }
)
_SAID_WORD = frozenset({"DIGITS", "NUMBER", "ALPHA", "PHONETIC"})


def command_duration(command_line: str) -> float:
    """Seconds a command may keep Asterisk busy before its reply, by its own arguments.

    Prompt playback is not counted (its length is not on the command line): a caller of
    this function adds a margin for it. What is counted is the time the command itself
    asks Asterisk to wait:

    - ``RECORD FILE``: its maximum length (``timeout`` ms; -1 is unbounded);
    - ``GET DATA``: ``timeout`` per key, for ``max_digits`` keys (Asterisk's defaults:
      the channel's response timeout, 1024 digits; a negative timeout is unbounded);
    - ``WAIT FOR DIGIT``, ``GET OPTION``, ``SPEECH RECOGNIZE``: their timeout;
    - ``SAY DIGITS|NUMBER|ALPHA|PHONETIC``: a second per character;
    - ``EXEC``: nothing for the applications in ``QUICK_APPLICATIONS``, the seconds of
      ``Wait``, and ``UNBOUNDED_COMMAND_SECONDS`` for any other (Dial, Queue, Read…).

    Every other command replies at once (0). The result never exceeds
    ``UNBOUNDED_COMMAND_SECONDS``.
    """
    words = split_command(command_line)
    upper = [word.upper() for word in words]
    seconds = 0.0
    if upper[:2] == ["RECORD", "FILE"] and len(words) > 5:
        seconds = _timeout_seconds(words, 5, default_ms=-1)
    elif upper[:2] == ["GET", "DATA"]:
        per_key = _timeout_seconds(words, 3, default_ms=0) or DEFAULT_KEY_TIMEOUT
        seconds = per_key * max(_atoi(words, 4, 1024), 1)
    elif upper[:3] == ["WAIT", "FOR", "DIGIT"]:
        seconds = _timeout_seconds(words, 3, default_ms=-1)
    elif upper[:2] == ["GET", "OPTION"]:
        seconds = _timeout_seconds(words, 4, default_ms=0) or DEFAULT_KEY_TIMEOUT
    elif upper[:2] == ["SPEECH", "RECOGNIZE"]:
        seconds = _timeout_seconds(words, 3, default_ms=0)
    elif upper[:1] == ["SAY"] and upper[1:2] and upper[1] in _SAID_WORD and len(words) > 2:
        seconds = SAY_SECONDS_PER_CHARACTER * len(words[2])
    elif upper[:1] == ["EXEC"] and len(words) > 1:
        seconds = _exec_seconds(words[1].lower(), words[2] if len(words) > 2 else "")
    return min(seconds, UNBOUNDED_COMMAND_SECONDS)


def _exec_seconds(application: str, args: str) -> float:
    if application in QUICK_APPLICATIONS:
        return 0.0
    if application == "wait":
        try:
            return max(float(args.split(",", 1)[0] or 0), 0.0)
        except ValueError:
            return 0.0
    return UNBOUNDED_COMMAND_SECONDS


def _timeout_seconds(words: list[str], index: int, default_ms: int) -> float:
    """A millisecond argument in seconds; a negative one means "no limit"."""
    milliseconds = _atoi(words, index, default_ms)
    return UNBOUNDED_COMMAND_SECONDS if milliseconds < 0 else milliseconds / 1000


def _atoi(words: list[str], index: int, default: int) -> int:
    """C's ``atoi`` as Asterisk applies it: leading digits, else 0; ``default`` if absent."""
    if index >= len(words):
        return default
    match = _LEADING_INT.match(words[index])
    return int(match.group(1)) if match else 0
