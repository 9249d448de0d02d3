"""The desk offers each role exactly the moves the workflow allows it, and says why not."""

from __future__ import annotations

import pytest

from api.complaints.workflow import ComplaintStatus as S
from api.core.auth import Role
from api.core.errors import Conflict, InvalidInput, NotFound
from api.desk.actions import actions_for, refusal


@pytest.mark.parametrize(
    ("status", "role", "moves", "can_edit"),
    [
        (S.diterima, Role.supervisor, (S.diverifikasi, S.ditolak), True),
        (S.diverifikasi, Role.supervisor, (S.dilaporkan, S.ditolak), True),
        (S.dilaporkan, Role.supervisor, (S.ditolak,), True),
        (S.dilaporkan, Role.leadership, (S.ditindaklanjuti, S.ditolak), False),
        (S.diterima, Role.leadership, (), False),
        (S.ditindaklanjuti, Role.unit, (S.selesai,), False),
        (S.dilaporkan, Role.unit, (), False),
        (S.selesai, Role.admin, (), True),
    ],
)
def test_moves_come_from_the_workflow(
    status: S, role: Role, moves: tuple[S, ...], can_edit: bool
) -> None:
    actions = actions_for(status, role)
    assert actions.moves == moves
    assert actions.can_edit is can_edit
    assert actions.any is bool(moves or can_edit)


def test_refusals_name_the_missing_detail_in_indonesian() -> None:
    assert refusal(Conflict("x", "illegal_transition"), S.selesai).startswith("Tindakan ini")
    assert refusal(InvalidInput("x"), S.selesai) == "Penyelesaian memerlukan catatan."
    assert refusal(InvalidInput("x", "unknown_unit"), S.ditindaklanjuti) == (
        "Unit/OPD tidak dikenal."
    )
    assert refusal(InvalidInput("x", "unknown_original"), S.ditolak) == (
        "Tiket keluhan asli tidak dikenal."
    )
    assert refusal(InvalidInput("x"), S.diverifikasi) == "Periksa isian tindakan."
    assert refusal(NotFound("x"), S.selesai) == "Tidak ditemukan."
