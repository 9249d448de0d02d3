"""The SMS a citizen gets when every callback attempt missed them, and how it goes out:
the outbound paths the SMS replies use (api/sms/gateways.py), HTTP gateway if one is
configured, else a SIP MESSAGE through the trunk from the line the citizen called."""

from __future__ import annotations

import tomllib
from collections.abc import Awaitable, Callable
from functools import cache

from api.core.ami_control import AmiControl
from api.core.settings import ApiSettings
from api.sms.commands import CATALOG
from api.sms.gateways import reply_over_http

# (number, line the citizen called or "", text)
SendSms = Callable[[str, str, str], Awaitable[None]]


@cache
def missed_text() -> str:
    """``[callbacks] missed`` of the SMS catalog (Bahasa Indonesia)."""
    catalog = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    return str(catalog["callbacks"]["missed"])


def sms_sender(settings: ApiSettings, ami: AmiControl) -> SendSms:
    async def send(number: str, line: str, text: str) -> None:
        if settings.sms_reply_url:
            await reply_over_http(settings, number, text)
            return
        await ami.message_send(
            number=number,
            endpoint=settings.sms_sip_endpoint,
            sender=line or settings.sms_default_line,
            body=text,
        )

    return send
