"""The two-node sandbox (sandbox/cluster.py) shared by the tests of this package: started
once for the package, stopped after its last test. Each test leaves both nodes running."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Generator, Iterator

import pytest

from sandbox.cluster import Cluster
from sandbox.config import SandboxConfig
from sandbox.harness import Sandbox
from sandbox.rootfs import SandboxUnavailable
from tests.conftest import unavailable
from tests.e2e.services import MAX_SLOT


def free_cluster_slots() -> tuple[int, int]:
    """Two neighbouring sandbox slots from LAPOR_SANDBOX_SLOT on with nothing running."""
    first = int(os.environ.get("LAPOR_SANDBOX_SLOT") or 0)
    for slot in range(first, MAX_SLOT):
        configs = (SandboxConfig.from_env(slot), SandboxConfig.from_env(slot + 1))
        if not any(any(Sandbox(c, build=False).status().values()) for c in configs):
            return slot, slot + 1
    raise RuntimeError("no two free sandbox slots")


@pytest.fixture(scope="package")
def cluster() -> Iterator[Cluster]:
    try:
        instance = Cluster(free_cluster_slots())
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
    cluster = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and isinstance(cluster, Cluster):
        report.sections.append(("edge", cluster.edge.log_tail(80)))
        for index, node in enumerate(cluster.nodes):
            report.sections.append((f"node{index + 1}", node.callcenter.log_tail(60)))
    return report
