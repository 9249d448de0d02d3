"""The sandbox as a whole: the call-center instance plus the carrier, with their secrets."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from asterisk_conf.render import read_env_file, render_dir
from ivr.prompt_synthesis import install_catalog
from sandbox.ami import AMIClient, Message
from sandbox.config import REPO_ROOT, SandboxConfig
from sandbox.instance import Instance, InstanceError
from sandbox.rootfs import LAPOR_LIB, Runtime, ensure_runtime

log = logging.getLogger(__name__)

CONF_DIR = REPO_ROOT / "asterisk_conf"
CARRIER_CONF_DIR = Path(__file__).resolve().parent / "carrier"
# The carrier reuses only the call center's process-level files; its SIP, dialplan and
# AMI come from sandbox/carrier/.
CARRIER_SHARED_FILES = (
    "asterisk.conf",
    "modules_unused.conf",
    "logger.conf",
    "rtp.conf",
    "indications.conf",
    "features.conf",
    "cel.conf",
    "acl.conf",
    "udptl.conf",
    "pjproject.conf",
    "ccss.conf",
    "pjsip_notify.conf",
    "cdr.conf",
    "musiconhold.conf",
)
QUEUE = "pengaduan"
# The officers' SIP accounts, #included by pjsip.conf (reloadable without a restart).
OFFICERS_FILE = "pjsip_agents.conf"
ORIGINATE_ATTEMPTS = 2
ORIGINATE_TIMEOUT_MS = 30000
# How long after its ring timeout an originate's OriginateResponse may still come: on a
# loaded machine it can come late, and placing the call again then would make two calls
# from one caller (a KPI test once counted 9 offered calls for 8 callers).
ORIGINATE_RESPONSE_GRACE_S = 30
SOUNDS_DIR = "/usr/share/asterisk/sounds"
PROMPT_LANGUAGE = "id"
CARRIER_AMI_USER = "sandbox"
# The city units' numbers officers may transfer callers to: the carrier answers them like
# citizens (any number longer than 6 digits). Give the API the same value.
# The carrier's 0899100xxxxx numbers are always busy: bpbd's is a unit that never answers.
TRANSFER_NUMBERS = "dinas-pu=0721000101,pdam=0721000102,bpbd=089910000103"
COLLECTOR_USER = "collector"
CONTROL_USER = "control"
# The call center's folders kept in a state dir across runs (``make run``'s var/).
RECORDINGS = "recordings"
IVR_SPOOL = "ivr-spool"
PERSISTENT = (RECORDINGS, IVR_SPOOL)


@dataclass(frozen=True)
class Secrets:
    collector: str
    carrier: str
    control: str
    # The FastAGI secret the dialplan sends; our IVR server must be given it too.
    agi: str = ""

    @classmethod
    def generate(cls) -> Secrets:
        return cls(*(secrets.token_urlsafe(18) for _ in range(4)))


class Sandbox:
    """Start, stop and drive the two local Asterisk instances.

    Every ``up`` starts both instances from empty folders. With a ``state_dir`` (``make
    run``'s ``var/``), the call center's recordings and the IVR spool live there instead,
    outside the instance, and survive every ``up``: in a chroot Asterisk sees them at
    their usual place through bind mounts private to its process (see ``Instance``),
    without one it is given their host paths.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        build: bool = True,
        state_dir: Path | None = None,
        overrides: Mapping[str, str] | None = None,
        carrier_overrides: Mapping[str, str] | None = None,
        with_carrier: bool = True,
    ) -> None:
        self.config = config or SandboxConfig.from_env()
        self.runtime: Runtime = ensure_runtime(self.config.cache_dir, build=build)
        self.state_dir = state_dir
        # Extra ``LAPOR_*`` template values for the call center (e.g. the NAT settings).
        self.overrides = dict(overrides or {})
        # The carrier's (e.g. its trunk pointed at the SIP edge), and whether this sandbox
        # runs a carrier at all (a second call-center node of a cluster runs none).
        self.carrier_overrides = dict(carrier_overrides or {})
        self.with_carrier = with_carrier
        folder = "lapor" if self.config.slot == 0 else f"lapor-slot{self.config.slot}"
        base = "/srv" if self.runtime.chroot else str(self.config.cache_dir / "run")
        self.root = f"{base}/{folder}"
        self.secrets = self._load_secrets() or Secrets.generate()
        # The AMI control secret ``up`` gives this node, if set (a cluster's nodes share one).
        self.control_secret: str | None = None
        self.callcenter = self._instance("callcenter", self.config.ami_port, COLLECTOR_USER)
        self.carrier = self._instance("carrier", self.config.carrier_ami_port, CARRIER_AMI_USER)

    def _instance(self, name: str, ami_port: int, user: str) -> Instance:
        secret = self.secrets.collector if name == "callcenter" else self.secrets.carrier
        binds: tuple[tuple[Path, str], ...] = ()
        if name == "callcenter" and self.state_dir is not None and self.runtime.chroot:
            binds = tuple((self.state_dir / sub, sub) for sub in PERSISTENT)
        base = f"{self.root}/{name}"
        return Instance(name, self.runtime, base, ami_port, user, secret, binds)

    def _kept(self, sub: str) -> tuple[str, Path]:
        """A call-center folder kept in ``state_dir`` (if any): (Asterisk's path, host path)."""
        if self.state_dir is None:
            return self.callcenter.path(sub), self.callcenter.host(sub)
        host = self.state_dir / sub
        return (self.callcenter.path(sub) if self.runtime.chroot else str(host)), host

    @property
    def recording_path(self) -> str:
        """Where Asterisk records, as it sees the folder."""
        return self._kept(RECORDINGS)[0]

    @property
    def spool_path(self) -> str:
        """The IVR node's spool, as Asterisk (classic AGI scripts) sees it."""
        return self._kept(IVR_SPOOL)[0]

    @property
    def spool_dir(self) -> Path:
        """The IVR node's spool on the host (our FastAGI server's side)."""
        return self._kept(IVR_SPOOL)[1]

    def host_of(self, path: str) -> Path:
        """The host path of a path as Asterisk sees it, kept folders included."""
        for sub in PERSISTENT:
            inside, host = self._kept(sub)
            if path == inside or path.startswith(inside + "/"):
                return host / path[len(inside) :].lstrip("/")
        return self.runtime.host_path(path)

    def asterisk_ids(self) -> tuple[int, int] | None:
        """The rootfs's asterisk uid and gid (None without a chroot)."""
        if not self.runtime.chroot:
            return None
        passwd = (self.runtime.host_root / "etc/passwd").read_text()
        match = re.search(r"^asterisk:[^:]*:(\d+):(\d+):", passwd, re.MULTILINE)
        return (int(match.group(1)), int(match.group(2))) if match else None

    def give_to_asterisk(self, *paths: Path, recursive: bool = False) -> None:
        """Hand these host paths to the rootfs's asterisk user (a no-op without a chroot)."""
        ids = self.asterisk_ids()
        if ids is None:
            return
        for path in paths:
            os.chown(path, *ids)
            if recursive and path.is_dir():
                for inner in path.rglob("*"):
                    os.chown(inner, *ids, follow_symlinks=False)

    def _resolve_own_name(self) -> None:
        """Put the host's name in the rootfs's /etc/hosts: otherwise Asterisk looks it up
        in DNS (then A.ROOT-SERVERS.NET) for every WebRTC call's ICE candidates, which
        stalls each ring for about 17 s where there is no DNS."""
        if not self.runtime.chroot:
            return
        hosts = self.runtime.host_path("/etc/hosts")
        name = socket.gethostname()
        lines = hosts.read_text(encoding="utf-8").splitlines() if hosts.exists() else []
        if not any(name in line.split()[1:] for line in lines if not line.startswith("#")):
            with hosts.open("a", encoding="utf-8") as out:
                out.write(f"127.0.0.1\t{name}\n")

    def _prepare_state(self) -> None:
        """Create the kept folders (never emptied here: see ``reset``) for Asterisk."""
        if self.state_dir is None:
            return
        for sub in PERSISTENT:
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        # Recordings are Asterisk's own files; the spool is shared with our FastAGI server.
        self.give_to_asterisk(self.state_dir / RECORDINGS)
        self.give_to_asterisk(self.state_dir / IVR_SPOOL, recursive=True)

    @property
    def state_file(self) -> Path:
        return self.runtime.host_path(f"{self.root}/sandbox.env")

    @property
    def agents_file(self) -> Path:
        return self.runtime.host_path(f"{self.root}/agents.txt")

    @property
    def recordings_dir(self) -> Path:
        """Where the recordings are on the host."""
        return self._kept(RECORDINGS)[1]

    def _load_secrets(self) -> Secrets | None:
        if not self.state_file.exists():
            return None
        values = read_env_file(self.state_file)
        return Secrets(
            values["AMI_COLLECTOR_SECRET"],
            values["CARRIER_AMI_SECRET"],
            values.get("AMI_CONTROL_SECRET", ""),
            values.get("AGI_SECRET", ""),
        )

    def _write_state(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.touch(mode=0o600)
        self.state_file.write_text(
            f"AMI_COLLECTOR_SECRET={self.secrets.collector}\n"
            f"CARRIER_AMI_SECRET={self.secrets.carrier}\n"
            f"AMI_CONTROL_SECRET={self.secrets.control}\n"
            f"AGI_SECRET={self.secrets.agi}\n"
            f"AMI_PORT={self.config.ami_port}\n"
            f"QUEUE_LOG={self.callcenter.queue_log}\n"
        )
        self.agents_file.touch(mode=0o600)
        # Sandbox agents use their id as password prefix only to stay readable in logs.
        self.agents_file.write_text(
            "".join(f"{agent}:{agent}-{secrets.token_hex(8)}\n" for agent in self.config.agents)
        )

    def _common_values(self) -> dict[str, str]:
        c = self.config
        return {
            "LAPOR_SIP_BIND": "127.0.0.1",
            "LAPOR_SIP_PORT": str(c.sip_port),
            "LAPOR_CARRIER_HOST": c.carrier_host,
            "LAPOR_CARRIER_SIP_PORT": str(c.carrier_sip_port),
            "LAPOR_CARRIER_PHONES_PORT": str(c.carrier_phones_port),
            "LAPOR_CARRIER_AMI_PORT": str(c.carrier_ami_port),
            "LAPOR_CARRIER_AMI_SECRET": self.secrets.carrier,
            "LAPOR_AGENTS_FILE": str(self.agents_file),
        }

    def use_backup_agi(self, enabled: bool) -> None:
        """A second IVR server for this node (or none again): the dialplan rendered with
        AGI_BACKUP_URL on ``config.agi_backup_port`` (or without) and reloaded, as
        docs/operations.md does it."""
        backup = {
            "LAPOR_AGI_BACKUP_HOST": self.config.agi_host,
            "LAPOR_AGI_BACKUP_PORT": str(self.config.agi_backup_port),
        }
        for key, value in backup.items():
            if enabled:
                self.overrides[key] = value
            else:
                self.overrides.pop(key, None)
        dialplan = render_dir(
            CONF_DIR, self.callcenter.host("etc"), self._callcenter_values(), ["extensions.conf"]
        )
        self.give_to_asterisk(*dialplan)
        out = self.callcenter.rx("dialplan reload")
        log.info("dialplan reload (backup FastAGI %s): %s", enabled, out.strip())

    def _callcenter_values(self) -> dict[str, str]:
        c = self.config
        return {
            **self._common_values(),
            **self.callcenter.dir_values(),
            "LAPOR_RTP_START": str(c.rtp_start),
            "LAPOR_RTP_END": str(c.rtp_end),
            "LAPOR_TRUNK_HOST": c.carrier_host,
            "LAPOR_TRUNK_PORT": str(c.carrier_sip_port),
            "LAPOR_TRUNK_MATCH": f"{c.carrier_host}:{c.carrier_sip_port}",
            "LAPOR_AMI_BIND": "127.0.0.1",
            "LAPOR_AMI_PORT": str(c.ami_port),
            "LAPOR_HTTP_BIND": "127.0.0.1",
            "LAPOR_HTTP_PORT": str(c.http_port),
            "LAPOR_AMI_COLLECTOR_USER": COLLECTOR_USER,
            "LAPOR_AMI_COLLECTOR_SECRET": self.secrets.collector,
            "LAPOR_AMI_CONTROL_USER": CONTROL_USER,
            "LAPOR_AMI_CONTROL_SECRET": self.secrets.control,
            "LAPOR_AGI_HOST": c.agi_host,
            "LAPOR_AGI_PORT": str(c.agi_port),
            "LAPOR_AGI_SECRET": self.secrets.agi,
            "LAPOR_AGI_SCRIPTS_DIR": f"{LAPOR_LIB}/agi_scripts",
            "LAPOR_RECORDING_DIR": self.recording_path,
            "LAPOR_TRANSFER_NUMBERS": TRANSFER_NUMBERS,
            **self.overrides,
        }

    def render(self, officers_only: bool = False) -> None:
        """Render our asterisk_conf/ and the carrier's config into the instance folders
        (``officers_only``: just the files with the officers, handed to Asterisk's user)."""
        c = self.config
        cc_values = self._callcenter_values()
        carrier_values = {
            **self._common_values(),
            **self.carrier.dir_values(),
            "LAPOR_RTP_START": str(c.carrier_rtp_start),
            "LAPOR_RTP_END": str(c.carrier_rtp_end),
            **self.carrier_overrides,
        }
        if officers_only:
            officers = [
                *render_dir(CONF_DIR, self.callcenter.host("etc"), cc_values, [OFFICERS_FILE]),
                *render_dir(
                    CARRIER_CONF_DIR, self.carrier.host("etc"), carrier_values, ["pjsip.conf"]
                ),
            ]
            self.give_to_asterisk(*officers)
            return
        render_dir(CONF_DIR, self.callcenter.host("etc"), cc_values)
        render_dir(CONF_DIR, self.carrier.host("etc"), carrier_values, CARRIER_SHARED_FILES)
        render_dir(CARRIER_CONF_DIR, self.carrier.host("etc"), carrier_values)

    def install_prompts(self) -> None:
        """Synthesize the IVR prompts and number words (cached) and install them where
        Asterisk looks (sounds/id/lapor, sounds/id/digits)."""
        language_dir = self.runtime.host_path(f"{SOUNDS_DIR}/{PROMPT_LANGUAGE}")
        install_catalog(
            self.config.cache_dir / "prompts", language_dir, REPO_ROOT / "prompts" / "studio"
        )

    async def up(self, login_agents: bool = True) -> None:
        """Start both instances from fresh folders (the kept ones of ``state_dir`` stay as
        they are) and wait until they are usable."""
        self.secrets = Secrets.generate()
        if self.control_secret:
            self.secrets = replace(self.secrets, control=self.control_secret)
        self.callcenter = self._instance("callcenter", self.config.ami_port, COLLECTOR_USER)
        self.carrier = self._instance("carrier", self.config.carrier_ami_port, CARRIER_AMI_USER)
        instances = self.instances
        for instance in instances:
            instance.prepare()
        self._prepare_state()
        self._resolve_own_name()
        self._write_state()
        self.render()
        self.install_prompts()
        try:
            for instance in instances:
                instance.fix_ownership()
                instance.start()
            for instance in instances:
                await instance.wait_ready(self.config.ready_timeout)
            # AMI answers before app_queue is loaded (the phones' wait used to hide that).
            self.callcenter.rx("core waitfullybooted", timeout=self.config.ready_timeout)
            if self.with_carrier:
                await self.wait_agents_registered(self.config.ready_timeout)
            if login_agents:
                for agent in self.config.agents:
                    self.add_member(agent)
        except BaseException:
            for instance in instances:
                log.error("%s", instance.log_tail())
            self.down()
            raise

    @property
    def instances(self) -> tuple[Instance, ...]:
        """The instances this sandbox runs: the call center, then the carrier (if any)."""
        return (self.callcenter, self.carrier) if self.with_carrier else (self.callcenter,)

    def down(self) -> None:
        """Stop both instances; safe to call when nothing runs."""
        for instance in reversed(self.instances):
            instance.stop()

    def status(self) -> dict[str, bool]:
        return {i.name: i.is_running() for i in self.instances}

    def reload_officers(self, agents: list[str]) -> None:
        """Make ``agents`` the officers without a restart, as docs/operations.md does it:
        the agents file rewritten (known officers keep their secret), the call center's
        pjsip_agents.conf rendered again and ``module reload res_pjsip.so``. The carrier's
        phones are rendered and reloaded the same way, so a new officer's phone registers."""
        known = dict(
            line.split(":", 1) for line in self.agents_file.read_text().splitlines() if line
        )
        self.agents_file.write_text(
            "".join(
                f"{agent}:{known.get(agent) or f'{agent}-{secrets.token_hex(8)}'}\n"
                for agent in agents
            )
        )
        self.render(officers_only=True)
        for instance in (self.callcenter, self.carrier):
            out = instance.rx("module reload res_pjsip.so")
            log.info("%s: module reload res_pjsip.so: %s", instance.name, out.strip())

    def add_member(self, agent: str) -> None:
        """Log an officer's phone into the queue (dynamic member)."""
        out = self.callcenter.rx(
            f"queue add member PJSIP/{agent} to {QUEUE} penalty 0 as petugas-{agent}"
        )
        if "Added interface" not in out and "Already there" not in out:
            raise InstanceError(f"queue add member PJSIP/{agent} failed: {out.strip()}")

    async def wait_agents_registered(
        self, timeout: float, agents: tuple[str, ...] | None = None
    ) -> None:
        """Wait until every carrier phone (or those of ``agents``) is registered with the
        call center."""
        wanted = self.config.agents if agents is None else agents
        deadline = time.monotonic() + timeout
        missing: list[str] = list(wanted)
        while time.monotonic() < deadline:
            contacts = self.callcenter.rx("pjsip show contacts")
            missing = [a for a in wanted if f"{a}/sip:{a}@" not in contacts]
            if not missing:
                return
            await asyncio.sleep(0.3)
        raise InstanceError(f"agents not registered after {timeout:.0f} s: {missing}")

    async def connect_carrier_ami(self) -> AMIClient:
        """An AMI session on the carrier (its phones, citizens and city units)."""
        return await AMIClient.connect(
            "127.0.0.1", self.config.carrier_ami_port, CARRIER_AMI_USER, self.secrets.carrier
        )

    async def connect_ami(self) -> AMIClient:
        """An AMI session on the call center as the least-privilege collector user."""
        return await AMIClient.connect(
            "127.0.0.1", self.config.ami_port, COLLECTOR_USER, self.secrets.collector
        )

    async def place_call(
        self, line: str, caller: str, script: str = "", caller_name: str = "Warga"
    ) -> Message:
        """Have the carrier call ``line`` as ``caller``; ``script`` drives the citizen side.

        ``script`` steps are separated by ``|``: ``wait:S``, ``dtmf:DIGITS``,
        ``play:FILE`` (a path inside the sandbox, no extension) and ``hangup``.
        Returns once the call center answered (the carrier's OriginateResponse). A
        queued originate that never produced a call is placed again, once: a test rig
        hiccup, not what a test measures.
        """
        last: Message = {}
        for _ in range(ORIGINATE_ATTEMPTS):
            async with await AMIClient.connect(
                "127.0.0.1", self.config.carrier_ami_port, CARRIER_AMI_USER, self.secrets.carrier
            ) as ami:
                reply = await ami.action(
                    "Originate",
                    Channel=f"PJSIP/{line}@callcenter",
                    Context="citizen",
                    Exten="s",
                    Priority="1",
                    CallerID=f'"{caller_name}" <{caller}>',
                    Variable=f"SCRIPT={script}",
                    Timeout=str(ORIGINATE_TIMEOUT_MS),
                    Async="true",
                )
                if reply.get("Response") != "Success":
                    raise InstanceError(f"Originate refused: {reply}")
                action_id = reply.get("ActionID", "")
                try:
                    last = await ami.wait_for(
                        originate_response(action_id),
                        ORIGINATE_TIMEOUT_MS / 1000 + ORIGINATE_RESPONSE_GRACE_S,
                    )
                except TimeoutError:
                    log.warning("originate to %s from %s produced no call", line, caller)
                    continue
            if last.get("Response") == "Success":
                return last
            log.warning("originate to %s from %s failed: %s", line, caller, last)
        raise InstanceError(f"the carrier could not call {line} from {caller}: {last}")


# What ``make run`` keeps in its state folder (sandbox/devrun.py), all of it removed by a
# reset: the API's SQLite database, the call center's kept folders, the collector's buffer.
STATE_FILES = ("lapor.db", "lapor.db-wal", "lapor.db-shm", "lapor.db-journal")
STATE_FOLDERS = (*PERSISTENT, "collector")


def reset_state(state_dir: Path) -> list[Path]:
    """Delete what ``make run`` keeps in ``state_dir`` (nothing else in it); what went."""
    removed = []
    for name in STATE_FILES:
        path = state_dir / name
        if path.is_file():
            path.unlink()
            removed.append(path)
    for name in STATE_FOLDERS:
        path = state_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
            removed.append(path)
    return removed


def originate_response(action_id: str) -> Callable[[Message], bool]:
    """Matches the OriginateResponse event of one Originate action."""
    return lambda m: m.get("Event") == "OriginateResponse" and m.get("ActionID") == action_id
