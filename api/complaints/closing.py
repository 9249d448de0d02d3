"""A status change with files attached to its audit row, in one commit: the unit's closing
note with its photos or documents. A refused file leaves the complaint as it was."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from api.complaints.attachments import Upload, attach_and_commit
from api.complaints.models import Complaint, ComplaintHistory
from api.complaints.workflow import ComplaintStatus
from api.core.errors import InvalidInput
from api.core.settings import ApiSettings

Finish = Callable[[Complaint, ComplaintHistory], None]


def attaching(session: Session, uploads: list[Upload], settings: ApiSettings) -> Finish | None:
    """A ``finish`` for ``change_status`` that keeps ``uploads`` with its audit row and
    commits them together (only a closing takes files); None when there are none."""
    if not uploads:
        return None

    def finish(complaint: Complaint, entry: ComplaintHistory) -> None:
        if entry.to_status is not ComplaintStatus.selesai:
            raise InvalidInput("only a closing takes attachments", "attachments_only_when_closing")
        attach_and_commit(session, complaint, entry, uploads, settings)

    return finish
