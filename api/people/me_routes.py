"""Who the caller is: lets any client check its token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.core.auth import Principal, Role, require_roles

router = APIRouter(tags=["auth"])


class Me(BaseModel):
    name: str
    role: Role


@router.get("/me")
def me(principal: Annotated[Principal, Depends(require_roles(*Role))]) -> Me:
    """Return the name and role of the token used."""
    return Me(name=principal.name, role=principal.role)
