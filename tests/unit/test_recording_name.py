"""Recordings are named by ticket and call, so one call never overwrites another's."""

from __future__ import annotations

from agi_scripts.complaint import recording_name


def test_the_name_is_the_ticket_then_the_call_id() -> None:
    assert recording_name("10000001", "1795890124.7") == "10000001-1795890124-7"


def test_the_same_ticket_on_two_calls_gives_two_files() -> None:
    # A ticket issued twice (the spool lost while the API was away) still can't make one
    # citizen's recording replace another's.
    assert recording_name("10000001", "1795890124.7") != recording_name("10000001", "1795990000.0")


def test_a_system_name_or_odd_characters_stay_inside_the_folder() -> None:
    assert recording_name("10000001", "node-a/../x.12") == "10000001-node-a-x-12"
    assert recording_name("10000001", "") == "10000001-call"
