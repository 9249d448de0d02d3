"""IVR node ids: one live lease per node id, and the ticket floor (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

from api.core.auth import Role
from tests.conftest import ApiHarness
from tests.integration.test_complaints_api import complaint

SPOOL_A = "spool-aaaaaaaaaaaaaaaa"
SPOOL_B = "spool-bbbbbbbbbbbbbbbb"


def claim(api: ApiHarness, holder: str, node: int = 10, **extra: Any) -> Any:
    body = {"holder": holder, "host": "ivr-a", "pid": 4242, **extra}
    return api.client.put(f"/ivr/nodes/{node}/lease", json=body, headers=api.headers(Role.ivr))


def test_a_second_spool_is_refused_the_node_id_while_the_first_holds_it(api: ApiHarness) -> None:
    first = claim(api, SPOOL_A)
    assert first.status_code == 200
    assert (first.json()["holder"], first.json()["live"]) == (SPOOL_A, True)
    refused = claim(api, SPOOL_B, host="ivr-b")
    assert refused.status_code == 409
    assert refused.json()["error"] == "node_id_in_use"
    assert "ivr-a" in refused.json()["message"]
    assert "LAPOR_IVR_NODE_ID" in refused.json()["message"]
    # Another node id is free, and the holder renews its own lease at will.
    assert claim(api, SPOOL_B, node=11).status_code == 200
    renewed = claim(api, SPOOL_A)
    assert renewed.status_code == 200
    assert renewed.json()["claimed_at"] == first.json()["claimed_at"]
    assert renewed.json()["renewed_at"] >= first.json()["renewed_at"]


def test_a_released_or_lapsed_lease_frees_the_node_id(api: ApiHarness) -> None:
    headers = api.headers(Role.ivr)
    assert claim(api, SPOOL_A).status_code == 200
    # Only the holder's own release counts.
    api.client.delete("/ivr/nodes/10/lease", params={"holder": SPOOL_B}, headers=headers)
    assert claim(api, SPOOL_B).status_code == 409
    gone = api.client.delete("/ivr/nodes/10/lease", params={"holder": SPOOL_A}, headers=headers)
    assert gone.status_code == 204
    assert claim(api, SPOOL_B, ttl_seconds=5).status_code == 200
    # Not renewed within its TTL (a SIGKILLed IVR): the next spool takes it over.
    assert claim(api, SPOOL_A).status_code == 409
    time.sleep(5.2)
    taken = claim(api, SPOOL_A)
    assert taken.status_code == 200
    assert taken.json()["holder"] == SPOOL_A


def test_the_lease_carries_the_highest_ticket_of_the_node(api: ApiHarness) -> None:
    ivr = api.headers(Role.ivr)
    assert claim(api, SPOOL_A).json()["highest_ticket"] is None
    for ticket, uniqueid in (("10000007", "1.1"), ("10000042", "1.2"), ("11000900", "1.3")):
        body = complaint(ticket, uniqueid=uniqueid)
        assert api.client.post("/complaints", json=body, headers=ivr).status_code == 201
    # Shorter tickets of the same leading digits are not this node's.
    assert api.client.post("/complaints", json=complaint("10999", uniqueid="1.4"), headers=ivr)
    assert claim(api, SPOOL_A).json()["highest_ticket"] == "10000042"
    floor = api.client.get("/ivr/nodes/11/tickets", headers=ivr).json()
    assert floor == {"node_id": 11, "highest_ticket": "11000900"}
    listed = api.client.get("/ivr/nodes", headers=api.headers(Role.supervisor)).json()
    assert [(n["node_id"], n["highest_ticket"]) for n in listed] == [(10, "10000042")]


def test_only_the_ivr_claims_and_node_ids_stay_in_range(api: ApiHarness) -> None:
    body = {"holder": SPOOL_A}
    agent = api.client.put("/ivr/nodes/10/lease", json=body, headers=api.headers(Role.agent))
    assert agent.status_code == 403
    low = api.client.put("/ivr/nodes/9/lease", json=body, headers=api.headers(Role.ivr))
    assert low.status_code == 422


def test_the_sms_ticket_prefix_is_no_ivr_nodes_id(api: ApiHarness) -> None:
    # The API issues 90xxxxxx itself (SMS complaints): an IVR node 90 would repeat them.
    refused = claim(api, SPOOL_A, node=90)
    assert refused.status_code == 409
    assert refused.json()["error"] == "node_id_in_use"
    assert "LAPOR_API_SMS_TICKET_PREFIX" in refused.json()["message"]
    assert claim(api, SPOOL_A, node=91).status_code == 200
