"""The collector's log lines about calls, each tagged with the call's linkedid and the
channel's uniqueid: at INFO one as a call starts and one as it ends (the channel that
started it appears and hangs up: two lines per call), at DEBUG one per event."""

from __future__ import annotations

import logging

from collector._events import ReceivedEvent
from ivr.logs import call_extra

log = logging.getLogger("lapor.collector.calls")


def log_event(event: ReceivedEvent) -> None:
    fields = event.fields
    linkedid = fields.get("Linkedid")
    if not linkedid:
        return
    uniqueid = fields.get("Uniqueid")
    extra = call_extra(linkedid, uniqueid)
    if uniqueid == linkedid and event.name == "Newchannel":
        log.info("call started: channel %s", fields.get("Channel", "?"), extra=extra)
    elif uniqueid == linkedid and event.name == "Hangup":
        cause = fields.get("Cause-txt") or fields.get("Cause", "?")
        log.info(
            "call ended: channel %s hung up (%s)", fields.get("Channel", "?"), cause, extra=extra
        )
    elif log.isEnabledFor(logging.DEBUG):
        log.debug("event %s", event.name, extra=extra)
