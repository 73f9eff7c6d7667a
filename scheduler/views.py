"""The jobs page: every registered job, its next run and its last runs (admins)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import render_template
from sqlalchemy import text
from sqlmodel import select

from accounts.models import Role
from accounts.tenancy import require_role, tenant_blueprint
from core.db import get_engine, get_session, utc_now
from scheduler.models import JobRun
from scheduler.registry import JOBS

bp = tenant_blueprint("scheduler", __name__, "/jobs", template_folder="templates")


@bp.get("/")
@require_role(Role.ADMIN)
def jobs() -> Any:
    session = get_session()
    runs = {
        job.id: session.exec(select(JobRun).where(JobRun.job_id == job.id).order_by(JobRun.started_at.desc())
                             .limit(5)).all()
        for job in JOBS
    }
    return render_template("scheduler/jobs.html", jobs=JOBS, runs=runs, next_runs=next_runs(utc_now()))


def next_runs(now: datetime) -> dict[str, tuple[datetime | None, str]]:
    """Each job's next run and where it comes from: "store" (APScheduler's job store, once a scheduler
    has run; None there means paused) or "trigger" (computed from the registry's trigger from `now`)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    stored: dict[str, datetime | None] = {}
    engine = get_engine()
    with engine.connect() as conn:
        if engine.dialect.has_table(conn, "apscheduler_jobs"):
            for job_id, timestamp in conn.execute(text("SELECT id, next_run_time FROM apscheduler_jobs")):
                stored[job_id] = None if timestamp is None else datetime.fromtimestamp(float(timestamp), UTC)
    triggers = {"cron": CronTrigger, "interval": IntervalTrigger}
    result: dict[str, tuple[datetime | None, str]] = {}
    for job in JOBS:
        if job.id in stored:
            result[job.id] = (stored[job.id], "store")
        else:
            trigger = triggers[job.trigger](timezone=UTC, **job.trigger_args)
            result[job.id] = (trigger.get_next_fire_time(None, now), "trigger")
    return result
