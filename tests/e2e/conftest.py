"""The real Asterisk sandbox for end-to-end tests; its logs are attached to failures.

In CI (CI=true) a missing sandbox fails the run instead of skipping it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Iterator

import pytest

from sandbox.harness import Sandbox
from sandbox.rootfs import SandboxUnavailable
from tests.conftest import temporary_postgres_database, unavailable
from tests.e2e.ivr_node import IvrNode, IvrServer, prepare_node
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
    return report


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
