#!/usr/bin/env python3
"""survey: after the officer hangs up, the caller rates the call 1 to 5.

The dialplan runs this after Queue() (its option c keeps the caller on the line when
the officer hangs up), only for a call an officer took and did not transfer. A key 1-5
stores the rating through the outbox, keyed by the call's linkedid, with the officer
app_queue put on the caller's channel (MEMBERNAME); any other key, silence or a hangup
is a skip: nothing is sent.
"""

from __future__ import annotations

import asterisk_values as values
from agi_scripts.common import run_classic_script, valid_variable
from agi_scripts.services import Services
from ivr import Channel
from ivr.logs import NO_CALL, call_id
from ivr.outbox import now_iso
from ivr.sound_names import prompt

QUESTION = prompt("survei-pertanyaan")
THANKS = prompt("survei-terima-kasih")
ANSWER_TIMEOUT_MS = 6000
SCORES = "12345"


async def survey(channel: Channel, services: Services) -> None:
    agent = await valid_variable(channel, "MEMBERNAME", values.name)
    linkedid = call_id(channel.request.linkedid)
    if not agent or linkedid == NO_CALL:
        return  # no officer or no call to credit the rating to: nobody is asked
    answer = await channel.get_data(QUESTION, ANSWER_TIMEOUT_MS, 1)
    if answer.digits not in tuple(SCORES):
        return
    payload = {
        "linkedid": linkedid,
        "uniqueid": channel.request.uniqueid,
        "agent": agent,
        "rating": int(answer.digits),
        "rated_at": now_iso(),
    }
    await services.submit("survey", linkedid, payload)
    await channel.stream_file(THANKS)


if __name__ == "__main__":
    raise SystemExit(run_classic_script(survey))
