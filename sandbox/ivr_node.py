"""The IVR node on the sandbox: its spool and the env file classic AGI scripts read.

Our FastAGI server runs on the host (as whoever started it); classic scripts run inside
the rootfs as its asterisk user. Both must share one spool (ticket counter, outbox), so
the spool lives in the call-center instance's folder, owned by asterisk.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from ivr.settings import ENV_FILE_NAME, IvrSettings
from ivr.tickets import TicketIssuer
from sandbox.harness import Sandbox

SPOOL = "ivr-spool"


def asterisk_ids(sandbox: Sandbox) -> tuple[int, int] | None:
    """The rootfs's asterisk uid and gid (None without a chroot)."""
    if not sandbox.runtime.chroot:
        return None
    passwd = (sandbox.runtime.host_root / "etc/passwd").read_text()
    match = re.search(r"^asterisk:[^:]*:(\d+):(\d+):", passwd, re.MULTILINE)
    return (int(match.group(1)), int(match.group(2))) if match else None


def give_to_asterisk(sandbox: Sandbox, *paths: Path) -> None:
    ids = asterisk_ids(sandbox)
    if ids is not None:
        for path in paths:
            os.chown(path, *ids)


def prepare_ivr_node(sandbox: Sandbox, settings: IvrSettings) -> IvrSettings:
    """Create the spool and write the classic env file; returns the host-side settings.

    ``settings.spool_dir`` is ignored: the spool is the instance's ``ivr-spool`` folder.
    """
    spool = sandbox.callcenter.path(SPOOL)
    host_spool = sandbox.runtime.host_path(spool)
    (host_spool / "outbox").mkdir(parents=True, exist_ok=True)
    inside = replace(settings, spool_dir=Path(spool))
    env_file = sandbox.callcenter.host("etc") / ENV_FILE_NAME
    env_file.touch(mode=0o640)
    env_file.write_text("".join(f"{k}={v}\n" for k, v in inside.as_env().items()))
    counter = TicketIssuer(host_spool, settings.node_id).counter
    counter.touch(mode=0o660)
    give_to_asterisk(sandbox, host_spool, host_spool / "outbox", env_file, counter)
    return replace(settings, spool_dir=host_spool)
