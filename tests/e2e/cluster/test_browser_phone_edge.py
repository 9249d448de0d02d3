"""An officer's browser phone behind the SIP edge (JsSIP in Debian's Chromium): it
registers with Kamailio over WebSocket with the console's short-lived password, which the
API put into the edge over its JSON-RPC; queue calls from each of the two nodes ring in
the page through the edge, and audio flows both ways straight between the page and that
node's Asterisk; an attended transfer from the page consults a city unit on the node of
the citizen's call (the browser's own INVITE through the edge) and joins them; at sign-out
the edge forgets the password and the registration. The edge's RPC port answers nobody
without its token.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from sandbox.cluster import Cluster
from sandbox.harness import QUEUE, TRANSFER_NUMBERS
from tests.e2e.browser import chromium_page, sign_in
from tests.e2e.calls import random_caller
from tests.e2e.officers import add_officer, event
from tests.e2e.services import ApiProcess, fresh_api_process
from tests.e2e.test_browser_phone import (
    CITIZEN_TALKS,
    SILENT_STUN,
    assert_audio_both_ways,
    assert_logged_without_secret,
    register_with,
)

pytestmark = pytest.mark.e2e
LINE = "082282204761"
CALL_TIMEOUT = 60.0
LONG_TALK_SECONDS = "600"
ATTENDED_TO = TRANSFER_NUMBERS.split(",")[1].split("=")[1]


def cluster_env(cluster: Cluster) -> dict[str, str]:
    """The API's AMI control client on node 1 with node 2 as its peer, the browser phones
    at the edge."""
    first, second = cluster.nodes
    return {
        "LAPOR_API_AMI_PORT": str(first.config.ami_port),
        "LAPOR_API_AMI_PEER_HOSTS": f"127.0.0.1:{second.config.ami_port}",
        "LAPOR_API_AMI_CONTROL_SECRET": first.secrets.control,
        "LAPOR_API_CALLBACK_DIALER_ENABLED": "false",
        "LAPOR_API_WEBRTC_WS_URL": cluster.edge_ws_url,
        "LAPOR_API_EDGE_RPC_URL": cluster.edge_rpc_url,
        "LAPOR_API_EDGE_RPC_TOKEN": cluster.edge_rpc_token,
        "LAPOR_API_WEBRTC_ICE_SERVERS": json.dumps([SILENT_STUN]),
        "LAPOR_API_LOG_LEVEL": "debug",
        "LAPOR_API_TRANSFER_NUMBERS": TRANSFER_NUMBERS,
    }


@pytest.fixture
def browser_phones_only(cluster: Cluster) -> Iterator[None]:
    """No desk phone in either node's queue (a call can only ring the browser phone); the
    desk phones back in, and every call hung up, afterwards."""
    carrier = cluster.carrier_sandbox.carrier
    carrier.rx(f"dialplan set global AGENT_TALK_SECONDS {LONG_TALK_SECONDS}")
    for node in cluster.nodes:
        for agent in node.config.agents:
            for phone in (agent, f"{agent}-web"):
                node.callcenter.rx(f"queue remove member PJSIP/{phone} from {QUEUE}")
    try:
        yield
    finally:
        carrier.rx("dialplan set global AGENT_TALK_SECONDS 3")
        for node in cluster.nodes:
            node.callcenter.rx("channel request hangup all")
            for agent in node.config.agents:
                node.callcenter.rx(f"queue remove member PJSIP/{agent}-web from {QUEUE}")
        for agent in cluster.configs[0].agents:
            cluster.add_member(agent)


def contacts_at_edge(cluster: Cluster, endpoint: str) -> list[str]:
    """The contacts the edge's location table holds for ``endpoint``."""
    text = cluster.edge.kamcmd("ul.lookup", "location", endpoint)
    return re.findall(r"Address:\s*(\S+)", text)


def queued_on(cluster: Cluster, caller: str) -> int:
    """The index of the node whose queue_log has ``caller`` entering the queue."""
    for index, node in enumerate(cluster.nodes):
        for line in node.callcenter.queue_log.read_text().splitlines():
            fields = line.split("|")
            if len(fields) > 6 and fields[4] == "ENTERQUEUE" and fields[6] == caller:
                return index
    raise AssertionError(f"{caller} entered no node's queue")


async def answer_a_call(page: Page, cluster: Cluster) -> int:
    """A citizen calls through the edge; the officer answers in the page, hears and is
    heard. Returns the index of the node the call is on."""
    caller = random_caller()
    placed = asyncio.create_task(cluster.carrier_sandbox.place_call(LINE, caller, CITIZEN_TALKS))
    await expect(page.locator("#phone-call")).to_have_attribute(
        "data-state", "ringing", timeout=CALL_TIMEOUT * 1000
    )
    await page.get_by_role("button", name="Angkat").click()
    await placed
    await expect(page.locator("#phone-call")).to_have_attribute("data-state", "on_call")
    await assert_audio_both_ways(page)
    return queued_on(cluster, caller)


