"""Property tests: for any text, control characters included, what goes on the wire to
Asterisk carries exactly the intended headers or arguments, or nothing at all.

Each test reads the bytes as Asterisk would (tests/unit/asterisk_wire.py, from its C
source), so a value that would split an action, add a header or an argument fails here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import asterisk_values as values
from agi_scripts.common import user_event
from ami_wire.protocol import SafeAMIProtocol
from api.core.ami_control import AmiControl
from ivr.channel import Channel
from ivr.protocol import AGIReply, format_command, parse_headers, parse_reply
from tests.unit.asterisk_wire import agi_args, ami_actions, app_args

EXAMPLES = settings(max_examples=400, deadline=None)
TEXT = st.text(max_size=80)
NASTY = st.text(alphabet=st.sampled_from(list(',|$\\{}[]()"<>;:= \r\n\t\x00\x85\u2028ab1+')))
ANY_TEXT = st.one_of(TEXT, NASTY)


class _Transport:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        pass


def written(action: dict[str, Any]) -> bytes:
    """The bytes the project's AMI sender writes for ``action`` (raises if it refuses).

    Call it inside a running event loop (panoramisk gives each action a Future)."""
    transport = _Transport()
    protocol = SafeAMIProtocol()
    protocol.connection_made(transport)
    protocol.encoding = "utf8"  # as the collector's and the control's Manager set it
    protocol.send(action)
    return bytes(transport.data)


def wire(action: dict[str, Any]) -> bytes:
    async def send() -> bytes:
        return written(action)

    return asyncio.run(send())


class RecordingControl(AmiControl):
    """AmiControl whose actions go through the real sender into a buffer, not a socket."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1", 1, "control", "secret")
        object.__setattr__(self, "sent", [])

    async def send(self, action: dict[str, str | list[str]], wait: float = 0) -> dict[str, str]:
        self.sent.append(written(dict(action)))  # type: ignore[attr-defined]
        return {"Response": "Success"}


def control_wire(command: Any) -> list[list[tuple[str, str]]] | None:
    """The actions Asterisk would read from a control command, or None if it refused."""
    control = RecordingControl()
    try:
        asyncio.run(command(control))
    except values.UnsafeValue:
        assert control.sent == []  # type: ignore[attr-defined]
        return None
    [sent] = control.sent  # type: ignore[attr-defined]
    return ami_actions(sent)


@EXAMPLES
@given(value=ANY_TEXT, key=st.sampled_from(["Reason", "CallerID", "Exten"]))
def test_the_ami_sender_writes_exactly_the_headers_or_nothing(value: str, key: str) -> None:
    action = {"Action": "QueuePause", "Queue": "pengaduan", key: value}
    try:
        sent = wire(action)
    except values.UnsafeValue:
        assert any(c in value for c in "\r\n\x00")
        return
    [read] = ami_actions(sent)
    headers = dict(read)
    assert [k for k, _ in read if k != "ActionID"] == sorted(action)
    assert headers[key] == value.strip()


@EXAMPLES
@given(reason=ANY_TEXT)
def test_a_pause_is_one_action_for_the_officer_whatever_the_reason(reason: str) -> None:
    actions = control_wire(lambda c: c.queue_pause("1001", True, reason))
    assert actions is not None  # a reason is cleaned, never refused
    [pause] = actions
    assert [k for k, _ in pause] == ["Action", "ActionID", "Interface", "Paused", "Queue", "Reason"]
    headers = dict(pause)
    assert (headers["Action"], headers["Interface"]) == ("QueuePause", "PJSIP/1001")
    assert headers["Reason"] == values.free_text(reason)


# An Originate's headers in the order the sender writes them (sorted), Variables aside.
ORIGINATE_HEADERS = [
    "Action",
    "ActionID",
    "Async",
    "CallerID",
    "Channel",
    "ChannelId",
    "Context",
    "Exten",
    "Priority",
    "Timeout",
]


