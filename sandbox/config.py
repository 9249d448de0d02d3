"""Sandbox settings: ports, directories and agents, overridable from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _default_cache_dir() -> Path:
    if os.environ.get("LAPOR_CACHE_DIR"):
        return Path(os.environ["LAPOR_CACHE_DIR"])
    if os.geteuid() == 0:
        return Path("/var/cache/lapor")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lapor"


@dataclass(frozen=True)
class SandboxConfig:
    """Where the sandbox lives and which loopback ports its two Asterisk instances use."""

    cache_dir: Path = field(default_factory=_default_cache_dir)
    sip_port: int = 5060
    ami_port: int = 5038
    rtp_start: int = 10000
    rtp_end: int = 10999
    carrier_sip_port: int = 5070
    carrier_phones_port: int = 5072
    carrier_ami_port: int = 5039
    carrier_rtp_start: int = 11000
    carrier_rtp_end: int = 11999
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    agents: tuple[str, ...] = ("1001", "1002")
    ready_timeout: float = 60.0

    @classmethod
    def from_env(cls) -> SandboxConfig:
        """Settings from ``LAPOR_SANDBOX_*`` variables, defaulting to the fields above."""
        agents = os.environ.get("LAPOR_SANDBOX_AGENTS")
        return cls(
            sip_port=_env_int("LAPOR_SANDBOX_SIP_PORT", 5060),
            ami_port=_env_int("LAPOR_SANDBOX_AMI_PORT", 5038),
            carrier_sip_port=_env_int("LAPOR_SANDBOX_CARRIER_SIP_PORT", 5070),
            carrier_phones_port=_env_int("LAPOR_SANDBOX_CARRIER_PHONES_PORT", 5072),
            carrier_ami_port=_env_int("LAPOR_SANDBOX_CARRIER_AMI_PORT", 5039),
            agi_port=_env_int("LAPOR_AGI_PORT", 4573),
            agents=tuple(agents.split(",")) if agents else cls.agents,
        )
