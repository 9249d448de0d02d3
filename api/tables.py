"""Imports every table model so ``SQLModel.metadata`` is complete (migrations, tests)."""

from __future__ import annotations

from sqlmodel import SQLModel

from api.auth import ApiToken
from api.callbacks import CallbackRequest
from api.complaints import Complaint, ComplaintHistory
from api.events.models import AgentEvent, AgentRing, AmiEvent, Call, CallHourly
from api.jobs import JobRun
from api.users import LoginAttempt, User

__all__ = [
    "AgentEvent",
    "AgentRing",
    "AmiEvent",
    "ApiToken",
    "Call",
    "CallHourly",
    "CallbackRequest",
    "Complaint",
    "ComplaintHistory",
    "JobRun",
    "LoginAttempt",
    "User",
    "metadata",
]

metadata = SQLModel.metadata
