"""The collector's own parsing of AMI Event frames, against panoramisk's for the same frames."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from panoramisk.message import Message

from ami_wire.protocol import event_headers
from collector import SafeAMIProtocol, from_message
from collector._events import EventIds

ODD_LINES = [
    "Uniqueid: 1",
    "Uniqueid",  # no ": "
    ": x",  # no key
    "ChanVariable: A=1",
    "ChanVariable: B=2",
    "Foo: a: b",  # ": " in the value
    "Bar: ",
    "Baz:x",
    "K: v ",
    "CallerIDName: José",
]


def panoramisk_fields(frame: str) -> dict[str, str]:
    event = from_message("cc1", Message.from_line(frame))
    assert event is not None
    return event.fields


def test_odd_lines_parse_as_panoramisk_does() -> None:
    frames = ["\r\n".join(["Event: Hangup", *p]) for p in itertools.permutations(ODD_LINES, 3)]
    differ = [f for f in frames if event_headers(f) != panoramisk_fields(f)]
    assert differ == []
    assert all(list(event_headers(f) or {}) == list(panoramisk_fields(f)) for f in frames)


def test_a_repeated_header_is_joined_with_newlines() -> None:
    frame = "Event: Hangup\r\nChanVariable: A=1\r\nUniqueid: 1\r\nChanVariable: B=2"
    assert event_headers(frame) == {"Event": "Hangup", "ChanVariable": "A=1\nB=2", "Uniqueid": "1"}


@pytest.mark.parametrize(
    "extra",
    [
        "Response: Success",
        "ActionID: 12",
        "actionid: 12",
        "CommandID: 3",
        "Result: %20x",
        "EVENT: x",
    ],
)
def test_frames_panoramisk_treats_specially_are_left_to_it(extra: str) -> None:
    assert event_headers(f"Event: Hangup\r\nUniqueid: 1\r\n{extra}") is None


def test_event_ids_are_unique_across_instances_and_documented_in_shape() -> None:
    first, second = EventIds("cc1"), EventIds("cc1")
    ids = [first(), first(), second(), second()]
    assert len(set(ids)) == 4
    assert all(re.fullmatch(r"cc1:[0-9a-f]{32}\.[1-9][0-9]*", i) for i in ids)
    assert ids[0].rsplit(".", 1)[0] == ids[1].rsplit(".", 1)[0] != ids[2].rsplit(".", 1)[0]


class Panoramisk:
    """Stands in for the Manager: what reaches ``dispatch`` took panoramisk's path."""

    def __init__(self) -> None:
        self.dispatched: list[Any] = []

    def dispatch(self, message: Any) -> None:
        self.dispatched.append(message)

    def connection_lost(self, exc: Any) -> None:
        self.dispatched.append(("lost", exc))


class Transport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def protocol(names: frozenset[str]) -> tuple[SafeAMIProtocol, list[dict[str, str]], Panoramisk]:
    proto = SafeAMIProtocol()
    proto.connection_made(Transport())
    proto.factory = Panoramisk()
    seen: list[dict[str, str]] = []
    proto.set_event_sink(names, seen.append)
    return proto, seen, proto.factory


def test_subscribed_events_reach_the_sink_and_the_rest_are_dropped() -> None:
    proto, seen, panoramisk = protocol(frozenset({"Hangup"}))
    data = (
        "Asterisk Call Manager/9.0.0\r\n"
        "Event: Newexten\r\nUniqueid: 1\r\n\r\n"
        "Event: Hangup\r\nUniqueid: 2\r\nCallerIDName: José\r\n\r\n"
    ).encode()
    split = data.index("é".encode()) + 1  # the character split across two reads
    proto.data_received(data[:split])
    proto.data_received(data[split:])
    assert seen == [{"Event": "Hangup", "Uniqueid": "2", "CallerIDName": "José"}]
    assert panoramisk.dispatched == []


async def test_replies_and_action_events_still_go_through_panoramisk() -> None:
    proto, seen, panoramisk = protocol(frozenset({"Hangup"}))
    pong = proto.send({"Action": "Ping"})
    (action_id,) = proto.responses
    proto.data_received(f"Response: Success\r\nActionID: {action_id}\r\n\r\n".encode())
    assert (await pong).success
    proto.data_received(b"Event: Hangup\r\nActionID: other\r\nUniqueid: 3\r\n\r\n")
    assert seen == []
    (message,) = panoramisk.dispatched
    assert message["Uniqueid"] == "3"


def test_a_shutdown_still_closes_the_connection() -> None:
    proto, seen, panoramisk = protocol(frozenset({"Hangup"}))
    proto.data_received(b"Event: Shutdown\r\nShutdown: Uncleanly\r\n\r\n")
    assert seen == []
    assert proto.closed
    assert panoramisk.dispatched[0][0] == "lost"


def test_a_raising_sink_is_contained_per_frame(caplog: pytest.LogCaptureFixture) -> None:
    proto, _, _ = protocol(frozenset({"Hangup"}))
    seen: list[str] = []

    def sink(fields: dict[str, str]) -> None:
        if fields["Uniqueid"] == "1":
            raise RuntimeError("boom")
        seen.append(fields["Uniqueid"])

    proto.set_event_sink(frozenset({"Hangup"}), sink)
    proto.data_received(b"Event: Hangup\r\nUniqueid: 1\r\n\r\nEvent: Hangup\r\nUniqueid: 2\r\n\r\n")
    assert seen == ["2"]
    assert "boom" in caplog.text
