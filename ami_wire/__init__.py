"""The AMI wire as this project speaks it, shared by the collector (its own process) and
the API's control client: panoramisk's protocol with incremental UTF-8 decoding, per-frame
isolation and a guard on every header sent, and its Manager without the endless
fixed-interval reconnect."""

from ami_wire.manager import NEVER, Manager
from ami_wire.protocol import SafeAMIProtocol, event_headers

__all__ = ["NEVER", "Manager", "SafeAMIProtocol", "event_headers"]
