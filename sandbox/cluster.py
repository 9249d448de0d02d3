"""Several call-center nodes behind one SIP edge (Kamailio), with one carrier.

Node ``i`` is a call-center Asterisk with the call-center ports of sandbox slot
``slots[i]``; the carrier and the edge use ``slots[0]``'s carrier ports and its edge port
(``EDGE_PORT_BASE + 100·slot``). The carrier's trunk points at the edge, which spreads the
calls over the nodes that answer its OPTIONS probes; the officers' phones register with the
edge, and every node calls them through it. Each node has its own ``systemname`` (no two
nodes' call ids collide) and shares its officers' device states with the others
(docs/scaling-edge.md).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Sequence

from sandbox.config import SandboxConfig
from sandbox.edge import Edge
from sandbox.harness import Sandbox
from sandbox.instance import InstanceError

log = logging.getLogger(__name__)

EDGE_PORT_BASE = 5075
# The edge's WebSocket port (browser phones) and its JSON-RPC port (the API), per slot.
EDGE_WS_PORT_BASE = 8086
EDGE_RPC_PORT_BASE = 8087
HOST = "127.0.0.1"


def node_name(index: int) -> str:
    """The name of node ``index`` (0-based): its ``systemname`` and collector node."""
    return f"node{index + 1}"


def entity_id(index: int) -> str:
    """Node ``index``'s Asterisk entity id (distributed device state)."""
    return f"02:00:00:00:00:{index + 1:02x}"


