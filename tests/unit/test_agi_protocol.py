"""Pure AGI wire logic: replies, headers, command lines, public surface."""

from __future__ import annotations

import pytest

from ivr.channel import allowed_after_hangup
from ivr.errors import AGIProtocolError
from ivr.protocol import (
    UNBOUNDED_COMMAND_SECONDS,
    ReplyCollector,
    command_duration,
    format_command,
    parse_header_env,
    parse_headers,
    parse_reply,
    split_command,
)


@pytest.mark.parametrize(
    ("line", "result", "data", "fields"),
    [
        ("200 result=1", "1", None, {}),
        ("200 result=0 (timeout)", "0", "timeout", {}),
        ("200 result=-1", "-1", None, {}),
        ("200 result=35 (dtmf) endpos=12345", "35", "dtmf", {"endpos": "12345"}),
        ("200 result=1 (some data with spaces)", "1", "some data with spaces", {}),
        ("200 result=0 endpos=8000", "0", None, {"endpos": "8000"}),
        ("200 result= (timeout)", "", "timeout", {}),
        ("200 result=1 (a (nested) value)", "1", "a (nested) value", {}),
        ("200 result=1 ()", "1", "", {}),
        ("200 result=1\r\n", "1", None, {}),
    ],
)
def test_parse_reply_200(line: str, result: str, data: str | None, fields: dict[str, str]) -> None:
    reply = parse_reply(line)
    assert reply.code == 200
    assert reply.result == result
    assert reply.data == data
    assert dict(reply.fields) == fields
    assert reply.raw == line.rstrip("\r\n")


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("510 Invalid or unknown command", 510),
        ("511 Command Not Permitted on a dead channel or intercepted channel", 511),
        ("520 Invalid command syntax.  Proper usage not available.", 520),
    ],
)
def test_parse_reply_error_codes(line: str, code: int) -> None:
    reply = parse_reply(line)
    assert (reply.code, reply.result, reply.data) == (code, "", None)
    assert reply.raw == line


@pytest.mark.parametrize(
    "line",
    [
        "",
        "HANGUP",
        "hello",
        "20 result=1",
        "200",
        "200 result",
        "200 res=1",
        "200 result=1 (unterminated",
        "200 result=1 endpos",
        "200 result=1 (dtmf) =5",
    ],
)
def test_parse_reply_malformed(line: str) -> None:
    with pytest.raises(AGIProtocolError):
        parse_reply(line)


def test_result_int_rejects_non_numbers() -> None:
    assert parse_reply("200 result=-2").result_int == -2
    with pytest.raises(AGIProtocolError):
        _ = parse_reply("200 result=12#").result_int


def test_reply_collector_sets_hangup_aside() -> None:
    collector = ReplyCollector()
    assert collector.feed("HANGUP\n") is None
    assert collector.hangup_seen
    reply = collector.feed("200 result=0\n")
    assert reply is not None
    assert reply.result == "0"


def test_reply_collector_multiline_usage() -> None:
    collector = ReplyCollector()
    lines = [
        "520-Invalid command syntax.  Proper usage follows:",
        " Usage: STREAM FILE <filename> <escape_digits> [sample offset]",
        "  Send the given file.",
        "520 End of proper usage.",
    ]
    replies = [collector.feed(line + "\n") for line in lines]
    assert replies[:3] == [None, None, None]
    reply = replies[3]
    assert reply is not None
    assert reply.code == 520
    assert reply.data == "\n".join(lines[1:3])
    assert reply.raw == "\n".join(lines)
    assert not collector.hangup_seen


def test_reply_collector_bounds_a_usage_reply() -> None:
    collector = ReplyCollector(max_lines=4)
    for line in ("520-Invalid command syntax.", " Usage: X", "  more"):
        assert collector.feed(line) is None
    with pytest.raises(AGIProtocolError, match="longer than 4 lines"):
        collector.feed("  and more")


STANDARD_HEADERS = [
    "agi_network: yes",
    "agi_network_script: greet?x=1&y=2",
    "agi_request: agi://127.0.0.1/greet?x=1&y=2",
    "agi_channel: PJSIP/carrier-00000001",
    "agi_language: id",
    "agi_uniqueid: 1700000000.42",
    "agi_callerid: 08123456789",
    "agi_calleridname: Siti Aisyah",
    "agi_dnid: 112",
    "agi_rdnis: ",
    "agi_context: lapor-inbound",
    "agi_extension: 112",
    "agi_accountcode:",
    "agi_arg_10: ten",
    "agi_arg_2: two",
    "agi_arg_1: one",
]


def test_parse_headers_fields() -> None:
    request = parse_headers([*STANDARD_HEADERS, "", "agi_ignored: after blank"])
    assert request.script == "greet"
    assert request.uniqueid == "1700000000.42"
    assert request.channel == "PJSIP/carrier-00000001"
    assert (request.callerid, request.calleridname) == ("08123456789", "Siti Aisyah")
    assert (request.dnid, request.extension, request.context) == ("112", "112", "lapor-inbound")
    assert request.language == "id"
    assert request.args == ("one", "two", "ten")
    assert request.env["agi_rdnis"] == ""
    assert request.env["agi_accountcode"] == ""
    assert "agi_ignored" not in request.env


def test_parse_headers_keeps_value_spaces_and_colons() -> None:
    request = parse_headers(["agi_calleridname:  Jos\u00e9: x ", "agi_network_script: a/b\r\n"])
    assert request.calleridname == " Jos\u00e9: x "
    assert request.script == "a/b"


