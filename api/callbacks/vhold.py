"""Virtual hold: a callback request keeps the citizen's place in the queue.

Every replica's dialer runs ``tick`` every ``callback_dialer_seconds``. For each callback
request nobody has reached yet, it keeps one placeholder in the queue (an async AMI
Originate of a Local channel, asterisk_conf/extensions.conf ``[vhold-wait]``): when an
officer takes it, the existing dial flow rings the citizen and reports
``LaporCallbackDial``, which ``dial.settle`` records as the attempt's outcome.

All state is in the database (``callback_hold``), so nothing is lost across restarts:

- one placeholder per callback: the dial claim (``dial.claim``, held by ``DIALER`` while
  the placeholder lives, so officers can't dial it by hand meanwhile) and a conditional
  UPDATE of ``placeholder`` decide between replicas;
- a placeholder whose call record ended unanswered (an Asterisk restart's cut-off, the
  wait ran out, the Originate failed) is placed again with no attempt counted; one still
  alive after an API restart is found by its id and left alone;
- a citizen not reached (busy, no answer) gets a new placeholder after each delay of
  ``callback_retry_minutes`` in turn, then one SMS (``[callbacks] missed`` of the SMS
  catalog) through the outbound SMS path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Engine, and_, or_, update
from sqlmodel import Session, col, select

from api.callbacks import dial as dialling
from api.callbacks.calling import CITIZEN_RING_SECONDS
from api.callbacks.hold import (
    REACHED,
    SMS_DUE,
    SMS_SENDING,
    SMS_SENT,
    CallbackHold,
    holds_of,
)
from api.callbacks.missed_sms import missed_text, sms_sender
from api.callbacks.service import CallbackRequest, not_reached_since, usable_line
from api.core.ami_control import AmiCommandError
from api.core.clock import as_utc, utc_now
from api.core.db import conflict_insert
from api.core.deps import control_of
from api.core.errors import Conflict
from api.core.run_once import in_background, pause
from api.core.settings import ApiSettings
from api.events.models import Call
from api.events.placeholders import PREFIX, queue_side
from api.sms.gateways import Send

log = logging.getLogger("uvicorn.error")
# Who holds the dial claim of a callback whose placeholder is in the queue.
DIALER = "antrean"
# An officer took the placeholder and the call ended, but no LaporCallbackDial came (the
# collector was down, the channel died): after this long it counts as not reached.
OUTCOME_GRACE = timedelta(minutes=5)
HALF_CLAIM = dialling.CLAIM_TTL / 2
# A missed-callback SMS that failed is tried again after SMS_RETRY (not every tick); one a
# worker took and never recorded (it died mid-send) is taken again after SMS_LEASE.
SMS_RETRY = timedelta(minutes=1)
SMS_LEASE = timedelta(minutes=5)
# The outcomes the dialplan reports (LaporCallbackDial), and a closed callback.
DIALLED = {*dialling.OUTCOMES.values(), dialling.NO_ANSWER, dialling.WRONG_NUMBER}


@dataclass(frozen=True)
class Placement:
    callback_id: str
    number: str
    line: str
    ticket: str | None
    channel_id: str


@dataclass
class Tick:
    placed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    texted: list[str] = field(default_factory=list)


# AmiControl.place_in_queue (a stand-in in the tests).
PlaceInQueue = Callable[..., Awaitable[None]]


def _pending_requests(session: Session, since: datetime) -> list[CallbackRequest]:
    finished = select(CallbackHold.callback_id).where(col(CallbackHold.finished).is_not(None))
    query = (
        select(CallbackRequest)
        .where(
            col(CallbackRequest.requested_at) >= since,
            not_reached_since(CallbackRequest.number, CallbackRequest.queue_entered_at),
        )
        .order_by(col(CallbackRequest.queue_entered_at))
    )
    done = set(session.exec(finished).all())
    return [row for row in session.exec(query).all() if f"r{row.id}" not in done]


def _holds(session: Session, requests: list[CallbackRequest], now: datetime) -> list[CallbackHold]:
    """The hold of each request, made (due now) for requests the dialer has not seen."""
    ids = [f"r{request.id}" for request in requests]
    known = holds_of(session, ids)
    new = [
        {"callback_id": callback_id, "number": request.number, "next_at": now, "failures": 0}
        for callback_id, request in zip(ids, requests, strict=True)
        if callback_id not in known
    ]
    if new:
        stmt = conflict_insert(session, CallbackHold).on_conflict_do_nothing()
        session.connection().execute(stmt, new)
        session.commit()
        known = holds_of(session, ids)
    return [known[callback_id] for callback_id in ids]


def _update(session: Session, callback_id: str, expected: str | None, **values: object) -> bool:
    """Change the hold only if its placeholder is still ``expected`` (what this replica
    read) and it is not finished: of racing replicas, one wins."""
    result = session.connection().execute(
        update(CallbackHold)
        .where(
            col(CallbackHold.callback_id) == callback_id,
            col(CallbackHold.placeholder).is_(None)
            if expected is None
            else col(CallbackHold.placeholder) == expected,
            col(CallbackHold.finished).is_(None),
        )
        .values(**values)
    )
    session.commit()
    return bool(result.rowcount)


def _gone(session: Session, callback_id: str, placeholder: str, now: datetime) -> None:
    """The placeholder left the queue without an officer: placed again, no attempt."""
    if _update(session, callback_id, placeholder, placeholder=None, placed_at=None, next_at=now):
        dialling.release(session, callback_id, placeholder)
        log.info("callback %s: placeholder %s gone unanswered", callback_id, placeholder)


def _outcome(session: Session, row: CallbackHold, settings: ApiSettings, now: datetime) -> None:
    """Look at the placeholder in the queue: still waiting, answered, or gone."""
    callback_id, placeholder, failures = row.callback_id, row.placeholder, row.failures
    placed = as_utc(row.placed_at) if row.placed_at else now
    assert placeholder is not None
    dial = session.get(dialling.CallbackDial, callback_id)
    outcome = dial.outcome if dial is not None and dial.channel_id == placeholder else None
    if outcome not in DIALLED:
        outcome = None  # an officer's note (call later) while it waits changes nothing
    call = session.exec(select(Call).where(Call.linkedid == placeholder)).first()
    if outcome is None and call is not None and call.ended_at is not None:
        if call.answered_at is None and call.queue_entered_at is not None:
            _gone(session, callback_id, placeholder, now)
            return
        # Refused before the queue ([vhold-wait] checks the number again): an attempt, so
        # the schedule bounds it. Or answered, and the outcome never came.
        if call.answered_at is not None and now - as_utc(call.ended_at) < OUTCOME_GRACE:
            return
        outcome = dialling.NO_ANSWER
    if outcome is None:
        wait = timedelta(minutes=settings.callback_hold_wait_minutes) + OUTCOME_GRACE
        if call is None and now - placed > wait:
            # Nothing of it ever arrived: it ended by its wait limit at the latest.
            _gone(session, callback_id, placeholder, now)
        else:
            _keep_claim(session, dial, placeholder, now)
        return
    failures += 0 if outcome in dialling.CLOSED else 1
    delays = settings.callback_retry_minutes
    values: dict[str, object] = {"placeholder": None, "placed_at": None, "failures": failures}
    if outcome in dialling.CLOSED:
        values.update(finished=REACHED, finished_at=now)
    elif failures > len(delays):
        values.update(finished=SMS_DUE, finished_at=now)
    else:
        values["next_at"] = now + timedelta(minutes=delays[failures - 1])
    if _update(session, callback_id, placeholder, **values):
        session.connection().execute(
            update(dialling.CallbackDial)
            .where(col(dialling.CallbackDial.callback_id) == callback_id)
            .values(
                attempts=dialling.CallbackDial.attempts + 1,
                outcome=outcome,
                outcome_at=sa.func.coalesce(dialling.CallbackDial.outcome_at, now),
                claimed_by=None,
                claimed_until=None,
            )
        )
        session.commit()
        log.info("callback %s: %s, %d missed", callback_id, outcome, failures)


def _keep_claim(
    session: Session, dial: dialling.CallbackDial | None, channel_id: str, now: datetime
) -> None:
    """The placeholder still waits: its claim stays live (officers can't dial it). Renewed
    once half its time is gone, so a tick with every placeholder waiting writes nothing."""
    if dial is None or dial.channel_id != channel_id:
        return
    until = dial.claimed_until
    if dial.claimed_by == DIALER and until is not None and as_utc(until) - now > HALF_CLAIM:
        return
    callback_id = dial.callback_id
    session.connection().execute(
        update(dialling.CallbackDial)
        .where(
            col(dialling.CallbackDial.callback_id) == callback_id,
            col(dialling.CallbackDial.channel_id) == channel_id,
        )
        .values(claimed_by=DIALER, claimed_until=now + dialling.CLAIM_TTL)
    )
    session.commit()


def _claim(session: Session, request: CallbackRequest, row: CallbackHold) -> Placement | None:
    callback_id = row.callback_id
    try:
        channel_id = dialling.claim(
            session, callback_id=callback_id, number=request.number, agent=DIALER, prefix=PREFIX
        )
    except Conflict:
        return None  # an officer is calling by hand, or the citizen was reached
    if not _update(session, callback_id, None, placeholder=channel_id, placed_at=utc_now()):
        dialling.release(session, callback_id, channel_id)
        return None
    return Placement(callback_id, request.number, request.line, request.ticket, channel_id)


def plan(session: Session, settings: ApiSettings, now: datetime) -> list[Placement]:
    """Bring every pending callback up to date; the placeholders to place now, claimed."""
    dialling.settle(session)
    since = now - timedelta(hours=settings.callback_hold_horizon_hours)
    placements: list[Placement] = []
    waiting = select(CallbackHold).where(
        col(CallbackHold.placeholder).is_not(None), col(CallbackHold.finished).is_(None)
    )
    for row in session.exec(waiting).all():
        _outcome(session, row, settings, now)
    requests = _pending_requests(session, since)
    for request, row in zip(requests, _holds(session, requests, now), strict=True):
        if row.placeholder is None and row.finished is None and as_utc(row.next_at) <= now:
            placement = _claim(session, request, row)
            if placement is not None:
                placements.append(placement)
    return placements


def unplaced(session: Session, placement: Placement) -> None:
    """Asterisk refused the Originate: no placeholder, no attempt; tried again next tick."""
    callback_id, channel_id = placement.callback_id, placement.channel_id
    if _update(session, callback_id, channel_id, placeholder=None, placed_at=None):
        dialling.release(session, callback_id, channel_id)


async def place(place_in_queue: PlaceInQueue, placement: Placement, settings: ApiSettings) -> None:
    await place_in_queue(
        number=placement.number,
        caller_label=f"Callback {placement.ticket or placement.callback_id}",
        channel_id=placement.channel_id,
        queue_channel_id=queue_side(placement.channel_id),
        variables={
            "LAPOR_CALLBACK": placement.callback_id,
            "LAPOR_CALLBACK_LINE": placement.line if usable_line(placement.line) else "",
            "LAPOR_CALLBACK_RING": str(CITIZEN_RING_SECONDS),
        },
        wait_seconds=settings.callback_hold_wait_minutes * 60,
    )


@dataclass(frozen=True)
class MissedSms:
    callback_id: str
    number: str
    line: str


def _sms_ready(now: datetime) -> ColumnElement[bool]:
    """SQL: an SMS to take now: due and not failed within SMS_RETRY, or left ``sending``
    for SMS_LEASE by a worker that died before recording how it went."""
    return or_(
        and_(
            col(CallbackHold.finished) == SMS_DUE,
            or_(
                col(CallbackHold.sms_error).is_(None),
                col(CallbackHold.finished_at) <= now - SMS_RETRY,
            ),
        ),
        and_(
            col(CallbackHold.finished) == SMS_SENDING,
            col(CallbackHold.finished_at) <= now - SMS_LEASE,
        ),
    )


def _sms_due(session: Session, now: datetime) -> list[MissedSms]:
    """SMS to send, each taken by one replica (``SMS_DUE`` → ``SMS_SENDING``, its lease
    starting now)."""
    due = session.exec(select(CallbackHold).where(_sms_ready(now))).all()
    taken: list[MissedSms] = []
    for row in due:
        result = session.connection().execute(
            update(CallbackHold)
            .where(col(CallbackHold.callback_id) == row.callback_id, _sms_ready(now))
            .values(finished=SMS_SENDING, finished_at=now)
        )
        session.commit()
        if result.rowcount:
            request = session.get(CallbackRequest, int(row.callback_id[1:]))
            line = request.line if request is not None else ""
            taken.append(MissedSms(row.callback_id, row.number, line))
    return taken


def _sms_done(session: Session, callback_id: str, error: str | None, now: datetime) -> None:
    session.connection().execute(
        update(CallbackHold)
        .where(col(CallbackHold.callback_id) == callback_id)
        .values(
            finished=SMS_DUE if error else SMS_SENT,
            finished_at=now,
            sms_error=error[:200] if error else None,
        )
    )
    session.commit()


async def tick(
    engine: Engine,
    place_in_queue: PlaceInQueue,
    send_sms: Send,
    settings: ApiSettings,
    text: str,
    now: datetime | None = None,
) -> Tick:
    """One round of the dialer: outcomes recorded, placeholders placed, SMS sent."""
    done = Tick()
    now = now or utc_now()
    placements = await asyncio.to_thread(_in_session, engine, lambda s: plan(s, settings, now))
    for placement in placements:
        try:
            await place(place_in_queue, placement, settings)
            done.placed.append(placement.callback_id)
        except AmiCommandError as exc:
            log.warning("callback %s: placeholder refused: %s", placement.callback_id, exc)
            await asyncio.to_thread(_in_session, engine, lambda s, p=placement: unplaced(s, p))
            done.failed.append(placement.callback_id)
    for row in await asyncio.to_thread(_in_session, engine, lambda s: _sms_due(s, now)):
        error: str | None = None
        try:
            await send_sms(row.number, row.line, text)
            done.texted.append(row.callback_id)
        except Exception as exc:  # any gateway failure: kept, shown, retried next tick
            error = f"{type(exc).__name__}: {exc}"
            log.warning("callback %s: SMS not sent: %s", row.callback_id, error)
        await asyncio.to_thread(
            _in_session, engine, lambda s, r=row, e=error: _sms_done(s, r.callback_id, e, now)
        )
    return done


T = TypeVar("T")


def _in_session(engine: Engine, work: Callable[[Session], T]) -> T:
    with Session(engine) as session:
        return work(session)


async def run(engine: Engine, settings: ApiSettings, stop: asyncio.Event) -> None:
    ami = control_of(settings)  # with the peer nodes: placed on another if this one is down
    send = sms_sender(settings, ami)
    while not stop.is_set():
        try:
            await tick(engine, ami.place_in_queue, send, settings, missed_text())
        except Exception:
            log.exception("callback dialer failed; retrying later")
        await pause(stop, settings.callback_dialer_seconds)


@asynccontextmanager
async def scheduled(engine: Engine, settings: ApiSettings) -> AsyncIterator[None]:
    if not settings.callback_dialer_enabled or not settings.ami_control_secret:
        # Without the control user's secret there is no Asterisk to place anything in.
        yield
        return
    async with in_background(lambda stop: run(engine, settings, stop)):
        yield
