"""The sandbox CLI's citizen script, the rootfs cache key and its pruning, and make run's
state folder and its reset."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from sandbox.cli import build_script, parser
from sandbox.config import REPO_ROOT, state_dir_for
from sandbox.harness import reset_state
from sandbox.rootfs import (
    MMDEBSTRAP_ARGS,
    mark_used,
    prune_stale_rootfs,
    rootfs_key,
    roots_in_use,
)


def test_script_waits_then_presses_digits_and_stays_on_the_line() -> None:
    assert build_script("1", None, None) == "wait:2|dtmf:1"


def test_script_speaks_audio_and_hangs_up_after_hold() -> None:
    assert build_script("12", "/srv/a", 5) == "wait:2|dtmf:12|play:/srv/a|wait:5|hangup"


def test_call_defaults_to_the_first_published_line() -> None:
    args = parser().parse_args(["call"])
    assert args.line == "082282204761"
    assert args.digits == ""


def test_nodes_default_to_one_and_a_cluster_is_asked_for_explicitly() -> None:
    assert parser().parse_args(["up"]).nodes == 1
    assert parser().parse_args(["status", "--nodes", "2"]).nodes == 2
    assert parser().parse_args(["down", "--nodes", "2"]).nodes == 2


def test_rootfs_key_changes_with_the_package_list() -> None:
    more = tuple(
        arg + ",sngrep" if arg.startswith("--include=") else arg for arg in MMDEBSTRAP_ARGS
    )
    assert rootfs_key() == rootfs_key(MMDEBSTRAP_ARGS)
    assert rootfs_key(more) != rootfs_key()


def idle(folder: Path) -> None:
    """Make ``folder`` look built and last used a day ago."""
    day_ago = time.time() - 86400
    os.utime(folder, (day_ago, day_ago))


def test_outdated_rootfs_caches_are_removed_but_never_through_a_mount(tmp_path: Path) -> None:
    current, old, mounted = (tmp_path / f"rootfs-{name}" for name in ("new", "old", "busy"))
    for folder in (current, old, mounted):
        (folder / "usr/sbin").mkdir(parents=True)
        idle(folder)
    (tmp_path / "prompts").mkdir()
    mounts = f"proc /proc proc rw 0 0\nudev {mounted}/dev devtmpfs rw 0 0\n"
    assert prune_stale_rootfs(current, mounts) == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prompts", "rootfs-busy", "rootfs-new"]


def test_a_rootfs_built_or_used_lately_is_kept(tmp_path: Path) -> None:
    """Another checkout (a CI run, a worktree) may be between two sandboxes, or building."""
    current, used, building = (tmp_path / f"rootfs-{n}" for n in ("new", "used", "new.x1"))
    for folder in (current, used, building):
        folder.mkdir()
    idle(used)
    mark_used(used)
    assert prune_stale_rootfs(current, "") == []
    idle(used.with_name(used.name + ".used"))
    assert prune_stale_rootfs(current, "") == [used]
    assert not used.with_name(used.name + ".used").exists()


def test_reset_removes_make_runs_state_and_nothing_else(tmp_path: Path) -> None:
    for name in ("lapor.db", "lapor.db-wal", "notes.txt", "slot-4/lapor.db"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    for folder in ("recordings", "ivr-spool/outbox", "collector"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "kept.bin").write_text("x")
    removed = reset_state(tmp_path)
    assert sorted(p.name for p in removed) == [
        "collector",
        "ivr-spool",
        "lapor.db",
        "lapor.db-wal",
        "recordings",
    ]
    # Another slot's state and anything else in the folder stay.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "slot-4"]
    assert reset_state(tmp_path) == []


def test_make_runs_state_is_under_var_per_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAPOR_VAR_DIR", raising=False)
    assert state_dir_for(0) == REPO_ROOT / "var"
    assert state_dir_for(4) == REPO_ROOT / "var" / "slot-4"
    monkeypatch.setenv("LAPOR_VAR_DIR", "/tmp/lapor-state")
    assert state_dir_for(4) == Path("/tmp/lapor-state")


def test_reset_is_a_command() -> None:
    assert parser().parse_args(["reset"]).command == "reset"


@pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")
def test_a_rootfs_a_process_runs_in_is_not_pruned(tmp_path: Path) -> None:
    """Another sandbox (another slot, a CI run) may still run Asterisk in an old rootfs."""
    current, busy = tmp_path / "rootfs-new", tmp_path / "rootfs-busy"
    current.mkdir()
    busy.mkdir()
    idle(busy)
    child = os.fork()
    if child == 0:  # a stand-in for a chrooted Asterisk
        os.chroot(busy)
        time.sleep(60)
        os._exit(0)
    try:
        deadline = time.monotonic() + 10
        while busy not in roots_in_use() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert prune_stale_rootfs(current, "") == []
        assert busy.is_dir()
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    assert prune_stale_rootfs(current, "") == [busy]
