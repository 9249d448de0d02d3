"""A complaint an officer files for a caller who went straight to them (no IVR ticket).

The ticket is issued by the API, like an SMS complaint's (``LAPOR_API_SMS_TICKET_PREFIX``
and its counter). The form carries a key chosen when it was drawn, so a double submit
(two clicks, a retry after a timeout) files one complaint, not two.
"""

from __future__ import annotations

import re

from sqlmodel import Session, select

from api.complaints.models import (
    Complaint,
    ComplaintCategory,
    ComplaintCreate,
    create_complaint,
)
from api.complaints.service import ComplaintEdit, edit_complaint
from api.core.auth import Principal
from api.core.clock import WorkCalendar, utc_now
from api.core.errors import InvalidInput
from api.sms.service import next_api_ticket

REQUEST_KEY = re.compile(r"[0-9a-f]{32}")


def file_complaint(
    session: Session,
    *,
    principal: Principal,
    calendar: WorkCalendar,
    ticket_prefix: str,
    request_key: str,
    caller_number: str,
    line: str,
    category: ComplaintCategory,
    edit: ComplaintEdit,
) -> tuple[Complaint, bool]:
    """File the complaint (or return the one this form filed already); True if new."""
    if not REQUEST_KEY.fullmatch(request_key):
        raise InvalidInput("the form's key is malformed: reload the page")
    uniqueid = f"console-{request_key}"
    filed = session.exec(select(Complaint).where(Complaint.uniqueid == uniqueid)).first()
    if filed is not None:
        return filed, False
    data = ComplaintCreate(
        ticket=next_api_ticket(session, ticket_prefix),
        category=category,
        caller_number=caller_number,
        line=line,
        uniqueid=uniqueid,
        taken_at=utc_now(),
    )
    complaint, _ = create_complaint(session, data=data, calendar=calendar)
    details = edit.model_copy(update={"category": None})
    if details.model_dump(exclude_none=True):
        complaint = edit_complaint(
            session, ticket=complaint.ticket, edit=details, principal=principal
        )
    return complaint, True
