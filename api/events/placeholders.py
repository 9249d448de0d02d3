"""Ids of virtual-hold placeholders: a callback waiting in the queue in a citizen's place.

The dialer (api/callbacks/vhold.py) originates a Local channel with ``ChannelId`` =
``vh-…`` (the ;1 half, hence the call's linkedid in every AMI event) and
``OtherChannelId`` = that id plus ``-q`` (the ;2 half, which waits in the queue, so
queue_log names it as the call). Both name one call: ``call_of`` maps the queue side's
id back to the linkedid, so AMI events and queue_log lines make one call row.
"""

from __future__ import annotations

PREFIX = "vh-"
QUEUE_SIDE = "-q"


def queue_side(linkedid: str) -> str:
    """The uniqueid of the placeholder's half that waits in the queue."""
    return linkedid + QUEUE_SIDE


def call_of(callid: str) -> str:
    """The call (linkedid) a queue_log callid belongs to."""
    if callid.startswith(PREFIX) and callid.endswith(QUEUE_SIDE):
        return callid[: -len(QUEUE_SIDE)]
    return callid


def is_placeholder(linkedid: str | None) -> bool:
    return bool(linkedid) and str(linkedid).startswith(PREFIX)
