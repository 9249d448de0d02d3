"""The blocklist table and its request and answer shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, StringConstraints, field_validator
from sqlmodel import Field, SQLModel

import asterisk_values as values
from api.core.clock import as_utc
from api.core.numbers import national
from api.core.text import without_nul

TZ_DATETIME = sa.DateTime(timezone=True)
REASON_LIMIT = 200


def normalised_number(value: str) -> str:
    """A caller's number in the national form it is stored and looked up under
    (``asterisk_values.UnsafeValue``, a ValueError, if it is not a phone number)."""
    return values.phone_number(national(value))


Number = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=21, pattern=values.PHONE_NUMBER_PATTERN),
    AfterValidator(normalised_number),
]


class BlockedNumber(SQLModel, table=True):
    """A number whose calls hear the block prompt until ``until`` (forever when None)."""

    __tablename__ = "blocked_number"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=21, unique=True)
    reason: str = Field(max_length=REASON_LIMIT)
    until: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    added_by: str = Field(max_length=128)
    added_at: datetime = Field(sa_type=TZ_DATETIME)


class BlockRequest(BaseModel):
    number: Number
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=REASON_LIMIT),
        AfterValidator(without_nul),
    ]
    until: datetime | None = None

    _aware = field_validator("until")(lambda until: until and as_utc(until))


class BlockView(BaseModel):
    number: str
    reason: str
    until: datetime | None
    added_by: str
    added_at: datetime
    active: bool
