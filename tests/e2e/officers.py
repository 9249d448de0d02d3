"""Officers for e2e tests: an API process that can drive the sandbox's Asterisk over AMI
(as its least-privilege control user), officers with carrier phones, their logins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlmodel import Session

from api.core.auth import Role
from api.people.users import create_user
from sandbox.ami import Message
from sandbox.harness import Sandbox
from tests.e2e.services import ApiProcess, fresh_api_process
from tests.people import PASSWORD, add_agent


def control_env(sandbox: Sandbox, *, dialer: bool = False) -> dict[str, str]:
    """Settings that point the API's AMI control client at the sandbox's call center.

    The virtual-hold dialer stays off unless ``dialer``: it would put every callback a
    test dials by hand in the queue (and take its claim) first."""
    return {
        "LAPOR_API_AMI_PORT": str(sandbox.config.ami_port),
        "LAPOR_API_AMI_CONTROL_SECRET": sandbox.secrets.control,
        "LAPOR_API_CALLBACK_DIALER_ENABLED": "true" if dialer else "false",
    }


def add_officer(process: ApiProcess, username: str, extension: str) -> None:
    with Session(process.engine) as session:
        add_agent(session, username, extension)


def add_supervisor(process: ApiProcess, username: str, extension: str) -> None:
    """A supervisor whose desk phone is ``extension`` (rung to listen in)."""
    with Session(process.engine) as session:
        create_user(
            session,
            username=username,
            password=PASSWORD,
            role=Role.supervisor,
            full_name="Sri",
            extension=extension,
        )


@contextmanager
def officers_api(sandbox: Sandbox, log_path: Path, username: str) -> Iterator[ApiProcess]:
    """A fresh API process with AMI control, and ``username`` on the first carrier phone."""

    def prepare(process: ApiProcess) -> None:
        add_officer(process, username, sandbox.config.agents[0])

    with fresh_api_process(log_path, control_env(sandbox), prepare) as process:
        yield process


async def login(api: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await api.post("/auth/login", data={"username": username, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def event(name: str, **fields: str) -> Callable[[Message], bool]:
    def match(message: Message) -> bool:
        return message.get("Event") == name and all(message.get(k) == v for k, v in fields.items())

    return match
