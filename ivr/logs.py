"""The one logging setup of every Lapor process (lapor-ivr, lapor-collector, lapor-api):
stderr, ``text`` (human-readable, the default) or ``json`` (one object per line, see
ivr/log_format.py) by ``LAPOR_LOG_FORMAT``, each line of a call tagged with the call's
``linkedid`` and ``uniqueid``.

The call comes from the context (``call_context``: this task and what it starts), or from
a record's own ``extra`` (``call_extra``), which wins.
"""

from __future__ import annotations

import logging
import logging.config
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

NO_CALL = "-"
FORMAT_ENV = "LAPOR_LOG_FORMAT"
FORMATS = ("text", "json")
LogFormat = Literal["text", "json"]
# What the IVR sends the API with each request of a call (validated there by ``call_id``).
LINKEDID_HEADER = "X-Lapor-Linkedid"
UNIQUEID_HEADER = "X-Lapor-Uniqueid"

# An Asterisk uniqueid or linkedid: ``[systemname-]<epoch>.<sequence>``; at most 64 (the
# width of the API's linkedid columns).
_CALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

current_uniqueid: ContextVar[str] = ContextVar("current_uniqueid", default=NO_CALL)
current_linkedid: ContextVar[str] = ContextVar("current_linkedid", default=NO_CALL)


def call_id(value: str | None) -> str:
    """``value`` if it can be an Asterisk uniqueid/linkedid, else ``NO_CALL``."""
    return value if value and _CALL_ID.fullmatch(value) else NO_CALL


class UniqueIdFilter(logging.Filter):
    """Adds ``record.uniqueid`` and ``record.linkedid`` (the current call's, or "-") to
    every record that does not carry its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "uniqueid"):
            record.uniqueid = current_uniqueid.get()
        if not hasattr(record, "linkedid"):
            record.linkedid = current_linkedid.get()
        return True


@contextmanager
def call_context(uniqueid: str, linkedid: str = "") -> Iterator[None]:
    """Tag log records emitted inside the block (this task only) with the call's ids."""
    unique_token = current_uniqueid.set(call_id(uniqueid))
    linked_token = current_linkedid.set(call_id(linkedid))
    try:
        yield
    finally:
        current_linkedid.reset(linked_token)
        current_uniqueid.reset(unique_token)


def call_extra(linkedid: str | None, uniqueid: str | None = None) -> dict[str, str]:
    """``extra=`` for a line about a call other than the context's (an AMI event's)."""
    return {"linkedid": call_id(linkedid), "uniqueid": call_id(uniqueid)}


def call_headers() -> dict[str, str]:
    """The current call's ids as request headers (none outside a call)."""
    headers = {}
    if (linkedid := current_linkedid.get()) != NO_CALL:
        headers[LINKEDID_HEADER] = linkedid
    if (uniqueid := current_uniqueid.get()) != NO_CALL:
        headers[UNIQUEID_HEADER] = uniqueid
    return headers


def log_format(env: Mapping[str, str] | None = None) -> LogFormat:
    """``LAPOR_LOG_FORMAT`` (default text); ValueError naming the variable if unknown."""
    value = (os.environ if env is None else env).get(FORMAT_ENV, "").strip().lower() or "text"
    if value == "json":
        return "json"
    if value == "text":
        return "text"
    raise ValueError(f"{FORMAT_ENV}: must be one of {', '.join(FORMATS)}")


def logging_config(service: str, level: str | int, fmt: LogFormat) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of a process (uvicorn takes it as ``log_config``):
    everything, uvicorn's loggers included, goes through one stderr handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"call": {"()": "ivr.logs.UniqueIdFilter"}},
        "formatters": {
            "lapor": {"()": "ivr.log_format.make_formatter", "fmt": fmt, "service": service}
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "lapor",
                "filters": ["call"],
            }
        },
        # uvicorn's own (error and access) loggers pass their lines to the root's handler.
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
        "root": {"handlers": ["stderr"], "level": _level(level)},
    }


def configure_logging(
    level: str | int = "INFO", service: str = "lapor", fmt: LogFormat | None = None
) -> None:
    """Send logs to stderr in ``fmt`` (``LAPOR_LOG_FORMAT``'s by default), each line
    tagged with the call's ids."""
    logging.config.dictConfig(logging_config(service, level, fmt or log_format()))


def _level(level: str | int) -> str | int:
    return level.upper() if isinstance(level, str) else level
