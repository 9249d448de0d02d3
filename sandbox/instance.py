"""One Asterisk process of the sandbox: its directories, config, start, readiness, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.ami import AMIClient, AMIError
from sandbox.rootfs import Runtime

log = logging.getLogger(__name__)

SUBDIRS = (
    "etc",
    "run",
    "log",
    "log/cdr-csv",
    "spool",
    "db",
    "recordings",
    "sounds",
    "ivr-spool",
)
# Asterisk processes this Python process started, kept so they can be reaped on stop.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
# The server each instance's start() launched, by config path.
_STARTED: dict[str, subprocess.Popen[bytes]] = {}


class InstanceError(RuntimeError):
    """An instance failed to start or stop; the message carries its log tail."""


@dataclass(frozen=True)
class Instance:
    """An Asterisk instance living under ``base`` (a path as Asterisk sees it).

    ``binds`` are host folders Asterisk sees at one of its subfolders (a recordings or
    spool folder that must outlive the instance's own, which every ``prepare`` empties).
    In a chroot they are bind mounts made in a mount namespace private to the Asterisk
    process (``unshare --mount``): they exist only for Asterisk and the AGI scripts it
    starts, vanish with it, and the host never sees them, so no ``rm -rf`` of the
    instance folder or of the rootfs can reach through one into the host's folder
    (docs/asterisk.md). Without a chroot Asterisk sees host paths, and the sandbox points it
    at the host folders directly instead.
    """

    name: str
    runtime: Runtime
    base: str
    ami_port: int
    ami_user: str
    ami_secret: str
    binds: tuple[tuple[Path, str], ...] = ()

    def path(self, sub: str) -> str:
        """A path inside the instance, as Asterisk sees it."""
        return f"{self.base}/{sub}"

    def host(self, sub: str = "") -> Path:
        """A path inside the instance, on the host."""
        return self.runtime.host_path(self.path(sub) if sub else self.base)

    @property
    def conf(self) -> str:
        return self.path("etc/asterisk.conf")

    @property
    def queue_log(self) -> Path:
        return self.host("log/queue_log")

    def dir_values(self) -> dict[str, str]:
        """The ``LAPOR_AST_*`` values that place this instance's directories."""
        return {
            "LAPOR_AST_ETC_DIR": self.path("etc"),
            "LAPOR_AST_RUN_DIR": self.path("run"),
            "LAPOR_AST_LOG_DIR": self.path("log"),
            "LAPOR_AST_SPOOL_DIR": self.path("spool"),
            "LAPOR_AST_DB_DIR": self.path("db"),
        }

    def prepare(self) -> None:
        """Start from empty directories (the previous run's logs are kept until now)."""
        if self.is_running():
            log.warning("%s: stopping a leftover instance %s", self.name, self.running_pids())
            self.stop()
        root = self.host()
        if root.exists():
            subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=True)
        for sub in SUBDIRS:
            self.host(sub).mkdir(parents=True)

    def fix_ownership(self) -> None:
        """Config and state must belong to the rootfs's own asterisk user (docs/asterisk.md)."""
        if self.runtime.chroot:
            cmd = self.runtime.command("chown", "-R", "asterisk:asterisk", self.base)
            subprocess.run(cmd, check=True)

    def start(self) -> None:
        args = [self.runtime.asterisk, "-f", "-C", self.conf]
        if self.runtime.chroot:
            args += ["-U", "asterisk", "-G", "asterisk"]
        console = self.host("log/console.log").open("ab")
        process = subprocess.Popen(
            self.command_with_binds(self.runtime.command(*args)),
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        console.close()
        _CHILDREN[process.pid] = process
        earlier = _STARTED.get(self.conf)
        if earlier is not None:
            earlier.poll()  # collects its exit status if it has ended (see _settle)
        _STARTED[self.conf] = process
        log.info("%s: started pid %d", self.name, process.pid)

    def command_with_binds(self, command: list[str]) -> list[str]:
        """``command`` run in a private mount namespace with ``binds`` mounted (chroot only).

        The shell mounts each folder and then execs the command, so the process we start
        (and track by pid) ends up being Asterisk itself.
        """
        if not self.binds or not self.runtime.chroot:
            return command
        mounts = "".join(
            f"mount --bind -- {shlex.quote(str(source))} {shlex.quote(str(self.host(sub)))}\n"
            for source, sub in self.binds
        )
        script = f'set -e\n{mounts}exec "$@"\n'
        return [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            *command,
        ]

    async def wait_ready(self, timeout: float) -> None:
        """Ready means a successful AMI login; fail fast if the process died."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not self._started_alive():
                raise InstanceError(f"{self.name} exited during start-up\n{self.log_tail()}")
            try:
                client = await AMIClient.connect(
                    "127.0.0.1", self.ami_port, self.ami_user, self.ami_secret, timeout=2
                )
            except (OSError, AMIError, TimeoutError) as exc:
                last_error = exc
                await asyncio.sleep(0.2)
                continue
            await client.close()
            return
        raise InstanceError(
            f"{self.name} not ready after {timeout:.0f} s ({last_error!r})\n{self.log_tail()}"
        )

    def rx(self, command: str, timeout: float = 15) -> str:
        """Run an Asterisk CLI command against this instance and return its output."""
        result = subprocess.run(
            self.runtime.command(self.runtime.asterisk, "-C", self.conf, "-rx", command),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return result.stdout

    def running_pids(self) -> list[int]:
        """Every live server process of this instance, whether or not we started it."""
        pids = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                args = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            is_server = b"-f" in args and b"-rx" not in args
            if is_server and self.conf.encode() in args and not _is_zombie(int(proc.name)):
                pids.append(int(proc.name))
        return pids

    def is_running(self) -> bool:
        return bool(self.running_pids())

    def _started_alive(self) -> bool:
        """Our own child's exit status when we started it: a /proc scan can miss a process
        for an instant while chroot execs Asterisk."""
        process = _STARTED.get(self.conf)
        return process.poll() is None if process is not None else self.is_running()

    def stop(self, timeout: float = 10) -> None:
        """Ask Asterisk to stop, then make sure every process of this instance is gone."""
        pids = self.running_pids()
        if pids:
            try:
                self.rx("core stop now", timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s: 'core stop now' timed out", self.name)
        for pid in pids:
            if not _wait_gone(pid, timeout):
                log.warning("%s: still running, killing process group %d", self.name, pid)
                _kill_group(pid, signal.SIGKILL)
                _wait_gone(pid, 5)
            _reap(pid)
            log.info("%s: stopped pid %d", self.name, pid)
        _settle(_STARTED.pop(self.conf, None))

    def log_tail(self, lines: int = 60) -> str:
        """The end of the console and messages logs, for failure reports."""
        parts = []
        for name in ("log/messages.log", "log/console.log"):
            path = self.host(name)
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {self.name} {name} ---\n" + "\n".join(text))
        return "\n".join(parts) or f"--- {self.name}: no log written ---"


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if _is_zombie(pid):
            return True
        time.sleep(0.1)
    return False


def _settle(process: subprocess.Popen[bytes] | None) -> None:
    """Collect an earlier child's exit status through its Popen (a child that died before
    a stop's /proc scan is a zombie the scan skips; unpolled, its Popen warns "still
    running" when collected)."""
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        _CHILDREN.pop(process.pid, None)


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our child; harmless otherwise."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _kill_group(pid: int, sig: signal.Signals) -> None:
    """Kill the process group we started (``pid`` leads it), or just ``pid`` for a stray."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
