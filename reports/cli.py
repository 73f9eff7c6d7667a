"""`flask report weekly --territory <slug> --week 2026-W47 --output report.pdf`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlmodel import select

from accounts.models import Territory
from core import clock
from core.db import ALL, scoped, session_scope
from core.errors import DomainError
from reports import delivery, weekly
from reports.models import ReportStatus

report_cli = AppGroup("report", help="Weekly reports: build one (and e-mail it) from the command line.")


@report_cli.command("weekly")
@click.option("--territory", "slug", required=True, help="The territory's slug (identifier in its URLs).")
@click.option("--week", default=None, help="ISO week, e.g. 2026-W47 (default: the last complete week).")
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Write the PDF here (default: rapport-<slug>-<week>.pdf).")
@click.option("--send", is_flag=True, help="Also e-mail it to the territory's recipients who have not had it.")
def weekly_report(slug: str, week: str | None, output: Path | None, send: bool) -> None:
    """Build a territory's weekly report, keep it in the archive and write the PDF."""
    with session_scope(ALL) as session:
        territory = session.exec(select(Territory).where(Territory.slug == slug)).first()
        if territory is None:
            known = ", ".join(session.exec(select(Territory.slug).order_by(Territory.slug)).all()) or "none"
            raise click.BadParameter(f"no territory {slug!r} (known: {known})", param_hint="--territory")
        tz = weekly.territory_tz(territory)
        week = week or weekly.last_complete_week(clock.now(), tz)
        with scoped(session, territory.id):
            try:
                report, data = delivery.generate_report(session=session, territory=territory, iso_week=week,
                                                         requested_by="cli")
            except DomainError as exc:
                raise click.BadParameter(exc.message, param_hint="--week") from None
            if report.status != ReportStatus.READY:
                session.commit()
                sys.exit(f"The report of {report.iso_week} failed: {report.error}")
            target = output or Path(delivery.report_filename(territory, report))
            target.write_bytes(report.pdf or b"")
            click.echo(f"{target}: {report.iso_week} of {territory.name}, {len(report.pdf or b'')} bytes.")
            if send:
                deliveries = delivery.send_report(session=session, territory=territory, report=report, data=data)
                click.echo(f"Sent to {len(deliveries)} recipient(s): "
                           + (", ".join(d.status for d in deliveries) or "nobody new"))
