"""Collector settings from the environment (``LAPOR_COLLECTOR_*``) or ``.env``."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class CollectorSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LAPOR_COLLECTOR_", env_file=".env", extra="ignore"
    )

    node: str = "callcenter"
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "collector"
    ami_secret: str = ""
    ami_secret_file: Path | None = None
    api_url: str = "http://127.0.0.1:8000"
    api_token: str = ""
    api_token_file: Path | None = None
    buffer_dir: Path = Path("var/collector")
    batch_size: int = 500
    # Batches posted at once: the API decodes one while PostgreSQL stores another.
    max_in_flight: int = 2
    # How long a partial batch waits for more events before it is sent (seconds).
    linger: float = 0.05
    # Heartbeat: a Ping every ping_interval s; no Pong within ping_timeout s = half-open link.
    ping_interval: float = 5.0
    ping_timeout: float = 5.0
    connect_timeout: float = 5.0
    # How long the QueueStatus answer at each (re)connect may take (a big call center
    # answers in well under a second).
    snapshot_timeout: float = 10.0
    backoff_min: float = 0.5
    backoff_max: float = 30.0
    log_level: str = "INFO"

    def secret(self) -> str:
        return _read(self.ami_secret_file) or self.ami_secret

    def token(self) -> str:
        return _read(self.api_token_file) or self.api_token


def _read(path: Path | None) -> str:
    return path.read_text().strip() if path else ""
