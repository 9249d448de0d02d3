"""The IVR side of e2e tests: the node's settings and spool on the sandbox, our FastAGI
server with the full route table and outbox delivery, and helpers to follow calls."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agi_scripts.routes import make_routes
from agi_scripts.services import Services
from api.core.auth import Role
from ivr import CallOutcome, FastAGIServer
from ivr.access import PeerAccess
from ivr.fastagi import FastAGILimits
from ivr.prompt_synthesis import synthesize
from ivr.settings import IvrSettings
from sandbox.ami import AMIClient, Message
from sandbox.harness import Sandbox
from sandbox.ivr_node import give_to_asterisk, prepare_ivr_node
from tests.e2e.services import ApiProcess

# Node 99 is the tests' own, so their tickets never look like production ones.
NODE_ID = 99
LINE = "082282204761"
# What citizens say after the beep (carrier sound files, as the carrier sees them).
SPEECH = {
    "keluhan": "Jalan di depan rumah saya rusak dan berlubang.",
    "keluhan-panjang": (
        "Lampu jalan di kampung kami sudah mati satu bulan. Mohon segera diperbaiki, "
        "karena jalan sangat gelap pada malam hari dan banyak warga yang takut lewat."
    ),
    # What an officer's phone says once it answers (the carrier's AGENT_SPEECH).
    "petugas": "Selamat siang, dengan petugas layanan pengaduan. Ada yang bisa kami bantu?",
}


@dataclass(frozen=True)
class IvrNode:
    """One IVR node on the sandbox: settings shared by FastAGI and classic scripts."""

    sandbox: Sandbox
    api: ApiProcess
    settings: IvrSettings  # as the host (our FastAGI server) sees the paths
    speech: dict[str, str] = field(default_factory=dict)  # name -> carrier play path

    @property
    def outbox_dir(self) -> Path:
        return self.settings.spool_dir / "outbox"

    def host_path(self, asterisk_path: str) -> Path:
        return self.sandbox.runtime.host_path(asterisk_path)

    def api_get(self, path: str, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.reader_token}"}
        response = httpx.get(f"{self.api.url}{path}", params=params, headers=headers, timeout=5)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    @property
    def reader_token(self) -> str:
        return _reader_tokens.setdefault(self.api.url, self.api.token(Role.supervisor))

    def complaints_of(self, caller: str) -> list[dict[str, Any]]:
        page: dict[str, Any] = self.api_get("/complaints", caller=caller)
        items: list[dict[str, Any]] = page["items"]
        return items


_reader_tokens: dict[str, str] = {}


def prepare_node(
    sandbox: Sandbox,
    api: ApiProcess,
    wanted: IvrSettings | None = None,
    carrier: Sandbox | None = None,
) -> IvrNode:
    """The node's spool and classic env file, and the citizens' speech on the carrier.

    ``wanted``: the IVR node's settings (by default node 99 of ``api``); ``carrier``: the
    sandbox whose carrier places the citizens' calls (by default ``sandbox``'s own; in a
    cluster, the first node's).
    """
    if wanted is None:
        token = api.token(Role.ivr, name="e2e-ivr-node")
        wanted = IvrSettings(api_url=api.url, api_token=token, node_id=NODE_ID)
    settings = prepare_ivr_node(sandbox, wanted)
    return IvrNode(sandbox, api, settings, carrier_speech(carrier or sandbox))


def carrier_speech(sandbox: Sandbox) -> dict[str, str]:
    """What citizens say, as sound files on ``sandbox``'s carrier: name -> play path."""
    speech = {}
    for name, text in SPEECH.items():
        target = sandbox.carrier.host("sounds") / f"{name}.wav"
        if not target.exists():
            synthesize(text, target)
        give_to_asterisk(sandbox, target)
        speech[name] = sandbox.carrier.path(f"sounds/{name}")
    return speech


class IvrServer:
    """Our FastAGI server with every route, plus the outbox delivery loop.

    It asks for the sandbox's AGI secret, as production's ``lapor-ivr`` does.
    """

    def __init__(
        self,
        node: IvrNode,
        settings: IvrSettings | None = None,
        limits: FastAGILimits | None = None,
    ) -> None:
        self.node = node
        self.settings = settings or node.settings
        self.services = Services.from_settings(self.settings)
        self.outcomes: list[CallOutcome] = []
        host = node.sandbox.config.agi_host
        self.server = FastAGIServer(
            make_routes(self.services),
            host=host,
            port=node.sandbox.config.agi_port,
            limits=limits,
            access=PeerAccess.for_host(host, node.sandbox.secrets.agi),
            on_call_end=self.outcomes.append,
        )
        self._stop = asyncio.Event()
        self._delivery: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.server.start()
        self._delivery = asyncio.create_task(self.services.deliverer.run(self._stop))

    async def close(self) -> None:
        await self.server.close()
        self._stop.set()
        if self._delivery is not None:
            await self._delivery
        await self.services.aclose()

    def outcome(self, uniqueid: str, script: str | None = None) -> list[tuple[str, str]]:
        """(script, status) of each AGI session of a call that ended, or of one script's.
        A call an officer took also runs "survey" after the officer hangs up: whether it
        ended yet depends on timing, so tests about the menu ask for "call" only."""
        return [
            (o.script, o.status)
            for o in self.outcomes
            if o.uniqueid == uniqueid and script in (None, o.script)
        ]


def user_event(ami: AMIClient, name: str, caller: str, timeout: float) -> asyncio.Future[Message]:
    """The UserEvent ``name`` of the call from ``caller`` (past or future)."""

    def match(message: Message) -> bool:
        return (
            message.get("Event") == "UserEvent"
            and message.get("UserEvent") == name
            and message.get("CallerIDNum") == caller
        )

    return asyncio.ensure_future(ami.wait_for(match, timeout))


def event(ami: AMIClient, name: str, timeout: float, **fields: str) -> asyncio.Future[Message]:
    def match(message: Message) -> bool:
        return message.get("Event") == name and all(
            message.get(key) == value for key, value in fields.items()
        )

    return asyncio.ensure_future(ami.wait_for(match, timeout))


def played_digits(sandbox: Sandbox, channel: str) -> str:
    """The digits the call center played to ``channel`` from our digit prompts, in order."""
    log = sandbox.callcenter.host("log") / "messages.log"
    pattern = re.compile(re.escape(channel) + r".*Playing 'lapor/angka-(\d)")
    return "".join(m.group(1) for m in pattern.finditer(log.read_text(errors="replace")))


async def wait_until(check: Any, timeout: float, interval: float = 0.5) -> Any:
    """Poll ``check()`` until it returns something truthy; returns it (or the last value)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await asyncio.to_thread(check)
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(interval)
