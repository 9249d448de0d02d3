"""``lapor-ivr``, the production command, as a process of its own: one of a node's IVR
servers, with its own node id, spool and port, that a test can stop as an operator (or a
crash) would."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from api.core.auth import Role
from ivr.settings import IvrSettings
from sandbox.harness import Sandbox
from tests.e2e.services import BIN, ApiProcess

# The shortest lease the IVR accepts: a node id left by a killed server is free again
# soon after, for the next run of the test.
LEASE_SECONDS = 5.0


class IvrProcess:
    """``lapor-ivr`` serving FastAGI on ``port`` for the sandbox, logging to a file."""

    def __init__(
        self, sandbox: Sandbox, api: ApiProcess, folder: Path, node_id: int, port: int
    ) -> None:
        spool = folder / "spool"
        (spool / "outbox").mkdir(parents=True)
        token = api.token(Role.ivr, name=f"e2e-ivr-node-{node_id}")
        self.settings = IvrSettings(
            api_url=api.url,
            api_token=token,
            node_id=node_id,
            spool_dir=spool,
            lease_seconds=LEASE_SECONDS,
        )
        self.log_path = folder / "ivr.log"
        self.env = {
            **os.environ,
            **self.settings.as_env(),
            "LAPOR_AGI_HOST": sandbox.config.agi_host,
            "LAPOR_AGI_PORT": str(port),
            "LAPOR_AGI_SECRET": sandbox.secrets.agi,
            "LAPOR_IVR_METRICS_PORT": "0",
        }
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def outbox_dir(self) -> Path:
        return self.settings.spool_dir / "outbox"

    def start(self, timeout: float = 30) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(BIN / "lapor-ivr")], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while "FastAGI listening on" not in self.log_path.read_text():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"lapor-ivr not serving:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        """Send ``how`` (SIGTERM: the operator's stop; SIGKILL: a crash) and wait."""
        if self._process is not None:
            self._process.send_signal(how)
            self._process.wait(timeout=30)
            self._process = None