def test_parse_header_env_is_the_raw_block() -> None:
    env = parse_header_env(["agi_network_script: call?secret=x\n", "agi_arg_1: a b\n", "\n"])
    assert env == {"agi_network_script": "call?secret=x", "agi_arg_1": "a b"}


def test_parse_headers_malformed_line_is_quoted_short() -> None:
    with pytest.raises(AGIProtocolError) as caught:
        parse_headers(["x" * 10_000])
    assert len(str(caught.value)) < 120


def test_parse_headers_classic_script_from_request_path() -> None:
    request = parse_headers(["agi_request: /opt/lapor/lib/agi_scripts/greet.py"])
    assert request.script == "greet"


@pytest.mark.parametrize(
    "line", ["agi_channel PJSIP/x", "channel: PJSIP/x", ": x", "agi_: x", "agi channel: x"]
)
def test_parse_headers_malformed(line: str) -> None:
    with pytest.raises(AGIProtocolError):
        parse_headers(["agi_uniqueid: 1", line])


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("ANSWER", (), "ANSWER"),
        ("STREAM FILE", ("lapor/selamat-datang", ""), 'STREAM FILE lapor/selamat-datang ""'),
        (
            "SET VARIABLE",
            ("LAPOR_ERROR", "unknown script: x"),
            'SET VARIABLE LAPOR_ERROR "unknown script: x"',
        ),
        ("VERBOSE", ('say "hi"', "1"), r'VERBOSE "say \"hi\"" 1'),
        ("X", (r"C:\tmp",), r'X "C:\\tmp"'),
        ("X", ("a\tb",), 'X "a\tb"'),
        (
            "RECORD FILE",
            ("f", "wav", "#", "120000", "BEEP", "s=3"),
            "RECORD FILE f wav # 120000 BEEP s=3",
        ),
    ],
)
def test_format_command_quoting(name: str, args: tuple[str, ...], expected: str) -> None:
    assert format_command(name, *args) == expected


@pytest.mark.parametrize(
    "args",
    [
        ("lapor/selamat-datang", ""),
        ("LAPOR_ERROR", "unknown script: x"),
        ('say "hi"', "1"),
        (r"C:\tmp", "a\tb", "x"),
        ("Lapor", "Ticket: 99000001,Line: 0822"),
    ],
)
def test_split_command_reads_what_format_command_writes(args: tuple[str, ...]) -> None:
    assert split_command(format_command("SET VARIABLE", *args)) == ["SET", "VARIABLE", *args]


@pytest.mark.parametrize(
    ("line", "seconds"),
    [
        ("ANSWER", 0),
        ("SET VARIABLE LAPOR_STATUS OK", 0),
        ('STREAM FILE lapor/menu-utama "129"', 0),
        ("RECORD FILE /rec/1 wav # 180000 BEEP s=6", 180),
        ("record file /rec/1 wav # 5000", 5),
        ("RECORD FILE /rec/1 wav # -1 BEEP", UNBOUNDED_COMMAND_SECONDS),
        ("RECORD FILE /rec/1 wav #", 0),  # a usage error, answered at once
        ("GET DATA lapor/menu-utama 5000 1", 5),
        ("GET DATA lapor/status-masukkan 10000 8", 80),
        ("GET DATA lapor/x 2000", 2 * 1024),  # Asterisk's default: 1024 digits
        ("GET DATA lapor/x 0 3", 30),  # 0: the channel's 10 s response timeout per key
        ("GET DATA lapor/x", UNBOUNDED_COMMAND_SECONDS),  # 1024 keys of 10 s, capped
        ("GET DATA lapor/x -1 1", UNBOUNDED_COMMAND_SECONDS),
        ("WAIT FOR DIGIT 3000", 3),
        ("WAIT FOR DIGIT -1", UNBOUNDED_COMMAND_SECONDS),
        ('GET OPTION lapor/x "12" 4000', 4),
        ('GET OPTION lapor/x "12"', 10),
        ('SAY DIGITS 99000001 ""', 8),
        ('EXEC UserEvent "LaporTicket,Ticket: 1"', 0),
        ("EXEC Playback lapor/tiket-anda&lapor/angka-9", 0),
        ("EXEC Wait 2.5", 2.5),
        ("EXEC Queue pengaduan", UNBOUNDED_COMMAND_SECONDS),
        ("EXEC Dial PJSIP/1001,30", UNBOUNDED_COMMAND_SECONDS),
    ],
)
def test_command_duration(line: str, seconds: float) -> None:
    assert command_duration(line) == seconds


@pytest.mark.parametrize("bad", ["x\nHANGUP", "x\r", "\n"])
def test_format_command_rejects_line_breaks(bad: str) -> None:
    with pytest.raises(ValueError, match="CR/LF"):
        format_command("SET VARIABLE", "NAME", bad)
    with pytest.raises(ValueError, match="CR/LF"):
        format_command(f"VERBOSE {bad}")


def test_format_command_rejects_empty_name() -> None:
    with pytest.raises(ValueError, match="empty"):
        format_command(" ")


@pytest.mark.parametrize(
    ("line", "allowed"),
    [
        ("EXEC Playback x", True),
        ("GET VARIABLE X", True),
        ("set variable X 1", True),
        ("GET FULL VARIABLE ${X}", True),
        ("DATABASE PUT a b c", True),
        ("NOOP", True),
        ("VERBOSE hi 1", True),
        ("ANSWER", False),
        ("STREAM FILE x", False),
        ("GET DATA x", False),
        ("EXECUTE x", False),
        ("NOOPS", False),
        ("HANGUP", False),
    ],
)
def test_allowed_after_hangup(line: str, allowed: bool) -> None:
    assert allowed_after_hangup(line) is allowed
