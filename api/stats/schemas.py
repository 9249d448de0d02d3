"""Response bodies of the ``/stats`` endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.refused.service import RefusedPublic


class Figures(BaseModel):
    """Counters and KPIs (seconds; rates in percent, rounded to 2 decimals; null if 0/0)."""

    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    exit_timeout: int
    callback_requested: int
    answered_in_sl: int
    abandoned_in_sl: int
    hold_sum: int
    talk_sum: int
    max_wait: int
    completed: int = Field(description="Answered calls whose talk has ended (AHT's denominator).")
    urgent: int = Field(description="Calls queued as urgent (emergencies), whatever their outcome.")
    abandon_rate_pct: float | None
    sl_pct: float | None
    sl2_pct: float | None
    asa_seconds: float | None
    aht_seconds: float | None


class Summary(Figures):
    start: datetime
    end: datetime
    short_abandon_seconds: int
    service_level_seconds: int


class Bucket(Figures):
    start: datetime


class AgentFigures(BaseModel):
    agent: str
    calls: int
    talk_seconds: int
    aht_seconds: float | None
    login_seconds: int
    pause_seconds: int
    occupancy_pct: float | None


class LiveCaller(BaseModel):
    node: str
    linkedid: str
    caller: str | None
    queue: str | None
    position: int
    wait_seconds: int
    category: str | None
    ticket: str | None
    urgent: bool = Field(default=False, description="Queued ahead of everyone else.")


class LiveAgent(BaseModel):
    agent: str
    state: str  # available | ringing | on_call | paused | logged_out
    reason: str | None


class LiveView(BaseModel):
    at: datetime
    waiting: list[LiveCaller]
    agents: list[LiveAgent]
    today: Summary
    refused_complaints: int = Field(
        description="Complaints the API refused and holds for a supervisor to re-file."
    )
    refused: list[RefusedPublic] = Field(
        description="The oldest of them (up to 20); all at GET /complaints/refused."
    )
