"""Prompts and small steps shared by the handlers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from agi_scripts.services import Services
from ivr import Channel, Handler
from ivr.errors import AGIError
from ivr.menu import choose
from ivr.settings import classic_settings
from ivr.speech import prompt

logger = logging.getLogger(__name__)

INVALID = prompt("pilihan-salah")
NO_INPUT = prompt("tidak-ada-pilihan")
TO_OFFICER = prompt("ke-petugas")

ServiceHandler = Callable[[Channel, Services], Awaitable[None]]


async def menu(channel: Channel, prompts: Sequence[str], keys: str) -> str | None:
    """A menu with our re-prompts; the key pressed, or None after 3 failures."""
    return await choose(channel, prompts, keys, invalid_prompt=INVALID, no_input_prompt=NO_INPUT)


async def to_officer(channel: Channel, why: str) -> None:
    """Tell the caller an officer is coming; the dialplan queues the call after the AGI."""
    await channel.set_variable("LAPOR_EXIT", why)
    await channel.stream_file(TO_OFFICER)


async def user_event(channel: Channel, name: str, **headers: str) -> None:
    """Emit an AMI UserEvent; works after a hangup too (EXEC is allowed on a dead channel)."""
    args = [name, *(f"{key}: {value}" for key, value in headers.items())]
    try:
        await channel.exec("UserEvent", *args)
    except AGIError as exc:
        logger.warning("could not emit UserEvent %s: %s", name, exc)


async def set_quietly(channel: Channel, name: str, value: str) -> None:
    try:
        await channel.set_variable(name, value)
    except AGIError as exc:
        logger.info("could not set %s: %s", name, exc)


def with_services(handler: ServiceHandler, services: Services) -> Handler:
    """A plain ``Handler`` (channel only) for the route table."""

    async def bound(channel: Channel) -> None:
        await handler(channel, services)

    bound.__name__ = handler.__name__
    return bound


def run_classic_script(handler: ServiceHandler) -> int:
    """Entry point of a handler module run as a classic AGI script by Asterisk."""
    from ivr.classic import run_classic

    async def classic(channel: Channel) -> None:
        services = Services.from_settings(classic_settings())
        try:
            await handler(channel, services)
        finally:
            await services.aclose()

    return run_classic(classic)
