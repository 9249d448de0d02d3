"""The call's progress in channel variables, so that a second IVR server can resume it.

The dialplan runs "call" again on its backup FastAGI server when the first server stops
in mid-call (extensions.conf, [fastagi]). The channel outlives the server, so the IVR
marks each step that can't be taken back on the channel before taking it, and "call"
reads the marks as it starts:

- ``menu``: the caller was screened and greeted; they hear the main menu again, without
  the greeting.
- ``ticket``: a ticket was issued for a category, nothing recorded yet; the complaint
  goes on with the same ticket (the recording instructions, or an emergency's filing).
- ``recording``: RECORD FILE began; the complaint is saved with the same ticket and the
  same recording file (named by ticket and call, so the backup finds Asterisk's file),
  then the ticket is read back.
- ``saved``: the API has the complaint; the ticket is read back.

A call whose LAPOR_EXIT is already set was in its last prompt: it goes straight on.
Saving twice is safe: the API stores a ticket once (api/complaints, same call and
category). Every value read back is validated; one that is not what the IVR writes
resumes nothing beyond the main menu.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

import asterisk_values as values
from agi_scripts.common import set_quietly, valid_variable
from ivr import Channel

STEP = "LAPOR_STEP"
TICKET = "LAPOR_STEP_TICKET"
CATEGORY = "LAPOR_STEP_CATEGORY"
EXIT = "LAPOR_EXIT"


class Step(StrEnum):
    START = ""
    MENU = "menu"
    TICKET = "ticket"
    RECORDING = "recording"
    SAVED = "saved"


@dataclass(frozen=True)
class Progress:
    step: Step = Step.START
    ticket: str = ""
    category: str = ""
    exit: str = ""  # the call's LAPOR_EXIT: set, it only had its last prompt to hear

    @property
    def resumed(self) -> bool:
        return self.step is not Step.START or bool(self.exit)


def parse(
    step: str, ticket: str, category: str, exit_: str, categories: Collection[str]
) -> Progress:
    """The progress the variables describe; invalid parts fall back to an earlier step."""
    try:
        found = Step(step)
    except ValueError:
        found = Step.START
    exit_ = exit_ if exit_.isascii() and exit_.replace("_", "").isalpha() else ""
    if found in (Step.START, Step.MENU):
        return Progress(found, exit=exit_)
    try:
        ticket = values.ticket(ticket)
    except values.UnsafeValue:
        return Progress(Step.MENU, exit=exit_)
    if category not in categories:
        return Progress(Step.MENU, exit=exit_)
    return Progress(found, ticket, category, exit_)


async def read_progress(channel: Channel, categories: Collection[str]) -> Progress:
    """The call's progress as an earlier IVR session left it (START on a new call)."""
    step = await valid_variable(channel, STEP, values.variable_value)
    exit_ = await valid_variable(channel, EXIT, values.variable_value)
    if not step:
        return parse("", "", "", exit_, categories)
    ticket = await valid_variable(channel, TICKET, values.ticket)
    category = await valid_variable(channel, CATEGORY, values.variable_value)
    return parse(step, ticket, category, exit_, categories)


async def mark(channel: Channel, step: Step, ticket: str = "", category: str = "") -> None:
    """Record ``step`` (with its ticket and category) on the channel before taking it."""
    if ticket:
        await set_quietly(channel, TICKET, values.ticket(ticket))
    if category:
        await set_quietly(channel, CATEGORY, values.variable_value(category))
    await set_quietly(channel, STEP, step.value)
