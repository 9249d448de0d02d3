"""The stored report: its table and the content (the JSON format is this model's dump)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from api.complaints.models import ComplaintCategory, ComplaintChannel
from api.complaints.workflow import ComplaintStatus
from api.stats.schemas import Bucket, Summary
from api.surveys.service import SurveyStats


class DailyReport(SQLModel, table=True):
    __tablename__ = "daily_report"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(unique=True, index=True)
    generated_at: datetime
    # The content's JSON exactly as served; the other formats are rendered from it.
    content: str = Field(sa_type=Text)


class ComplaintLine(BaseModel):
    ticket: str
    category: ComplaintCategory
    channel: ComplaintChannel
    status: ComplaintStatus
    taken_at: datetime
    summary: str


class OverdueLine(BaseModel):
    ticket: str
    category: ComplaintCategory
    status: ComplaintStatus
    unit: str | None
    due_at: datetime
    summary: str


class FollowUpLine(BaseModel):
    ticket: str
    category: ComplaintCategory
    unit: str | None
    done_at: datetime
    note: str


class BusyHour(BaseModel):
    start: datetime
    offered: int
    answered: int


class ComplaintCounts(BaseModel):
    total: int
    by_category: dict[ComplaintCategory, int]
    by_channel: dict[ComplaintChannel, int]
    by_status: dict[ComplaintStatus, int]


class DailyReportContent(BaseModel):
    date: date
    generated_at: datetime
    start: datetime
    end: datetime
    calls: Summary
    calls_per_hour: list[Bucket]
    busiest_hours: list[BusyHour]
    complaints: ComplaintCounts
    new_complaints: list[ComplaintLine]
    forwarded: list[ComplaintLine]
    overdue: list[OverdueLine]
    follow_ups_completed: list[FollowUpLine]
    # Callers' post-call ratings of the day; None in reports made before the survey.
    survey: SurveyStats | None = None
