"""Who may open a FastAGI session: peer addresses, and a shared secret in the AGI URL.

FastAGI itself has no authentication: whoever reaches the port can run the IVR's scripts
with any caller and line, and so create complaints and callback requests. Two checks:

- **Peer address.** The connection's source address must be in the allow-list. Without
  one configured, a server bound to loopback accepts loopback only, and a server bound to
  any other address accepts loopback and the private ranges (RFC 1918, IPv6 ULA), never a
  public address.
- **Shared secret** (optional). The dialplan calls ``agi://host:port/<script>?secret=<s>``;
  Asterisk passes the path and query as ``agi_network_script``. A server with a secret
  runs a session only if that query carries exactly this secret. A server without one
  ignores the query, so the dialplan can send the secret before the server asks for it.

The secret is then removed from the request (``agi_network_script`` and ``agi_request``)
before any handler or log line sees it.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
SECRET_PARAMETER = "secret"
# URL-safe without escaping and free of dialplan syntax (no comma, quote, $, braces).
SECRET_PATTERN = re.compile(r"[A-Za-z0-9._~-]{16,256}")
_SCRIPT_HEADERS = ("agi_network_script", "agi_request")


class AccessConfigError(ValueError):
    """An allow-list entry or the secret is malformed."""


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Comma- or space-separated addresses and CIDR networks (``10.0.0.0/8, ::1``)."""
    networks = []
    for entry in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise AccessConfigError(f"not an address or network: {entry!r}") from exc
    if not networks:
        raise AccessConfigError("the allow-list is empty")
    return tuple(networks)


def default_networks(bind_host: str) -> tuple[IPNetwork, ...]:
    """Loopback only for a loopback-bound server, else loopback and the private ranges."""
    names = LOOPBACK_NETWORKS if _is_loopback(bind_host) else LOOPBACK_NETWORKS + PRIVATE_NETWORKS
    return tuple(ipaddress.ip_network(name) for name in names)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name or "" (every interface)


def check_secret(secret: str) -> str:
    """``secret`` if it is empty or well formed; the message never repeats it."""
    if secret and SECRET_PATTERN.fullmatch(secret) is None:
        raise AccessConfigError("the AGI secret must be 16-256 characters from A-Z a-z 0-9 . _ ~ -")
    return secret


@dataclass(frozen=True)
class PeerAccess:
    networks: tuple[IPNetwork, ...]
    secret: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        check_secret(self.secret)

    @classmethod
    def for_host(cls, bind_host: str, secret: str = "") -> PeerAccess:
        return cls(default_networks(bind_host), secret)

    @classmethod
    def from_text(cls, allowed: str, bind_host: str, secret: str = "") -> PeerAccess:
        """From the settings: an allow-list (empty: the default for ``bind_host``)."""
        networks = parse_networks(allowed) if allowed.strip() else default_networks(bind_host)
        return cls(networks, secret)

    def address_allowed(self, peername: object) -> bool:
        """Whether a socket's ``peername`` (``(host, port, ...)``) is in the allow-list."""
        if not isinstance(peername, tuple) or not peername or not isinstance(peername[0], str):
            return False
        try:
            address = ipaddress.ip_address(peername[0].split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def secret_matches(self, network_script: str) -> bool:
        """Whether ``agi_network_script`` carries the secret (always, if none is set)."""
        if not self.secret:
            return True
        _, _, query = network_script.partition("?")
        given = [value for key, value in _query(query) if key == SECRET_PARAMETER]
        return len(given) == 1 and hmac.compare_digest(
            given[0].encode("utf-8", "replace"), self.secret.encode()
        )

    def describe(self) -> str:
        """For the start-up log line (never the secret itself)."""
        networks = ", ".join(str(network) for network in self.networks)
        return f"peers {networks}; AGI secret {'required' if self.secret else 'not set'}"


def redact_secret(env: Mapping[str, str]) -> dict[str, str]:
    """The headers without any ``secret`` query parameter in the script and request URL."""
    redacted = dict(env)
    for key in _SCRIPT_HEADERS:
        if key in redacted:
            redacted[key] = _without_secret(redacted[key])
    return redacted


def _without_secret(url: str) -> str:
    base, sep, query = url.partition("?")
    if not sep:
        return url
    kept = [(key, value) for key, value in _query(query) if key != SECRET_PARAMETER]
    return f"{base}?{urlencode(kept)}" if kept else base


def _query(query: str) -> Iterable[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)
