"""The complaint workflow, modelled on the national SP4N-LAPOR! flow.

    diterima ──▶ diverifikasi ──▶ dilaporkan ──▶ ditindaklanjuti ──▶ selesai
        │              │               │
        └──────────────┴───────────────┴──▶ ditolak (invalid or duplicate, with reason)

- diverifikasi: Bagian Organisasi (supervisor) checked it.
- dilaporkan: it went into the mayor's daily report.
- ditindaklanjuti: the mayor's office (leadership) ordered follow-up by a unit.
- selesai: the unit (or a supervisor) closed it with a note.

Deadlines (LAPOR!): verified and forwarded (dilaporkan) within 3 working days of
receipt; followed up (selesai) within 5 working days of being forwarded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from api.core.auth import Role
from api.core.clock import WorkCalendar
from api.core.errors import Conflict, InvalidInput


class ComplaintStatus(StrEnum):
    diterima = "diterima"
    diverifikasi = "diverifikasi"
    dilaporkan = "dilaporkan"
    ditindaklanjuti = "ditindaklanjuti"
    selesai = "selesai"
    ditolak = "ditolak"


S = ComplaintStatus
# The back office that verifies, reports, closes and refuses complaints.
SUPERVISORS_AND_ADMINS = frozenset({Role.supervisor, Role.admin})

# (from, to) -> roles allowed to make that move. Anything absent is illegal.
TRANSITIONS: dict[tuple[ComplaintStatus, ComplaintStatus], frozenset[Role]] = {
    (S.diterima, S.diverifikasi): SUPERVISORS_AND_ADMINS,
    (S.diverifikasi, S.dilaporkan): SUPERVISORS_AND_ADMINS,
    (S.dilaporkan, S.ditindaklanjuti): frozenset({Role.leadership, Role.admin}),
    (S.ditindaklanjuti, S.selesai): SUPERVISORS_AND_ADMINS | {Role.unit},
    (S.diterima, S.ditolak): SUPERVISORS_AND_ADMINS,
    (S.diverifikasi, S.ditolak): SUPERVISORS_AND_ADMINS,
    (S.dilaporkan, S.ditolak): SUPERVISORS_AND_ADMINS | {Role.leadership},
}
FORWARD_DAYS = 3
FOLLOW_UP_DAYS = 5


@dataclass(frozen=True)
class TransitionRequest:
    """What a status change carries besides its target."""

    to: ComplaintStatus
    note: str = ""
    unit: str | None = None
    duplicate_of: str | None = None


def check_transition(current: ComplaintStatus, request: TransitionRequest, role: Role) -> None:
    """Raise Conflict (409) for an illegal move, InvalidInput (422) for missing details."""
    roles = TRANSITIONS.get((current, request.to))
    if roles is None:
        legal = sorted(to for (frm, to) in TRANSITIONS if frm == current)
        raise Conflict(
            f"a complaint that is {current} can't become {request.to}; "
            + (f"it can become: {', '.join(legal)}" if legal else "it is closed"),
            "illegal_transition",
        )
    if role not in roles:
        raise Conflict(
            f"role {role} can't move a complaint from {current} to {request.to}",
            "transition_not_allowed_for_role",
        )
    if request.to is S.ditolak and not (request.note.strip() or request.duplicate_of):
        raise InvalidInput("a rejection needs a reason (note) or the original's ticket")
    if request.to is S.ditindaklanjuti and not (request.unit and request.note.strip()):
        raise InvalidInput("a follow-up order needs the unit and an instruction (note)")
    if request.to is S.selesai and not request.note.strip():
        raise InvalidInput("closing a complaint needs a closing note")


def deadline(
    status: ComplaintStatus,
    received_at: datetime,
    forwarded_at: datetime | None,
    calendar: WorkCalendar,
) -> datetime | None:
    """When the complaint's current stage is due, or None once nothing is due."""
    if status in (S.diterima, S.diverifikasi):
        return calendar.add_working_days(received_at, FORWARD_DAYS)
    if status in (S.dilaporkan, S.ditindaklanjuti) and forwarded_at is not None:
        return calendar.add_working_days(forwarded_at, FOLLOW_UP_DAYS)
    return None
