"""The SIP edge of a multi-node sandbox: one Kamailio process (edge/kamailio.cfg)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from asterisk_conf.render import render_dir
from sandbox.config import REPO_ROOT
from sandbox.instance import InstanceError
from sandbox.rootfs import Runtime

log = logging.getLogger(__name__)

EDGE_CONF_DIR = REPO_ROOT / "edge"
EDGE_FILES = ("kamailio.cfg", "dispatcher.list")
KAMAILIO = "/usr/sbin/kamailio"
KAMCMD = "/usr/sbin/kamcmd"
# The Kamailio each edge's start() launched, by config path (reaped on stop).
_STARTED: dict[str, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Edge:
    """Kamailio living under ``base`` (a path as the rootfs sees it), on ``host:port``."""

    runtime: Runtime
    base: str
    host: str
    port: int

    def path(self, sub: str) -> str:
        return f"{self.base}/{sub}"

    def host_path(self, sub: str = "") -> Path:
        return self.runtime.host_path(self.path(sub) if sub else self.base)

    @property
    def cfg(self) -> str:
        return self.path("etc/kamailio.cfg")

    @property
    def log_file(self) -> Path:
        return self.host_path("log/kamailio.log")

    def render(self, values: Mapping[str, str]) -> None:
        """Render edge/ into the edge's folder (``values``: ``LAPOR_*`` settings)."""
        for sub in ("etc", "run", "log"):
            self.host_path(sub).mkdir(parents=True, exist_ok=True)
        every = {
            "LAPOR_EDGE_BIND": self.host,
            "LAPOR_EDGE_PORT": str(self.port),
            "LAPOR_EDGE_RUN_DIR": self.path("run"),
            "LAPOR_EDGE_ETC_DIR": self.path("etc"),
            **values,
        }
        render_dir(EDGE_CONF_DIR, self.host_path("etc"), every, EDGE_FILES)
        if self.runtime.chroot:
            cmd = self.runtime.command("chown", "-R", "kamailio:kamailio", self.base)
            subprocess.run(cmd, check=True)

    def start(self) -> None:
        args = [KAMAILIO, "-f", self.cfg, "-DD", "-E", "-Y", self.path("run")]
        args += ["-P", self.path("run/kamailio.pid")]
        if self.runtime.chroot:
            args += ["-u", "kamailio", "-g", "kamailio"]
        with self.log_file.open("ab") as console:
            process = subprocess.Popen(
                self.runtime.command(*args),
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        log.info("edge: started Kamailio pid %d on %s:%d", process.pid, self.host, self.port)
        _STARTED[self.cfg] = process

    async def wait_ready(self, timeout: float) -> None:
        """Ready means Kamailio answers an OPTIONS request on its SIP port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await asyncio.to_thread(self.answers_options):
                return
            await asyncio.sleep(0.2)
        raise InstanceError(f"the edge is not answering after {timeout:.0f} s\n{self.log_tail()}")

    def answers_options(self) -> bool:
        """Whether Kamailio answers a SIP OPTIONS with 200 within a second."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(1)
            port = sock.getsockname()[1]
            tag = uuid.uuid4().hex[:12]
            request = (
                f"OPTIONS sip:{self.host}:{self.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{tag};rport\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:probe@127.0.0.1:{port}>;tag={tag}\r\n"
                f"To: <sip:{self.host}:{self.port}>\r\n"
                f"Call-ID: {tag}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            )
            try:
                sock.sendto(request.encode(), (self.host, self.port))
                reply = sock.recv(4096).decode(errors="replace")
            except OSError:
                return False
        return reply.startswith("SIP/2.0 200")

    def kamcmd(self, *command: str) -> str:
        """A kamcmd (binrpc) command's output, e.g. ``dispatcher.list``."""
        socket_path = f"unix:{self.path('run/kamailio_ctl')}"
        result = subprocess.run(
            self.runtime.command(KAMCMD, "-s", socket_path, *command),
            capture_output=True,
            text=True,
            timeout=10,
        )
        return result.stdout

    def node_states(self) -> dict[str, str]:
        """Each node's dispatcher flags by its URI: ``AP`` active (probing), ``IP``
        inactive, ``DX`` disabled."""
        text = self.kamcmd("dispatcher.list")
        return dict(re.findall(r"URI:\s*(\S+)\s+FLAGS:\s*(\S+)", text))

    def running_pids(self) -> list[int]:
        pids = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                args = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if args and args[0].endswith(b"kamailio") and self.cfg.encode() in args:
                pids.append(int(proc.name))
        return pids

    def is_running(self) -> bool:
        return bool(self.running_pids())

    def stop(self, timeout: float = 10) -> None:
        """Stop every Kamailio process of this edge (SIGTERM, then SIGKILL)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.running_pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + timeout
            while self.running_pids() and time.monotonic() < deadline:
                time.sleep(0.1)
            process = _STARTED.get(self.cfg)
            if process is not None:
                process.poll()
            if not self.running_pids():
                _STARTED.pop(self.cfg, None)
                return
        log.warning("edge: Kamailio still running after SIGKILL")

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_file.exists():
            return "--- edge: no log written ---"
        text = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        return "--- edge kamailio.log ---\n" + "\n".join(text)
