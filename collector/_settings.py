"""Collector settings from the environment (``LAPOR_COLLECTOR_*``) or ``.env``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from asterisk_values import NODE_PATTERN
from ivr.placeholders import refuse_placeholder


class CollectorSettings(BaseSettings):
    # Errors don't echo the input: it holds the secrets.
    model_config = SettingsConfigDict(
        env_prefix="LAPOR_COLLECTOR_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    # The node's name in every event and status report, and its disk buffer's file name.
    node: str = Field(default="callcenter", pattern=NODE_PATTERN)
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "collector"
    ami_secret: str = ""
    ami_secret_file: Path | None = None
    api_url: str = "http://127.0.0.1:8000"
    api_token: str = ""
    api_token_file: Path | None = None
    buffer_dir: Path = Path("var/collector")
    # The node's queue_log file, if this host can read it: after every AMI login the lines
    # since the last session ended (at the first login: reconcile_seconds back) go to the
    # API, which fills the gap in AMI events (collector/_queue_log.py).
    queue_log: Path | None = None
    reconcile_seconds: float = Field(default=3600.0, ge=0, le=7 * 86400)
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
    # A status report to the API (AMI up or down, events buffered) this often, and at once
    # when the AMI session goes up or down: the wallboard's "collector/Asterisk unreachable".
    status_interval: float = Field(default=15.0, gt=0)
    log_level: str = "INFO"
    # The probe listener (/metrics, /health/live, /health/ready; ivr/metrics_http.py) asks
    # for no token: loopback unless set otherwise. Port 0 turns it off.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9103, ge=0, le=65535)
    # Ready while logged into AMI and the sender delivered within this many seconds (or
    # nothing waits longer than that).
    ready_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> CollectorSettings:
        ami = "LAPOR_AMI_COLLECTOR_SECRET"  # what docker compose fills them from
        refuse_placeholder(self.ami_secret, "LAPOR_COLLECTOR_AMI_SECRET", ami)
        refuse_placeholder(_read_if_there(self.ami_secret_file), "LAPOR_COLLECTOR_AMI_SECRET_FILE")
        refuse_placeholder(self.api_token, "LAPOR_COLLECTOR_API_TOKEN")
        refuse_placeholder(_read_if_there(self.api_token_file), "LAPOR_COLLECTOR_API_TOKEN_FILE")
        return self

    def missing_secrets(self) -> list[str]:
        """What the collector can't start without, said for the operator: an AMI secret
        and an API token, each set or in a file. A file that does not exist yet is left to
        its reader (it may be written after start-up); an empty one is missing."""
        missing = []
        if not _configured(self.ami_secret, self.ami_secret_file):
            missing.append(
                "no AMI secret (set LAPOR_COLLECTOR_AMI_SECRET or LAPOR_COLLECTOR_AMI_SECRET_FILE)"
            )
        if not _configured(self.api_token, self.api_token_file):
            missing.append(
                "no API token (set LAPOR_COLLECTOR_API_TOKEN or LAPOR_COLLECTOR_API_TOKEN_FILE;"
                " make one with: lapor token create --role collector --name <node>)"
            )
        return missing

    def secret(self) -> str:
        return _read(self.ami_secret_file) or self.ami_secret

    def token(self) -> str:
        return _read(self.api_token_file) or self.api_token


def _configured(value: str, path: Path | None) -> bool:
    if path is not None:
        return not path.is_file() or bool(_read(path))
    return bool(value.strip())


def _read(path: Path | None) -> str:
    return path.read_text().strip() if path else ""


def _read_if_there(path: Path | None) -> str:
    """A secret file's text, or "" if it is missing yet (its reader reports that later)."""
    return _read(path) if path is not None and path.is_file() else ""
