"""Inbound SMS from the gateways: complaints filed, ticket status, help; replies sent back."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response, status
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.core.ami_control import AmiCommandError, AmiControl
from api.core.auth import Principal, Role, require_roles
from api.core.clock import WorkCalendar, utc_now
from api.core.db import SessionDep
from api.core.deps import CalendarDep, ControlDep, SettingsDep
from api.core.errors import InvalidInput, UnsupportedMediaType
from api.core.settings import ApiSettings
from api.sms.gateways import (
    ReplyFailed,
    SipSms,
    from_gateway,
    from_sip,
    reply_over_http,
    reply_over_sip,
)
from api.sms.service import InboundSms, SmsKind, SmsOutcome, SmsRules, handle_sms
from ivr.redact import mask_number

log = logging.getLogger(__name__)
router = APIRouter(prefix="/sms", tags=["sms"])
GatewayDep = Annotated[Principal, Depends(require_roles(Role.gateway))]
# inline: only in the response; sent: the gateway took it; failed: see delivery_error;
# queued: it goes out over AMI right after the response (SIP path).
Delivery = Literal["inline", "sent", "failed", "queued"]
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_FIELDS_SCHEMA = {"type": "object", "additionalProperties": {"type": "string"}}
_HTTP_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {kind: {"schema": _FIELDS_SCHEMA} for kind in ("application/json", *_FORMS)},
    }
}


class SmsResult(BaseModel):
    """What happened to one SMS, and the reply (Bahasa Indonesia) the citizen gets."""

    kind: SmsKind
    reply: str
    ticket: str | None
    created: bool
    duplicate: bool
    delivery: Delivery
    delivery_error: str | None = None


def _rules(settings: ApiSettings) -> SmsRules:
    return SmsRules(settings.sms_ticket_prefix, settings.sms_dedup_minutes)


def _result(outcome: SmsOutcome, delivery: Delivery, error: str | None = None) -> SmsResult:
    return SmsResult.model_validate(
        {**vars(outcome), "delivery": delivery, "delivery_error": error}
    )


async def _fields(request: Request) -> dict[str, object]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = await request.json()
        except ValueError as exc:
            raise InvalidInput("the body is not valid JSON", "bad_json") from exc
        if not isinstance(data, dict):
            raise InvalidInput("the JSON body must be an object of fields", "bad_json")
        return data
    if kind in _FORMS:
        form = await request.form()
        return {name: value for name, value in form.items() if isinstance(value, str)}
    raise UnsupportedMediaType("send JSON or a form (application/x-www-form-urlencoded)")


@router.post("/inbound", openapi_extra=_HTTP_BODY)
async def inbound_http(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    calendar: CalendarDep,
    _: GatewayDep,
) -> SmsResult:
    """An SMS from an HTTP gateway (JSON or form: gammu-smsd RunOnReceive fields or
    number/text). The complaint is stored first; the reply then goes to
    LAPOR_API_SMS_REPLY_URL, and a failed delivery is reported here, not raised. 201 for a
    new complaint, 200 otherwise (a retransmission gets the first reply again)."""
    sms = from_gateway(
        await _fields(request), default_line=settings.sms_default_line, received_at=utc_now()
    )
    outcome = await run_in_threadpool(_handle, session, sms, settings, calendar)
    if outcome.created:
        response.status_code = status.HTTP_201_CREATED
    if not settings.sms_reply_url:
        return _result(outcome, "inline")
    try:
        await reply_over_http(settings, sms.sender, outcome.reply)
    except ReplyFailed as exc:
        log.warning("SMS reply to %s not delivered: %s", mask_number(sms.sender), exc)
        return _result(outcome, "failed", str(exc))
    return _result(outcome, "sent")


@router.post("/inbound/sip")
def inbound_sip(
    body: SipSms,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    calendar: CalendarDep,
    ami: ControlDep,
    replies: BackgroundTasks,
    _: GatewayDep,
) -> SmsResult:
    """An SMS that reached Asterisk as a SIP MESSAGE (the dialplan's sms-in context).
    The reply goes back over AMI MessageSend after this response: Asterisk handles
    messages one at a time, so the dialplan must not wait for it."""
    sms = from_sip(body, default_line=settings.sms_default_line, received_at=utc_now())
    outcome = _handle(session, sms, settings, calendar)
    if outcome.created:
        response.status_code = status.HTTP_201_CREATED
    replies.add_task(_reply_over_sip, ami, settings.sms_sip_endpoint, sms, outcome.reply)
    return _result(outcome, "queued")


def _handle(
    session: Session, sms: InboundSms, settings: ApiSettings, calendar: WorkCalendar
) -> SmsOutcome:
    return handle_sms(session, sms, rules=_rules(settings), calendar=calendar)


async def _reply_over_sip(ami: AmiControl, endpoint: str, sms: InboundSms, text: str) -> None:
    try:
        await reply_over_sip(ami, endpoint, sms, text)
    except AmiCommandError as exc:
        log.warning("SMS reply to %s not sent over AMI: %s", mask_number(sms.sender), exc)
