"""The jobs page: every registered job, its next run (job store or trigger), its last runs with duration
and outcome; a failing job is shown failed and the others still run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Role
from scheduler import registry, runner, views
from scheduler.models import JobRun
from tests.conftest import make_territory, make_user


def boom(*, session) -> str:  # noqa: ANN001
    raise RuntimeError("Facebook is down")


@pytest.fixture
def admin(client, auth, session):  # noqa: ANN001, ANN201
    territory = make_territory(session, "valrive")
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    make_user(session, "marc@valrive.test", territory, Role.MANAGER)
    auth.login("admin@valrive.test")
    return territory


def test_every_job_is_listed_with_a_next_run_from_its_trigger(client, admin, clock) -> None:  # noqa: ANN001
    """Before any scheduler ran, the next run is computed from the registry's trigger."""
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    page = client.get("/t/valrive/jobs/").get_data(as_text=True)
    for job in registry.JOBS:
        assert f"<code>{job.id}</code>" in page
    assert "reports.weekly" in page and "Renvoie les e-mails dont" in page  # French descriptions by default
    assert page.count("calculée d'après le déclencheur") == len(registry.JOBS)
    assert "30/11/2026 03:17" in page or "30/11/2026 04:17" in page  # purge_login_attempts, cron 03:17 UTC


def test_next_run_comes_from_the_job_store_once_a_scheduler_ran(app, client, admin) -> None:  # noqa: ANN001
    """Jobs stored by APScheduler show the store's next run time, not a computed one."""
    from scheduler.cli import build_scheduler, register_jobs

    with app.app_context():
        scheduler = build_scheduler()
        scheduler.start(paused=True)
        try:
            register_jobs(scheduler)
            stored = scheduler.get_job("reports.weekly").next_run_time
        finally:
            scheduler.shutdown(wait=False)
    page = client.get("/t/valrive/jobs/").get_data(as_text=True)
    assert "(planificateur)" in page and "calculée d'après le déclencheur" not in page
    assert stored is not None and stored > datetime.now(UTC) - timedelta(minutes=1)


def test_last_runs_show_duration_outcome_and_failure(app_ctx, client, admin, monkeypatch) -> None:  # noqa: ANN001
    """A failing job is recorded and shown as failed with its error; the next job still runs and succeeds."""
    jobs = [*registry.JOBS, registry.JobDef("tests.boom", "tests.scheduler.test_jobs_page:boom", "interval",
                                            {"minutes": 5}, "Échoue toujours.")]
    monkeypatch.setattr(registry, "JOBS", jobs)
    monkeypatch.setattr(views, "JOBS", jobs)
    failed = runner.run_job("tests.boom")
    ok = runner.run_job("core.retry_mail")
    assert failed.outcome == "failed" and ok.outcome == "ok"
    page = client.get("/t/valrive/jobs/").get_data(as_text=True)
    boom_section = page[page.index("<code>tests.boom</code>"):]
    boom_section = boom_section[:boom_section.index("</section>")]
    assert "échec" in boom_section and "RuntimeError: Facebook is down" in boom_section
    assert " s</td>" in boom_section  # the duration
    mail_section = page[page.index("<code>core.retry_mail</code>"):]
    assert "réussie" in mail_section[:mail_section.index("</section>")]


def test_only_admins_see_the_jobs_page(client, auth, admin, session) -> None:  # noqa: ANN001
    """A manager is refused (403); the page lists runs of every job, newest first, five at most."""
    with session.begin():
        for n in range(7):
            session.add(JobRun(job_id="core.retry_mail", outcome="ok", detail=f"run {n}",
                               started_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n),
                               finished_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n, seconds=2)))
    page = client.get("/t/valrive/jobs/").get_data(as_text=True)
    assert "run 6" in page and "run 2" in page and "run 1" not in page
    assert page.index("run 6") < page.index("run 5")
    auth.logout()
    auth.login("marc@valrive.test")
    assert client.get("/t/valrive/jobs/").status_code == 403


def test_job_descriptions_follow_the_readers_language(client, admin, session) -> None:  # noqa: ANN001
    """An English-speaking admin reads every job's description in English on the jobs page."""
    from accounts.services import get_user_by_email

    user = get_user_by_email(session=session, email="admin@valrive.test")
    user.locale = "en"
    session.add(user)
    session.commit()
    page = client.get("/t/valrive/jobs/").get_data(as_text=True)
    assert "Resends e-mails that failed to send (5 attempts at most)." in page
    assert "Builds and sends each territory" in page
    assert "Renvoie les e-mails" not in page
    assert "rapport hebdomadaire" not in page and "Tâches planifiées" not in page
