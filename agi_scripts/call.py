#!/usr/bin/env python3
"""call: the citizen's call: greeting, main menu, then a complaint, a status or an officer.

A blocked number hears the block prompt instead (agi_scripts/blocked.py).
Menu: 1 new complaint, 2 ticket status, 0 officer, 9 repeat. After 3 bad or missing keys
the caller goes to an officer. Whatever happens here, the dialplan queues the call next
(but for a blocked caller who did not press the emergency key).

Run again by the dialplan's backup FastAGI server after the first one stopped in
mid-call, it resumes the call from the progress marked on the channel
(agi_scripts/progress.py): the caller loses at most the prompt they were hearing.
"""

from __future__ import annotations

import logging

from agi_scripts.blocked import screen
from agi_scripts.common import menu, run_classic_script, to_officer
from agi_scripts.complaint import CATEGORIES, resume_complaint, take_complaint
from agi_scripts.progress import Step, mark, read_progress
from agi_scripts.services import Services
from agi_scripts.status import check_status
from ivr import Channel
from ivr.metrics import observe_greeting
from ivr.sound_names import prompt

logger = logging.getLogger(__name__)

GREETING = prompt("selamat-datang")
MAIN_MENU = prompt("menu-utama")


async def call(channel: Channel, services: Services) -> None:
    progress = await read_progress(channel, CATEGORIES.values())
    await channel.answer()
    await channel.set_variable("LAPOR_GREETED", channel.request.uniqueid)
    # The dialplan offers a callback after this many seconds in the queue.
    wait = str(services.settings.callback_wait_seconds)
    await channel.set_variable("LAPOR_CALLBACK_WAIT", wait)
    if progress.resumed:
        logger.info("resuming the call: step %r, exit %r", progress.step.value, progress.exit)
    if progress.exit:
        return  # it was in its last prompt: on to the dialplan
    if progress.step not in (Step.START, Step.MENU):
        await resume_complaint(channel, services, progress)
        return
    if progress.step is Step.START:
        if await screen(channel, services):
            return
        await mark(channel, Step.MENU)
        prompts = [GREETING, MAIN_MENU]
        observe_greeting(channel)  # the greeting starts with the menu's first prompt
    else:
        prompts = [MAIN_MENU]
    while True:
        key = await menu(channel, prompts, "129")
        prompts = [MAIN_MENU]
        if key == "1":
            await take_complaint(channel, services)
            return
        if key == "2":
            if await check_status(channel, services):
                await to_officer(channel, "officer")
                return
            continue
        if key != "9":
            await to_officer(channel, "officer" if key == "0" else "attempts")
            return


if __name__ == "__main__":
    raise SystemExit(run_classic_script(call))
