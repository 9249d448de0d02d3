"""Prompts and small steps shared by the handlers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import asterisk_values as values
from agi_scripts.services import Services
from asterisk_values.numbers import national
from ivr import Channel, Handler
from ivr.errors import AGIError
from ivr.menu import choose
from ivr.settings import classic_settings
from ivr.sound_names import prompt

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
    """Emit an AMI UserEvent; works after a hangup too (EXEC is allowed on a dead channel).

    Each value is cleaned as free text (no comma, line break or substitution), so it can
    neither become a header of its own nor end the event.
    """
    args = [
        values.name(name),
        *(f"{values.name(key)}: {values.free_text(value)}" for key, value in headers.items()),
    ]
    try:
        await channel.exec("UserEvent", *args)
    except AGIError as exc:
        logger.warning("could not emit UserEvent %s: %s", name, exc)


async def called_line(channel: Channel) -> str:
    """The line the citizen called (LAPOR_LINE, else the DNID), or "" if it is not one."""
    for candidate in (await channel.get_variable("LAPOR_LINE"), channel.request.dnid):
        try:
            return values.line(candidate or "")
        except values.UnsafeValue:
            continue
    return ""


async def valid_variable(channel: Channel, name: str, kind: Callable[[str], str]) -> str:
    """A channel variable if it is a valid value of ``kind`` (asterisk_values), else ""."""
    try:
        return kind(await channel.get_variable(name) or "")
    except values.UnsafeValue:
        return ""


def caller_number(channel: Channel) -> str:
    """The caller's number in its national form (0812…, as the API stores it), or "" if
    Asterisk reported no phone number."""
    try:
        return values.phone_number(national(channel.request.callerid))
    except values.UnsafeValue:
        return ""


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
