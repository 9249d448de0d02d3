"""Imports every table model so ``SQLModel.metadata`` is complete (migrations, tests)."""

from __future__ import annotations

from sqlmodel import SQLModel

from api.auth import ApiToken
from api.jobs import JobRun
from api.users import LoginAttempt, User

__all__ = ["ApiToken", "JobRun", "LoginAttempt", "User", "metadata"]

metadata = SQLModel.metadata
