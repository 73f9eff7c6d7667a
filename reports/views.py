"""The dashboard, its CSV exports and the insights synchronisation page.

The weekly report's pages are in `reports.weekly_views` (same blueprint)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlmodel import select

from accounts.models import Role
from accounts.tenancy import require_role, tenant_blueprint
from campaigns.models import Campaign
from core.db import get_session
from core.errors import ValidationFailed
from reports import dashboard as board
from reports import sync
from reports.models import BackfillStatus, InsightsSync

bp = tenant_blueprint("reports", __name__, "", template_folder="templates")


def _period_or_default(session: Any) -> tuple[board.Period, str | None]:
    try:
        return board.parse_period(session, request.args), None
    except ValidationFailed as exc:
        return board.parse_period(session, {}), exc.message


@bp.get("/")
@require_role(Role.ANALYST)
def dashboard() -> Any:
    """Headline figures, organic vs paid reach per week, tracks, costs, posts, budget — for a period."""
    session = get_session()
    period, error = _period_or_default(session)
    data = board.load(session, period, locale=str(get_locale() or "fr"), tz=g.territory.timezone)
    campaigns = session.exec(select(Campaign.id, Campaign.name).order_by(Campaign.starts_on.desc())).all()
    return render_template(
        "reports/dashboard.html", data=data, tables=board.tables(data), period=period, error=error,
        campaigns=campaigns, args=request.args, figure_columns=board.figure_columns(), cells=board.Cells(),
        backfill=sync.get_backfill(session=session),
    )


@bp.get("/dashboard.csv")
@require_role(Role.ANALYST)
def dashboard_csv() -> Any:
    """One table of the dashboard as CSV (`table=tracks`, `sep=;` for French Excel), same filters."""
    session = get_session()
    name = request.args.get("table", "")
    if name not in board.TABLES:
        abort(404)
    try:
        period = board.parse_period(session, request.args)
    except ValidationFailed as exc:
        abort(400, exc.message)
    data = board.load(session, period, with_charts=False)
    separator = ";" if request.args.get("sep") == ";" else ","
    body = board.to_csv(board.tables(data)[name], separator=separator)
    filename = f"rayonne-{g.territory.slug}-{name}-{period.since.isoformat()}-{period.until.isoformat()}.csv"
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/insights")
@require_role(Role.ANALYST)
def insights() -> Any:
    """Synchronisation with Facebook: last runs, what the facts cover, and the historic backfill's progress."""
    session = get_session()
    return render_template("reports/dashboard_sync.html", sync_state=session.exec(select(InsightsSync)).first(),
                           backfill=sync.get_backfill(session=session), BackfillStatus=BackfillStatus)


@bp.get("/insights/progress")
@require_role(Role.ANALYST)
def insights_progress() -> Any:
    """The backfill's progress alone (the page's script refreshes it every few seconds)."""
    session = get_session()
    return render_template("reports/dashboard_progress.html", backfill=sync.get_backfill(session=session),
                           BackfillStatus=BackfillStatus)


@bp.post("/insights/backfill")
@require_role(Role.ADMIN)
def start_backfill() -> Any:
    """Plan the historic backfill again (the `reports.backfill_insights` job does it step by step)."""
    session = get_session()
    from accounts.connection import get_connection

    if get_connection(session=session) is None:
        flash(_("Connectez d'abord le territoire à Facebook (ou au bac à sable)."), "error")
        return redirect(url_for("reports.insights"))
    backfill = sync.get_backfill(session=session)
    if backfill is not None and backfill.status in (BackfillStatus.PENDING, BackfillStatus.RUNNING):
        flash(_("La reprise de l'historique est déjà en cours."), "info")
        return redirect(url_for("reports.insights"))
    sync.start_backfill(session=session, territory=g.territory)
    session.commit()
    flash(_("Reprise de l'historique planifiée : elle avance d'elle-même, étape par étape."), "success")
    return redirect(url_for("reports.insights"))


# The weekly report's pages (archive, generate now, preview, recipients) live beside its code and
# register on this blueprint.
from reports import weekly_views  # noqa: E402, F401
