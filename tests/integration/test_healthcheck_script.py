"""docker/healthcheck.sh ends an unhealthy service so that the restart policy restarts it.

No Docker engine here: a PID namespace (``unshare --pid``) stands in for the container.
Its PID 1 is a shell playing Docker's init (``init: true``): it starts the "service"
(``sleep``), runs the health check as Docker would, and reports whether the service lives.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "healthcheck.sh"


def in_container(steps: str, tmp_path: Path) -> list[str]:
    """Run ``steps`` as PID 1 of a new PID namespace, with ``$svc`` the service's pid and
    ``check`` the health check; the lines it printed. (An ended service is a zombie until
    this PID 1 reaps it at the end, as Docker's init would at once.)"""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a PID namespace")
    script = f"""
check() {{ LAPOR_HEALTH_COUNTER={tmp_path}/failures sh {SCRIPT} "$@" >/dev/null; }}
state() {{ cut -d' ' -f3 "/proc/$svc/stat" 2>/dev/null; }}
alive() {{ case $(state) in ""|Z) echo "$1 ended";; *) echo "$1 alive";; esac; }}
sleep 300 &
svc=$!
{steps}
kill -9 "$svc" 2>/dev/null
wait
"""
    result = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")[:-1]


def test_the_service_ends_after_retries_failures_in_a_row(tmp_path: Path) -> None:
    steps = """
check 3 0 false; alive first
check 3 0 false; alive second
check 3 0 true; alive healthy
check 3 0 false; alive again-first
check 3 0 false; alive again-second
check 3 0 false; alive third
"""
    assert in_container(steps, tmp_path) == [
        "first alive",
        "second alive",
        "healthy alive",  # a success starts the count again
        "again-first alive",
        "again-second alive",
        "third ended",
    ]
    assert not (tmp_path / "failures").exists()  # a restarted container starts from zero


def test_failures_in_the_grace_period_do_not_count(tmp_path: Path) -> None:
    steps = """
check 1 3600 false; alive starting
check 1 3600 false; alive still-starting
"""
    assert in_container(steps, tmp_path) == ["starting alive", "still-starting alive"]


def test_the_check_reports_its_result(tmp_path: Path) -> None:
    # Outside a namespace, far below the count that would end every process of the host.
    env = {**os.environ, "LAPOR_HEALTH_COUNTER": str(tmp_path / "failures")}
    ok = subprocess.run(["sh", str(SCRIPT), "99", "0", "true"], env=env, check=False)
    failed = subprocess.run(["sh", str(SCRIPT), "99", "0", "false"], env=env, check=False)
    assert (ok.returncode, failed.returncode) == (0, 1)
    assert (tmp_path / "failures").read_text() == "1\n"
