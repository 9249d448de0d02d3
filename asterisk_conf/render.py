#!/usr/bin/env python3
"""Render the Asterisk config templates in this folder into a live config directory.

Templates are plain Asterisk ``.conf`` files with ``{{NAME}}`` placeholders (the dialplan's
own ``${VAR}`` syntax is left alone). Values come from, in order of precedence:

1. the environment: ``LAPOR_<NAME>``, or ``LAPOR_<NAME>_FILE`` naming a file that holds
   the value (Docker secrets);
2. ``defaults.env`` beside the templates (production defaults; never secrets).

A block between the lines ``;{{#AGENTS}}`` and ``;{{/AGENTS}}`` is repeated for every
agent listed in the file named by ``LAPOR_AGENTS_FILE`` (one ``id:secret`` per line),
with ``{{AGENT_ID}}`` and ``{{AGENT_SECRET}}`` filled in. A block between
``;{{#TRANSFER_NUMBERS}}`` and ``;{{/TRANSFER_NUMBERS}}`` is repeated for every city unit's
transfer number in ``LAPOR_TRANSFER_NUMBERS`` (``unit=number,...``, parsed and validated by
``asterisk_values.transfer_numbers``), with ``{{TRANSFER_UNIT}}`` and
``{{TRANSFER_NUMBER}}`` filled in. A block between ``;{{#CLUSTER_PEERS}}`` and
``;{{/CLUSTER_PEERS}}`` is repeated for every other node behind the SIP edge in
``LAPOR_CLUSTER_PEERS`` (``name=host:port[/entity-id],...``), with ``{{PEER_NAME}}``,
``{{PEER_ADDRESS}}`` and ``{{PEER_EID}}`` filled in (``CLUSTER_NODES``, every node,
likewise for the SIP edge in ``edge/``). A block between
``;{{#NAME}}`` and ``;{{/NAME}}`` for any other NAME is kept only if NAME has a
non-empty value (e.g. the trunk's digest auth). Blocks may nest (an agent's section holding
a block of another value).

``AGI_BACKUP_URL``, the dialplan's second FastAGI server, is ``agi://HOST:PORT`` from
``AGI_BACKUP_HOST`` and ``AGI_BACKUP_PORT`` (a port number), or empty without a host.

The queue's announcements (``queue_announcements``) turn ``QUEUE_ANNOUNCE_SECONDS`` into
app_queue's ``announce-frequency`` and ``min-announce-frequency`` and check the wait
settings, which must be whole numbers (the wait's cap is said as a number under 100).

Values are refused, with the variable's name, if they hold a line break (it would add
config lines) or, for secrets, a ``change-me`` placeholder of ``.env.example`` or fewer
than 16 characters.

Stdlib and ``asterisk_values`` only (in the Asterisk image: ``PYTHONPATH=/opt/lapor/lib``):
it runs inside the Asterisk image and the sandbox rootfs as well as on the host.
Usage: ``render.py SRC_DIR DST_DIR [FILE ...]``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import asterisk_values

PLACEHOLDER = re.compile(r"\{\{([A-Z][A-Z0-9_]*)\}\}")
BLOCK = re.compile(r"^;\{\{#([A-Z][A-Z0-9_]*)\}\}\n(.*?)^;\{\{/\1\}\}\n", re.S | re.M)
AGENT_ID = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
PEER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
PEER_ADDRESS = re.compile(r"^[A-Za-z0-9.-]{1,253}:[0-9]{1,5}$")
ENTITY_ID = re.compile(r"^((?:[0-9a-f]{2}:){5}[0-9a-f]{2})?$")
# Lists of call-center nodes: a node's peers (pjsip.conf), the SIP edge's nodes (edge/).
CLUSTER_LISTS = ("CLUSTER_PEERS", "CLUSTER_NODES")
ENV_PREFIX = "LAPOR_"
# Secrets (AMI, SIP, API tokens) are at least this long: `openssl rand -hex 24` gives 48.
MIN_SECRET_LENGTH = 16
# Secrets written inside a quoted string of edge/kamailio.cfg, as the SIP passwords are.
QUOTED_SECRETS = frozenset({"EDGE_RPC_TOKEN"})
# app_queue says a position only if announce-frequency is not 0, and says it again when it
# changed once min-announce-frequency has passed: "only on entering" is both set to a day.
ANNOUNCE_ONCE = 86400
# A moved position is said again after at most this many seconds (app_queue's default: 15).
MIN_ANNOUNCE_GAP = 30
# Numbers are read from our Indonesian number words, which go up to 99.
MAX_SAID_NUMBER = 99
# Placeholders render.py fills itself, from other settings (not set by anyone).
DERIVED = frozenset({"QUEUE_ANNOUNCE_FREQUENCY", "QUEUE_MIN_ANNOUNCE_GAP", "AGI_BACKUP_URL"})
# Settings read only to derive one of those (in no template themselves).
DERIVATION_INPUTS = frozenset({"AGI_BACKUP_HOST", "AGI_BACKUP_PORT"})
# A FastAGI host: a name or an address, nothing that could end the URL or the line.
AGI_HOST_NAME = re.compile(r"[0-9A-Za-z.:-]{1,253}")
MAX_PORT = 65535


class RenderError(Exception):
    """A template can't be rendered: missing values or a malformed agents file."""


