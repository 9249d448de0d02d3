"""Imports every table model so ``SQLModel.metadata`` is complete (migrations, tests)."""

from __future__ import annotations

from sqlmodel import SQLModel

from api.auth import ApiToken
from api.callback_dial import CallbackDial
from api.callbacks import CallbackRequest
from api.complaints import Complaint, ComplaintHistory
from api.events.models import AgentEvent, AgentRing, AmiEvent, Call, CallHourly, QueueSnapshot
from api.ivr_nodes import IvrNodeLease
from api.jobs import JobRun
from api.refused import RefusedComplaint
from api.reports.schemas import DailyReport
from api.sms_inbox import SmsIntake, SmsTicketCounter
from api.users import LoginAttempt, User

__all__ = [
    "AgentEvent",
    "AgentRing",
    "AmiEvent",
    "ApiToken",
    "Call",
    "CallHourly",
    "CallbackDial",
    "CallbackRequest",
    "Complaint",
    "ComplaintHistory",
    "DailyReport",
    "IvrNodeLease",
    "JobRun",
    "LoginAttempt",
    "QueueSnapshot",
    "RefusedComplaint",
    "SmsIntake",
    "SmsTicketCounter",
    "User",
    "metadata",
]

metadata = SQLModel.metadata
