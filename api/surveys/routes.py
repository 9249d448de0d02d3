"""Survey ratings from the IVR (role ivr); the figures are served under /stats/survey."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from api.core.auth import Principal, Role, require_roles
from api.core.created import created_or_known
from api.core.db import SessionDep
from api.surveys import service
from api.surveys.service import SurveyCreate, SurveyPublic

router = APIRouter(prefix="/surveys", tags=["surveys"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_rating(
    body: SurveyCreate,
    session: SessionDep,
    response: Response,
    _: Annotated[Principal, Depends(require_roles(Role.ivr))],
) -> SurveyPublic:
    """Store a caller's rating of a call (200 with the stored one if the call was rated)."""
    rating, created = service.create_rating(session, data=body)
    created_or_known(response, created)
    return SurveyPublic.model_validate(rating)
