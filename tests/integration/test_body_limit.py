"""Request bodies over the limit get 413 before they are read, with or without a token.

Against ``lapor-api`` in a subprocess, whose peak memory (VmHWM) is read from /proc: a
20 MiB body must not cost the server anything near 20 MiB.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.core.auth import Role
from tests.e2e.services import ApiProcess, started
from tests.integration.test_complaints_api import complaint

MIB = 1 << 20
BIG = 20 * MIB
# What a 20 MiB body cost before the limit (57 MiB measured); far above the noise.
MAX_GROWTH = 8 * MIB


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    folder = tmp_path_factory.mktemp("body-limit")
    with started(ApiProcess(f"sqlite:///{folder / 'lapor.db'}", folder / "api.log")) as process:
        yield process


def peak_rss(pid: int, *, reset: bool = False) -> int:
    """The process's peak resident memory (VmHWM), reset to its current size first if asked
    (Linux: 5 written to clear_refs)."""
    if reset:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def oversize_json() -> bytes:
    """A valid complaint padded to BIG bytes of JSON (what a real client might send)."""
    body = complaint(recording_path="x" * BIG)
    return json.dumps(body).encode()


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A body of ``total`` bytes, sent chunked (no Content-Length)."""
    prefix = b'{"ticket": "01000009", "recording_path": "'
    yield prefix
    sent = len(prefix)
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


def post(
    server: ApiProcess, path: str, content: bytes | Iterator[bytes], token: str | None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return client.post(path, content=content, headers=headers)


@pytest.mark.parametrize("with_token", [False, True], ids=["no-token", "ivr-token"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversize_body_is_413_and_costs_no_memory(
    server: ApiProcess, with_token: bool, chunked: bool
) -> None:
    token = server.token(Role.ivr) if with_token else None
    # Warm up: the same route with a small body, so the measure holds only the big one.
    assert post(server, "/complaints", json.dumps(complaint()).encode(), token).status_code in (
        200,
        201,
        401,
    )
    before = peak_rss(server.pid, reset=True)
    content = chunks(BIG) if chunked else oversize_json()
    response = post(server, "/complaints", content, token)
    grown = peak_rss(server.pid) - before
    assert grown < MAX_GROWTH, f"the server grew by {grown / MIB:.1f} MiB"
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"] == "body_too_large"


def fat_event(n: int) -> str:
    """An AgentComplete as Asterisk 22 sends it (both channels' snapshots), as enveloped
    by the collector: about 1.2 KB, among the largest events the collector forwards."""

    def snapshot(prefix: str, channel: str, uniqueid: str) -> dict[str, str]:
        return {
            f"{prefix}Channel": channel,
            f"{prefix}ChannelState": "6",
            f"{prefix}ChannelStateDesc": "Up",
            f"{prefix}CallerIDNum": "+6281234567890",
            f"{prefix}CallerIDName": "Warga Kota Bandar Lampung",
            f"{prefix}ConnectedLineNum": "1001",
            f"{prefix}ConnectedLineName": "Petugas 1001",
            f"{prefix}Language": "id",
            f"{prefix}AccountCode": "",
            f"{prefix}Context": "lapor-queue",
            f"{prefix}Exten": "s",
            f"{prefix}Priority": "12",
            f"{prefix}Uniqueid": uniqueid,
            f"{prefix}Linkedid": "1795890000.123456",
        }

    fields = {
        "Event": "AgentComplete",
        "Privilege": "agent,all",
        "SystemName": "callcenter",
        **snapshot("", "PJSIP/trunk-0000a1b2", "1795890000.123456"),
        **snapshot("Dest", "PJSIP/petugas-1001-0000a1b3", "1795890000.123457"),
        "Queue": "pengaduan",
        "MemberName": "Petugas 1001",
        "Interface": "PJSIP/petugas-1001",
        "HoldTime": "35",
        "TalkTime": "245",
        "Reason": "caller",
        "Timestamp": "1795890123.456789",
    }
    return json.dumps(
        {
            "id": f"callcenter:{'0' * 32}.{n}",
            "node": "callcenter",
            "received_at": "2026-11-28T03:00:00.123456+00:00",
            "name": "AgentComplete",
            "fields": fields,
        },
        separators=(",", ":"),
    )


def test_the_collectors_largest_batch_fits_and_beyond_the_events_limit_is_413(
    server: ApiProcess,
) -> None:
    batch = ('{"events":[' + ",".join(fat_event(n) for n in range(10_000)) + "]}").encode()
    assert 8 * MIB < len(batch) < 16 * MIB
    # Over the default limit, under the events limit: it reaches the token check.
    assert post(server, "/events", batch, token=None).status_code == 401
    assert post(server, "/events", b" " * (33 * MIB), token=None).status_code == 413
    assert post(server, "/complaints", b" " * (2 * MIB), token=None).status_code == 413


def test_the_largest_sms_a_gateway_posts_fits(server: ApiProcess) -> None:
    """gammu-smsd's fields for a 10 000-character SMS of 4-byte characters, sent as a
    form: the decoded text and its parts, each character 12 bytes once percent-encoded."""
    text = "\U0001f6a7" * 10_000
    parts = {f"SMS_{n + 1}_TEXT": text[n * 70 : (n + 1) * 70] for n in range(10_000 // 70 + 1)}
    fields = {"SMS_1_NUMBER": "+6281234567890", "DECODED_1_TEXT": "LAPOR 1 " + text[8:]}
    form = str(httpx.QueryParams({**fields, **parts})).encode()
    assert 200_000 < len(form) < MIB // 2
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"Bearer {server.token(Role.gateway)}",
    }
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post("/sms/inbound", content=form, headers=headers)
    assert response.status_code == 201, response.text[:300]


def test_a_route_reading_its_own_body_stops_at_the_limit(server: ApiProcess) -> None:
    """/sms/inbound reads the body itself, after the token check: chunked, over 1 MiB."""
    before = peak_rss(server.pid, reset=True)
    response = post(server, "/sms/inbound", chunks(BIG), token=server.token(Role.gateway))
    grown = peak_rss(server.pid) - before
    assert grown < MAX_GROWTH, f"the server grew by {grown / MIB:.1f} MiB"
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"] == "body_too_large"
