"""Logging with the call's uniqueid on every line emitted while a call is served."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

NO_CALL = "-"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(uniqueid)s] %(message)s"

current_uniqueid: ContextVar[str] = ContextVar("current_uniqueid", default=NO_CALL)


class UniqueIdFilter(logging.Filter):
    """Adds ``record.uniqueid`` (the current call's, or "-") to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.uniqueid = current_uniqueid.get()
        return True


@contextmanager
def call_context(uniqueid: str) -> Iterator[None]:
    """Tag log records emitted inside the block (this task only) with ``uniqueid``."""
    token = current_uniqueid.set(uniqueid or NO_CALL)
    try:
        yield
    finally:
        current_uniqueid.reset(token)


def configure_logging(level: str | int = "INFO") -> None:
    """Send logs to stderr, each line tagged with the call's uniqueid."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(UniqueIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)
