"""The job registry, the runner and the lease that keeps a second scheduler idle."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from scheduler import registry, runner
from scheduler.models import JobRun

ROOT = Path(__file__).resolve().parents[2]


def boom(*, session) -> str:  # noqa: ANN001
    raise RuntimeError("Facebook is down")


def test_jobs_list_prints_every_registered_job(runner_cli) -> None:  # noqa: ANN001
    """`flask jobs list` shows each job's stable id."""
    result = runner_cli.invoke(args=["jobs", "list"])
    assert result.exit_code == 0
    for job in registry.JOBS:
        assert job.id in result.output


def test_jobs_run_runs_now_and_records_the_run(runner_cli, session) -> None:  # noqa: ANN001
    """`flask jobs run <id>` runs the job at once and records its outcome."""
    result = runner_cli.invoke(args=["jobs", "run", "accounts.purge_login_attempts"])
    assert result.exit_code == 0, result.output
    run = session.exec(select(JobRun)).one()
    assert run.job_id == "accounts.purge_login_attempts" and run.outcome == "ok" and run.finished_at


def test_unknown_job_is_a_clear_error(runner_cli) -> None:  # noqa: ANN001
    """An unknown id names the known jobs instead of failing with a traceback."""
    result = runner_cli.invoke(args=["jobs", "run", "nope"])
    assert result.exit_code == 2
    assert "core.retry_mail" in result.output


def test_a_failing_job_is_recorded_and_others_still_run(app_ctx, session, monkeypatch) -> None:  # noqa: ANN001
    """A job's exception is logged and recorded as failed; the next job runs normally."""
    monkeypatch.setattr(registry, "JOBS", [*registry.JOBS, registry.JobDef(
        "tests.boom", "tests.scheduler.test_scheduler:boom", "interval", {"minutes": 1})])
    failed = runner.run_job("tests.boom")
    ok = runner.run_job("core.retry_mail")
    assert failed.outcome == "failed" and "Facebook is down" in failed.detail
    assert ok.outcome == "ok"


def test_only_one_holder_of_the_lease(app_ctx) -> None:  # noqa: ANN001
    """A second scheduler cannot take the lease while the first renews it, and can once it expires."""
    assert runner.acquire_lease(60, holder="first")
    assert not runner.acquire_lease(60, holder="second")
    assert runner.acquire_lease(60, holder="first")  # renewal
    assert runner.acquire_lease(-1, holder="first")  # lease now expired (the holder died)
    assert runner.acquire_lease(60, holder="second")
    runner.release_lease(holder="second")


def _scheduler_process(database_url: str) -> subprocess.Popen:
    env = {**os.environ, "RAYONNE_ENV": "test", "DATABASE_URL": database_url, "SECRET_KEY": "k" * 40,
           "RAYONNE_ENCRYPTION_KEY": Fernet.generate_key().decode(), "SCHEDULER_LOCK_SECONDS": "6",
           "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "scheduler", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(proc: subprocess.Popen, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    pytest.fail(f"{text!r} not printed; got: {''.join(seen)}")


def test_second_scheduler_process_waits(app, database_url) -> None:  # noqa: ANN001
    """`flask scheduler run` twice: the second waits for the lease instead of running jobs too."""
    first = _scheduler_process(database_url)
    try:
        _wait_for(first, "Scheduler running")
        second = _scheduler_process(database_url)
        try:
            _wait_for(second, "Another scheduler holds the lease")
        finally:
            second.terminate()
            second.communicate(timeout=20)
    finally:
        first.terminate()
        output, _ = first.communicate(timeout=20)
    assert first.returncode == 0
    assert "Scheduler stopped." in output


@pytest.fixture
def runner_cli(app):  # noqa: ANN001, ANN201
    return app.test_cli_runner()
