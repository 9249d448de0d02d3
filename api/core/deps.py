"""Shared route dependencies taken from the app's state, the AMI control client among them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.core.ami_control import AmiControl
from api.core.clock import WorkCalendar
from api.core.edge_control import EdgeControl
from api.core.settings import ApiSettings, ami_peers


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_calendar(request: Request) -> WorkCalendar:
    return WorkCalendar(get_settings(request).holidays)


def control_of(settings: ApiSettings) -> AmiControl:
    """The API's least-privilege AMI client (queue login, pause, callbacks, SMS replies),
    with the peer nodes' AMI (queue membership, failover, supervision on a call's node)
    and the SIP edge for browser phones."""
    user, secret = settings.ami_control_user, settings.ami_control_secret
    peers = tuple(
        AmiControl(peer.host, peer.port, user, secret, node=peer.node)
        for peer in ami_peers(settings.ami_peer_hosts)
    )
    edge = None
    if settings.edge_rpc_url:
        edge = EdgeControl(settings.edge_rpc_url, settings.edge_rpc_token)
    return AmiControl(
        settings.ami_host,
        settings.ami_port,
        user,
        secret,
        peers=peers,
        edge=edge,
        node=settings.ami_node,
    )


def control(request: Request) -> AmiControl:
    return control_of(get_settings(request))


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
CalendarDep = Annotated[WorkCalendar, Depends(get_calendar)]
ControlDep = Annotated[AmiControl, Depends(control)]
