"""Running jobs: one app context and one session scope per run, a `JobRun` row per run, and the lease.

A job's failure is logged and recorded; it never stops the scheduler nor the other jobs.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import timedelta

from flask import Flask
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.db import ALL, get_engine, session_scope, utc_now
from scheduler.models import JobRun, SchedulerLease
from scheduler.registry import get_job

logger = logging.getLogger(__name__)

LEASE_NAME = "main"
HOLDER = f"{socket.gethostname()}:{os.getpid()}"

# The app of the scheduler process; APScheduler stores jobs by reference to `execute`, which runs
# inside this app's context.
_app: Flask | None = None


def bind_app(app: Flask) -> None:
    global _app
    _app = app


def execute(job_id: str) -> None:
    """Entry point called by APScheduler: run a registered job in the scheduler's app."""
    if _app is None:
        raise RuntimeError("scheduler app not bound")
    with _app.app_context():
        if not holds_lease():
            logger.warning("Job %s skipped: this process no longer holds the scheduler lease", job_id)
            return
        run_job(job_id)


def run_job(job_id: str) -> JobRun:
    """Run one job now and record the run. Needs an app context. Never raises for a job's failure."""
    job = get_job(job_id)
    func = job.load()
    with session_scope(ALL) as session:
        run = JobRun(job_id=job_id)
        session.add(run)
    started = time.monotonic()
    try:
        with session_scope(ALL) as session:
            detail = func(session=session)
        outcome = "ok"
    except Exception as exc:  # a job's failure must never stop the other jobs
        logger.exception("Job %s failed", job_id)
        outcome, detail = "failed", f"{type(exc).__name__}: {exc}"
    with session_scope(ALL) as session:
        run = session.merge(run)
        run.finished_at = utc_now()
        run.outcome = outcome
        run.detail = (detail or "")[:4000] or None
    logger.info("Job %s %s in %.2fs: %s", job_id, outcome, time.monotonic() - started, detail)
    return run


# ------------------------------------------------------------------------------------- the lease


def acquire_lease(ttl_seconds: int, holder: str = HOLDER) -> bool:
    """Take or renew the scheduler lease; False if another live scheduler holds it."""
    now = utc_now()
    table = SchedulerLease.__table__
    with get_engine().begin() as conn:
        result = conn.execute(
            update(table)
            .where(table.c.name == LEASE_NAME, or_(table.c.expires_at < now, table.c.holder == holder))
            .values(holder=holder, expires_at=now + timedelta(seconds=ttl_seconds))
        )
        if result.rowcount == 1:
            return True
    try:
        with get_engine().begin() as conn:
            conn.execute(table.insert().values(name=LEASE_NAME, holder=holder,
                                               expires_at=now + timedelta(seconds=ttl_seconds)))
        return True
    except IntegrityError:
        return False


def release_lease(holder: str = HOLDER) -> None:
    table = SchedulerLease.__table__
    with get_engine().begin() as conn:
        conn.execute(table.delete().where(table.c.name == LEASE_NAME, table.c.holder == holder))


def holds_lease(holder: str = HOLDER) -> bool:
    with Session(get_engine()) as session:
        lease = session.get(SchedulerLease, LEASE_NAME)
        return lease is not None and lease.holder == holder and lease.expires_at > utc_now()
