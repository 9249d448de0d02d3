"""SMS gateways: what they post to the API, and how the replies go back to them.

Over HTTP (``POST /sms/inbound``, JSON or a form), in the shapes common in Indonesia:

- gammu-smsd ``RunOnReceive``: a script posts its environment, ``SMS_1_NUMBER`` and
  ``SMS_1_TEXT`` … ``SMS_<n>_TEXT`` for the ``SMS_MESSAGES`` parts of one multipart SMS,
  or ``DECODED_1_TEXT`` (the whole decoded text) when gammu could join them;
- other gateways (Android gateway apps, Kannel ``get-url``): ``number``, ``sender``,
  ``from``, ``msisdn`` or ``phone`` and ``text``, ``message``, ``msg`` or ``body``; the
  number that received it, if given, in ``to`` or ``line``.

Over SIP the dialplan's ``sms-in`` context posts base64 fields (``POST /sms/inbound/sip``).

Replies to SIP go back as AMI ``MessageSend`` on the trunk; replies to HTTP gateways as a
POST of ``{"number", "text"}`` to ``LAPOR_API_SMS_REPLY_URL`` (JSON or form), or, with no
URL set, only in the response body for gateways that answer inline.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

import asterisk_values as values
from api.core.ami_control import AmiCommandError, AmiControl
from api.core.errors import InvalidInput
from api.core.settings import ApiSettings
from api.sms.commands import phone_number
from api.sms.service import InboundSms

# Far above any concatenated SMS (about 1,500 characters), far below a body that hurts.
MAX_TEXT_CHARS = 10_000
NUMBER_FIELDS = ("SMS_1_NUMBER", "number", "sender", "from", "msisdn", "phone")
TEXT_FIELDS = ("DECODED_1_TEXT", "text", "message", "msg", "body")
LINE_FIELDS = ("to", "line")
_GAMMU_PART = re.compile(r"^SMS_([0-9]+)_TEXT$")


class ReplyFailed(Exception):
    """The gateway did not take the reply."""


def _first(fields: Mapping[str, object], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = fields.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidInput(f"field {name} must be a string")
        return str(value)
    return None


def _gammu_parts(fields: Mapping[str, object]) -> str | None:
    """SMS_1_TEXT … SMS_<n>_TEXT joined in order (the parts of one multipart SMS)."""
    parts = {int(m.group(1)): v for k, v in fields.items() if (m := _GAMMU_PART.match(k))}
    if not parts:
        return None
    if not all(isinstance(v, str) for v in parts.values()):
        raise InvalidInput("fields SMS_<n>_TEXT must be strings")
    return "".join(str(parts[n]) for n in sorted(parts))


def from_gateway(
    fields: Mapping[str, object], *, default_line: str, received_at: datetime
) -> InboundSms:
    """The SMS in an HTTP gateway's fields; InvalidInput (422) says what is wrong."""
    raw_number = _first(fields, NUMBER_FIELDS)
    if raw_number is None:
        raise InvalidInput("no sender: send one of " + ", ".join(NUMBER_FIELDS), "no_sender")
    sender = phone_number(raw_number)
    if sender is None:
        raise InvalidInput(f"sender {raw_number[:40]!r} is not a phone number", "bad_sender")
    text = _first(fields, TEXT_FIELDS)
    if text is None:
        text = _gammu_parts(fields)
    if text is None:
        names = (*TEXT_FIELDS, "SMS_1_TEXT")
        raise InvalidInput("no text: send one of " + ", ".join(names), "no_text")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"text longer than {MAX_TEXT_CHARS} characters", "text_too_long")
    raw_line = _first(fields, LINE_FIELDS)
    line = (phone_number(raw_line) if raw_line else None) or default_line
    return InboundSms(sender=sender, text=text, line=line, received_at=received_at)


class SipSms(BaseModel):
    """What the dialplan's sms-in context posts: every field base64 (UTF-8 inside)."""

    model_config = ConfigDict(populate_by_name=True)

    sender: str = Field(alias="from", max_length=4000, description="MESSAGE(from), base64")
    to: str = Field(default="", max_length=400, description="the line texted, base64")
    text: str = Field(default="", max_length=20_000, description="MESSAGE(body), base64")
    # The SIP Content-Length: Asterisk hands the dialplan an empty body when it is over
    # about 1 KB (res_pjsip_messaging), so a length with no text means it was too long.
    length: str = Field(default="", max_length=10, description="Content-Length of the MESSAGE")


def _unbase64(name: str, value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError as exc:  # binascii.Error, or characters outside ASCII
        raise InvalidInput(f"field {name} is not base64", "bad_base64") from exc
    # Never lose a complaint to one bad byte: it becomes U+FFFD.
    return raw.decode("utf-8", errors="replace")


def from_sip(body: SipSms, *, default_line: str, received_at: datetime) -> InboundSms:
    raw_sender = _unbase64("from", body.sender)
    sender = phone_number(raw_sender)
    if sender is None:
        raise InvalidInput(f"sender {raw_sender[:80]!r} has no phone number", "bad_sender")
    text = _unbase64("text", body.text)
    line = phone_number(_unbase64("to", body.to)) or default_line
    lost = not text and body.length.isdigit() and int(body.length) > 0
    return InboundSms(sender=sender, text=text, line=line, received_at=received_at, body_lost=lost)


async def reply_over_http(settings: ApiSettings, number: str, text: str) -> None:
    """POST the reply to the gateway's URL; ReplyFailed if it does not answer 2xx."""
    auth = settings.sms_reply_authorization
    headers = {"Authorization": auth} if auth else {}
    payload = {"number": number, "text": text}
    form = settings.sms_reply_format == "form"
    try:
        async with httpx.AsyncClient(timeout=settings.sms_reply_timeout_seconds) as client:
            response = await client.post(
                settings.sms_reply_url,
                data=payload if form else None,
                json=None if form else payload,
                headers=headers,
            )
            response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ReplyFailed(f"{type(exc).__name__}: {exc}") from exc


async def reply_over_sip(control: AmiControl, endpoint: str, sms: InboundSms, text: str) -> None:
    """Send the reply as a SIP MESSAGE through the trunk, from the line the citizen texted."""
    await control.message_send(number=sms.sender, endpoint=endpoint, sender=sms.line, body=text)


# send(number, line the citizen called or "", text); raises SendFailed when the gateway
# did not take it.
Send = Callable[[str, str, str], Awaitable[None]]


class SendFailed(Exception):
    """The gateway did not take the SMS."""


def citizen_sender(settings: ApiSettings, ami: AmiControl, via: Literal["sip", "http"]) -> Send:
    """How an SMS the city starts (not a reply) goes out: over SIP as AMI ``MessageSend``
    on the trunk from the line the citizen used (the main line when it is not one), or
    posted to the HTTP gateway's ``sms_reply_url``."""

    async def over_sip(number: str, line: str, text: str) -> None:
        try:
            sender = values.line(line)
        except values.UnsafeValue:
            sender = settings.sms_default_line
        try:
            await ami.message_send(
                number=number, endpoint=settings.sms_sip_endpoint, sender=sender, body=text
            )
        except (AmiCommandError, values.UnsafeValue) as exc:
            raise SendFailed(str(exc)) from exc

    async def over_http(number: str, line: str, text: str) -> None:
        try:
            await reply_over_http(settings, number, text)
        except ReplyFailed as exc:
            raise SendFailed(str(exc)) from exc

    return over_sip if via == "sip" else over_http
