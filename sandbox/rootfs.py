"""Build and cache a Debian sid root filesystem holding Asterisk 22 (docs/asterisk.md)."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.config import REPO_ROOT

log = logging.getLogger(__name__)

PACKAGES = (
    "asterisk",
    "asterisk-core-sounds-en-gsm",
    "asterisk-moh-opsound-gsm",
    "python3",
    "python3-six",
    # The IVR's API client and its metrics (ivr/metrics.py), for classic AGI scripts.
    "python3-httpx",
    "python3-prometheus-client",
    # The SIP edge of a multi-node sandbox (sandbox/cluster.py, edge/kamailio.cfg).
    "kamailio",
    # The edge's WebSocket transport, for officers' browser phones.
    "kamailio-websocket-modules",
)
MIRROR = (
    "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
    "http://deb.debian.org/debian sid main"
)
MMDEBSTRAP_ARGS = (
    "--variant=minbase",
    # The registry serves a dated sid snapshot whose Release file has expired.
    '--aptopt=Acquire::Check-Valid-Until "false"',
    "--include=" + ",".join(PACKAGES),
    "--components=main",
    "sid",
)
# An older recipe's rootfs is deleted once no sandbox has used it for this long.
PRUNE_IDLE_SECONDS = 12 * 3600
# Where our Python code lives inside the rootfs (and the Asterisk image).
LAPOR_LIB = "/opt/lapor/lib"
CODE_PACKAGES = ("asterisk_values", "ivr", "agi_scripts")


class SandboxUnavailable(RuntimeError):
    """Neither a rootfs can be built here nor a system Asterisk found."""


@dataclass(frozen=True)
class Runtime:
    """How Asterisk runs: chrooted in our rootfs, or the host's own ``asterisk``."""

    host_root: Path
    asterisk: str
    chroot: bool

    def host_path(self, path: str) -> Path:
        """The host path of a path as Asterisk sees it."""
        return self.host_root / path.lstrip("/")

    def command(self, *args: str) -> list[str]:
        """A command line that runs inside the Asterisk filesystem."""
        if self.chroot:
            return ["chroot", str(self.host_root), *args]
        return list(args)


def rootfs_key(args: Sequence[str] = MMDEBSTRAP_ARGS) -> str:
    """Cache key: changes whenever the package list or build recipe changes."""
    recipe = "\n".join((*args, MIRROR))
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def build_rootfs(target: Path) -> None:
    """Run mmdebstrap into a temporary folder, then move it into place atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    log.info("building Asterisk rootfs in %s (about 20 s)", work)
    try:
        subprocess.run(
            ["mmdebstrap", *MMDEBSTRAP_ARGS, str(work), MIRROR],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def roots_in_use() -> set[Path]:
    """The root folders of running processes other than ``/`` (chrooted Asterisks)."""
    roots = set()
    for link in Path("/proc").glob("[0-9]*/root"):
        try:
            root = link.readlink()
        except OSError:  # gone, or not ours to read
            continue
        if root != Path("/"):
            roots.add(root)
    return roots


def mark_used(rootfs: Path) -> None:
    """Note that a sandbox uses ``rootfs`` now (its ``.used`` file's time)."""
    rootfs.with_name(rootfs.name + ".used").touch()


def idle_seconds(rootfs: Path, now: float) -> float:
    """How long ago ``rootfs`` was built, or last used by a sandbox."""
    marker = rootfs.with_name(rootfs.name + ".used")
    times = [rootfs.stat().st_mtime] + ([marker.stat().st_mtime] if marker.exists() else [])
    return now - max(times)


def prune_stale_rootfs(
    keep: Path, mounts: str | None = None, idle_for: float = PRUNE_IDLE_SECONDS
) -> list[Path]:
    """Delete cached rootfs folders of older recipes beside ``keep``; return what went.

    A folder with anything mounted inside is left alone: ``rm -rf`` through a live
    ``/dev`` bind mount would delete the host's device nodes (docs/asterisk.md). So is one
    built or used within ``idle_for`` seconds: another checkout of another commit (a CI
    run, a second worktree) may be between two of its sandboxes, or still building it.
    """
    mounted = (mounts if mounts is not None else Path("/proc/self/mounts").read_text()).split()
    removed = []
    now = time.time()
    for stale in sorted(keep.parent.glob("rootfs-*")):
        if stale == keep or not stale.is_dir():
            continue
        if idle_seconds(stale, now) < idle_for:
            continue
        if any(point == str(stale) or point.startswith(f"{stale}/") for point in mounted):
            log.warning("not removing %s: something is mounted inside it", stale)
            continue
        if stale in roots_in_use():
            # Another sandbox (another slot, a CI run) still runs Asterisk in it.
            log.warning("not removing %s: a running process has it as its root", stale)
            continue
        subprocess.run(["rm", "-rf", "--one-file-system", str(stale)], check=True)
        stale.with_name(stale.name + ".used").unlink(missing_ok=True)
        removed.append(stale)
    return removed


def ensure_runtime(cache_dir: Path, build: bool = True) -> Runtime:
    """Return the cached rootfs (building it on first use if ``build``), else a system Asterisk.

    With ``build=False`` nothing is built or copied: for ``status`` and ``down``.
    """
    if os.geteuid() == 0 and shutil.which("mmdebstrap"):
        rootfs = cache_dir / f"rootfs-{rootfs_key()}"
        if build:
            if not (rootfs / "usr/sbin/asterisk").exists():
                build_rootfs(rootfs)
                for stale in prune_stale_rootfs(rootfs):
                    log.info("removed the outdated rootfs %s", stale)
            install_lapor_code(rootfs)
            mark_used(rootfs)
        return Runtime(host_root=rootfs, asterisk="/usr/sbin/asterisk", chroot=True)
    system = shutil.which("asterisk")
    if system:
        log.warning("no root or no mmdebstrap: using the system Asterisk at %s", system)
        return Runtime(host_root=Path("/"), asterisk=system, chroot=False)
    raise SandboxUnavailable(
        "The Asterisk sandbox needs root and mmdebstrap (apt-get install mmdebstrap), "
        "or an 'asterisk' binary on PATH. Neither is available."
    )


def install_lapor_code(rootfs: Path) -> None:
    """Copy our AGI code and pyst2 into the rootfs so classic ``AGI(script.py)`` runs there."""
    lib = rootfs / LAPOR_LIB.lstrip("/")
    lib.mkdir(parents=True, exist_ok=True)
    sources = {name: REPO_ROOT / name for name in CODE_PACKAGES}
    spec = importlib.util.find_spec("asterisk")
    if spec is None or spec.origin is None:
        raise SandboxUnavailable("pyst2 is not installed (pip install pyst2)")
    sources["asterisk"] = Path(spec.origin).parent
    for name, source in sources.items():
        shutil.rmtree(lib / name, ignore_errors=True)
        shutil.copytree(source, lib / name, ignore=shutil.ignore_patterns("__pycache__"))
    site = rootfs / "usr/lib/python3/dist-packages"
    site.mkdir(parents=True, exist_ok=True)
    (site / "lapor.pth").write_text(LAPOR_LIB + "\n")
