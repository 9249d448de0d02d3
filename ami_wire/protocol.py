"""panoramisk's AMIProtocol with incremental UTF-8 decoding, per-frame isolation and a fast
path for events."""

from __future__ import annotations

import codecs
import logging
from collections.abc import Callable
from typing import Any

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from asterisk_values import header_value

log = logging.getLogger(__name__)
EOL = "\r\n"
# Headers that panoramisk treats specially (replies, actions' ids, the unquoted Result).
_ITS_OWN = frozenset({"response", "actionid", "commandid", "result"})


def event_headers(frame: str) -> dict[str, str] | None:
    """An Event frame's headers, as ``Message.from_line`` and ``from_message`` give them.

    A line without ": " is skipped and a header repeated in the frame is joined with "\\n".
    None for a frame panoramisk must see itself: one with a header of ``_ITS_OWN`` or with
    two headers differing only in case (its case-insensitive dict keeps the last of them).
    """
    pairs = [line.split(": ", 1) for line in frame.split(EOL)]
    try:
        fields: dict[str, str] = dict(pairs)
    except ValueError:  # a line without ": "
        fields = _joined(pairs)
    else:
        if len(fields) != len(pairs):  # a repeated header
            fields = _joined(pairs)
    lowered = set(EOL.join(fields).lower().split(EOL))
    if len(lowered) != len(fields) or not lowered.isdisjoint(_ITS_OWN):
        return None
    return fields


def _joined(pairs: list[list[str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        if len(pair) == 2:
            key, value = pair
            fields[key] = f"{fields[key]}\n{value}" if key in fields else value
    return fields


class SafeAMIProtocol(AMIProtocol):  # type: ignore[misc]
    """Frames are split on a blank line; a bad frame is logged and skipped, never fatal.

    panoramisk 1.4 decodes each TCP read on its own with ``errors="ignore"``, so a UTF-8
    character split across two reads vanishes ("José" becomes "Jos"). Here an incremental
    decoder carries the partial bytes over to the next read.

    With an event sink set (``set_event_sink``), an Event frame of a subscribed name goes
    straight to it as a plain dict, skipping panoramisk's ``Message`` and its dispatch (a
    regex per registered name, a Task per async handler); an Event frame of another name is
    dropped unless it could concern panoramisk (a Shutdown, an action awaiting replies).
    Replies and every other frame still go through ``handle_message``, so logins and actions
    work as before.
    """

    _event_names: frozenset[str] = frozenset()
    _on_event: Callable[[dict[str, str]], None] | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""

    def send(self, data: Any, as_list: bool | None = False) -> Any:
        """Send an action; refuse it whole if any header name or value carries CR, LF or NUL.

        The last guard of every AMI action the project sends, whatever the caller forgot:
        one line break in a value would let the rest of it through as a second action.
        """
        for key, value in dict(data).items():
            header_value(str(key))
            for item in value if isinstance(value, list | tuple) else [value]:
                header_value(str(item))
        return super().send(data, as_list=as_list)

    def set_event_sink(self, names: frozenset[str], sink: Callable[[dict[str, str]], None]) -> None:
        self._event_names = names
        self._on_event = sink

    def data_received(self, data: bytes) -> None:
        text = self._pending + self._decoder.decode(data)
        if getattr(self, "version", None) is None and text.startswith("Asterisk Call Manager/"):
            banner, _, text = text.partition(EOL)
            self.version = banner.partition("/")[2].strip()
        frames = text.split(EOL + EOL)
        self._pending = frames.pop()
        for frame in frames:
            self._handle_frame(frame.strip())

    def _handle_frame(self, frame: str) -> None:
        if not frame:
            return
        try:
            if self._on_event is not None and frame.startswith("Event: ") and self._fast(frame):
                return
            message = Message.from_line(frame)
            if message is not None:
                self.handle_message(message)
            else:
                log.warning("AMI frame without Event or Response skipped: %.200r", frame)
        except Exception:
            log.exception("AMI frame could not be handled: %.200r", frame)

    def _fast(self, frame: str) -> bool:
        """Handle an Event frame here; False if panoramisk must see it."""
        end = frame.find(EOL)
        name = frame[7:end] if end >= 0 else frame[7:]
        if name not in self._event_names:
            # No handler would match it; panoramisk acts on a Shutdown and on replies.
            return not self.responses and name.lower() != "shutdown"
        fields = event_headers(frame)
        if fields is None or self._on_event is None:
            return False
        self._on_event(fields)
        return True
