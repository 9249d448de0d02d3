"""The production wheel (what the Docker images install) holds the production packages only.

sandbox/ (the local Asterisk pair behind make run), tests/ and bench/ are test tooling: the
dev venv imports them from the repository root, the wheel and its entry points leave them out.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_TOOLING = ("sandbox", "tests", "bench")
PRODUCTION_PACKAGES = {
    "agi_scripts",
    "ami_wire",
    "api",
    "asterisk_conf",
    "asterisk_values",
    "collector",
    "ivr",
}


def build_wheel(folder: Path) -> Path:
    """Build the wheel from a copy of the working tree (the tree itself gets no build/)."""
    source = folder / "source"
    shutil.copytree(
        REPO_ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
        ),
    )
    dist = folder / "dist"
    offline = ("--no-deps", "--no-build-isolation", "--no-index")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            *offline,
            "--wheel-dir",
            str(dist),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("*.whl")
    return wheel


def test_the_wheel_holds_the_production_packages_and_no_test_tooling(tmp_path: Path) -> None:
    with zipfile.ZipFile(build_wheel(tmp_path)) as wheel:
        names = wheel.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = wheel.read(entry_points).decode()
    tooling = [n for n in names if n.split("/")[0] in TEST_TOOLING]
    assert not tooling, f"test tooling in the wheel: {tooling[:10]}"
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top_level == PRODUCTION_PACKAGES
    assert not [line for line in scripts.splitlines() if "sandbox" in line], scripts
    vendored = [n for n in names if n.startswith("api/web/static/vendor/")]
    assert {Path(n).name for n in vendored} >= {"htmx.min.js", "htmx.LICENSE"}, vendored
