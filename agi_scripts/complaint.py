"""A new complaint: category, recording (listen / re-record / save), ticket read back twice.

An emergency (darurat) is filed at once with its ticket and no recording, and the caller
goes straight on to an officer: they need a person, not a menu. A caller of any urgent
category (a setting, darurat by default) is queued ahead of everyone else.

Once recording has begun the complaint is always saved, whether the caller saves, hangs
up, or stops answering; the ticket is issued by the IVR and stored through the outbox,
so an API outage costs nothing.

Each step that can't be taken back is marked on the channel first (agi_scripts/progress.py):
a backup IVR server that takes the call over in mid-complaint resumes it with the same
ticket (``resume_complaint``).
"""

from __future__ import annotations

import logging
import re

from agi_scripts.common import (
    called_line,
    caller_number,
    menu,
    set_quietly,
    to_officer,
    user_event,
)
from agi_scripts.progress import Progress, Step, mark
from agi_scripts.services import Services
from agi_scripts.urgent import mark_urgent
from ivr import Channel
from ivr.command_errors import AGIDeadChannel
from ivr.errors import AGIHangup
from ivr.outbox import now_iso
from ivr.sound_names import digit_prompts, prompt

logger = logging.getLogger(__name__)

CATEGORY_MENU = prompt("menu-kategori")
RECORD_INSTRUCTIONS = prompt("rekam-instruksi")
REVIEW_MENU = prompt("rekam-pilihan")
TICKET_IS = prompt("tiket-anda")
TICKET_AGAIN = prompt("tiket-ulangi")
EMERGENCY_TO_OFFICER = prompt("darurat-ke-petugas")
EMERGENCY = "darurat"
CATEGORIES = {
    "1": "infrastruktur",
    "2": "kependudukan",
    "3": "pelayanan_publik",
    "4": "lainnya",
    "5": EMERGENCY,
}
# Used only if the dialplan does not set RECORDING_DIR.
DEFAULT_RECORDING_DIR = "/var/spool/asterisk/lapor"


async def take_complaint(channel: Channel, services: Services) -> None:
    key = await menu(channel, [CATEGORY_MENU], "".join(CATEGORIES))
    if key is None or key == "0":
        await to_officer(channel, "officer" if key == "0" else "attempts")
        return
    category = CATEGORIES[key]
    if category in services.settings.urgent_categories:
        await mark_urgent(channel)
    ticket = await services.issue_ticket()
    await mark(channel, Step.TICKET, ticket, category)
    await file_complaint(channel, services, ticket, category)


async def resume_complaint(channel: Channel, services: Services, progress: Progress) -> None:
    """Go on with the complaint an earlier IVR session left at ``progress``."""
    ticket, category = progress.ticket, progress.category
    logger.info("resuming complaint %s at step %s", ticket, progress.step)
    if progress.step is Step.TICKET:
        await file_complaint(channel, services, ticket, category)
        return
    if progress.step is Step.RECORDING:
        base = await recording_base(channel, ticket)
        await save(channel, services, ticket, category, await called_line(channel), f"{base}.wav")
    if not channel.hung_up:
        await read_back(channel, ticket)
        await to_officer(channel, "complaint")


async def file_complaint(channel: Channel, services: Services, ticket: str, category: str) -> None:
    """The complaint once its ticket is issued: filed at once (an emergency), or recorded."""
    line = await called_line(channel)
    if category == EMERGENCY:
        await save(channel, services, ticket, category, line, None)
        await channel.set_variable("LAPOR_EXIT", "emergency")
        await channel.stream_file(EMERGENCY_TO_OFFICER)
        return
    base = await recording_base(channel, ticket)
    await channel.stream_file(RECORD_INSTRUCTIONS)
    await mark(channel, Step.RECORDING)
    try:
        await record_and_review(channel, services, base)
    except (AGIHangup, AGIDeadChannel):
        logger.info("caller hung up after recording began; saving ticket %s", ticket)
    finally:
        await save(channel, services, ticket, category, line, f"{base}.wav")
    if not channel.hung_up:
        await read_back(channel, ticket)
        await to_officer(channel, "complaint")


async def recording_base(channel: Channel, ticket: str) -> str:
    """The complaint's recording without extension: the same for every session of a call."""
    folder = await channel.get_variable("RECORDING_DIR") or DEFAULT_RECORDING_DIR
    return f"{folder}/{recording_name(ticket, channel.request.uniqueid)}"


def recording_name(ticket: str, uniqueid: str) -> str:
    """The recording's file name without extension: the ticket, then the call's id.

    The call id makes the name collide with no other call's, even if a ticket were ever
    issued twice (a lost spool before the API was reachable): a recording is never
    written over another citizen's. Asterisk's uniqueid (``<epoch>.<n>``, optionally
    after a system name) is cut to letters, digits and dashes so the name has one dot.
    """
    call = re.sub(r"[^A-Za-z0-9-]+", "-", uniqueid).strip("-") or "call"
    return f"{ticket}-{call}"


async def record_and_review(channel: Channel, services: Services, base: str) -> None:
    """Record (again) until the caller saves, hangs up or stops answering."""
    settings = services.settings
    while True:
        # Re-recording writes the same file again (RECORD FILE truncates it).
        result = await channel.record_file(
            base,
            "wav",
            "#",
            settings.record_max_seconds * 1000,
            silence_s=settings.record_silence_seconds,
        )
        if result.ended_by == "hangup":
            return
        key = await menu(channel, [REVIEW_MENU], "123")
        while key == "1":
            await channel.stream_file(base)
            key = await menu(channel, [REVIEW_MENU], "123")
        if key != "2":
            return  # 3 saves; 0 and no answer save too, then an officer takes over


async def save(
    channel: Channel, services: Services, ticket: str, category: str, line: str, path: str | None
) -> None:
    request = channel.request
    caller = caller_number(channel)
    payload = {
        "ticket": ticket,
        "category": category,
        "caller_number": caller,
        "line": line,
        "recording_path": path,
        "uniqueid": request.uniqueid,
        "taken_at": now_iso(),
    }
    delivered = await services.submit("complaint", ticket, payload)
    logger.info("complaint %s saved (%s)", ticket, "delivered" if delivered else "in outbox")
    # Inherited by the officer's leg (double underscore), visible to AMI and queue_log.
    await set_quietly(channel, "__LAPOR_TICKET", ticket)
    await set_quietly(channel, "__LAPOR_CATEGORY", category)
    await user_event(channel, "LaporTicket", Ticket=ticket, Category=category, Line=line)
    if delivered:
        # Only in this node's outbox, it is saved again by a backup that takes over.
        await mark(channel, Step.SAVED)


async def read_back(channel: Channel, ticket: str) -> None:
    """The ticket, digit by digit in Indonesian, twice, in one gapless Playback."""
    files = [TICKET_IS, *digit_prompts(ticket), TICKET_AGAIN, *digit_prompts(ticket)]
    await channel.exec("Playback", "&".join(files))
