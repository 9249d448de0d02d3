"""The ingest's log lines about calls (a busy day is hundreds of thousands of events, in
tens of thousands of batches, so nothing is logged per event):

- INFO, one line per call, once it has ended: the batch that brings the hangup of the
  channel that started it (its uniqueid is the linkedid). The call is derived and counted
  in the stats by then. Tagged with the call's linkedid.
- DEBUG, one line per batch, naming the calls it derived again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from api.events.bulk import CallKey, EventRow
from ivr.logs import call_extra

log = logging.getLogger("api.events")


def log_ingest(new: Sequence[EventRow], derived: Sequence[CallKey]) -> None:
    if derived and log.isEnabledFor(logging.DEBUG):
        calls = " ".join(linkedid for _, linkedid in derived)
        log.debug("events: %d new; calls derived: %s", len(new), calls)
    for event in new:
        linkedid = event.linkedid
        if event.name == "Hangup" and linkedid and linkedid == event.fields.get("Uniqueid"):
            log.info(
                "call ended on node %s: derived, in the stats",
                event.node,
                extra=call_extra(linkedid, linkedid),
            )
