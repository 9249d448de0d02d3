"""Reading SMS complaints as people really type them, and the replies (from the catalog).

Accepted forms, in any letter case, with any spacing, and with ``#``, ``:``, ``.`` or
``,`` where a space belongs (the usual shortcode style ``LAPOR#1#...``):

- ``LAPOR <kategori> <isi>``: kategori is a number (1-4) or a name; without one the
  complaint is filed under Lainnya.
- ``STATUS <tiket>``: spaces and dashes inside the ticket number are ignored.
- anything else: a help reply.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import asterisk_values as values

CATALOG = Path(__file__).resolve().parent.parent / "catalog" / "sms.id.toml"
MAX_TICKET_DIGITS = 8

CATEGORY_BY_WORD = {
    "1": "infrastruktur",
    "infrastruktur": "infrastruktur",
    "infra": "infrastruktur",
    "2": "kependudukan",
    "kependudukan": "kependudukan",
    "dokumen": "kependudukan",
    "adminduk": "kependudukan",
    "3": "pelayanan_publik",
    "pelayanan": "pelayanan_publik",
    "layanan": "pelayanan_publik",
    "4": "lainnya",
    "lainnya": "lainnya",
    "lain": "lainnya",
    "lain-lain": "lainnya",
}
# A category's second word that belongs to it ("pelayanan publik", "dokumen kependudukan").
CATEGORY_TAILS = {"pelayanan_publik": {"publik"}, "kependudukan": {"kependudukan"}}
_SEPARATORS = re.compile(r"[#:.,\s]+")


@dataclass(frozen=True)
class NewComplaint:
    category: str
    text: str


@dataclass(frozen=True)
class StatusQuery:
    ticket: str


@dataclass(frozen=True)
class Unrecognised:
    """Not a command we know (or a LAPOR with no content): answer with help."""

    empty_complaint: bool = False


SmsCommand = NewComplaint | StatusQuery | Unrecognised


def parse_sms(text: str) -> SmsCommand:
    body = text.strip()
    keyword, rest = _split_keyword(body)
    if keyword == "lapor":
        return _parse_complaint(rest)
    if keyword == "status":
        digits = re.sub(r"[\s\-#.:]", "", rest)
        if digits.isdigit() and len(digits) <= MAX_TICKET_DIGITS:
            return StatusQuery(ticket=digits)
    return Unrecognised()


def _split_keyword(body: str) -> tuple[str, str]:
    match = re.match(r"([A-Za-z]+)[#:.,\s]*(.*)", body, re.S)
    if match is None:
        return "", body
    return match.group(1).lower(), match.group(2).strip()


def _parse_complaint(rest: str) -> SmsCommand:
    words = _SEPARATORS.split(rest, maxsplit=1)
    category = CATEGORY_BY_WORD.get(words[0].lower()) if words[0] else None
    if category is None:
        text, category = rest, "lainnya"
    else:
        text = words[1] if len(words) > 1 else ""
        tail = _SEPARATORS.split(text, maxsplit=1)
        if tail[0].lower() in CATEGORY_TAILS.get(category, set()):
            text = tail[1] if len(tail) > 1 else ""
    text = text.strip()
    if not text:
        return Unrecognised(empty_complaint=True)
    return NewComplaint(category=category, text=text)


@cache
def _catalog() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    return data


def reply(name: str, **values: str) -> str:
    """A reply from the catalog with its placeholders filled (category/status translated)."""
    catalog = _catalog()
    if "category" in values:
        values["category"] = catalog["categories"][values["category"]]
    if "status" in values:
        values["status"] = catalog["statuses"][values["status"]]
    return catalog["replies"][name].format(**values)


_NUMBER_NOISE = re.compile(r"[\s\-().]")
_SIP_USER = re.compile(r"(?:sips?|tel):([^@;>?]+)", re.I)


def phone_number(raw: str) -> str | None:
    """A sender or line as a phone number (``+`` and digits), or None if it is not one.

    Takes what gateways send: ``0812-3456 7890``, ``+62812…``, or a SIP/tel URI such as
    ``"Warga" <sip:081234567890@gateway>;tag=…`` (the user part is the number).
    """
    match = _SIP_USER.search(raw)
    candidate = unquote(match.group(1)) if match else raw
    number = _NUMBER_NOISE.sub("", candidate)
    try:
        return values.phone_number(number)
    except values.UnsafeValue:
        return None


def normalised(text: str) -> str:
    """The text as compared for retransmissions: NFC, case-folded, spacing collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())
