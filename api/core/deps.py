"""Shared route dependencies taken from the app's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.core.clock import WorkCalendar
from api.core.settings import ApiSettings


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_calendar(request: Request) -> WorkCalendar:
    return WorkCalendar(get_settings(request).holidays)


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
CalendarDep = Annotated[WorkCalendar, Depends(get_calendar)]
