"""Scrubbing a citizen's number out of raw AMI fields and queue_log lines."""

from __future__ import annotations

from api.retention.holders import file_name
from api.retention.scrub import scrub_fields, scrub_queue_log


def test_caller_ids_go_everywhere_and_the_figures_stay() -> None:
    fields = {
        "Event": "AgentConnect",
        "CallerIDNum": "081299990000",
        "CallerIDName": "Warga",
        "DestConnectedLineNum": "081299990000",
        "HoldTime": "8",
        "Linkedid": "1795890000.1",
    }
    assert scrub_fields(fields) == {
        "Event": "AgentConnect",
        "HoldTime": "8",
        "Linkedid": "1795890000.1",
    }


def test_a_snapshots_waiting_callers_lose_their_numbers() -> None:
    fields = {"Event": "LaporQueueSnapshot", "entries": [{"CallerIDNum": "0812", "Wait": "3"}]}
    assert scrub_fields(fields) == {"Event": "LaporQueueSnapshot", "entries": [{"Wait": "3"}]}


def test_only_number_variables_lose_their_value() -> None:
    number = {"Event": "VarSet", "Variable": "LAPOR_CALLBACK_NUMBER", "Value": "0812"}
    line = {"Event": "VarSet", "Variable": "LAPOR_LINE", "Value": "082282204761"}
    assert "Value" not in scrub_fields(number)
    assert scrub_fields(line) == line
    assert "DialString" not in scrub_fields({"Event": "DialBegin", "DialString": "trunk/0812"})


def test_enterqueue_loses_its_caller_id_and_nothing_else() -> None:
    text = "1|u1|pengaduan|NONE|ENTERQUEUE||081299990000|1\n2|u1|pengaduan|a|CONNECT|8|u2|1"
    assert scrub_queue_log(text) == (
        "1|u1|pengaduan|NONE|ENTERQUEUE|||1\n2|u1|pengaduan|a|CONNECT|8|u2|1"
    )
    assert scrub_queue_log(None) is None


def test_a_recording_is_named_inside_the_folder() -> None:
    assert file_name("/var/spool/asterisk/recordings/1001-u1.wav") == ["1001-u1.wav"]
    assert file_name("..") == []
    assert file_name(None) == []
