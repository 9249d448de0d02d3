"""The AMI collector: one panoramisk session per Asterisk node, a durable disk buffer, and
batched at-least-once delivery to ``POST /events`` (the API's idempotent ingest makes the
effect exactly once). Run it with ``lapor-collector``.

Every pitfall of panoramisk 1.4 (docs/asterisk.md) is neutralised here:
- split UTF-8 across TCP reads: ``SafeAMIProtocol`` decodes incrementally;
- an exception in a handler or a malformed frame: caught per frame and per event;
- fixed-interval endless reconnect: replaced by our own loop with exponential backoff;
- Ping never checks for the Pong: our heartbeat times out and drops a half-open link;
- the loop is passed explicitly and everything is created inside the running loop.
"""

from ami_wire.protocol import SafeAMIProtocol
from collector._buffer import DiskBuffer
from collector._collector import Collector
from collector._events import SUBSCRIBED, ReceivedEvent, from_message, wanted
from collector._sender import Sender
from collector._session import NodeSession
from collector._settings import CollectorSettings

__all__ = [
    "SUBSCRIBED",
    "Collector",
    "CollectorSettings",
    "DiskBuffer",
    "NodeSession",
    "ReceivedEvent",
    "SafeAMIProtocol",
    "Sender",
    "from_message",
    "wanted",
]
