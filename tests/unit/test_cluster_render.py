"""The multi-node templates: a node's cluster values, the SIP edge's Kamailio config, and a
single node rendered exactly as without them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from asterisk_conf.render import RenderError, render_dir, render_text

ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = ROOT / "asterisk_conf"
EDGE_DIR = ROOT / "edge"
CLUSTER_LINES = re.compile(
    r"^(systemname|entityid|contact = sip:1001@|type = outbound-publish|match_header"
    r"|endpoint_identifier_order = header)",
    re.M,
)


def base_env(tmp_path: Path) -> dict[str, str]:
    agents = tmp_path / "agents.txt"
    agents.write_text("1001:pw-one-0123456789abcdef\n1002:pw-two-0123456789abcdef\n")
    return {
        "LAPOR_AMI_COLLECTOR_SECRET": "collector-pw-0123456789",
        "LAPOR_AMI_CONTROL_SECRET": "control-pw-0123456789",
        "LAPOR_AGENTS_FILE": str(agents),
    }


def rendered(src: Path, dst: Path, env: dict[str, str], only: list[str] | None = None) -> str:
    return "".join(p.read_text() for p in render_dir(src, dst, env, only))


def test_a_single_node_has_no_cluster_lines(tmp_path: Path) -> None:
    text = rendered(CONF_DIR, tmp_path / "etc", base_env(tmp_path))
    assert not CLUSTER_LINES.search(text)


def test_a_node_gets_its_name_entity_edge_contacts_and_peers(tmp_path: Path) -> None:
    env = {
        **base_env(tmp_path),
        "LAPOR_SYSTEM_NAME": "node1",
        "LAPOR_ENTITY_ID": "02:00:00:00:00:01",
        "LAPOR_AGENT_EDGE": "10.0.0.5:5060",
        "LAPOR_CLUSTER_PEERS": "node2=10.0.0.7:5060,node3=10.0.0.8:5060",
    }
    etc = tmp_path / "etc"
    files = ["asterisk.conf", "pjsip.conf", "pjsip_agents.conf"]
    text = rendered(CONF_DIR, etc, env, files)
    assert "systemname = node1" in text
    assert "entityid = 02:00:00:00:00:01" in text
    agents = (etc / "pjsip_agents.conf").read_text()
    assert "contact = sip:1001@10.0.0.5:5060" in agents
    assert "contact = sip:1002@10.0.0.5:5060" in agents
    # the browser phone too: through the edge, over UDP (the edge speaks WebSocket to it)
    assert "contact = sip:1001-web@10.0.0.5:5060" in agents
    web = agents[agents.index("[1001-web](webrtc-endpoint)") :].split("\n\n")[0]
    assert "\ntransport = transport-udp" in web
    pjsip = (etc / "pjsip.conf").read_text()
    # node1 publishes to each peer under its own name, and accepts each peer's publications
    assert "server_uri = sip:node1@10.0.0.7:5060" in pjsip
    assert "server_uri = sip:node1@10.0.0.8:5060" in pjsip
    assert "event_asterisk-devicestate = node2" in pjsip
    assert re.search(r"^match = 10\.0\.0\.8:5060$", pjsip, re.M)
    # an officer's own call through the edge (from the trunk's address) is known by the
    # edge's header first, as the officer's endpoint
    orders = re.findall(r"^endpoint_identifier_order = (.*)$", pjsip, re.M)
    assert orders[-1] == "header,ip,username"
    assert "[1002]\ntype = identify\nendpoint = 1002\nmatch_header = X-Lapor-Officer: 1002\n" in (
        agents
    )
    assert "endpoint = 1002-web\nmatch_header = X-Lapor-Officer: 1002-web\n" in agents
    assert "{{" not in text


@pytest.mark.parametrize(
    "peers", ["node2", "Node2=1.2.3.4:5060", "n=1.2.3.4", "n=a b:1", "n=1.2.3.4:5/02:00"]
)
def test_a_malformed_peer_is_refused(peers: str) -> None:
    block = ";{{#CLUSTER_PEERS}}\n{{PEER_NAME}} {{PEER_ADDRESS}}\n;{{/CLUSTER_PEERS}}\n"
    with pytest.raises(RenderError, match="CLUSTER_PEERS"):
        render_text(block, {"CLUSTER_PEERS": peers}, [])


def test_the_edge_knows_every_node_and_each_officers_password(tmp_path: Path) -> None:
    env = {
        **base_env(tmp_path),
        "LAPOR_CLUSTER_NODES": "node1=127.0.0.1:5460/02:00:00:00:00:01,node2=127.0.0.1:5560",
        "LAPOR_TRUNK_SOURCE_HOST": "127.0.0.1",
        "LAPOR_TRUNK_SOURCE_PORT": "5470",
    }
    etc = tmp_path / "edge"
    rendered(EDGE_DIR, etc, env, ["kamailio.cfg", "dispatcher.list"])
    nodes = (etc / "dispatcher.list").read_text()
    assert "1 sip:127.0.0.1:5460 0 0 name=node1" in nodes
    assert "1 sip:127.0.0.1:5560 0 0 name=node2" in nodes
    cfg = (etc / "kamailio.cfg").read_text()
    assert 'if ($au == "1002" && $tU == "1002")' in cfg
    assert '$var(password) = "pw-two-0123456789abcdef";' in cfg
    assert 'if ($si == "127.0.0.1" && $sp == 5470 && is_method("INVITE|MESSAGE"))' in cfg
    # a dead node1's officers are published free to node2 under node1's entity id
    assert 'if ($var(dead) == "sip:127.0.0.1:5460") {\n\t\t$var(eid) = "02:00:00:00:00:01";' in cfg
    assert '$var(device) = "PJSIP/1002";' in cfg
    # an officer's own call: recognised by its From user, the header set by the edge alone
    assert 'if ($fU == "1002" || $fU == "1002-web") {\n\t\t$var(officer) = $fU;' in cfg
    assert 'remove_hf("X-Lapor-Officer");' in cfg
    assert 'append_hf("X-Lapor-Officer: $fU\\r\\n");' in cfg
    # loopback by default, never a wildcard listener
    assert "listen=udp:127.0.0.1:5060" in cfg
    assert "listen=tcp:127.0.0.1:8080" in cfg
    assert "listen=tcp:127.0.0.1:8081" in cfg
    assert '$var(device) = "PJSIP/1002-web";' in cfg
    # the nodes' realm: a browser phone keeps its password's hash for one realm only
    assert 'www_challenge("asterisk", "0");' in cfg
    assert "{{" not in cfg + nodes


@pytest.mark.parametrize("token", ['a"; jsonrpc_dispatch(); "0123456789', "short-token"])
def test_an_edge_rpc_token_that_would_bend_the_config_or_is_weak_is_refused(
    tmp_path: Path, token: str
) -> None:
    env = {**base_env(tmp_path), "LAPOR_EDGE_RPC_TOKEN": token}
    with pytest.raises(RenderError, match="LAPOR_EDGE_RPC_TOKEN"):
        rendered(EDGE_DIR, tmp_path / "edge", env, ["kamailio.cfg"])


def test_the_edge_rpc_answers_only_its_token(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "LAPOR_EDGE_RPC_TOKEN": "edge-token-0123456789abcdef"}
    cfg = rendered(EDGE_DIR, tmp_path / "edge", env, ["kamailio.cfg"])
    assert '$hdr(X-Lapor-Edge-Token) == "edge-token-0123456789abcdef"' in cfg
    # no token configured: a header of 16+ characters can never equal the empty string
    cfg = rendered(EDGE_DIR, tmp_path / "edge2", base_env(tmp_path), ["kamailio.cfg"])
    assert "$(hdr(X-Lapor-Edge-Token){s.len}) >= 16" in cfg
