"""The IVR node on the sandbox: its spool and the env file classic AGI scripts read.

Our FastAGI server runs on the host (as whoever started it); classic scripts run inside
the rootfs as its asterisk user. Both must share one spool (ticket counter, outbox), so
the spool is the sandbox's (the call-center instance's ``ivr-spool`` folder, or the one
kept in ``make run``'s state dir), owned by asterisk.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ivr.settings import ENV_FILE_NAME, IvrSettings
from ivr.tickets import TicketIssuer
from sandbox.harness import IVR_SPOOL, Sandbox

SPOOL = IVR_SPOOL


def asterisk_ids(sandbox: Sandbox) -> tuple[int, int] | None:
    """The rootfs's asterisk uid and gid (None without a chroot)."""
    return sandbox.asterisk_ids()


def give_to_asterisk(sandbox: Sandbox, *paths: Path) -> None:
    sandbox.give_to_asterisk(*paths)


def prepare_ivr_node(sandbox: Sandbox, settings: IvrSettings) -> IvrSettings:
    """Create the spool and write the classic env file; returns the host-side settings.

    ``settings.spool_dir`` is ignored: the spool is the sandbox's.
    """
    host_spool = sandbox.spool_dir
    (host_spool / "outbox").mkdir(parents=True, exist_ok=True)
    inside = replace(settings, spool_dir=Path(sandbox.spool_path))
    env_file = sandbox.callcenter.host("etc") / ENV_FILE_NAME
    env_file.touch(mode=0o640)
    env_file.write_text("".join(f"{k}={v}\n" for k, v in inside.as_env().items()))
    counter = TicketIssuer(host_spool, settings.node_id).counter
    counter.touch(mode=0o660)
    sandbox.give_to_asterisk(host_spool, recursive=True)
    sandbox.give_to_asterisk(env_file)
    return replace(settings, spool_dir=host_spool)
