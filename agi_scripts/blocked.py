"""A blocked caller: the block prompt, and an officer only with the emergency key.

The blocklist is kept by supervisors (api/blocklist). When the API can't say whether a
caller is blocked, the caller is not: every call is answered by a person.
"""

from __future__ import annotations

import logging

from agi_scripts.common import caller_number, to_officer
from agi_scripts.services import Services
from agi_scripts.urgent import mark_urgent
from ivr import Channel
from ivr.lapor_api import ApiRejected, ApiUnavailable
from ivr.menu import KEY_TIMEOUT_MS
from ivr.sound_names import prompt

logger = logging.getLogger(__name__)

BLOCKED = prompt("nomor-diblokir")
EMERGENCY_KEY = "9"
# The prompt is said this many times while the caller presses nothing (or another key).
ATTEMPTS = 2
# LAPOR_EXIT of a blocked call: the dialplan ends it without the queue.
EXIT_BLOCKED = "blocked"
EXIT_EMERGENCY = "blocked_emergency"


async def is_blocked(services: Services, number: str) -> bool:
    if not number:
        return False
    try:
        return await services.api.blocked(number)
    except (ApiUnavailable, ApiRejected) as exc:
        logger.warning("blocklist not checked, the caller goes on: %s", exc)
        return False


async def screen(channel: Channel, services: Services) -> bool:
    """True if the caller is blocked: then either marked urgent for an officer (the
    emergency key) or, without it, left to the dialplan to hang up."""
    if not await is_blocked(services, caller_number(channel)):
        return False
    for _ in range(ATTEMPTS):
        result = await channel.get_data(BLOCKED, KEY_TIMEOUT_MS, 1)
        if result.digits == EMERGENCY_KEY:
            logger.info("blocked caller pressed the emergency key")
            await mark_urgent(channel)
            await to_officer(channel, EXIT_EMERGENCY)
            return True
    logger.info("blocked caller ends without the queue")
    await channel.set_variable("LAPOR_EXIT", EXIT_BLOCKED)
    return True