@EXAMPLES
@given(number=ANY_TEXT, line=ANY_TEXT, label=ANY_TEXT, endpoint=ANY_TEXT)
def test_an_originate_carries_exactly_its_headers_and_variables(
    number: str, line: str, label: str, endpoint: str
) -> None:
    actions = control_wire(
        lambda c: c.originate(
            endpoint=endpoint,
            context="callback",
            number=number,
            caller_label=label,
            channel_id="cb-r1-0123456789ab",
            variables={"LAPOR_CALLBACK": "r1", "LAPOR_CALLBACK_LINE": line},
            ring_seconds=30,
        )
    )
    if actions is None:
        return
    [originate] = actions
    assert [k for k, _ in originate] == [*ORIGINATE_HEADERS, "Variable", "Variable"]
    headers = dict(originate)
    assert headers["Channel"] == f"PJSIP/{endpoint}"
    assert headers["Exten"] == number
    # Asterisk splits each Variable header on commas: every one is a single assignment.
    variables = [app_args(v) for k, v in originate if k == "Variable"]
    assert variables == [["LAPOR_CALLBACK=r1"], [f"LAPOR_CALLBACK_LINE={line}"]]
    [name_part, number_part] = headers["CallerID"].rsplit(" <", 1)
    assert number_part == f"{number}>"
    assert name_part == f'"{values.free_text(label, 40)}"'


@EXAMPLES
@given(number=ANY_TEXT, line=ANY_TEXT, label=ANY_TEXT)
@example(number="081234567890", line="082282204761", label="Callback 12345")
def test_a_placeholder_originate_carries_exactly_its_headers_and_variables(
    number: str, line: str, label: str
) -> None:
    actions = control_wire(
        lambda c: c.place_in_queue(
            number=number,
            caller_label=label,
            channel_id="vh-r1-0123456789ab",
            queue_channel_id="vh-r1-0123456789ab-q",
            variables={"LAPOR_CALLBACK": "r1", "LAPOR_CALLBACK_LINE": line},
            wait_seconds=60,
        )
    )
    if actions is None:
        return
    [originate] = actions
    headers = dict(originate)
    assert [k for k, _ in originate if k != "Variable"] == sorted(
        [*ORIGINATE_HEADERS, "OtherChannelId"]
    )
    assert (headers["Channel"], headers["Exten"], headers["Async"]) == (
        "Local/wait@vhold-wait/n",
        number,
        "true",
    )
    variables = [app_args(v) for k, v in originate if k == "Variable"]
    assert variables == [
        ["LAPOR_CALLBACK=r1"],
        [f"LAPOR_CALLBACK_LINE={line}"],
        [f"LAPOR_HOLD_NUMBER={number}"],
    ]


@EXAMPLES
@given(number=ANY_TEXT, text=ANY_TEXT)
def test_an_sms_reply_goes_to_exactly_one_number(number: str, text: str) -> None:
    actions = control_wire(
        lambda c: c.message_send(number=number, endpoint="trunk", sender="082282204761", body=text)
    )
    if actions is None:
        return
    [message] = actions
    assert dict(message)["Destination"] == f"pjsip:PJSIP/{number}@trunk"


class RecordingChannel(Channel):
    def __init__(self) -> None:
        super().__init__(parse_headers(["agi_uniqueid: 1.1", ""]))
        self.lines: list[str] = []

    async def send(self, command_line: str) -> AGIReply:
        self.lines.append(command_line)
        return parse_reply("200 result=0")


@EXAMPLES
@given(ticket=ANY_TEXT, error=ANY_TEXT, number=ANY_TEXT)
def test_a_user_event_carries_exactly_its_headers(ticket: str, error: str, number: str) -> None:
    channel = RecordingChannel()
    asyncio.run(user_event(channel, "LaporTicket", Ticket=ticket, Error=error, Number=number))
    [line] = channel.lines
    command, application, *rest = agi_args(line)
    assert (command, application) == ("EXEC", "UserEvent")
    [data] = rest
    assert app_args(data) == [
        "LaporTicket",
        f"Ticket: {values.free_text(ticket)}",
        f"Error: {values.free_text(error)}",
        f"Number: {values.free_text(number)}",
    ]


@EXAMPLES
@given(value=ANY_TEXT)
def test_an_agi_argument_arrives_as_one_word_or_is_refused(value: str) -> None:
    try:
        line = format_command("SET VARIABLE", "LAPOR_ERROR", value)
    except ValueError:
        assert any(c in value for c in "\r\n")
        return
    assert agi_args(line) == ["SET", "VARIABLE", "LAPOR_ERROR", value]


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        (values.phone_number, "+6281234567890", ["0812\n", "0812,1", " 0812", "08", "x812"]),
        (values.line, "082282204761", ["0822\n", "1,Ticket: 1", ""]),
        (values.ticket, "10000001", ["123456789", "1\n", "LPR-1", ""]),
        (values.endpoint, "1001", ["1001\n", "1001&PJSIP/1002", "a/b", ""]),
    ],
)
def test_each_kind_is_a_full_match(kind: Any, good: str, bad: list[str]) -> None:
    assert kind(good) == good
    for value in bad:
        with pytest.raises(values.UnsafeValue):
            kind(value)
