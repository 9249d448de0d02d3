"""Delivering a stored daily report by email and Telegram, each channel once.

Each configured channel is claimed in ``report_delivery`` (``delivery_record.claim``),
so a channel already sent, or being sent by another replica, is left alone. The claimer
tries up to ``delivery_attempts`` times, waiting ``delivery_base_delay_seconds`` and then
twice as long after each failure, and records every attempt; after the last it is
``failed`` with the reason, and a later run (the schedule's next check, or
``lapor report deliver``) tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import date

from sqlalchemy import Engine
from sqlmodel import Session

from api.core.metrics import REPORT_DELIVERIES
from api.core.settings import ApiSettings
from api.reports import channels, service
from api.reports.channels import Outgoing
from api.reports.delivery_record import (
    Channel,
    DeliveryStatus,
    ReportDelivery,
    claim,
    of_day,
    record_attempt,
)

log = logging.getLogger("uvicorn.error")

Sender = Callable[[ApiSettings, Outgoing], Awaitable[None]]


async def _email(settings: ApiSettings, report: Outgoing) -> None:
    await asyncio.to_thread(channels.send_email, settings, report)


def configured(settings: ApiSettings) -> dict[Channel, tuple[str, Sender]]:
    """The channels set up in ``settings``, with their target as recorded."""
    found: dict[Channel, tuple[str, Sender]] = {}
    if settings.email_enabled:
        found[Channel.email] = (channels.email_target(settings), _email)
    if settings.telegram_enabled:
        found[Channel.telegram] = (settings.telegram_chat_id, channels.send_telegram)
    return found


def _reason(exc: Exception, settings: ApiSettings) -> str:
    text = f"{type(exc).__name__}: {exc}"
    for secret in (settings.telegram_bot_token, settings.smtp_password):
        if secret:
            text = text.replace(secret, "***")
    return text


def _load(engine: Engine, day: date) -> Outgoing:
    with Session(engine) as session:
        return channels.outgoing(service.load(service.get(session, day)))


def _claim(engine: Engine, day: date, channel: Channel, target: str) -> bool:
    with Session(engine) as session:
        return claim(session, day=day, channel=channel, target=target)


def _record(engine: Engine, day: date, channel: Channel, error: str | None, final: bool) -> None:
    with Session(engine) as session:
        record_attempt(session, day=day, channel=channel, error=error, final=final)


def records(engine: Engine, day: date) -> list[ReportDelivery]:
    with Session(engine) as session:
        return of_day(session, day)


async def _send(
    engine: Engine,
    settings: ApiSettings,
    day: date,
    channel: Channel,
    send: Sender,
    report: Outgoing,
    stop: asyncio.Event,
) -> None:
    """Try up to ``delivery_attempts`` times; ``stop`` ends the waiting (and the tries)."""
    delay = settings.delivery_base_delay_seconds
    for attempt in range(1, settings.delivery_attempts + 1):
        try:
            await send(settings, report)
        except Exception as exc:
            reason = _reason(exc, settings)
            REPORT_DELIVERIES.labels(channel=channel.value, outcome="failed").inc()
            final = attempt == settings.delivery_attempts or stop.is_set()
            await asyncio.to_thread(_record, engine, day, channel, reason, final)
            log.warning(
                "daily report %s by %s: attempt %d failed: %s", day, channel, attempt, reason
            )
            if final:
                log.error("daily report %s by %s: failed after %d attempts", day, channel, attempt)
                return
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay *= 2
            continue
        await asyncio.to_thread(_record, engine, day, channel, None, True)
        REPORT_DELIVERIES.labels(channel=channel.value, outcome="sent").inc()
        log.info("daily report %s by %s: sent", day, channel)
        return


async def deliver(
    engine: Engine, settings: ApiSettings, day: date, stop: asyncio.Event | None = None
) -> list[ReportDelivery]:
    """Send ``day``'s stored report on every configured channel not yet sent; returns the
    day's delivery records. NotFound if the report has not been made."""
    stop = stop or asyncio.Event()
    report: Outgoing | None = None  # rendered once, and only if some channel is ours
    for channel, (target, send) in configured(settings).items():
        if await asyncio.to_thread(_claim, engine, day, channel, target):
            if report is None:
                report = await asyncio.to_thread(_load, engine, day)
            await _send(engine, settings, day, channel, send, report, stop)
    return await asyncio.to_thread(records, engine, day)


def all_sent(settings: ApiSettings, rows: list[ReportDelivery]) -> bool:
    sent = {row.channel for row in rows if row.status == DeliveryStatus.sent}
    return set(configured(settings)) <= sent