def read_env_file(path: Path) -> dict[str, str]:
    """Parse ``NAME=value`` lines; blank lines and ``#`` comments are skipped."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise RenderError(f"{path}:{number}: expected NAME=value")
        values[name.strip()] = value.strip()
    return values


def collect_values(src: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Merge ``defaults.env`` with ``LAPOR_*`` environment values (environment wins)."""
    defaults = src / "defaults.env"
    values = read_env_file(defaults) if defaults.exists() else {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :]
        if name.endswith("_FILE") and name != "AGENTS_FILE":
            values[name[: -len("_FILE")]] = Path(value).read_text(encoding="utf-8").strip()
        else:
            values[name] = value
    return values


def whole_number(values: Mapping[str, str], name: str, low: int, high: int) -> int:
    """The setting ``name`` as a whole number in ``low..high``, or a RenderError."""
    text = values.get(name, "")
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise RenderError(f"{ENV_PREFIX}{name} must be a whole number from {low} to {high}")
    return int(text)


def queue_announcements(values: Mapping[str, str]) -> dict[str, str]:
    """app_queue's announcement timing from ``QUEUE_ANNOUNCE_SECONDS`` (0: only on
    entering the queue), after checking the wait settings; nothing without the setting."""
    if "QUEUE_ANNOUNCE_SECONDS" not in values:
        return {}
    every = whole_number(values, "QUEUE_ANNOUNCE_SECONDS", 0, ANNOUNCE_ONCE)
    whole_number(values, "QUEUE_WAIT_SOON_SECONDS", 0, ANNOUNCE_ONCE)
    whole_number(values, "QUEUE_WAIT_CAP_MINUTES", 1, MAX_SAID_NUMBER)
    frequency = every or ANNOUNCE_ONCE
    gap = ANNOUNCE_ONCE if every == 0 else min(every, MIN_ANNOUNCE_GAP)
    return {"QUEUE_ANNOUNCE_FREQUENCY": str(frequency), "QUEUE_MIN_ANNOUNCE_GAP": str(gap)}


def agi_backup(values: Mapping[str, str]) -> dict[str, str]:
    """The backup FastAGI server's URL (empty without ``AGI_BACKUP_HOST``), checked."""
    host = values.get("AGI_BACKUP_HOST", "")
    if not host:
        return {"AGI_BACKUP_URL": ""}
    if AGI_HOST_NAME.fullmatch(host) is None:
        raise RenderError(f"{ENV_PREFIX}AGI_BACKUP_HOST must be a host name or an address")
    port = whole_number(values, "AGI_BACKUP_PORT", 1, MAX_PORT)
    return {"AGI_BACKUP_URL": f"agi://{host}:{port}"}


def read_agents(values: Mapping[str, str]) -> list[tuple[str, str]]:
    """Read ``id:secret`` lines from the agents file, if one is configured."""
    path = values.get("AGENTS_FILE", "")
    if not path:
        return []
    agents = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        agent_id, sep, secret = line.partition(":")
        if not sep or not AGENT_ID.match(agent_id) or not secret or "\n" in secret:
            raise RenderError(f"{path}:{number}: expected agent_id:secret")
        problem = weak_secret(secret) or unsafe_sip_secret(secret)
        if problem:
            raise RenderError(f"{path}:{number}: the SIP secret of {agent_id} {problem}")
        agents.append((agent_id, secret))
    return agents


def transfer_numbers(values: Mapping[str, str]) -> dict[str, str]:
    """The city units' transfer numbers (the dialplan's allowlist), validated."""
    try:
        return asterisk_values.transfer_numbers(values.get("TRANSFER_NUMBERS", ""))
    except asterisk_values.UnsafeValue as exc:
        raise RenderError(f"{ENV_PREFIX}TRANSFER_NUMBERS: {exc}") from exc


