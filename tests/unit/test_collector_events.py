"""The collector's event filter and typing."""

from __future__ import annotations

from collector import SUBSCRIBED, from_message, wanted


def test_subscriptions_are_by_name_never_a_wildcard() -> None:
    assert all("*" not in name for name in SUBSCRIBED)
    assert {"QueueCallerJoin", "AgentConnect", "AgentComplete", "QueueMemberPause"} <= set(
        SUBSCRIBED
    )


def test_only_the_ivrs_user_events_and_varsets_are_kept() -> None:
    assert wanted("UserEvent", {"UserEvent": "LaporTicket"})
    assert not wanted("UserEvent", {"UserEvent": "SomebodyElse"})
    assert wanted("VarSet", {"Variable": "LAPOR_CATEGORY"})
    assert not wanted("VarSet", {"Variable": "BRIDGEPEER"})
    for mark in (
        "LAPOR_STEP",
        "LAPOR_STEP_TICKET",
        "LAPOR_STEP_CATEGORY",
        "LAPOR_CALLBACK_REQUEST",
    ):
        assert not wanted("VarSet", {"Variable": mark}), mark
    assert not wanted("RTCPSent", {})


def test_from_message_types_and_tags_an_event() -> None:
    event = from_message(
        "cc1", {"Event": "Hangup", "Uniqueid": "1.1", "ChanVariable": ["a=1", "b=2"]}
    )
    assert event is not None
    assert (event.node, event.name) == ("cc1", "Hangup")
    assert event.fields["ChanVariable"] == "a=1\nb=2"
    assert event.id.startswith("cc1:")
    other = from_message("cc1", {"Event": "Hangup", "Uniqueid": "1.1"})
    assert other is not None
    assert other.id != event.id
    assert event.envelope()["received_at"].endswith("+00:00")
    assert from_message("cc1", {"Event": "Cdr"}) is None
