"""panoramisk's Manager, tamed: no endless fixed-interval reconnect, no fatal dispatch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from panoramisk import Manager as PanoramiskManager

log = logging.getLogger(__name__)
# panoramisk's own pinger never checks the Pong; push it out of the way (a year).
NEVER = 365 * 24 * 3600


class Manager(PanoramiskManager):  # type: ignore[misc]
    """panoramisk's Manager without its fixed-interval endless reconnect."""

    def __init__(self, on_lost: Callable[[Any], None], **config: Any) -> None:
        super().__init__(**config)
        self._on_lost = on_lost

    def connection_lost(self, exc: Any) -> None:
        self._connected = False
        pinger: Any = getattr(self, "pinger", None)
        if pinger is not None:
            pinger.cancel()
        self.pinger = None
        self._on_lost(exc)

    def dispatch(self, event: Any) -> list[str]:
        try:
            matches: list[str] = super().dispatch(event)
            return matches
        except Exception:
            log.exception("AMI event dispatch failed: %.200r", event)
            return []
