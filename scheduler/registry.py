"""Every scheduled job of Rayonne, in one list, with stable ids `<package>.<job>`.

A job body is a function `(*, session) -> str | None` in its package's `jobs.py`; it loops over
the same services the views call, commits in chunks if it needs to, and returns a one-line
summary for the jobs page. The scheduler adds each job with `replace_existing=True`,
`coalesce=True` and `max_instances=1`, so restarting never duplicates a job and a backlog of
missed runs collapses into one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any


@dataclass(frozen=True)
class JobDef:
    id: str
    target: str  # "package.jobs:function"
    trigger: str  # "interval" or "cron"
    trigger_args: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def load(self) -> Any:
        module, _, name = self.target.partition(":")
        return getattr(import_module(module), name)


JOBS: list[JobDef] = [
    JobDef("core.retry_mail", "core.jobs:retry_mail", "interval", {"minutes": 10},
           "Renvoie les e-mails dont l'envoi a échoué (5 tentatives au plus)."),
    JobDef("accounts.purge_login_attempts", "accounts.jobs:purge_login_attempts", "cron",
           {"hour": 3, "minute": 17}, "Efface les tentatives de connexion de plus de 30 jours."),
]


def get_job(job_id: str) -> JobDef:
    """:raise KeyError: with the known ids, for an unknown id."""
    for job in JOBS:
        if job.id == job_id:
            return job
    raise KeyError(f"unknown job {job_id!r}; known jobs: {', '.join(j.id for j in JOBS)}")