def cluster_peers(
    values: Mapping[str, str], name: str = "CLUSTER_PEERS"
) -> dict[str, tuple[str, str]]:
    """Call-center nodes of ``name`` (``name=host:port[/entity-id],...``), validated:
    name -> (host:port, entity id or "")."""
    peers = {}
    for item in filter(None, (part.strip() for part in values.get(name, "").split(","))):
        peer, _, rest = item.partition("=")
        address, _, eid = rest.partition("/")
        if not (PEER_NAME.match(peer) and PEER_ADDRESS.match(address) and ENTITY_ID.match(eid)):
            raise RenderError(
                f"{ENV_PREFIX}{name}: expected name=host:port[/entity-id], got {item!r}"
            )
        peers[peer] = (address, eid)
    return peers


def render_text(text: str, values: Mapping[str, str], agents: Iterable[tuple[str, str]]) -> str:
    """Expand the blocks, then every ``{{NAME}}``; raise on any missing or unsafe value."""
    agent_list = list(agents)

    def expand(match: re.Match[str]) -> str:
        # Inner blocks first: an agent's section may hold a block of another value.
        name, block = match.group(1), BLOCK.sub(expand, match.group(2))
        if name == "TRANSFER_NUMBERS":
            return "".join(
                block.replace("{{TRANSFER_UNIT}}", unit).replace("{{TRANSFER_NUMBER}}", number)
                for unit, number in transfer_numbers(values).items()
            )
        if name in CLUSTER_LISTS:
            return "".join(
                block.replace("{{PEER_NAME}}", peer)
                .replace("{{PEER_ADDRESS}}", address)
                .replace("{{PEER_EID}}", eid)
                for peer, (address, eid) in cluster_peers(values, name).items()
            )
        if name != "AGENTS":
            return block if values.get(name) else ""
        return "".join(
            block.replace("{{AGENT_ID}}", agent_id).replace("{{AGENT_SECRET}}", secret)
            for agent_id, secret in agent_list
        )

    text = BLOCK.sub(expand, text)
    used = set(PLACEHOLDER.findall(text))
    missing = sorted(name for name in used if name not in values)
    if missing:
        raise RenderError("missing values: " + ", ".join(ENV_PREFIX + name for name in missing))
    for name in sorted(used):
        check_value(name, values[name])
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def check_value(name: str, value: str) -> None:
    """Refuse a value that would add config lines, and a weak or placeholder secret."""
    if any(char in value for char in "\r\n\x00"):
        raise RenderError(f"{ENV_PREFIX}{name} holds a line break; set it on one line")
    if is_secret(name) and value:
        problem = weak_secret(value)
        if name in QUOTED_SECRETS:
            problem = problem or unsafe_sip_secret(value)
        if problem:
            raise RenderError(f"{ENV_PREFIX}{name} {problem}: set a real secret")


def is_secret(name: str) -> bool:
    return name.endswith(("_SECRET", "_PASSWORD", "_TOKEN"))


def unsafe_sip_secret(secret: str) -> str | None:
    """Why a SIP password can't go into the config files, or None."""
    try:
        asterisk_values.sip_secret(secret)
    except asterisk_values.UnsafeValue:
        return "holds a character other than letters, digits and ._~+=/@%!*^,:-"
    return None


def weak_secret(secret: str) -> str | None:
    """Why a secret is unusable (a placeholder, too short), or None."""
    if "change-me" in secret.lower():
        return "is still the change-me placeholder of .env.example"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    return None


def render_dir(
    src: Path,
    dst: Path,
    environ: Mapping[str, str],
    only: Iterable[str] | None = None,
) -> list[Path]:
    """Render ``src/*.conf`` (or just the named files) into ``dst``; return the written paths."""
    values = collect_values(src, environ)
    values.update(queue_announcements(values))
    values.update(agi_backup(values))
    agents = read_agents(values)
    names = sorted(only) if only is not None else sorted(p.name for p in src.glob("*.conf"))
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        target = dst / name
        target.write_text(render_text((src / name).read_text(encoding="utf-8"), values, agents))
        # Rendered files hold secrets: readable by their owner only.
        target.chmod(0o600)
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: render.py SRC_DIR DST_DIR [FILE ...]", file=sys.stderr)
        return 2
    try:
        written = render_dir(Path(argv[1]), Path(argv[2]), os.environ, argv[3:] or None)
    except (RenderError, OSError) as exc:
        print(f"render.py: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"rendered {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
