"""Every holder of a citizen's personal data. A new kind (say, conversation recordings)
is one more entry here.

Order matters for an erasure: recordings first and raw events before calls, because
they find the citizen's rows by the number the later entries remove.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from api.callbacks.dial import CallbackDial
from api.callbacks.hold import CallbackHold
from api.callbacks.service import CallbackRequest
from api.complaints.models import Complaint
from api.events.models import Call, CallRecording
from api.events.recordings import Leg, leg_file
from api.refused.service import RefusedComplaint
from api.retention.holders import Column, Holder, RowHolder, file_name
from api.retention.raw_events import RawEventHolder, SnapshotHolder
from api.retention.scrub import scrub_queue_log
from api.sms.service import SmsIntake
from api.sms.status_messages import StatusSms


def _complaint_recording(row: Complaint) -> list[str]:
    files, row.recording_path = file_name(row.recording_path), None
    return files


def _complaint_number(row: Complaint) -> list[str]:
    row.caller_number = ""  # what a withheld number is stored as
    return []


def _refused_recording(row: RefusedComplaint) -> list[str]:
    files, row.recording_path = file_name(row.recording_path), None
    row.payload = {k: v for k, v in row.payload.items() if k != "recording_path"}
    return files


def _refused_number(row: RefusedComplaint) -> list[str]:
    row.caller_number = None
    row.payload = {k: v for k, v in row.payload.items() if k != "caller_number"}
    return []


def _conversation_files(row: CallRecording) -> list[str]:
    return [leg_file(row.file, leg) for leg in Leg]


# A conversation's citizen is its call's caller.
_conversation_caller: Any = (
    sa.select(col(Call.caller))
    .where(
        col(Call.linkedid) == col(CallRecording.linkedid), col(Call.node) == col(CallRecording.node)
    )
    .limit(1)
    .scalar_subquery()
)


def _call_number(row: Call) -> list[str]:
    row.caller, row.caller_name = None, None
    row.queue_log = scrub_queue_log(row.queue_log)
    return []


def _deleted(name: str, model: Any, when: Column, number: Column | None = None) -> RowHolder:
    """A table whose rows go whole past the limit (its number column is ``number``)."""
    return RowHolder(
        name=name,
        kind="numbers",
        model=model,
        when=when,
        personal=sa.true(),
        number=number if number is not None else model.number,
        forget=None,
    )


_refused_at: Any = sa.func.coalesce(
    col(RefusedComplaint.taken_at), col(RefusedComplaint.received_at)
)

HOLDERS: tuple[Holder, ...] = (
    RowHolder(
        name="complaint_recording",
        kind="recordings",
        model=Complaint,
        when=col(Complaint.taken_at),
        personal=col(Complaint.recording_path).is_not(None),
        number=col(Complaint.caller_number),
        forget=_complaint_recording,
        exports=False,
    ),
    RowHolder(
        name="refused_recording",
        kind="recordings",
        model=RefusedComplaint,
        when=_refused_at,
        personal=col(RefusedComplaint.recording_path).is_not(None),
        number=col(RefusedComplaint.caller_number),
        forget=_refused_recording,
        exports=False,
    ),
    RowHolder(
        name="call_recording",
        kind="recordings",
        model=CallRecording,
        when=col(CallRecording.recorded_at),
        personal=sa.true(),
        number=_conversation_caller,
        forget=_conversation_files,
        drop=True,
        exports=False,
    ),
    RawEventHolder(),
    SnapshotHolder(),
    RowHolder(
        name="call",
        kind="numbers",
        model=Call,
        when=sa.func.coalesce(col(Call.arrived_at), col(Call.queue_entered_at), col(Call.ended_at)),
        personal=sa.or_(col(Call.caller).is_not(None), col(Call.caller_name).is_not(None)),
        number=col(Call.caller),
        forget=_call_number,
        exclude=frozenset({"queue_log"}),
    ),
    RowHolder(
        name="complaint",
        kind="numbers",
        model=Complaint,
        when=col(Complaint.taken_at),
        personal=col(Complaint.caller_number) != "",
        number=col(Complaint.caller_number),
        forget=_complaint_number,
    ),
    RowHolder(
        name="refused_complaint",
        kind="numbers",
        model=RefusedComplaint,
        when=_refused_at,
        personal=col(RefusedComplaint.caller_number).is_not(None),
        number=col(RefusedComplaint.caller_number),
        forget=_refused_number,
    ),
    # Worth anything only while the citizen waits to be called back: past the limit, gone.
    _deleted("callback_request", CallbackRequest, col(CallbackRequest.queue_entered_at)),
    _deleted(
        "callback_dial",
        CallbackDial,
        sa.func.coalesce(
            col(CallbackDial.dialled_at),
            col(CallbackDial.outcome_at),
            col(CallbackDial.claimed_until),
        ),
    ),
    _deleted(
        "callback_hold",
        CallbackHold,
        sa.func.coalesce(col(CallbackHold.finished_at), col(CallbackHold.next_at)),
    ),
    # Kept only to spot an SMS sent twice within minutes.
    _deleted("sms_intake", SmsIntake, col(SmsIntake.received_at), number=col(SmsIntake.sender)),
    # The status SMS sent (or not) to the citizen: worth nothing once the complaint is old.
    _deleted("status_sms", StatusSms, col(StatusSms.created_at), number=col(StatusSms.number)),
)
