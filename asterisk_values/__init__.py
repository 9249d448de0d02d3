"""The one validator for each kind of value that crosses into Asterisk.

Every value the project sends to Asterisk (an AMI header, an AGI argument, a UserEvent
field, a dialplan variable) is one of these kinds and passes its function here before it
is sent, whoever sent it: the API, the IVR or the collector. Each strict kind is a full
match (``re.fullmatch``: ``$`` would accept a trailing newline) and raises
``UnsafeValue``; free text is cleaned instead, because an officer's or a caller's words
are never refused for a stray comma.

Why these characters matter (docs/asterisk.md has the detail):
- CR or LF ends an AMI header or an AGI command: the rest becomes a second action.
- A comma separates dialplan application arguments and Originate ``Variable``
  assignments: inside a UserEvent field it forges a header, inside a variable a second
  assignment.
- ``$``, ``{``, ``}``, ``[`` and ``]`` start variable substitution and expressions, in
  which Asterisk calls dialplan functions.
- An unbalanced ``(`` or ``[`` makes Asterisk ignore the commas after it, merging the
  next argument into this one.
- ``|`` separates queue_log fields; ``"``, ``\\``, ``<`` and ``>`` delimit a Caller ID;
  ``;`` starts a comment in config-like values.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "ENDPOINT_PATTERN",
    "FREE_TEXT_LIMIT",
    "LINE_PATTERN",
    "NODE_PATTERN",
    "PHONE_NUMBER_PATTERN",
    "TICKET_PATTERN",
    "UnsafeValue",
    "caller_id",
    "endpoint",
    "epoch",
    "free_text",
    "header_value",
    "is_free_text",
    "line",
    "name",
    "phone_number",
    "spied_endpoint",
    "ticket",
    "transfer_numbers",
    "variable_value",
    "web_secret",
]

# A number the trunk can dial or a caller the carrier reports: digits, optionally in
# international form. As regular expressions for request models (pydantic anchors them).
PHONE_NUMBER_PATTERN = r"^\+?[0-9]{3,20}$"
# The published line a citizen called (the dialplan's EXTEN on the trunk).
LINE_PATTERN = r"^\+?[0-9]{1,20}$"
TICKET_PATTERN = r"^[0-9]{1,8}$"
# A PJSIP endpoint (an officer's extension): what the interface PJSIP/<endpoint> names.
ENDPOINT_PATTERN = r"^[A-Za-z0-9_.-]{1,32}$"
# A call-center node's name: its Asterisk ``systemname`` (the prefix of its uniqueids),
# its collector's node and the API's name for its AMI.
NODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_PHONE_NUMBER = re.compile(PHONE_NUMBER_PATTERN[1:-1])
_LINE = re.compile(LINE_PATTERN[1:-1])
_TICKET = re.compile(TICKET_PATTERN[1:-1])
# Queue member names, callback ids, channel ids: a word with a few joiners.
_NAME = re.compile(r"[A-Za-z0-9_.@:-]{1,64}")
_ENDPOINT = re.compile(ENDPOINT_PATTERN[1:-1])
# An officer's endpoint that ChanSpy can be pointed at: the dialplan builds the channel
# prefix PJSIP/<endpoint>- from it after FILTER(0-9A-Za-z_), which keeps no joiners.
_SPIED_ENDPOINT = re.compile(r"[A-Za-z0-9_]{1,32}")
# A browser phone's short-lived SIP password: the API's random hex, nothing else.
_WEB_SECRET = re.compile(r"[0-9a-f]{32,64}")
# An officer's SIP password, written into pjsip.conf and the SIP edge's kamailio.cfg: no
# quote, backslash, comment sign, substitution or space that could end or bend the value.
_SIP_SECRET = re.compile(r"[A-Za-z0-9._~+=/@%!*^,:-]{1,128}")
# A dialplan variable's value set by us (Originate Variable, AGI SET VARIABLE of ids).
_VARIABLE_VALUE = re.compile(r"[A-Za-z0-9_.+:@-]{0,64}")
_EPOCH = re.compile(r"[0-9]{1,12}")
# A city unit's id (api/catalog/units.id.toml's keys).
_UNIT = re.compile(r"[a-z0-9-]{1,32}")
_LINE_BREAKS = ("\r", "\n", "\x00")
# Characters with a meaning to Asterisk, AMI or queue_log (see the module docstring).
_SPECIAL = frozenset(',|$\\{}[]()"<>;')
FREE_TEXT_LIMIT = 128


class UnsafeValue(ValueError):
    """A value of a strict kind did not match it: it is not sent."""

    def __init__(self, kind: str, value: object) -> None:
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        super().__init__(f"not a valid {kind}: {shown}")
        self.kind = kind


def _strict(kind: str, pattern: re.Pattern[str], value: str) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise UnsafeValue(kind, value)
    return value


def phone_number(value: str) -> str:
    """A citizen's or officer's phone number: ``+?[0-9]{3,20}``."""
    return _strict("phone number", _PHONE_NUMBER, value)


def line(value: str) -> str:
    """One of the city's lines as the trunk delivered it: ``+?[0-9]{1,20}``."""
    return _strict("line", _LINE, value)


