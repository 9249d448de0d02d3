"""panoramisk's AMIProtocol with incremental UTF-8 decoding and per-frame isolation."""

from __future__ import annotations

import codecs
import logging
from typing import Any

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

log = logging.getLogger(__name__)
EOL = "\r\n"


class SafeAMIProtocol(AMIProtocol):  # type: ignore[misc]
    """Frames are split on a blank line; a bad frame is logged and skipped, never fatal.

    panoramisk 1.4 decodes each TCP read on its own with ``errors="ignore"``, so a UTF-8
    character split across two reads vanishes ("José" becomes "Jos"). Here an incremental
    decoder carries the partial bytes over to the next read.
    """

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""

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
            message = Message.from_line(frame)
            if message is not None:
                self.handle_message(message)
            else:
                log.warning("AMI frame without Event or Response skipped: %.200r", frame)
        except Exception:
            log.exception("AMI frame could not be handled: %.200r", frame)
