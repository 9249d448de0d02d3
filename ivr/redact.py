"""Keeping citizens' numbers and secrets out of what we show or log.

``mask_number`` is the one masking of a phone number (the API's for roles that don't call
citizens, and every log line); ``scrub_numbers`` masks the numbers found in free text,
such as a log message or a request path.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

# A phone number standing alone in text: international (+…), 62…, 0… (national) or 8…
# (SIP without the zero). Eight digits or fewer never match (a ticket has eight), nor do
# digits next to a dot or a word character (uniqueids ``1795890124.12``, event ids, hex).
_NUMBER = re.compile(r"(?<![\w.+])(?:\+\d{8,20}|62\d{7,18}|0\d{8,19}|8\d{8,12})(?![\w.])")
# Names of values never shown: query parameters, extra log fields.
SECRET_NAMES = re.compile(r"token|secret|passw|authoriz|api_?key|cookie|credential", re.I)
HIDDEN = "***"


def mask_number(number: str) -> str:
    """Keep enough to recognise a repeat caller, not enough to phone them."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 6) + number[-2:]


def scrub_numbers(text: str) -> str:
    """``text`` with every phone number in it masked."""
    return _NUMBER.sub(lambda m: mask_number(m.group()), text)


def scrub_path(path: str) -> str:
    """A request's path and query for a log line: secret parameters hidden, numbers masked."""
    base, sep, query = path.partition("?")
    if sep and query:
        pairs = parse_qsl(query, keep_blank_values=True)
        shown = [(k, HIDDEN if SECRET_NAMES.search(k) else scrub_numbers(v)) for k, v in pairs]
        return f"{scrub_numbers(base)}?{urlencode(shown, safe='*:,')}"
    return scrub_numbers(base)
