"""The sender of status SMS, in every served replica: every ``status_sms_check_seconds``
it takes the due messages one by one (status_messages.claim: one taker per message) and
hands each to the gateway ``status_sms_via`` names.

Over SIP, AMI ``MessageSend`` answers Success once Asterisk has taken the message for the
trunk; the trunk's own answer to the SIP MESSAGE is not reported back over AMI.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine
from sqlmodel import Session

from api.core.clock import utc_now
from api.core.deps import control_of
from api.core.run_once import in_background, pause, runner_name
from api.core.settings import ApiSettings
from api.sms.gateways import Send, SendFailed, citizen_sender
from api.sms.opt_out import opted_out
from api.sms.status_messages import (
    SkipReason,
    StatusSms,
    claim,
    due,
    record_attempt,
    skip,
)
from ivr.redact import mask_number

log = logging.getLogger("uvicorn.error")


def gateway(settings: ApiSettings) -> Send:
    """The real send for ``status_sms_via`` (sip or http)."""
    via: Literal["sip", "http"] = "http" if settings.status_sms_via == "http" else "sip"
    return citizen_sender(settings, control_of(settings), via)


async def send_due(engine: Engine, send: Send, runner: str, now: datetime | None = None) -> int:
    """Send every message due now (or at ``now``, for tests); the number of attempts made."""
    tried = 0
    for row_id in await asyncio.to_thread(_due, engine, now or utc_now()):
        # The clock read again for each: a claim's lease starts when it is taken.
        at = now or utc_now()
        message = await asyncio.to_thread(_claim, engine, row_id, runner, at)
        if message is None:
            continue  # another worker or replica took it
        if await asyncio.to_thread(_opted_out, engine, message.number):
            await asyncio.to_thread(_skip, engine, message, runner)
            continue
        tried += 1
        error = None
        try:
            await send(message.number, message.line, message.text)
        except SendFailed as exc:
            error = str(exc) or type(exc).__name__
            log.warning(
                "status SMS %s to %s failed: %s", message.id, mask_number(message.number), error
            )
        await asyncio.to_thread(_record, engine, message, runner, error, now or utc_now())
    return tried


def _due(engine: Engine, now: datetime) -> list[int]:
    with Session(engine) as session:
        return due(session, now)


def _claim(engine: Engine, row_id: int, runner: str, now: datetime) -> StatusSms | None:
    with Session(engine, expire_on_commit=False) as session:
        return claim(session, row_id, runner, now)


def _opted_out(engine: Engine, number: str) -> bool:
    with Session(engine) as session:
        return opted_out(session, number)


def _skip(engine: Engine, message: StatusSms, runner: str) -> None:
    with Session(engine) as session:
        skip(session, message, runner, SkipReason.opted_out)


def _record(
    engine: Engine, message: StatusSms, runner: str, error: str | None, now: datetime
) -> None:
    with Session(engine) as session:
        record_attempt(session, message, runner, error, now)


async def run(engine: Engine, settings: ApiSettings, stop: asyncio.Event) -> None:
    send, runner = gateway(settings), runner_name()
    while not stop.is_set():
        try:
            await send_due(engine, send, runner)
        except Exception:
            log.exception("status SMS: sending failed; retrying later")
        await pause(stop, settings.status_sms_check_seconds)


@asynccontextmanager
async def scheduled(engine: Engine, settings: ApiSettings) -> AsyncIterator[None]:
    """Send status SMS in the background while the app serves (unless turned off)."""
    if settings.status_sms_via == "off":
        yield
        return
    async with in_background(lambda stop: run(engine, settings, stop)):
        yield