class Cluster:
    """Start, stop and drive N call-center nodes, the edge and the carrier."""

    def __init__(self, slots: Sequence[int], build: bool = True) -> None:
        if not slots:
            raise ValueError("a cluster needs at least one node")
        self.configs = [SandboxConfig.from_env(slot=slot) for slot in slots]
        first = self.configs[0]
        self.edge_port = EDGE_PORT_BASE + 100 * first.slot
        self.edge_address = f"{HOST}:{self.edge_port}"
        self.edge_ws_port = EDGE_WS_PORT_BASE + 100 * first.slot
        self.edge_rpc_port = EDGE_RPC_PORT_BASE + 100 * first.slot
        self.edge_rpc_token = secrets.token_hex(16)
        self.nodes = [
            Sandbox(
                config,
                build=build and index == 0,
                overrides=self._node_values(index),
                carrier_overrides={"LAPOR_SIP_PORT": str(self.edge_port)},
                with_carrier=index == 0,
            )
            for index, config in enumerate(self.configs)
        ]
        # One AMI control secret on every node: the API's control client logs in to each
        # node with the same user and secret (LAPOR_API_AMI_PEER_HOSTS).
        control_secret = secrets.token_urlsafe(18)
        for node in self.nodes:
            node.control_secret = control_secret
        # One officers' file for every node and the edge, as in production (each sandbox
        # writes its own, with random passwords): a node challenges an officer's own call
        # with the password the phone registered with at the edge.
        for node in self.nodes[1:]:
            node.overrides["LAPOR_AGENTS_FILE"] = str(self.nodes[0].agents_file)
        carrier_root = self.nodes[0].root
        self.edge = Edge(self.nodes[0].runtime, f"{carrier_root}/edge", HOST, self.edge_port)

    @property
    def carrier_sandbox(self) -> Sandbox:
        """Node 1's sandbox, which also runs the carrier (citizens, phones, city units)."""
        return self.nodes[0]

    def names(self) -> list[str]:
        return [node_name(index) for index in range(len(self.nodes))]

    def _addresses(self) -> dict[str, str]:
        return {
            node_name(index): f"{HOST}:{config.sip_port}"
            for index, config in enumerate(self.configs)
        }

    def _node_values(self, index: int) -> dict[str, str]:
        """The template values that make a node one of the cluster's."""
        first = self.configs[0]
        name = node_name(index)
        peers = ",".join(f"{n}={a}" for n, a in self._addresses().items() if n != name)
        return {
            "LAPOR_SYSTEM_NAME": name,
            "LAPOR_ENTITY_ID": entity_id(index),
            "LAPOR_AGENT_EDGE": self.edge_address,
            "LAPOR_CLUSTER_PEERS": peers,
            # Calls come in from the edge; calls out go straight to the carrier's trunk.
            "LAPOR_TRUNK_MATCH": self.edge_address,
            "LAPOR_TRUNK_HOST": first.carrier_host,
            "LAPOR_TRUNK_PORT": str(first.carrier_sip_port),
            "LAPOR_CARRIER_SIP_PORT": str(first.carrier_sip_port),
            "LAPOR_CARRIER_PHONES_PORT": str(first.carrier_phones_port),
            "LAPOR_CARRIER_AMI_PORT": str(first.carrier_ami_port),
        }

    def _edge_values(self) -> dict[str, str]:
        first = self.configs[0]
        nodes = ",".join(
            f"{n}={a}/{entity_id(index)}" for index, (n, a) in enumerate(self._addresses().items())
        )
        return {
            "LAPOR_CLUSTER_NODES": nodes,
            "LAPOR_TRUNK_SOURCE_HOST": first.carrier_host,
            "LAPOR_TRUNK_SOURCE_PORT": str(first.carrier_sip_port),
            "LAPOR_AGENTS_FILE": str(self.carrier_sandbox.agents_file),
            "LAPOR_EDGE_WS_BIND": HOST,
            "LAPOR_EDGE_WS_PORT": str(self.edge_ws_port),
            "LAPOR_EDGE_RPC_PORT": str(self.edge_rpc_port),
            "LAPOR_EDGE_RPC_TOKEN": self.edge_rpc_token,
        }

    @property
    def edge_ws_url(self) -> str:
        """The browser phones' SIP-over-WebSocket URL at the edge."""
        return f"ws://{HOST}:{self.edge_ws_port}/ws"

    @property
    def edge_rpc_url(self) -> str:
        """The edge's JSON-RPC URL (the API's LAPOR_API_EDGE_RPC_URL)."""
        return f"http://{HOST}:{self.edge_rpc_port}/RPC"

    async def up(self, login_agents: bool = True) -> None:
        """Start the edge, then every node (node 1 with the carrier), and wait until the
        officers' phones are registered with the edge."""
        self.edge.stop()
        try:
            for node in self.nodes:
                await node.up(login_agents=login_agents)
                if node is self.carrier_sandbox:
                    # The phones' passwords are in node 1's agents file, written by up().
                    self.edge.render(self._edge_values())
                    self.edge.start()
                    await self.edge.wait_ready(first_timeout(self.configs))
            await self.wait_phones_registered(first_timeout(self.configs))
            for node in self.nodes:
                self.qualify_officers(node)
        except BaseException:
            log.error("%s", self.edge.log_tail())
            self.down()
            raise

    def down(self) -> None:
        """Stop every node, the carrier and the edge; safe when nothing runs."""
        for node in reversed(self.nodes):
            node.down()
        self.edge.stop()

    def status(self) -> dict[str, bool]:
        running = {"edge": self.edge.is_running()}
        for index, node in enumerate(self.nodes):
            for name, alive in node.status().items():
                running[name if name == "carrier" else node_name(index)] = alive
        return running

    async def wait_phones_registered(self, timeout: float) -> None:
        """Wait until the carrier's phones are registered (with the edge)."""
        carrier = self.carrier_sandbox.carrier
        deadline = time.monotonic() + timeout
        missing: list[str] = []
        while time.monotonic() < deadline:
            text = carrier.rx("pjsip show registrations")
            missing = [
                agent
                for agent in self.configs[0].agents
                if not any(
                    f"phone-{agent}/" in line and "Registered" in line for line in text.splitlines()
                )
            ]
            if not missing:
                return
            await asyncio.sleep(0.3)
        raise InstanceError(f"phones not registered with the edge after {timeout:.0f} s: {missing}")

    def qualify_officers(self, node: Sandbox) -> None:
        """Have ``node`` qualify its officers' contacts (the edge) now: one found
        unreachable before the edge ran stays so until the next qualify (30 s)."""
        for agent in node.config.agents:
            node.callcenter.rx(f"pjsip qualify {agent}")

    def add_member(self, agent: str) -> None:
        """Log an officer into the queue on every running node."""
        for node in self.nodes:
            if node.callcenter.is_running():
                node.add_member(agent)

    async def restart_node(self, index: int, login_agents: bool = True) -> None:
        """Start node ``index``'s Asterisk again, keeping its folders (queue_log, etc.)."""
        node = self.nodes[index]
        node.callcenter.start()
        await node.callcenter.wait_ready(node.config.ready_timeout)
        node.callcenter.rx("core waitfullybooted", timeout=node.config.ready_timeout)
        if login_agents:
            for agent in node.config.agents:
                node.add_member(agent)


def first_timeout(configs: Sequence[SandboxConfig]) -> float:
    return configs[0].ready_timeout
