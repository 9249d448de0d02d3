"""The sweep in the served app: a browser phone's password whose console session ended
without a sign-out (it expired, or its token was revoked elsewhere) is deleted from AstDB,
and the browser phone leaves the queue, as at sign-out.

Every few minutes (``browser_phone_sweep_seconds``) each replica revokes the credentials
whose session token is no longer live. One Asterisk can't be reached keeps its row and
is tried again at the next sweep. Replicas may sweep the same credential at once: the
AstDB delete is idempotent and the row is forgotten only while it is that same issue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from api.core.ami_control import AmiCommandError
from api.core.clock import utc_now
from api.core.deps import control_of
from api.core.run_once import in_background, pause
from api.core.settings import ApiSettings
from api.people.phone_credentials import Issued, forget, orphaned

log = logging.getLogger("uvicorn.error")
Revoke = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Swept:
    revoked: list[str]
    pending: list[str]


async def sweep(engine: Engine, revoke: Revoke, now: datetime | None = None) -> Swept:
    """Revoke every credential whose session is over; ``revoke(endpoint)`` deletes one
    from AstDB (and takes the browser phone out of the queue) and raises AmiCommandError
    when Asterisk could not be told."""
    now = now or utc_now()
    done = Swept([], [])
    for issued in await asyncio.to_thread(_orphaned, engine, now):
        # Looked at again just before: the officer may have signed in again and been
        # issued a new password meanwhile, which the delete would take away.
        if issued not in await asyncio.to_thread(_orphaned, engine, now):
            continue
        try:
            await revoke(issued.endpoint)
        except AmiCommandError as exc:
            log.warning("browser phone %s: session over, not revoked yet: %s", issued.endpoint, exc)
            done.pending.append(issued.endpoint)
            continue
        await asyncio.to_thread(_forget, engine, issued.endpoint, issued.issued_at)
        log.info("browser phone %s: session over, credential revoked", issued.endpoint)
        done.revoked.append(issued.endpoint)
    return done


def _orphaned(engine: Engine, now: datetime) -> list[Issued]:
    with Session(engine) as session:
        return orphaned(session, now)


def _forget(engine: Engine, endpoint: str, issued_at: datetime) -> None:
    with Session(engine) as session:
        forget(session, endpoint, issued_at)


def ami_revoke(settings: ApiSettings) -> Revoke:
    """The real revoke: the API's ``control`` AMI user (every node, and the edge), as at
    sign-out."""
    return control_of(settings).browser_phone_off


async def run(engine: Engine, settings: ApiSettings, stop: asyncio.Event) -> None:
    revoke = ami_revoke(settings)
    while not stop.is_set():
        try:
            await sweep(engine, revoke)
        except Exception:
            log.exception("browser phone sweep failed; retrying later")
        await pause(stop, settings.browser_phone_sweep_seconds)


@asynccontextmanager
async def scheduled(engine: Engine, settings: ApiSettings) -> AsyncIterator[None]:
    async with in_background(lambda stop: run(engine, settings, stop)):
        yield
