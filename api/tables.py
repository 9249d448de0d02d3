"""Imports every table model so ``SQLModel.metadata`` is complete (migrations, tests)."""

from __future__ import annotations

from sqlmodel import SQLModel

from api.audit.models import BlocklistChange, RecordingAccess
from api.blocklist.models import BlockedNumber
from api.callbacks.dial import CallbackDial
from api.callbacks.hold import CallbackHold
from api.callbacks.service import CallbackRequest
from api.collectors.service import CollectorStatus
from api.complaints.attachments import ComplaintAttachment
from api.complaints.models import Complaint, ComplaintHistory
from api.core.auth import ApiToken
from api.core.run_once import JobRun
from api.events.models import (
    AgentEvent,
    AgentRing,
    AmiEvent,
    Call,
    CallHourly,
    CallRecording,
    QueueSnapshot,
)
from api.ivr_nodes.service import IvrNodeLease
from api.live.models import LiveEvent
from api.people.phone_credentials import BrowserPhoneCredential
from api.people.users import LoginAttempt, User
from api.refused.service import RefusedComplaint
from api.reports.delivery_record import ReportDelivery
from api.reports.schemas import DailyReport
from api.retention.models import CitizenRequest, RetentionFile, RetentionMark, RetentionRun
from api.sms.opt_out import SmsOptOut
from api.sms.service import SmsIntake, SmsTicketCounter
from api.sms.status_messages import StatusSms
from api.supervision.log import SupervisionLog
from api.surveys.service import SurveyRating

__all__ = [
    "AgentEvent",
    "AgentRing",
    "AmiEvent",
    "ApiToken",
    "BlockedNumber",
    "BlocklistChange",
    "BrowserPhoneCredential",
    "Call",
    "CallHourly",
    "CallRecording",
    "CallbackDial",
    "CallbackHold",
    "CallbackRequest",
    "CitizenRequest",
    "CollectorStatus",
    "Complaint",
    "ComplaintAttachment",
    "ComplaintHistory",
    "DailyReport",
    "IvrNodeLease",
    "JobRun",
    "LiveEvent",
    "LoginAttempt",
    "QueueSnapshot",
    "RecordingAccess",
    "RefusedComplaint",
    "ReportDelivery",
    "RetentionFile",
    "RetentionMark",
    "RetentionRun",
    "SmsIntake",
    "SmsOptOut",
    "SmsTicketCounter",
    "StatusSms",
    "SupervisionLog",
    "SurveyRating",
    "User",
    "metadata",
]

metadata = SQLModel.metadata
