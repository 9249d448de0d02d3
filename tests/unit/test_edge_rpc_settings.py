"""The SIP edge's JSON-RPC settings (LAPOR_API_EDGE_RPC_URL and _TOKEN): the browser
phones' passwords go to the edge only with a real token, and only to an /RPC URL."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.core.deps import control_of
from api.core.settings import ApiSettings

URL = "http://10.0.0.5:8081/RPC"
TOKEN = "edge-token-0123456789abcdef"


def settings(monkeypatch: pytest.MonkeyPatch, url: str, token: str) -> ApiSettings:
    monkeypatch.setenv("LAPOR_API_EDGE_RPC_URL", url)
    monkeypatch.setenv("LAPOR_API_EDGE_RPC_TOKEN", token)
    return ApiSettings(_env_file=None)  # type: ignore[call-arg]


def test_no_edge_by_default() -> None:
    assert control_of(ApiSettings(_env_file=None)).edge is None  # type: ignore[call-arg]


def test_an_edge_with_its_token_gets_the_browser_phones(monkeypatch: pytest.MonkeyPatch) -> None:
    edge = control_of(settings(monkeypatch, URL, TOKEN)).edge
    assert edge is not None
    assert (edge.url, edge.token) == (URL, TOKEN)


@pytest.mark.parametrize(
    ("url", "token"),
    [
        (URL, ""),  # no token
        (URL, "short"),
        (URL, "change-me-edge-token-0123"),  # the .env.example placeholder
        ("http://10.0.0.5:8081/other", TOKEN),
        ("file:///etc/passwd", TOKEN),
        ("http://10.0.0.5:8081/RPC?x=1", TOKEN),
    ],
)
def test_a_bad_edge_setting_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, url: str, token: str
) -> None:
    with pytest.raises(ValidationError):
        settings(monkeypatch, url, token)
