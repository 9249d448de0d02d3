"""The log formats (ivr/log_format.py) and the call context (ivr/logs.py): one JSON object
per line, the call's ids on a call's lines, numbers masked, secrets hidden."""

from __future__ import annotations

import io
import json
import logging
import re
from typing import Any

import pytest

from ivr.log_format import make_formatter
from ivr.logs import (
    LINKEDID_HEADER,
    UNIQUEID_HEADER,
    LogFormat,
    UniqueIdFilter,
    call_context,
    call_extra,
    call_headers,
    call_id,
    log_format,
    logging_config,
)
from ivr.protocol import parse_headers
from ivr.redact import scrub_path

NUMBER = "081234567890"
MASKED = "0812******90"
LINKEDID = "1795890124.10"
UNIQUEID = "1795890124.12"
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class Captured:
    def __init__(self, fmt: LogFormat) -> None:
        self.stream = io.StringIO()
        handler = logging.StreamHandler(self.stream)
        handler.addFilter(UniqueIdFilter())
        handler.setFormatter(make_formatter(fmt, "lapor-test"))
        self.logger = logging.getLogger(f"tests.log_format.{fmt}")
        self.logger.handlers[:] = [handler]
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def objects(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]


@pytest.fixture
def as_json() -> Captured:
    return Captured("json")


@pytest.fixture
def as_text() -> Captured:
    return Captured("text")


def test_a_json_line_has_the_fields_and_the_call(as_json: Captured) -> None:
    as_json.logger.info("outside %s", "a call")
    with call_context(UNIQUEID, LINKEDID):
        as_json.logger.warning("inside")
    outside, inside = as_json.objects()
    assert TIME.fullmatch(outside["time"])
    assert outside["level"] == "INFO"
    assert outside["logger"] == "tests.log_format.json"
    assert outside["service"] == "lapor-test"
    assert isinstance(outside["pid"], int)
    assert outside["message"] == "outside a call"
    assert "linkedid" not in outside
    assert "uniqueid" not in outside
    assert (inside["linkedid"], inside["uniqueid"], inside["level"]) == (
        LINKEDID,
        UNIQUEID,
        "WARNING",
    )


def test_a_records_own_call_wins_over_the_context(as_json: Captured) -> None:
    with call_context(UNIQUEID, LINKEDID):
        as_json.logger.info("an event of another call", extra=call_extra("1795890200.1"))
    (line,) = as_json.objects()
    assert line["linkedid"] == "1795890200.1"
    assert "uniqueid" not in line


def test_numbers_are_masked_and_secrets_hidden(as_json: Captured) -> None:
    as_json.logger.info(
        "SMS from %s, +62%s and 62%s; ticket 01000123 of call %s at 1795890124",
        NUMBER,
        NUMBER[1:],
        NUMBER[1:],
        UNIQUEID,
        extra={"caller_number": NUMBER, "api_token": "s3cret-token", "count": 3},
    )
    (raw,) = as_json.lines()
    assert NUMBER[1:] not in raw  # nor any longer form of it
    assert "s3cret" not in raw
    line = json.loads(raw)
    assert line["message"] == (
        f"SMS from {MASKED}, +628********90 and 6281*******90; ticket 01000123 of call"
        f" {UNIQUEID} at 1795890124"
    )
    assert (line["caller_number"], line["api_token"], line["count"]) == (MASKED, "***", 3)


def test_the_exception_text_is_there_masked(as_json: Captured) -> None:
    try:
        raise RuntimeError(f"no complaint for {NUMBER}")
    except RuntimeError:
        as_json.logger.exception("failed")
    (raw,) = as_json.lines()
    line = json.loads(raw)
    assert "Traceback (most recent call last)" in line["exception"]
    assert f"RuntimeError: no complaint for {MASKED}" in line["exception"]
    assert NUMBER not in raw


def test_non_ascii_text_stays_one_valid_ascii_line(as_json: Captured) -> None:
    text = "Keluhan: jalan rusak di Telukbetung — «ñ» 日本\nline two"
    as_json.logger.info(text)
    (raw,) = as_json.lines()
    assert raw.isascii()
    assert json.loads(raw)["message"] == text


def test_the_access_line_hides_secret_parameters_and_numbers(as_json: Captured) -> None:
    access = logging.getLogger("uvicorn.access")
    record = access.makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        (
            "127.0.0.1:5555",
            "GET",
            f"/complaints?caller=%2B62{NUMBER[1:]}&token=abc&limit=5",
            "1.1",
            200,
        ),
        None,
    )
    as_json.logger.handle(record)
    (line,) = as_json.objects()
    assert line["message"] == (
        '127.0.0.1:5555 - "GET /complaints?caller=%2B628********90&token=***&limit=5 HTTP/1.1" 200'
    )


def test_scrub_path_masks_a_number_in_the_path() -> None:
    assert scrub_path(f"/retention/citizens/{NUMBER}/export") == (
        f"/retention/citizens/{MASKED}/export"
    )
    assert scrub_path(f"/calls/{LINKEDID}/recording") == f"/calls/{LINKEDID}/recording"


def test_the_text_line_shows_the_call(as_text: Captured) -> None:
    as_text.logger.info("outside")
    with call_context(UNIQUEID, UNIQUEID):
        as_text.logger.info("first leg %s", NUMBER)
    with call_context(UNIQUEID, LINKEDID):
        as_text.logger.info("second leg")
    outside, first, second = as_text.lines()
    assert outside.endswith(" INFO tests.log_format.text [-] outside")
    assert first.endswith(f" [{UNIQUEID}] first leg {MASKED}")
    assert second.endswith(f" [{LINKEDID} {UNIQUEID}] second leg")


@pytest.mark.parametrize(
    "value",
    ["", "-", "1.2 3", "1795890124.1\r\nX-Evil: 1", "a" * 65, "${SHELL(id)}", "١٢٣"],
)
def test_a_value_that_is_no_asterisk_id_is_dropped(value: str) -> None:
    assert call_id(value) == "-"
    with call_context(value, value):
        assert call_headers() == {}


@pytest.mark.parametrize("value", [UNIQUEID, "lapor-node_2-1795890124.3", "a" * 64])
def test_an_asterisk_id_is_kept(value: str) -> None:
    assert call_id(value) == value
    with call_context(UNIQUEID, value):
        assert call_headers() == {LINKEDID_HEADER: value, UNIQUEID_HEADER: UNIQUEID}
    assert call_headers() == {}


def test_the_agi_request_carries_the_linkedid_argument() -> None:
    base = ["agi_network: yes", "agi_network_script: call", f"agi_uniqueid: {UNIQUEID}"]
    request = parse_headers([*base, f"agi_arg_1: linkedid={LINKEDID}", ""])
    assert (request.uniqueid, request.linkedid) == (UNIQUEID, LINKEDID)
    assert parse_headers([*base, ""]).linkedid == ""


def test_the_format_setting() -> None:
    assert log_format({}) == "text"
    assert log_format({"LAPOR_LOG_FORMAT": " JSON "}) == "json"
    with pytest.raises(ValueError, match="LAPOR_LOG_FORMAT"):
        log_format({"LAPOR_LOG_FORMAT": "xml"})


def test_the_config_sends_uvicorns_lines_through_the_root_handler() -> None:
    config = logging_config("lapor-api", "info", "json")
    assert config["root"] == {"handlers": ["stderr"], "level": "INFO"}
    assert config["loggers"]["uvicorn.access"] == {"handlers": [], "propagate": True}
    assert config["formatters"]["lapor"]["fmt"] == "json"
