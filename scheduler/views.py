"""The jobs page: every registered job, its next run and its last runs (admins)."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlmodel import select

from accounts.models import Role
from accounts.tenancy import require_role, tenant_blueprint
from core.db import get_session
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
    return render_template("scheduler/jobs.html", jobs=JOBS, runs=runs)
