"""IVR nodes: the lease on a node id, and the ticket floor (see api/ivr_nodes/service.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, Field

from api.core.auth import Principal, Role, require_roles
from api.core.clock import as_utc
from api.core.db import SessionDep
from api.core.deps import SettingsDep
from api.ivr_nodes import service

router = APIRouter(prefix="/ivr/nodes", tags=["ivr"])
IvrDep = Annotated[Principal, Depends(require_roles(Role.ivr))]
NodeId = Annotated[int, Path(ge=10, le=99, description="The IVR's LAPOR_IVR_NODE_ID")]


class LeaseRequest(BaseModel):
    holder: str = Field(
        min_length=8, max_length=64, description="The node spool's identity (a random id)."
    )
    host: str = Field(default="", max_length=255)
    pid: int | None = Field(default=None, ge=0, le=2**31 - 1)
    ttl_seconds: int = Field(
        default=30, ge=5, le=600, description="The lease lapses if not renewed within this."
    )


class NodeTickets(BaseModel):
    node_id: int
    highest_ticket: str | None = Field(
        description="The highest ticket of this node's prefix the API holds: the IVR's"
        " counter must never be below it."
    )


class Lease(NodeTickets):
    holder: str
    host: str
    pid: int | None
    claimed_at: datetime
    renewed_at: datetime
    expires_at: datetime
    live: bool


def _lease(lease: service.IvrNodeLease, highest: str | None) -> Lease:
    return Lease(
        node_id=lease.node_id,
        highest_ticket=highest,
        holder=lease.holder,
        host=lease.host,
        pid=lease.pid,
        claimed_at=as_utc(lease.claimed_at),
        renewed_at=as_utc(lease.renewed_at),
        expires_at=as_utc(lease.expires_at),
        live=service.is_live(lease),
    )


@router.put("/{node_id}/lease")
def claim_lease(
    node_id: NodeId, body: LeaseRequest, session: SessionDep, settings: SettingsDep, _: IvrDep
) -> Lease:
    """Claim or renew this node id for the spool ``holder``; returns the ticket floor too.

    409 ``node_id_in_use`` while another spool's lease is live: two IVRs would issue the
    same tickets; and always for the API's SMS ticket prefix, which the API issues itself.
    A lease not renewed within ``ttl_seconds`` lapses.
    """
    service.refuse_sms_prefix(node_id, settings.sms_ticket_prefix)
    wanted = service.Claim(body.holder, body.host, body.pid, timedelta(seconds=body.ttl_seconds))
    lease = service.claim(session, node_id, wanted)
    return _lease(lease, service.highest_ticket(session, node_id))


@router.delete("/{node_id}/lease", status_code=status.HTTP_204_NO_CONTENT)
def release_lease(
    node_id: NodeId,
    session: SessionDep,
    _: IvrDep,
    holder: Annotated[str, Query(min_length=8, max_length=64)],
) -> Response:
    """End this spool's lease (a clean shutdown); another holder's lease is left alone."""
    service.release(session, node_id, holder)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{node_id}/tickets")
def node_tickets(node_id: NodeId, session: SessionDep, _: IvrDep) -> NodeTickets:
    """The highest ticket of this node's prefix the API holds (a classic-only node seeds
    its counter from it in ``lapor-ivr flush``)."""
    return NodeTickets(node_id=node_id, highest_ticket=service.highest_ticket(session, node_id))


@router.get("")
def list_leases(
    session: SessionDep,
    _: Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin))],
) -> list[Lease]:
    """Every IVR node id claimed so far, with its holder and whether the lease is live."""
    return [
        _lease(lease, service.highest_ticket(session, lease.node_id))
        for lease in service.leases(session)
    ]