def ticket(value: str) -> str:
    """A complaint ticket: up to 8 digits."""
    return _strict("ticket", _TICKET, value)


def epoch(value: str) -> str:
    """Seconds since 1970 as Asterisk's ${EPOCH} gives them."""
    return _strict("epoch", _EPOCH, value)


def name(value: str) -> str:
    """An identifier: a queue member name, a callback id, a channel id."""
    return _strict("name", _NAME, value)


def endpoint(value: str) -> str:
    """A PJSIP endpoint name, as in the interface ``PJSIP/<endpoint>``."""
    return _strict("endpoint", _ENDPOINT, value)


def spied_endpoint(value: str) -> str:
    """An officer's endpoint for ChanSpy: letters, digits and underscores only."""
    return _strict("endpoint to listen to", _SPIED_ENDPOINT, value)


def web_secret(value: str) -> str:
    """A browser phone's password as the API makes them (lowercase hex)."""
    return _strict("browser phone password", _WEB_SECRET, value)


def sip_secret(value: str) -> str:
    """An officer's SIP password (the agents file), as config files can hold it."""
    return _strict("SIP password", _SIP_SECRET, value)


def variable_value(value: str) -> str:
    """A value we put in a dialplan variable: no separator, quote or substitution."""
    return _strict("dialplan variable value", _VARIABLE_VALUE, value)


def free_text(value: str, limit: int = FREE_TEXT_LIMIT) -> str:
    """Words for a person to read (a pause reason, an error note), made safe to send.

    Control, format and separator characters and the characters Asterisk gives a meaning
    to become spaces; runs of spaces become one; the result is cut to ``limit``.
    """
    cleaned = "".join(
        " " if char in _SPECIAL or unicodedata.category(char)[0] in "CZ" else char for char in value
    )
    return " ".join(cleaned.split())[:limit].rstrip()


def is_free_text(value: str, limit: int = FREE_TEXT_LIMIT) -> bool:
    """Whether ``value`` would go through ``free_text`` unchanged (for request models)."""
    return free_text(value, limit) == value


def caller_id(label: str, number: str) -> str:
    """A Caller ID header: ``"label" <number>``, both parts validated."""
    return f'"{free_text(label, 40)}" <{phone_number(number)}>'


def header_value(value: str) -> str:
    """The AMI sender's last guard: no header value may carry CR, LF or NUL."""
    if any(char in value for char in _LINE_BREAKS):
        raise UnsafeValue("AMI header value", value)
    return value


def transfer_numbers(value: str) -> dict[str, str]:
    """City unit id -> the number officers transfer callers to, from ``unit=number,...``.

    The one parser of the setting (LAPOR_TRANSFER_NUMBERS) for both the dialplan's
    allowlist and the console's list: each number is a ``phone_number``; a unit or a
    number given twice is refused (two dialplan extensions would be one).
    """
    numbers: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        unit, sep, number = (part.strip() for part in item.partition("="))
        _strict("city unit", _UNIT, unit)
        if not sep or unit in numbers:
            raise UnsafeValue("transfer number entry (unit=number, each unit once)", item)
        if phone_number(number) in numbers.values():
            raise UnsafeValue("transfer number (given for two units)", number)
        numbers[unit] = number
    return numbers
