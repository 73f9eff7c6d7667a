"""Job runs (for the jobs page) and the lease that keeps a second scheduler from running jobs."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.db import UTCDateTime, created_at_field


class JobRun(SQLModel, table=True):
    """One run of a registered job: when, how long, and how it ended."""

    __tablename__ = "job_run"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=80, index=True)
    started_at: datetime = created_at_field()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str = Field(default="running", max_length=20)  # running, ok, failed
    detail: str | None = Field(default=None, max_length=4000)


class SchedulerLease(SQLModel, table=True):
    """A lease row: the scheduler holding it runs the jobs; it renews it while alive."""

    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=120)
    expires_at: datetime = Field(sa_type=UTCDateTime)
