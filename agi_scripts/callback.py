#!/usr/bin/env python3
"""callback: offered after LAPOR_CALLBACK_WAIT seconds in the queue; 1 asks to be called back.

The dialplan runs this after Queue() timed out (queue_log: EXITWITHTIMEOUT). Accepting
stores a callback request (number, ticket, first queue entry time) through the outbox
and sets LAPOR_CALLBACK=accepted, and the dialplan ends the call; otherwise the caller
goes back into the queue.

The request's id is set on the channel (LAPOR_CALLBACK_REQUEST) before it is stored: a
backup IVR server that runs this again after the first stopped in mid-offer stores the
same request (the API keeps one per id) instead of asking a caller who said yes again.
"""

from __future__ import annotations

import time
import uuid

import asterisk_values as values
from agi_scripts.common import (
    called_line,
    caller_number,
    run_classic_script,
    set_quietly,
    user_event,
    valid_variable,
)
from agi_scripts.services import Services
from ivr import Channel
from ivr.outbox import now_iso
from ivr.sound_names import prompt

OFFER = prompt("callback-tawaran")
THANKS = prompt("callback-terima-kasih")
ANSWER_TIMEOUT_MS = 5000
REQUEST_VARIABLE = "LAPOR_CALLBACK_REQUEST"


async def callback(channel: Channel, services: Services) -> None:
    number = caller_number(channel)
    # Accepted in an earlier session of this call (one that stopped in mid-offer).
    request_id = await valid_variable(channel, REQUEST_VARIABLE, values.name)
    if not request_id:
        # Without a number nobody can call back: the caller stays in the queue, unasked.
        answer = await channel.get_data(OFFER, ANSWER_TIMEOUT_MS, 1) if number else None
        if answer is None or answer.digits != "1":
            await channel.set_variable("LAPOR_CALLBACK", "declined")
            return
        request_id = str(uuid.uuid4())
        await set_quietly(channel, REQUEST_VARIABLE, values.name(request_id))
    ticket = await valid_variable(channel, "LAPOR_TICKET", values.ticket)
    line = await called_line(channel)
    entered = await valid_variable(channel, "LAPOR_QUEUE_ENTERED", values.epoch)
    entered = entered or str(int(time.time()))
    payload = {
        "request_id": request_id,
        "ticket": ticket or None,
        "number": number,
        "line": line,
        "uniqueid": channel.request.uniqueid,
        "queue_entered_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(entered))),
        "requested_at": now_iso(),
    }
    await services.submit("callback", request_id, payload)
    await channel.set_variable("LAPOR_CALLBACK", "accepted")
    await user_event(channel, "LaporCallback", Ticket=ticket, Number=number, QueueEntered=entered)
    await set_quietly(channel, "LAPOR_EXIT", "callback")
    await channel.stream_file(THANKS)


if __name__ == "__main__":
    raise SystemExit(run_classic_script(callback))
