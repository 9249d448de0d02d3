"""The city units a complaint can be assigned to (for leadership's follow-up orders)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.core.auth import Principal, Role, require_roles
from api.core.city_units import city_units

router = APIRouter(prefix="/units", tags=["units"])


class Unit(BaseModel):
    id: str
    name: str


@router.get("")
def list_units(
    _: Annotated[
        Principal,
        Depends(require_roles(Role.agent, Role.supervisor, Role.leadership, Role.unit, Role.admin)),
    ],
) -> list[Unit]:
    """Every unit, as the catalog lists them."""
    return [Unit(id=key, name=name) for key, name in city_units().items()]
