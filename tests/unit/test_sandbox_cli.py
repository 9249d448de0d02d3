"""The sandbox CLI's citizen script, the rootfs cache key and its pruning."""

from __future__ import annotations

from pathlib import Path

from sandbox.cli import build_script, parser
from sandbox.rootfs import MMDEBSTRAP_ARGS, prune_stale_rootfs, rootfs_key


def test_script_waits_then_presses_digits_and_stays_on_the_line() -> None:
    assert build_script("1", None, None) == "wait:2|dtmf:1"


def test_script_speaks_audio_and_hangs_up_after_hold() -> None:
    assert build_script("12", "/srv/a", 5) == "wait:2|dtmf:12|play:/srv/a|wait:5|hangup"


def test_call_defaults_to_the_first_published_line() -> None:
    args = parser().parse_args(["call"])
    assert args.line == "082282204761"
    assert args.digits == ""


def test_rootfs_key_changes_with_the_package_list() -> None:
    more = tuple(
        arg + ",sngrep" if arg.startswith("--include=") else arg for arg in MMDEBSTRAP_ARGS
    )
    assert rootfs_key() == rootfs_key(MMDEBSTRAP_ARGS)
    assert rootfs_key(more) != rootfs_key()


def test_outdated_rootfs_caches_are_removed_but_never_through_a_mount(tmp_path: Path) -> None:
    current, old, mounted = (tmp_path / f"rootfs-{name}" for name in ("new", "old", "busy"))
    for folder in (current, old, mounted):
        (folder / "usr/sbin").mkdir(parents=True)
    (tmp_path / "prompts").mkdir()
    mounts = f"proc /proc proc rw 0 0\nudev {mounted}/dev devtmpfs rw 0 0\n"
    assert prune_stale_rootfs(current, mounts) == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prompts", "rootfs-busy", "rootfs-new"]
