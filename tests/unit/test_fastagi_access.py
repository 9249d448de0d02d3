"""Who may open a FastAGI session: the address allow-list and the AGI secret."""

from __future__ import annotations

import pytest

from ivr.access import (
    AccessConfigError,
    PeerAccess,
    default_networks,
    parse_networks,
    redact_secret,
)

SECRET = "Zk3-secret_for.tests~01"


@pytest.mark.parametrize(
    ("bind_host", "allowed", "refused"),
    [
        ("127.0.0.1", ["127.0.0.1", "127.1.2.3", "::1"], ["10.0.0.5", "172.30.0.2", "8.8.8.8"]),
        ("::1", ["127.0.0.1", "::1"], ["192.168.1.2", "fd00::1"]),
        ("localhost", ["127.0.0.1"], ["192.168.1.2"]),
        (
            "0.0.0.0",
            ["127.0.0.1", "10.1.2.3", "172.30.0.2", "192.168.1.2", "fd12::5", "::ffff:172.30.0.9"],
            ["8.8.8.8", "172.32.0.1", "100.64.0.1", "2001:db8::1", "::ffff:8.8.8.8"],
        ),
        ("", ["172.16.0.1"], ["1.1.1.1"]),
        ("ivr", ["192.168.0.1"], ["203.0.113.7"]),
    ],
)
def test_default_allow_list_follows_the_bind_address(
    bind_host: str, allowed: list[str], refused: list[str]
) -> None:
    access = PeerAccess.for_host(bind_host)
    for host in allowed:
        assert access.address_allowed((host, 4000)), host
    for host in refused:
        assert not access.address_allowed((host, 4000)), host


def test_explicit_allow_list_replaces_the_default() -> None:
    access = PeerAccess.from_text("172.30.0.0/24, 10.9.9.9 fd00::/8", "0.0.0.0")
    assert access.address_allowed(("172.30.0.7", 1))
    assert access.address_allowed(("10.9.9.9", 1))
    assert access.address_allowed(("fd00::7", 1, 0, 0))
    assert not access.address_allowed(("127.0.0.1", 1))
    assert not access.address_allowed(("172.30.1.7", 1))
    assert PeerAccess.from_text(" ", "0.0.0.0").networks == default_networks("0.0.0.0")


@pytest.mark.parametrize("peername", [None, (), "127.0.0.1", ("not-an-address", 1), (b"x", 1)])
def test_unreadable_peer_addresses_are_refused(peername: object) -> None:
    assert not PeerAccess.for_host("127.0.0.1").address_allowed(peername)


@pytest.mark.parametrize("text", ["10.0.0.0/33", "example.org", "10.0.0.0/8,,bogus"])
def test_malformed_allow_lists_are_refused(text: str) -> None:
    with pytest.raises(AccessConfigError):
        parse_networks(text)


def test_secret_must_be_in_the_query_exactly_once() -> None:
    access = PeerAccess.for_host("127.0.0.1", SECRET)
    assert access.secret_matches(f"call?secret={SECRET}")
    assert access.secret_matches(f"call?x=1&secret={SECRET}")
    assert not access.secret_matches("call")
    assert not access.secret_matches("call?secret=")
    assert not access.secret_matches(f"call?secret={SECRET}x")
    assert not access.secret_matches(f"call?secret={SECRET}&secret={SECRET}")
    assert not access.secret_matches(f"call/{SECRET}")
    assert not access.secret_matches(f"call?secret=caf\u00e9{SECRET}")
    # No secret set: anything goes, the query is ignored.
    assert PeerAccess.for_host("127.0.0.1").secret_matches("call?secret=whatever")


@pytest.mark.parametrize(
    "secret", ["short", "has space in it 12345", "comma,in,it,0123456", "x" * 300]
)
def test_malformed_secrets_are_refused_without_repeating_them(secret: str) -> None:
    with pytest.raises(AccessConfigError) as caught:
        PeerAccess.for_host("127.0.0.1", secret)
    assert secret not in str(caught.value)


def test_the_secret_never_shows_in_repr_or_description() -> None:
    access = PeerAccess.for_host("127.0.0.1", SECRET)
    assert SECRET not in repr(access)
    assert SECRET not in access.describe()
    assert "required" in access.describe()


def test_redact_secret_removes_it_from_script_and_request() -> None:
    env = {
        "agi_network_script": f"call?secret={SECRET}",
        "agi_request": f"agi://127.0.0.1:4573/call?x=1&secret={SECRET}",
        "agi_callerid": "0812",
    }
    assert redact_secret(env) == {
        "agi_network_script": "call",
        "agi_request": "agi://127.0.0.1:4573/call?x=1",
        "agi_callerid": "0812",
    }
    assert redact_secret({"agi_request": "/opt/x/call.py"}) == {"agi_request": "/opt/x/call.py"}
