"""The browser phones' STUN/TURN servers (LAPOR_API_WEBRTC_ICE_SERVERS): JSON like
RTCConfiguration.iceServers, checked at start so a typo never reaches the page."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from api.core.settings import ApiSettings, IceServer


def settings(monkeypatch: pytest.MonkeyPatch, value: object) -> ApiSettings:
    monkeypatch.setenv("LAPOR_API_WEBRTC_ICE_SERVERS", json.dumps(value))
    return ApiSettings(_env_file=None)  # type: ignore[call-arg]


def test_none_by_default() -> None:
    assert ApiSettings(_env_file=None).webrtc_ice_servers == []  # type: ignore[call-arg]


def test_a_turn_server_with_its_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    turn: dict[str, object] = {
        "urls": ["turn:turn.bandarlampungkota.go.id:3478?transport=udp", "stun:10.0.0.5:3478"],
        "username": "lapor",
        "credential": "rahasia",
    }
    assert settings(monkeypatch, [turn]).webrtc_ice_servers == [IceServer.model_validate(turn)]


@pytest.mark.parametrize(
    "bad",
    [
        [{"urls": ["http://turn.example:3478"]}],  # not a STUN/TURN URL
        [{"urls": ["turn:turn.example:3478;rm -rf"]}],
        [{"urls": []}],
        [{"urls": ["stun:a:1"], "password": "x"}],  # RTCIceServer says credential
        [{"urls": ["stun:a:1"]}] * 5,  # more than the page needs
        [{"urls": ["stun:a:1"], "credential": "x" * 129}],
        {"urls": ["stun:a:1"]},  # a list, not one object
    ],
)
def test_anything_else_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, bad: object) -> None:
    with pytest.raises(ValidationError):
        settings(monkeypatch, bad)
