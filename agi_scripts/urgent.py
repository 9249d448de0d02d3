"""Urgent calls: an emergency joins the officers' queue ahead of everyone else."""

from __future__ import annotations

from agi_scripts.common import set_quietly
from ivr import Channel

URGENT = "__LAPOR_URGENT"


async def mark_urgent(channel: Channel) -> None:
    """The dialplan queues this call with the emergency priority (and no callback offer)."""
    await set_quietly(channel, URGENT, "1")
