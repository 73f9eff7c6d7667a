"""`flask scheduler run` (the scheduler process) and `flask jobs list|run` (operators and tests)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC

import click
from flask import current_app
from flask.cli import AppGroup

from scheduler import runner
from scheduler.registry import JOBS, get_job

logger = logging.getLogger(__name__)

scheduler_cli = AppGroup("scheduler", help="The scheduler process (publishing, insights, budgets, reports).")
jobs_cli = AppGroup("jobs", help="List registered jobs, or run one now.")


def build_scheduler() -> object:
    """An APScheduler 3.x scheduler with the persistent job store in Rayonne's database."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from core.db import get_engine

    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=get_engine(), tablename="apscheduler_jobs")},
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600},
    )
    return scheduler


def register_jobs(scheduler: object) -> None:
    """Reconcile the job store with the registry: add or replace every job, drop unknown ones."""
    known = {job.id for job in JOBS}
    for job in JOBS:
        scheduler.add_job(  # type: ignore[attr-defined]
            "scheduler.runner:execute", trigger=job.trigger, args=[job.id], id=job.id, name=str(job.description),
            replace_existing=True, **job.trigger_args,
        )
    for stored in scheduler.get_jobs():  # type: ignore[attr-defined]
        if stored.id not in known:
            stored.remove()


@scheduler_cli.command("run")
def run_scheduler() -> None:
    """Run the scheduler in the foreground. A second one waits until the first stops."""
    app = current_app._get_current_object()
    settings = app.config["RAYONNE_SETTINGS"]
    if settings.is_production:
        from accounts.services import demo_accounts_exist
        from core.db import session_scope

        with session_scope() as session:
            if demo_accounts_exist(session):
                sys.exit("Demo accounts exist: run `flask --app app demo purge` before starting the scheduler.")
    runner.bind_app(app)
    ttl = settings.SCHEDULER_LOCK_SECONDS
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    announced = False
    while not runner.acquire_lease(ttl):
        if not announced:
            click.echo("Another scheduler holds the lease; waiting for it to stop.")
            announced = True
        if stop.wait(ttl / 3):
            return
    scheduler = build_scheduler()
    scheduler.start(paused=True)  # type: ignore[attr-defined]
    register_jobs(scheduler)
    scheduler.resume()  # type: ignore[attr-defined]
    click.echo(f"Scheduler running ({len(JOBS)} jobs, holder {runner.HOLDER}).")
    try:
        while not stop.wait(ttl / 3):
            if not runner.acquire_lease(ttl):
                logger.error("Scheduler lease lost; stopping so that only one scheduler runs jobs.")
                break
    finally:
        scheduler.shutdown(wait=True)  # type: ignore[attr-defined]
        runner.release_lease()
        click.echo("Scheduler stopped.")


@jobs_cli.command("list")
def list_jobs() -> None:
    """Print every registered job with its trigger."""
    for job in JOBS:
        args = ", ".join(f"{k}={v}" for k, v in job.trigger_args.items())
        click.echo(f"{job.id:34} {job.trigger}({args})  {job.description}")


@jobs_cli.command("run")
@click.argument("job_id")
def run_one(job_id: str) -> None:
    """Run one job now, in this process, and print its outcome."""
    try:
        get_job(job_id)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="JOB_ID") from None
    run = runner.run_job(job_id)
    click.echo(f"{job_id}: {run.outcome} — {run.detail or ''}")
    if run.outcome != "ok":
        sys.exit(1)
