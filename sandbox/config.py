"""Sandbox settings: ports, directories and agents, overridable from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def default_cache_dir() -> Path:
    if os.environ.get("LAPOR_CACHE_DIR"):
        return Path(os.environ["LAPOR_CACHE_DIR"])
    if os.geteuid() == 0:
        return Path("/var/cache/lapor")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lapor"


@dataclass(frozen=True)
class SandboxConfig:
    """Where the sandbox lives and which loopback ports its two Asterisk instances use."""

    cache_dir: Path = field(default_factory=default_cache_dir)
    sip_port: int = 5060
    ami_port: int = 5038
    # Asterisk's HTTP server: the browser phones' SIP over WebSocket at ws://127.0.0.1:PORT/ws
    http_port: int = 8088
    rtp_start: int = 10000
    rtp_end: int = 10999
    carrier_sip_port: int = 5070
    carrier_phones_port: int = 5072
    carrier_ami_port: int = 5039
    carrier_rtp_start: int = 11000
    carrier_rtp_end: int = 11999
    agi_host: str = "127.0.0.1"
    # The carrier's SIP address: another loopback address (e.g. 127.0.0.2) makes it a
    # network of its own, outside a LOCAL_NETS of 127.0.0.1/32 (the NAT test).
    carrier_host: str = "127.0.0.1"
    agi_port: int = 4573
    # A second IVR server's port (Sandbox.use_backup_agi): the dialplan's AGI_BACKUP_URL.
    agi_backup_port: int = 4574
    agents: tuple[str, ...] = ("1001", "1002")
    ready_timeout: float = 60.0

    slot: int = 0

    @classmethod
    def from_env(cls, slot: int | None = None) -> SandboxConfig:
        """Settings from the environment (``slot`` instead of ``LAPOR_SANDBOX_SLOT``).

        ``LAPOR_SANDBOX_SLOT=N`` runs an independent sandbox beside the default one (for
        parallel test runs): every port moves up by 100·N (RTP ranges by 2000·N) and its
        files live in their own folder. ``LAPOR_SANDBOX_AGENTS`` lists the agents.
        """
        slot = _env_int("LAPOR_SANDBOX_SLOT", 0) if slot is None else slot
        port, rtp = 100 * slot, 2000 * slot
        agents = os.environ.get("LAPOR_SANDBOX_AGENTS")
        return cls(
            sip_port=5060 + port,
            ami_port=5038 + port,
            http_port=8088 + port,
            rtp_start=10000 + rtp,
            rtp_end=10999 + rtp,
            carrier_sip_port=5070 + port,
            carrier_phones_port=5072 + port,
            carrier_ami_port=5039 + port,
            carrier_rtp_start=11000 + rtp,
            carrier_rtp_end=11999 + rtp,
            agi_port=4573 + port,
            agi_backup_port=4574 + port,
            agents=tuple(agents.split(",")) if agents else cls.agents,
            slot=slot,
        )


def state_dir_for(slot: int) -> Path:
    """Where ``make run`` keeps its state across runs: the checkout's ``var/``, or
    ``var/slot-N`` for sandbox slot N (each slot is an independent call center);
    ``LAPOR_VAR_DIR`` puts it anywhere."""
    if os.environ.get("LAPOR_VAR_DIR"):
        return Path(os.environ["LAPOR_VAR_DIR"]).resolve()
    return REPO_ROOT / "var" if slot == 0 else REPO_ROOT / "var" / f"slot-{slot}"
