"""API settings from the environment (``LAPOR_API_*``) or a ``.env`` file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Built by ``ApiSettings()`` at start-up, never at import time."""

    model_config = SettingsConfigDict(env_prefix="LAPOR_API_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/lapor.db"
    # Loopback by default; a deployment binds a private address behind its proxy.
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    # KPI defaults (ASTERISK.md §6); hourly rollups are kept for these thresholds.
    short_abandon_seconds: int = 5
    service_level_seconds: int = 20
    # Login tokens last one officer's shift; service tokens don't expire (revoke them).
    token_ttl_minutes: int = 480
    # Failed logins per username allowed in the window before login answers 429.
    login_max_failures: int = 5
    login_window_minutes: int = 15
    # AMI command user of the agents' console (queue login, logout, pause).
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_control_user: str = "control"
    ami_control_secret: str = ""
    # City holidays (JSON list of dates) skipped by the LAPOR! working-day deadlines.
    holidays: list[date] = []
    # Where the API finds the IVR's recordings (the folder Asterisk records into).
    recordings_dir: Path = Path("var/recordings")
