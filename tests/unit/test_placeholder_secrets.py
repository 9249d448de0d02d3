"""The change-me placeholders of .env.example are refused at start-up, naming what to set."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.core.settings import ApiSettings
from api.people.bootstrap import BootstrapError, admin_password
from collector import CollectorSettings
from ivr.settings import FastAGISettings, IvrSettings, SettingsError, read_env_file

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
COMPOSE_URL = "postgresql+psycopg://lapor:{}@postgres:5432/lapor"


@dataclass(frozen=True)
class Service:
    """How a service starts, and which of its variables docker compose fills from .env."""

    start: Callable[[], object]
    variable: str
    template: str = "{}"


SERVICES = {
    "LAPOR_DB_PASSWORD": Service(ApiSettings, "LAPOR_API_DATABASE_URL", COMPOSE_URL),
    "LAPOR_AMI_CONTROL_SECRET": Service(ApiSettings, "LAPOR_API_AMI_CONTROL_SECRET"),
    "LAPOR_AMI_COLLECTOR_SECRET": Service(CollectorSettings, "LAPOR_COLLECTOR_AMI_SECRET"),
    "LAPOR_COLLECTOR_API_TOKEN": Service(CollectorSettings, "LAPOR_COLLECTOR_API_TOKEN"),
    "LAPOR_IVR_API_TOKEN": Service(IvrSettings.from_env, "LAPOR_IVR_API_TOKEN"),
    "LAPOR_AGI_SECRET": Service(FastAGISettings.from_env, "LAPOR_AGI_SECRET"),
    "LAPOR_ADMIN_PASSWORD": Service(lambda: admin_password(os.environ), "LAPOR_ADMIN_PASSWORD"),
}
PLACEHOLDERS = {
    name: value for name, value in read_env_file(ENV_EXAMPLE).items() if "change-me" in value
}


def test_every_placeholder_of_the_example_is_checked() -> None:
    assert PLACEHOLDERS, ".env.example has no change-me placeholders any more?"
    assert set(PLACEHOLDERS) <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(PLACEHOLDERS))
def test_a_placeholder_is_refused_naming_the_variable(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = SERVICES[name]
    monkeypatch.setenv(service.variable, service.template.format(PLACEHOLDERS[name]))
    with pytest.raises((ValidationError, SettingsError, BootstrapError)) as refused:
        service.start()
    message = str(refused.value)
    assert service.variable in message
    assert name in message  # the one to set in .env
    assert PLACEHOLDERS[name] not in message  # no secret echoed


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_real_secret_is_taken(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    service = SERVICES[name]
    monkeypatch.setenv(service.variable, service.template.format("3f9c1e0b7a5d4c2e8f6a1b3c5d"))
    service.start()


def test_a_placeholder_in_the_collectors_secret_files_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "ami-secret"
    secret.write_text("change-me-ami-secret\n")
    with pytest.raises(ValidationError, match="LAPOR_COLLECTOR_AMI_SECRET_FILE"):
        CollectorSettings(ami_secret_file=secret)
    token = tmp_path / "api-token"
    token.write_text("Change-Me-Collector-Token")
    with pytest.raises(ValidationError, match="LAPOR_COLLECTOR_API_TOKEN_FILE"):
        CollectorSettings(api_token_file=token)


def test_the_api_refuses_a_placeholder_from_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAPOR_API_AMI_CONTROL_SECRET", "change-me-ami-control-secret")
    with pytest.raises(ValidationError, match="LAPOR_API_AMI_CONTROL_SECRET"):
        ApiSettings()
