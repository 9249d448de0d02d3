"""API settings from the environment (``LAPOR_API_*``) or a ``.env`` file."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Built by ``ApiSettings()`` at start-up, never at import time."""

    model_config = SettingsConfigDict(env_prefix="LAPOR_API_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/lapor.db"
    # Loopback by default; a deployment binds a private address behind its proxy.
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
