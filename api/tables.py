"""Imports every table model so ``SQLModel.metadata`` is complete (migrations, tests)."""

from __future__ import annotations

from sqlmodel import SQLModel

from api.auth import ApiToken

__all__ = ["ApiToken", "metadata"]

metadata = SQLModel.metadata
