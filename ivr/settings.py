"""IVR settings from the environment (``LAPOR_IVR_*``), optionally from an env file.

``FastAGISettings`` are the FastAGI server's own (``lapor-ivr`` only): where it listens,
its limits and who may connect.

The FastAGI server reads them at start-up. A classic AGI script is started by Asterisk,
whose environment we do not control, so it also reads ``KEY=VALUE`` lines from
``$LAPOR_IVR_ENV_FILE`` or else ``$AST_CONFIG_DIR/lapor-ivr.env`` (Asterisk sets
``AST_CONFIG_DIR`` for every AGI child). The env file holds the API token: keep it
mode 0640, owned by the asterisk user, and out of version control.

The API token is ``LAPOR_IVR_API_TOKEN``, or the content of the file named by
``LAPOR_IVR_API_TOKEN_FILE`` (``lapor bootstrap`` writes it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ivr.access import PeerAccess
from ivr.fastagi import FastAGILimits
from ivr.placeholders import refuse_placeholder

ENV_FILE_NAME = "lapor-ivr.env"
# Loopback by default: never expose FastAGI beyond the Asterisk nodes that use it.
DEFAULT_AGI_HOST = "127.0.0.1"
DEFAULT_AGI_PORT = 4573
# The probe listener (/metrics, /health/live, /health/ready) asks for no token: loopback
# unless the operator names another address. Port 0 turns it off.
DEFAULT_METRICS_HOST = "127.0.0.1"
DEFAULT_METRICS_PORT = 9102
DEFAULT_READY_OUTBOX_MAX = 1000
LOG_LEVEL_ENV = "LAPOR_LOG_LEVEL"
# The API token may come from a file instead (what `lapor bootstrap` writes).
API_TOKEN_FILE_ENV = "LAPOR_IVR_API_TOKEN_FILE"


# The complaint categories the IVR's menu offers (agi_scripts/complaint.py), by name.
CATEGORY_NAMES = frozenset(
    {"infrastruktur", "kependudukan", "pelayanan_publik", "lainnya", "darurat"}
)


class SettingsError(ValueError):
    """A setting is missing or out of range."""


def _names(value: str) -> frozenset[str]:
    """A comma-separated list of names, trimmed and lower-cased; empty items dropped."""
    return frozenset(name.strip().lower() for name in value.split(",") if name.strip())


@dataclass(frozen=True)
class IvrSettings:
    api_url: str = "http://127.0.0.1:8000"
    api_token: str = ""
    # Durable outbox and ticket counter; shared by FastAGI and classic scripts on a node.
    spool_dir: Path = Path("/var/spool/lapor-ivr")
    # Two digits, 10-99: the first digits of every ticket this node issues. Never 0x, so
    # a ticket never starts with 0, which means "officer" at every menu.
    node_id: int = 10
    record_max_seconds: int = 180
    record_silence_seconds: int = 6
    # Seconds in the queue before the caller is offered a callback.
    callback_wait_seconds: int = 120
    # Complaint categories whose callers join the queue ahead of everyone else, with no
    # callback offer (agi_scripts/urgent.py); LAPOR_IVR_URGENT_CATEGORIES, comma-separated.
    urgent_categories: frozenset[str] = frozenset({"darurat"})
    # Seconds the IVR waits for the API before it keeps the complaint in the outbox.
    api_timeout: float = 1.0
    # The node id's lease with the API (ivr/node_lease.py) lapses after this many seconds
    # without renewal; it is renewed every third of it.
    lease_seconds: float = 30.0
    # At start-up, how long an unreachable API is waited for before the IVR serves on the
    # spool's own ticket counter (a lost spool with the API down could repeat a ticket).
    api_wait_seconds: float = 30.0

    def __post_init__(self) -> None:
        try:
            refuse_placeholder(self.api_token, "LAPOR_IVR_API_TOKEN")
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        if not 10 <= self.node_id <= 99:
            raise SettingsError(f"LAPOR_IVR_NODE_ID must be 10-99, not {self.node_id}")
        if self.record_max_seconds < 1 or self.callback_wait_seconds < 1:
            raise SettingsError("record and callback times must be at least 1 s")
        if not 5 <= self.lease_seconds <= 600:
            raise SettingsError("LAPOR_IVR_LEASE_SECONDS must be 5-600")
        if not 0 <= self.api_wait_seconds <= 600:
            raise SettingsError("LAPOR_IVR_API_WAIT_SECONDS must be 0-600")
        unknown = sorted(self.urgent_categories - CATEGORY_NAMES)
        if unknown:
            raise SettingsError(
                f"LAPOR_IVR_URGENT_CATEGORIES: no category {', '.join(unknown)}"
                f" (known: {', '.join(sorted(CATEGORY_NAMES))})"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IvrSettings:
        env = os.environ if env is None else env
        defaults = cls()

        def get(name: str, default: object) -> str:
            return env.get(f"LAPOR_IVR_{name}", "") or str(default)

        try:
            return cls(
                api_url=get("API_URL", defaults.api_url).rstrip("/"),
                api_token=get("API_TOKEN", "") or _read_secret_file(env, API_TOKEN_FILE_ENV),
                spool_dir=Path(get("SPOOL_DIR", defaults.spool_dir)),
                node_id=int(get("NODE_ID", defaults.node_id)),
                record_max_seconds=int(get("RECORD_MAX_SECONDS", defaults.record_max_seconds)),
                record_silence_seconds=int(
                    get("RECORD_SILENCE_SECONDS", defaults.record_silence_seconds)
                ),
                callback_wait_seconds=int(
                    get("CALLBACK_WAIT_SECONDS", defaults.callback_wait_seconds)
                ),
                api_timeout=float(get("API_TIMEOUT", defaults.api_timeout)),
                lease_seconds=float(get("LEASE_SECONDS", defaults.lease_seconds)),
                api_wait_seconds=float(get("API_WAIT_SECONDS", defaults.api_wait_seconds)),
                urgent_categories=_names(
                    get("URGENT_CATEGORIES", ",".join(sorted(defaults.urgent_categories)))
                ),
            )
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc

    def as_env(self) -> dict[str, str]:
        """The ``LAPOR_IVR_*`` variables that reproduce these settings (for an env file)."""
        return {
            "LAPOR_IVR_API_URL": self.api_url,
            "LAPOR_IVR_API_TOKEN": self.api_token,
            "LAPOR_IVR_SPOOL_DIR": str(self.spool_dir),
            "LAPOR_IVR_NODE_ID": str(self.node_id),
            "LAPOR_IVR_RECORD_MAX_SECONDS": str(self.record_max_seconds),
            "LAPOR_IVR_RECORD_SILENCE_SECONDS": str(self.record_silence_seconds),
            "LAPOR_IVR_CALLBACK_WAIT_SECONDS": str(self.callback_wait_seconds),
            "LAPOR_IVR_API_TIMEOUT": str(self.api_timeout),
            "LAPOR_IVR_LEASE_SECONDS": str(self.lease_seconds),
            "LAPOR_IVR_API_WAIT_SECONDS": str(self.api_wait_seconds),
            "LAPOR_IVR_URGENT_CATEGORIES": ",".join(sorted(self.urgent_categories)),
        }


@dataclass(frozen=True)
class FastAGISettings:
    """The FastAGI server's settings, from the environment.

    ``LAPOR_AGI_HOST``/``_PORT``: where it listens. ``LAPOR_AGI_SECRET`` (or
    ``LAPOR_AGI_SECRET_FILE``): the shared secret the dialplan sends in the AGI URL
    (asterisk_conf renders the same variable into it); empty asks for none.
    ``LAPOR_IVR_ALLOWED_PEERS``: addresses and CIDR networks that may connect (empty:
    loopback for a loopback-bound server, else loopback and private networks).
    ``LAPOR_IVR_MAX_SESSIONS``, ``LAPOR_IVR_HEADER_TIMEOUT``, ``LAPOR_IVR_REPLY_TIMEOUT``:
    see ``ivr.fastagi.FastAGILimits``. ``LAPOR_IVR_METRICS_HOST``/``_PORT``: the probe
    listener (ivr/metrics_http.py; port 0: none). ``LAPOR_IVR_READY_OUTBOX_MAX``: with
    the API unreachable, the server is ready while its outbox holds fewer records.
    """

    # Every variable from_env reads, with its default (``lapor-ivr --help`` lists them).
    ENV: ClassVar[dict[str, object]] = {
        "LAPOR_AGI_HOST": DEFAULT_AGI_HOST,
        "LAPOR_AGI_PORT": DEFAULT_AGI_PORT,
        "LAPOR_AGI_SECRET": "",
        "LAPOR_AGI_SECRET_FILE": None,
        "LAPOR_IVR_ALLOWED_PEERS": "(loopback; for a non-loopback host also private nets)",
        "LAPOR_IVR_MAX_SESSIONS": FastAGILimits().max_sessions,
        "LAPOR_IVR_HEADER_TIMEOUT": FastAGILimits().header_timeout,
        "LAPOR_IVR_REPLY_TIMEOUT": FastAGILimits().reply_timeout,
        "LAPOR_IVR_METRICS_HOST": DEFAULT_METRICS_HOST,
        "LAPOR_IVR_METRICS_PORT": DEFAULT_METRICS_PORT,
        "LAPOR_IVR_READY_OUTBOX_MAX": DEFAULT_READY_OUTBOX_MAX,
    }

    host: str = DEFAULT_AGI_HOST
    port: int = DEFAULT_AGI_PORT
    limits: FastAGILimits = field(default_factory=FastAGILimits)
    access: PeerAccess = field(default_factory=lambda: PeerAccess.for_host(DEFAULT_AGI_HOST))
    metrics_host: str = DEFAULT_METRICS_HOST
    metrics_port: int = DEFAULT_METRICS_PORT
    ready_outbox_max: int = DEFAULT_READY_OUTBOX_MAX

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FastAGISettings:
        env = os.environ if env is None else env
        defaults = FastAGILimits()
        host = env.get("LAPOR_AGI_HOST") or DEFAULT_AGI_HOST
        port = _env_int(env, "LAPOR_AGI_PORT", DEFAULT_AGI_PORT)
        max_sessions = _env_int(env, "LAPOR_IVR_MAX_SESSIONS", defaults.max_sessions)
        header_timeout = _env_float(env, "LAPOR_IVR_HEADER_TIMEOUT", defaults.header_timeout)
        reply_timeout = _env_float(env, "LAPOR_IVR_REPLY_TIMEOUT", defaults.reply_timeout)
        metrics_port = _env_int(env, "LAPOR_IVR_METRICS_PORT", DEFAULT_METRICS_PORT)
        outbox_max = _env_int(env, "LAPOR_IVR_READY_OUTBOX_MAX", DEFAULT_READY_OUTBOX_MAX)
        if not 0 <= metrics_port <= 65535:
            raise SettingsError(f"LAPOR_IVR_METRICS_PORT must be 0-65535, not {metrics_port}")
        if outbox_max < 1:
            raise SettingsError("LAPOR_IVR_READY_OUTBOX_MAX must be at least 1")
        try:
            limits = FastAGILimits(
                max_sessions=max_sessions,
                header_timeout=header_timeout,
                reply_timeout=reply_timeout,
            )
            allowed = env.get("LAPOR_IVR_ALLOWED_PEERS", "")
            access = PeerAccess.from_text(allowed, host, _agi_secret(env))
        except (ValueError, OSError) as exc:  # AccessConfigError is a ValueError
            raise SettingsError(str(exc)) from exc
        return cls(
            host=host,
            port=port,
            limits=limits,
            access=access,
            metrics_host=env.get("LAPOR_IVR_METRICS_HOST") or DEFAULT_METRICS_HOST,
            metrics_port=metrics_port,
            ready_outbox_max=outbox_max,
        )


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(env.get(name) or default)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {env.get(name)!r}") from None


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name) or default)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {env.get(name)!r}") from None


def _read_secret_file(env: Mapping[str, str], name: str) -> str:
    """The content of the file the variable ``name`` names ("" if it names none)."""
    path = env.get(name, "")
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{name}: cannot read {path}: {exc.strerror}") from None


def _agi_secret(env: Mapping[str, str]) -> str:
    """``LAPOR_AGI_SECRET``, or the content of the file ``LAPOR_AGI_SECRET_FILE`` names."""
    secret = env.get("LAPOR_AGI_SECRET") or _read_secret_file(env, "LAPOR_AGI_SECRET_FILE")
    try:
        refuse_placeholder(secret, "LAPOR_AGI_SECRET")
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return secret


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines; blank lines and ``#`` comments are skipped."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def classic_settings(env: Mapping[str, str] | None = None) -> IvrSettings:
    """Settings for a classic AGI process: its environment over the env file."""
    env = os.environ if env is None else env
    path = env.get("LAPOR_IVR_ENV_FILE") or (
        f"{env['AST_CONFIG_DIR']}/{ENV_FILE_NAME}" if env.get("AST_CONFIG_DIR") else ""
    )
    from_file = read_env_file(Path(path)) if path and Path(path).is_file() else {}
    return IvrSettings.from_env({**from_file, **env})
