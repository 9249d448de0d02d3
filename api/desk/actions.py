"""What the signed-in role may do to a complaint now, and what a refused action says.

The moves come from the workflow's TRANSITIONS, so the desk offers exactly what
``change_status`` would accept (besides the details each move needs).
"""

from __future__ import annotations

from dataclasses import dataclass

from api.complaints.workflow import SUPERVISORS_AND_ADMINS, TRANSITIONS, ComplaintStatus
from api.core.auth import Role
from api.core.errors import ApiError
from api.web.texts import texts

# Refusals with a text of their own in the catalog's desk_errors.
REFUSAL_IDS = frozenset(
    {
        "unknown_original",
        "unknown_unit",
        "attachment_too_large",
        "unsupported_attachment_type",
        "empty_attachment",
        "too_many_attachments",
        "attachments_only_when_closing",
    }
)
# Who may correct a complaint's category, location and summary on the desk.
EDITORS = SUPERVISORS_AND_ADMINS


@dataclass(frozen=True)
class Actions:
    moves: tuple[ComplaintStatus, ...]
    can_edit: bool

    @property
    def any(self) -> bool:
        return bool(self.moves) or self.can_edit


def actions_for(status: ComplaintStatus, role: Role) -> Actions:
    """The moves ``role`` may make from ``status``, in workflow order, and whether it edits."""
    moves = tuple(to for (frm, to), roles in TRANSITIONS.items() if frm == status and role in roles)
    return Actions(moves=moves, can_edit=role in EDITORS)


def refusal(exc: ApiError, to: ComplaintStatus | None) -> str:
    """The Indonesian message for an action the domain refused."""
    words = texts().desk_errors
    if exc.status_code == 409:
        return words.illegal
    if exc.error_id in REFUSAL_IDS:
        return words[exc.error_id]
    if exc.status_code == 422 and to is not None:
        return words.get(f"needs_{to.value}", words.invalid)
    if exc.status_code == 404:
        return texts().errors.not_found
    return texts().errors.generic