async def test_a_browser_phone_registered_at_the_edge_takes_calls_from_both_nodes(
    cluster: Cluster, browser_phones_only: None, tmp_path: Path
) -> None:
    username = f"rina{secrets.token_hex(3)}"
    extension = cluster.configs[0].agents[0]
    endpoint = f"{extension}-web"

    def prepare(process: ApiProcess) -> None:
        add_officer(process, username, extension)

    with fresh_api_process(tmp_path / "api.log", cluster_env(cluster), prepare) as api:
        async with (
            await cluster.nodes[0].connect_ami() as first_ami,
            await cluster.nodes[1].connect_ami() as second_ami,
            chromium_page("browser-phone-edge") as page,
        ):
            amis = (first_ami, second_ami)
            async with page.expect_response("**/console/phone/credential") as issued:
                await sign_in(page, api.url, username)
            account = await (await issued.value).json()
            assert account["ws_url"] == cluster.edge_ws_url
            await expect(page.locator("#phone-reg")).to_have_attribute("data-state", "registered")
            # Registered with the edge (Kamailio's location table), not with a node.
            assert endpoint in cluster.edge.kamcmd("ul.lookup", "location", endpoint)
            for node in cluster.nodes:
                assert cluster.edge_address in node.callcenter.rx(f"pjsip show aor {endpoint}")
            # A second console tab takes the phone over (a new password, a new contact that
            # replaces the first tab's at the edge).
            first_contact = contacts_at_edge(cluster, endpoint)
            second_tab = await page.context.new_page()
            await second_tab.goto(f"{api.url}/console")
            await expect(second_tab.locator("#phone-reg")).to_have_attribute(
                "data-state", "registered"
            )
            assert len(contacts_at_edge(cluster, endpoint)) == 1
            assert contacts_at_edge(cluster, endpoint) != first_contact
            await second_tab.close()
            await page.reload()
            await expect(page.locator("#phone-reg")).to_have_attribute("data-state", "registered")

            await page.get_by_role("button", name="Masuk antrean (telepon browser)").click()
            # The API's own node and its peer both have the browser phone in their queue.
            await second_ami.wait_for(
                event("QueueMemberAdded", MemberName=username, Interface=f"PJSIP/{endpoint}"),
                CALL_TIMEOUT,
            )

            # The edge spreads calls round-robin: two calls in a row are one on each node,
            # and both ring in the page through the edge.
            first = await answer_a_call(page, cluster)
            await page.get_by_role("button", name="Tutup").click()
            await expect(page.locator("#phone-call")).to_have_attribute("data-state", "idle")
            second = await answer_a_call(page, cluster)
            assert {first, second} == {0, 1}

            # An attended transfer from the page: its consultation call (an INVITE over
            # WebSocket to the edge) reaches the node holding the citizen, which joins them.
            await page.locator("#phone-unit").select_option(ATTENDED_TO)
            await page.get_by_role("button", name="Hubungi unit dulu").click()
            await expect(page.get_by_role("button", name="Sambungkan")).to_be_enabled()
            await page.get_by_role("button", name="Sambungkan").click()
            attended = await amis[second].wait_for(event("AttendedTransfer"), CALL_TIMEOUT)
            assert attended["Result"] == "Success"
            await expect(page.locator("#phone-call")).to_have_attribute("data-state", "idle")
            assert not [m for m in amis[first].events if m.get("Event") == "AttendedTransfer"]

            # Signing out deletes the password at the edge and drops the registration.
            await page.get_by_role("button", name="Keluar", exact=True).click()
            await page.wait_for_url("**/login**")
            assert endpoint not in cluster.edge.kamcmd("ul.lookup", "location", endpoint)
            refused = await register_with(page, api.url, account)
            assert refused == "Authentication Error"
    assert_logged_without_secret(tmp_path / "api.log", account["password"])


async def test_the_edge_rpc_port_answers_nobody_without_its_token(cluster: Cluster) -> None:
    command = {"jsonrpc": "2.0", "method": "htable.dump", "params": ["webauth"], "id": 1}
    async with httpx.AsyncClient(timeout=5) as client:
        for headers in ({}, {"X-Lapor-Edge-Token": "x" * 32}):
            reply = await client.post(cluster.edge_rpc_url, json=command, headers=headers)
            assert reply.status_code == 403
        good = {"X-Lapor-Edge-Token": cluster.edge_rpc_token}
        reply = await client.post(cluster.edge_rpc_url, json=command, headers=good)
        assert reply.status_code == 200
        # Only the RPC path, and SIP over WebSocket only on the browsers' port.
        wrong_path = cluster.edge_rpc_url.replace("/RPC", "/ws")
        assert (await client.post(wrong_path, json=command, headers=good)).status_code == 403
        ws_port = cluster.edge_ws_url.replace("ws://", "http://")
        assert (await client.post(ws_port.replace("/ws", "/RPC"), json=command)).status_code == 404
