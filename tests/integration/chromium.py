"""Open a page in headless Chromium and collect its console errors over the DevTools pipe.

``--remote-debugging-pipe`` speaks the DevTools protocol on file descriptors 3 (commands
in) and 4 (replies and events out), NUL-terminated JSON, so no websocket client is needed.
Counted as errors: uncaught exceptions, ``console.error``/``console.assert``, and browser
log entries of level error (failed loads, Content-Security-Policy violations).
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import Any


def executable() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _Pipe:
    def __init__(self, write_fd: int, read_fd: int) -> None:
        self.write_fd, self.read_fd = write_fd, read_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, session: str | None = None, **params: Any) -> int:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        return self.next_id

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        wanted = self.send(method, session, **params)
        deadline = time.monotonic() + 30
        while True:
            message = self._read(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_event(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == method for e in self.events):
            return
        while True:
            message = self._read(deadline)
            self.events.append(message)
            if message.get("method") == method:
                return


def _errors(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            out.append(details.get("exception", {}).get("description") or details["text"])
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            out.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            out.append(f"{params['entry']['source']}: {params['entry']['text']}")
    return out


def _high(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or more, so bash's ``3<&r 4>&w`` can't clobber it."""
    copy = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return copy


def console_errors(url: str) -> list[str]:
    """Load ``url`` in a fresh headless Chromium; return the errors its console showed."""
    binary = executable()
    if binary is None:
        raise FileNotFoundError("chromium")
    commands_r, commands_w = os.pipe()
    replies_r, replies_w = os.pipe()
    commands_r, replies_w = _high(commands_r), _high(replies_w)
    with tempfile.TemporaryDirectory() as profile:
        flags = [
            "--headless",
            "--no-sandbox",  # as root, Chromium refuses to start with its sandbox
            "--disable-gpu",
            "--no-first-run",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        process = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{commands_r} 4>&{replies_w}', "bash", binary, *flags],
            pass_fds=(commands_r, replies_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_r)
        os.close(replies_w)
        pipe = _Pipe(commands_w, replies_r)
        try:
            target = pipe.call("Target.createTarget", url="about:blank")["targetId"]
            session = pipe.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Runtime", "Log", "Page"):
                pipe.call(f"{domain}.enable", session)
            pipe.call("Page.navigate", session, url=url)
            pipe.wait_event("Page.loadEventFired")
            # One more round trip, so events queued behind the load event are read too.
            pipe.call("Runtime.evaluate", session, expression="document.readyState")
            with_session = [e for e in pipe.events if e.get("sessionId") == session]
            return _errors(with_session)
        finally:
            try:
                pipe.send("Browser.close")
                process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
            os.close(commands_w)
            os.close(replies_r)
