"""The recording's pieces that need no Asterisk: the dialplan's prompts and options, the
file names kept, and which requests count as a playback for the audit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.audit.service import starts_listening
from api.events.recordings import FILE, Leg, leg_file
from ivr.prompt_synthesis import load_catalog

DIALPLAN = Path(__file__).resolve().parents[2] / "asterisk_conf" / "extensions.conf"
QUEUES = DIALPLAN.with_name("queues.conf")


def test_every_prompt_the_dialplan_plays_is_in_the_catalog() -> None:
    played = set(re.findall(r"Playback\(lapor/([a-z0-9-]+)\)", DIALPLAN.read_text()))
    assert "rekaman-pemberitahuan" in played
    assert played <= set(load_catalog())


def test_the_notice_and_the_recording_come_before_the_first_queue() -> None:
    text = DIALPLAN.read_text()
    notice = text.index("Playback(lapor/rekaman-pemberitahuan)")
    # app_queue records when an officer answers, into MONITOR_FILENAME with MONITOR_OPTIONS
    # (it adds MixMonitor's b: only while bridged, no hold music or ringing in the file).
    named = text.index("Set(MONITOR_FILENAME=${RECORDING_DIR}/${LAPOR_RECORDING})")
    options = text.index("Set(MONITOR_OPTIONS=r(${RECORDING_DIR}/${LAPOR_RECORDING}-citizen")
    assert notice < named < text.index("Queue(pengaduan")
    assert notice < options < text.index("Queue(pengaduan")
    assert "t(${RECORDING_DIR}/${LAPOR_RECORDING}-officer.wav)" in text
    assert not re.search(r"[^p]MixMonitor\(", text)  # app_queue starts it, not the dialplan
    assert re.search(r"^monitor-format = wav$", QUEUES.read_text(), re.MULTILINE)


@pytest.mark.parametrize("name", ["call-1795890124.7.wav", "call-cc1-1795890124.12.wav"])
def test_recording_file_names_of_linkedids_are_kept(name: str) -> None:
    assert FILE.fullmatch(name)


@pytest.mark.parametrize(
    "name", ["../call-1.wav", "call-../x.wav", "call-.wav", "call-1/2.wav", "x.wav", "call-1.mp3"]
)
def test_other_file_names_are_not(name: str) -> None:
    assert not FILE.fullmatch(name)


def test_each_party_has_its_own_file() -> None:
    assert leg_file("call-1.2.wav", Leg.both) == "call-1.2.wav"
    assert leg_file("call-1.2.wav", Leg.citizen) == "call-1.2-citizen.wav"
    assert leg_file("call-1.2.wav", Leg.officer) == "call-1.2-officer.wav"


@pytest.mark.parametrize(
    ("range_header", "starts"),
    [
        (None, True),
        ("bytes=0-", True),
        ("bytes=0-1023", True),
        ("bytes = 0 -", True),
        ("bytes=1024-", False),
        ("bytes=-500", False),
        ("bytes=500-600, 0-10", False),
        ("nonsense", False),
    ],
)
def test_a_playback_is_logged_once_not_per_seek(range_header: str | None, starts: bool) -> None:
    assert starts_listening(range_header) is starts


def test_no_filter_drops_a_dash_it_means_to_keep() -> None:
    # FILTER() reads "x-" at the end of its set as the range x..x: a dash meant to be kept
    # must come first ("-0-9"), or "call-1.2" becomes "call1.2".
    assert not re.findall(r"FILTER\([^,]*-,", DIALPLAN.read_text())
