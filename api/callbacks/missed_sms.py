"""The SMS a citizen gets when every callback attempt missed them, and how it goes out:
the outbound paths the SMS replies use (api/sms/gateways.py), HTTP gateway if one is
configured, else a SIP MESSAGE through the trunk from the line the citizen called."""

from __future__ import annotations

import tomllib
from functools import cache

from api.core.ami_control import AmiControl
from api.core.settings import ApiSettings
from api.sms.commands import CATALOG
from api.sms.gateways import Send, citizen_sender


@cache
def missed_text() -> str:
    """``[callbacks] missed`` of the SMS catalog (Bahasa Indonesia)."""
    catalog = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    return str(catalog["callbacks"]["missed"])


def sms_sender(settings: ApiSettings, ami: AmiControl) -> Send:
    """The HTTP gateway if one is configured, else the trunk."""
    return citizen_sender(settings, ami, "http" if settings.sms_reply_url else "sip")
