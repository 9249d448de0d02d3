"""Ticket status: the caller types a ticket number (# ends it) and hears its status."""

from __future__ import annotations

import logging

from agi_scripts.common import set_quietly
from agi_scripts.services import Services
from ivr import Channel
from ivr.lapor_api import ApiRejected, ApiUnavailable
from ivr.menu import ATTEMPTS, OFFICER_KEY
from ivr.sound_names import digit_prompts, prompt

logger = logging.getLogger(__name__)

ENTER_TICKET = prompt("status-masukkan")
NOT_FOUND = prompt("status-tidak-ditemukan")
UNAVAILABLE = prompt("status-tidak-tersedia")
NO_INPUT = prompt("tidak-ada-pilihan")
STATUS_OF = prompt("status-tiket")
# The API's workflow statuses (api/complaints/workflow.py); each has a prompt "status-<name>".
STATUSES = ("diterima", "diverifikasi", "dilaporkan", "ditindaklanjuti", "selesai", "ditolak")
# Time to type the whole number, in milliseconds; # ends it sooner.
ENTRY_TIMEOUT_MS = 8000
TICKET_DIGITS = 8


async def check_status(channel: Channel, services: Services) -> bool:
    """Read one ticket's status; True when the caller asked for an officer (0)."""
    for _ in range(ATTEMPTS):
        entry = await channel.get_data(ENTER_TICKET, ENTRY_TIMEOUT_MS, TICKET_DIGITS)
        ticket = entry.digits
        if ticket.startswith(OFFICER_KEY):  # tickets never start with 0
            return True
        if not ticket:
            await channel.stream_file(NO_INPUT)
            continue
        status = await lookup(services, ticket)
        await set_quietly(channel, "LAPOR_STATUS_RESULT", f"{ticket}:{status}")
        if status == "not_found":
            await channel.stream_file(NOT_FOUND)
            continue
        if status == "unavailable":
            await channel.stream_file(UNAVAILABLE)
            return False
        files = [STATUS_OF, *digit_prompts(ticket), prompt(f"status-{status}")]
        await channel.exec("Playback", "&".join(files))
        return False
    return False


async def lookup(services: Services, ticket: str) -> str:
    """One of STATUSES, "not_found", or "unavailable" (API down and ticket not ours)."""
    try:
        status = await services.api.complaint_status(ticket)
    except (ApiUnavailable, ApiRejected) as exc:
        logger.warning("status of %s unavailable: %s", ticket, exc)
        # A complaint still in this node's outbox is received (diterima), not yet delivered.
        if (services.outbox.dir / f"complaint-{ticket}.json").exists():
            return "diterima"
        return "unavailable"
    if status is None:
        return "not_found"
    return status if status in STATUSES else "diterima"
