"""The real Asterisk sandbox for end-to-end tests; its logs are attached to failures.

In CI (CI=true) a missing sandbox fails the run instead of skipping it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest

from sandbox.harness import QUEUE, Sandbox
from sandbox.instance import Instance, InstanceError
from sandbox.rootfs import SandboxUnavailable
from tests.conftest import temporary_postgres_database, unavailable
from tests.e2e.ivr_node import IvrNode, IvrServer, prepare_node
from tests.e2e.officers import control_env
from tests.e2e.services import ApiProcess


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    try:
        instance = Sandbox()
    except SandboxUnavailable as exc:
        unavailable(str(exc))
        raise
    asyncio.run(instance.up())
    try:
        yield instance
    finally:
        instance.down()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    sandbox = getattr(item, "funcargs", {}).get("sandbox")
    if report.failed and isinstance(sandbox, Sandbox):
        for instance in (sandbox.callcenter, sandbox.carrier):
            report.sections.append((f"asterisk {instance.name} log", instance.log_tail(80)))
            report.sections.append((f"asterisk {instance.name} at failure", snapshot(instance)))
    return report


def snapshot(instance: Instance) -> str:
    """What a call-center engineer would look at first: the queue and the live channels."""
    try:
        return "\n".join(
            instance.rx(command)
            for command in (f"queue show {QUEUE}", "core show channels concise")
        )
    except InstanceError as exc:
        return f"(not reachable: {exc})"


@pytest.fixture
def quiet_call_center(sandbox: Sandbox) -> None:
    """No call left over from an earlier test, and every officer in the queue, unpaused.

    For tests that count on both officers' whole time: a leftover call or a pause that an
    earlier test's clean-up missed would only show up here as a slow queue.
    """
    for instance in (sandbox.callcenter, sandbox.carrier):
        instance.rx("channel request hangup all")
    for agent in sandbox.config.agents:
        sandbox.callcenter.rx(f"queue remove member PJSIP/{agent} from {QUEUE}")
        sandbox.add_member(agent)


@pytest.fixture(scope="session")
def api_process(tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox) -> Iterator[ApiProcess]:
    """The real API process on a fresh PostgreSQL database, for the whole e2e session."""
    with temporary_postgres_database() as url:
        process = ApiProcess(
            url,
            tmp_path_factory.mktemp("api") / "api.log",
            extra_env={"LAPOR_API_RECORDINGS_DIR": str(sandbox.recordings_dir)},
        )
        process.start()
        try:
            yield process
        finally:
            process.close()


@pytest.fixture(scope="session")
def ivr_node(sandbox: Sandbox, api_process: ApiProcess) -> IvrNode:
    """The IVR node's settings, spool and classic env file on the sandbox (see ivr_node.py)."""
    return prepare_node(sandbox, api_process)


@pytest.fixture
async def ivr_server(ivr_node: IvrNode) -> AsyncIterator[IvrServer]:
    """Our FastAGI server (full route table, outbox delivery) on the sandbox's AGI port."""
    server = IvrServer(ivr_node)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


# Long enough to look at a screen pop; tests hang their calls up themselves.
LONG_TALK_SECONDS = 120


@pytest.fixture
def console(sandbox: Sandbox, ivr_node: IvrNode, tmp_path: Path) -> Iterator[ApiProcess]:
    """A second API process on the IVR's database, with AMI control for the console, and
    its recordings where the IVR's complaints are recorded."""
    env = {**control_env(sandbox), "LAPOR_API_RECORDINGS_DIR": str(sandbox.recordings_dir)}
    process = ApiProcess(ivr_node.api.database_url, tmp_path / "console.log", env)
    process.start()
    try:
        yield process
    finally:
        process.close()


@pytest.fixture
def long_talks(sandbox: Sandbox) -> Iterator[None]:
    """Officers' phones stay on the line; nobody is in the queue but whom the test adds."""
    sandbox.carrier.rx(f"dialplan set global AGENT_TALK_SECONDS {LONG_TALK_SECONDS}")
    empty_queue(sandbox)
    try:
        yield
    finally:
        sandbox.carrier.rx("dialplan set global AGENT_TALK_SECONDS 3")
        for instance in (sandbox.callcenter, sandbox.carrier):
            instance.rx("channel request hangup all")
        empty_queue(sandbox)
        for agent in sandbox.config.agents:
            sandbox.add_member(agent)


def empty_queue(sandbox: Sandbox) -> None:
    """No officer's desk or browser phone in the queue (an earlier test's browser phone
    stays a member after its sign-out, and a join of a member is no QueueMemberAdded)."""
    for agent in sandbox.config.agents:
        for phone in (agent, f"{agent}-web"):
            sandbox.callcenter.rx(f"queue remove member PJSIP/{phone} from {QUEUE}")
