"""Every scheduled job of Rayonne, in one list, with stable ids `<package>.<job>`.

A job body is a function `(*, session) -> str | None` in its package's `jobs.py`; it loops over
the same services the views call, commits in chunks if it needs to, and returns a one-line
summary for the jobs page. Descriptions are lazy strings (`_l`): French at the command line, in the
reader's language on the jobs page. The scheduler adds each job with `replace_existing=True`,
`coalesce=True` and `max_instances=1`, so restarting never duplicates a job and a backlog of
missed runs collapses into one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class JobDef:
    id: str
    target: str  # "package.jobs:function"
    trigger: str  # "interval" or "cron"
    trigger_args: dict[str, Any] = field(default_factory=dict)
    description: str | LazyString = ""

    def load(self) -> Any:
        module, _, name = self.target.partition(":")
        return getattr(import_module(module), name)


JOBS: list[JobDef] = [
    JobDef("core.retry_mail", "core.jobs:retry_mail", "interval", {"minutes": 10},
           _l("Renvoie les e-mails dont l'envoi a échoué (5 tentatives au plus).")),
    JobDef("accounts.purge_login_attempts", "accounts.jobs:purge_login_attempts", "cron",
           {"hour": 3, "minute": 17}, _l("Efface les tentatives de connexion de plus de 30 jours.")),
    JobDef("campaigns.publish_due", "campaigns.jobs:publish_due", "interval", {"minutes": 1},
           _l("Publie les publications arrivées à échéance, une seule fois chacune ; réessaie les échecs "
              "passagers.")),
    # The body lives beside the import code (campaigns/feeds.py), not in campaigns/jobs.py.
    JobDef("campaigns.import_feeds", "campaigns.feeds:import_feeds_job", "cron", {"hour": 6, "minute": 40},
           _l("Importe chaque jour les nouveaux articles du site de chaque territoire, en récits à adapter.")),
    JobDef("campaigns.purge_unused_images", "campaigns.jobs:purge_unused_images", "cron", {"hour": 3, "minute": 41},
           _l("Supprime les images téléversées qu'aucune publication n'utilise, deux jours après leur envoi.")),
    JobDef("campaigns.refresh_electoral_flags", "campaigns.jobs:refresh_electoral_flags", "interval", {"hours": 1},
           _l("Recalcule les signalements de période pré-électorale des publications en cours.")),
    JobDef("reports.sync_insights", "reports.jobs:sync_insights", "cron", {"minute": 5},
           _l("Synchronise les statistiques Facebook : publicités en cours chaque heure, le reste une fois par "
              "jour.")),
    JobDef("reports.backfill_insights", "reports.jobs:backfill_insights", "interval", {"minutes": 1},
           _l("Reprend l'historique des statistiques d'un territoire nouvellement connecté, étape par étape.")),
    # Every 15 minutes; the job itself decides, per territory, whether its weekly report is due
    # (Territory.report_weekday / report_hour, territory time) and catches up missed ones.
    JobDef("reports.weekly", "reports.jobs:weekly", "interval", {"minutes": 15},
           _l("Construit et envoie le rapport hebdomadaire de chaque territoire à son heure (rattrape les "
              "oublis).")),
    # "80 puis 100 %," not "80 / 100 % des": babel would read "% d" as a placeholder.
    JobDef("sponsored.check_pacing", "sponsored.jobs:check_pacing", "cron", {"minute": 20},
           _l("Contrôle le rythme des dépenses sponsorisées : dépense réelle, examens Facebook, alertes quand une "
              "allocation atteint 80 puis 100 %, pause des sponsorisations qui dépasseraient.")),
    JobDef("sponsored.resume_boosts", "sponsored.jobs:resume_boosts", "interval", {"minutes": 2},
           _l("Envoie à Facebook les sponsorisations approuvées et reprend les créations interrompues, sans "
              "doublon.")),
]


def get_job(job_id: str) -> JobDef:
    """:raise KeyError: with the known ids, for an unknown id."""
    for job in JOBS:
        if job.id == job_id:
            return job
    raise KeyError(f"unknown job {job_id!r}; known jobs: {', '.join(j.id for j in JOBS)}")
