"""The change-me placeholders of .env.example are refused at start-up, naming what to set."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.ami import CollectorSettings
from api.settings import ApiSettings
from ivr.settings import IvrSettings, SettingsError, read_env_file

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
COMPOSE_URL = "postgresql+psycopg://lapor:{}@postgres:5432/lapor"


def start_api(variables: dict[str, str]) -> None:
    values = {"LAPOR_API_DATABASE_URL": "sqlite://"} | variables
    ApiSettings(**{k.removeprefix("LAPOR_API_").lower(): v for k, v in values.items()})


def start_collector(variables: dict[str, str]) -> None:
    CollectorSettings(
        **{k.removeprefix("LAPOR_COLLECTOR_").lower(): v for k, v in variables.items()}
    )


def start_ivr(variables: dict[str, str]) -> None:
    IvrSettings.from_env(variables)


# Each .env.example secret, as docker compose hands it to a service: (start, variables).
SERVICES = {
    "LAPOR_DB_PASSWORD": lambda v: (start_api, {"LAPOR_API_DATABASE_URL": COMPOSE_URL.format(v)}),
    "LAPOR_AMI_CONTROL_SECRET": lambda v: (start_api, {"LAPOR_API_AMI_CONTROL_SECRET": v}),
    "LAPOR_AMI_COLLECTOR_SECRET": lambda v: (start_collector, {"LAPOR_COLLECTOR_AMI_SECRET": v}),
    "LAPOR_COLLECTOR_API_TOKEN": lambda v: (start_collector, {"LAPOR_COLLECTOR_API_TOKEN": v}),
    "LAPOR_IVR_API_TOKEN": lambda v: (start_ivr, {"LAPOR_IVR_API_TOKEN": v}),
}
PLACEHOLDERS = {
    name: value for name, value in read_env_file(ENV_EXAMPLE).items() if "change-me" in value
}


def test_every_placeholder_of_the_example_is_checked() -> None:
    assert PLACEHOLDERS, ".env.example has no change-me placeholders any more?"
    assert set(PLACEHOLDERS) <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(PLACEHOLDERS))
def test_a_placeholder_is_refused_naming_the_variable(name: str) -> None:
    start, variables = SERVICES[name](PLACEHOLDERS[name])
    with pytest.raises((ValidationError, SettingsError)) as refused:
        start(variables)
    message = str(refused.value)
    (variable,) = variables
    assert variable in message
    assert name in message  # the one to set in .env
    assert PLACEHOLDERS[name] not in message.replace(variable, "")  # no secret echoed


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_real_secret_is_taken(name: str) -> None:
    start, variables = SERVICES[name]("3f9c1e0b7a5d4c2e8f6a1b3c5d7e9f0a")
    start(variables)


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
