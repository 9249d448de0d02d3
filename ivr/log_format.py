"""The two log line formats (ivr/logs.py picks one): ``text`` for people, ``json`` for
machines. Both mask citizens' numbers and hide secrets (ivr/redact.py).

A ``json`` line is one object: ``time`` (ISO 8601, UTC, milliseconds), ``level``,
``service``, ``pid``, ``logger``, ``message``, then ``linkedid`` and ``uniqueid`` when the
line belongs to a call, the record's own ``extra`` fields, and ``exception`` (the
traceback) when there is one. It is ASCII only (non-ASCII text escaped), so no stream
encoding can make it invalid JSON.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from ivr.logs import NO_CALL, LogFormat
from ivr.redact import HIDDEN, SECRET_NAMES, mask_number, scrub_numbers, scrub_path

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(call)s] %(message)s"
# Extra fields that hold a citizen's number.
NUMBER_FIELDS = frozenset({"caller", "caller_number", "callerid", "number", "sender", "phone"})
_RECORD_FIELDS = frozenset(
    {*vars(logging.makeLogRecord({})), "message", "asctime", "taskName", "call"}
    | {"linkedid", "uniqueid"}
)
# uvicorn's access line: (client address, method, path with query, HTTP version, status).
_ACCESS_ARGS = 5


def message_of(record: logging.LogRecord) -> str:
    """The record's message, the request path of an access line cleaned, numbers masked."""
    args = record.args
    if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == _ACCESS_ARGS:
        path = scrub_path(str(args[2]))
        return scrub_numbers(str(record.msg) % (*args[:2], path, *args[3:]))
    return scrub_numbers(record.getMessage())


def call_label(record: logging.LogRecord) -> str:
    """``uniqueid``, or ``linkedid uniqueid`` on a leg that did not start the call."""
    uniqueid = getattr(record, "uniqueid", NO_CALL)
    linkedid = getattr(record, "linkedid", NO_CALL)
    if linkedid in (NO_CALL, uniqueid):
        return str(uniqueid)
    return f"{linkedid} {uniqueid}" if uniqueid != NO_CALL else str(linkedid)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        values = {**vars(record), "message": message_of(record), "call": call_label(record)}
        return TEXT_FORMAT % values

    def formatException(self, ei: Any) -> str:
        return scrub_numbers(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "service": self.service,
            "pid": record.process,
            "logger": record.name,
            "message": message_of(record),
        }
        for key in ("linkedid", "uniqueid"):
            value = getattr(record, key, NO_CALL)
            if value != NO_CALL:
                line[key] = value
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in line:
                line[key] = _field(key, value)
        if record.exc_info:
            line["exception"] = scrub_numbers(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = scrub_numbers(record.exc_text)
        if record.stack_info:
            line["stack"] = scrub_numbers(self.formatStack(record.stack_info))
        return json.dumps(line, default=str)


def _field(key: str, value: Any) -> Any:
    if SECRET_NAMES.search(key):
        return HIDDEN
    if key in NUMBER_FIELDS and value:
        return mask_number(str(value))
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub_numbers(str(value))


def make_formatter(fmt: LogFormat, service: str) -> logging.Formatter:
    """The formatter of ``fmt`` (the factory ``logging.config`` calls)."""
    return JsonFormatter(service) if fmt == "json" else TextFormatter()
