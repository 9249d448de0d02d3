"""Reading SMS complaints as people really type them, and the replies (from the catalog).

Accepted forms, in any letter case, with any spacing, and with ``#``, ``:``, ``.`` or
``,`` where a space belongs (the usual shortcode style ``LAPOR#1#...``; right after a
keyword ``;`` and ``-`` too):

- ``<keyword> <kategori> <isi>``: the keywords are the catalog's ``settings.keywords``
  (``LAPOR``, and the city's published ``BANDAR LAMPUNG``, ``BANDARLAMPUNG``, ``BDL``);
  kategori is a number (1-4) or a name; without one the complaint is filed under
  Lainnya.
- ``STATUS <tiket>``: spaces and dashes inside the ticket number are ignored.
- no keyword, but at least ``settings.complaint_min_words`` words: the whole text is a
  complaint under Lainnya (its reply adds a hint about naming a category).
- ``STOP`` (or another of ``settings.stop_words``) alone: no more SMS about the status
  of complaints; ``MULAI`` (``settings.start_words``) starts them again.
- anything else (``halo``, an empty SMS, ``STATUS`` with no ticket): a help reply.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
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
    "darurat": "darurat",
}
# A category's second word that belongs to it ("pelayanan publik", "dokumen kependudukan").
CATEGORY_TAILS = {"pelayanan_publik": {"publik"}, "kependudukan": {"kependudukan"}}
_SEPARATORS = re.compile(r"[#:.,\s]+")


@dataclass(frozen=True)
class NewComplaint:
    category: str
    text: str
    # Sent with no keyword at all: filed under Lainnya, and the reply says how to name one.
    without_keyword: bool = False


@dataclass(frozen=True)
class StatusQuery:
    ticket: str


@dataclass(frozen=True)
class Unrecognised:
    """Not a command we know, or too short to be a complaint (or a keyword with no
    content): answer with help."""

    empty_complaint: bool = False


@dataclass(frozen=True)
class StatusSmsSwitch:
    """STOP (``on=False``) or MULAI (``on=True``): the SMS about complaints' status."""

    on: bool


SmsCommand = NewComplaint | StatusQuery | StatusSmsSwitch | Unrecognised


@dataclass(frozen=True)
class Grammar:
    """The catalog's settings for reading an SMS: complaint keywords and the word floor."""

    keywords: tuple[str, ...]
    complaint_min_words: int
    stop_words: tuple[str, ...] = ()
    start_words: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.keywords:
            raise ValueError("the SMS catalog names no keyword")
        for keyword in self.keywords:
            if not re.fullmatch(r"[^\W\d_]+(?: [^\W\d_]+)*", keyword):
                raise ValueError(f"SMS keyword {keyword!r}: letters and single spaces only")
            if keyword.casefold() == "status":
                raise ValueError("STATUS is a command; it cannot be a complaint keyword")
        # One word is never a complaint we could act on, and help must stay reachable.
        if self.complaint_min_words < 2:
            raise ValueError("settings.complaint_min_words must be at least 2")

    @property
    def keyword_pattern(self) -> re.Pattern[str]:
        return _keyword_pattern(self.keywords)


@cache
def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """``<keyword><separators><rest>``; the longest keyword is tried first, and the next
    character must not be a letter ("BDLX" is not "BDL"; "LAPOR1" was always LAPOR 1)."""
    ordered = sorted(keywords, key=len, reverse=True)
    words = ("[#:.,;\\-\\s]+".join(map(re.escape, keyword.split())) for keyword in ordered)
    return re.compile(
        rf"(?:{'|'.join(words)})(?![^\W\d_])[#:.,;\-\s]*(.*)", re.IGNORECASE | re.DOTALL
    )


def parse_sms(text: str, grammar: Grammar | None = None) -> SmsCommand:
    grammar = grammar or catalog_grammar()
    body = text.strip()
    switch = _status_switch(body, grammar)
    if switch is not None:
        return switch
    complaint = grammar.keyword_pattern.fullmatch(body)
    if complaint is not None:
        return _parse_complaint(complaint.group(1).strip())
    keyword, rest = _split_keyword(body)
    if keyword == "status":
        digits = re.sub(r"[\s\-#.:]", "", rest)
        if digits.isdigit() and len(digits) <= MAX_TICKET_DIGITS:
            return StatusQuery(ticket=digits)
        return Unrecognised()
    if complaint_words(body) >= grammar.complaint_min_words:
        return NewComplaint(category="lainnya", text=body, without_keyword=True)
    return Unrecognised()


_URL = re.compile(r"\S*://\S*|\bwww\.\S+", re.IGNORECASE)
# A run of letters and digits in any script; ``_`` is a word character to re, not to us.
_TOKEN = re.compile(r"[^\W_]+")


def complaint_words(text: str) -> int:
    """How many words ``text`` has, when deciding whether an SMS with no keyword reads
    like a complaint.

    - A word is a run of letters and digits in any script, split at spaces and at
      punctuation: "jalan,rusak" is two words, "lain-lain" two, "Jl." one, "José" one,
      "عبد الله" two.
    - It must hold a letter: a number alone ("12", "000001", a phone or house number)
      says nothing by itself, so a pasted ticket or phone number is no complaint; "KM5"
      and "RT05" are words.
    - Emoji and punctuation are not words ("🙏🙏🙏🙏" is no complaint).
    - A URL is no word at all: a bare link tells an officer nothing, and texts of links
      are mostly spam.
    """
    plain = _URL.sub(" ", unicodedata.normalize("NFC", text))
    return sum(1 for token in _TOKEN.findall(plain) if any(c.isalpha() for c in token))


def _status_switch(body: str, grammar: Grammar) -> StatusSmsSwitch | None:
    """``STOP``, ``stop!``, ``Berhenti.``: the whole SMS is one of the switch words."""
    said = " ".join(body.strip(" .!?").casefold().split())
    for on, words in ((False, grammar.stop_words), (True, grammar.start_words)):
        if said in {word.casefold() for word in words}:
            return StatusSmsSwitch(on=on)
    return None


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
def _catalog() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    return data


@cache
def catalog_grammar() -> Grammar:
    """The grammar the catalog's ``[settings]`` describe (read once, checked on load)."""
    settings = _catalog()["settings"]
    return Grammar(
        keywords=tuple(settings["keywords"]),
        complaint_min_words=int(settings["complaint_min_words"]),
        stop_words=tuple(settings.get("stop_words", ())),
        start_words=tuple(settings.get("start_words", ())),
    )


def reply(name: str, **values: str) -> str:
    """A reply from the catalog with its placeholders filled (category/status translated)."""
    catalog = _catalog()
    if "category" in values:
        values["category"] = catalog["categories"][values["category"]]
    if "status" in values:
        values["status"] = catalog["statuses"][values["status"]]
    text: str = catalog["replies"][name].format(**values)
    return text


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
