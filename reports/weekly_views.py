"""Pages of the weekly report: the archive, "generate now" with its progress, downloads, the on-screen
preview, and the recipients (with the sending schedule).

The routes belong to the reports blueprint (`reports.views.bp`, one blueprint per package); this
module only keeps them beside the weekly report's own code. "Generate now" builds in a worker
thread of the web process and the status page refreshes itself (a meta refresh: the CSP forbids
inline scripts) until the PDF is ready; a build whose process died is retried after
`delivery.STALE_BUILD`.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts.models import Role, Territory
from accounts.services import Actor
from accounts.tenancy import require_role
from core import clock
from core.db import get_session, session_scope
from core.errors import DomainError, ValidationFailed
from core.forms import validate
from reports import delivery, pdf, weekly
from reports.models import ReportRecipientCreate, ReportSchedule, ReportStatus
from reports.views import bp

logger = logging.getLogger(__name__)

# One report at a time per web process: a build holds a few MB of charts and PDF.
_builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="weekly-report")

def _actor() -> Actor:
    return Actor.of(current_user)


# --------------------------------------------------------------------------------------- archive


@bp.get("/reports")
@require_role(Role.ANALYST)
def archive() -> Any:
    session = get_session()
    reports = delivery.list_reports(session=session)
    deliveries = delivery.deliveries_by_report(session=session, report_ids=[r.id for r in reports])
    weeks = weekly.recent_weeks(clock.now(), weekly.territory_tz(g.territory))
    return render_template("reports/archive.html", reports=reports, deliveries=deliveries, weeks=weeks,
                           building=any(delivery.is_building(r) for r in reports), is_building=delivery.is_building)


@bp.post("/reports/generate")
@require_role(Role.EDITOR)
def weekly_generate() -> Any:
    session = get_session()
    week = (request.form.get("week_other") or request.form.get("week") or "").strip()
    try:
        report = delivery.request_report(session=session, territory=g.territory, iso_week=week,
                                         requested_by=current_user.email)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("reports.archive"))
    session.commit()
    _builder.submit(_build_in_background, current_app._get_current_object(), g.territory.id, report.id)
    return redirect(url_for("reports.weekly_status", report_id=report.id))


def _build_in_background(app: Flask, territory_id: int, report_id: int) -> None:
    """The worker: builds one requested report, committing each step so the status page sees it."""
    with app.app_context(), session_scope(territory_id) as session:
        try:
            territory = session.get(Territory, territory_id)
            report = delivery.get_report(session=session, report_id=report_id)
            delivery.build_report(session=session, territory=territory, report=report,
                                  progress=lambda _step: session.commit())
        except Exception:  # the worker thread has no one to report to but the log
            logger.exception("Building report %s failed", report_id)
            raise


@bp.get("/reports/<int:report_id>")
@require_role(Role.ANALYST)
def weekly_status(report_id: int) -> Any:
    session = get_session()
    report = delivery.get_report(session=session, report_id=report_id)
    rows = delivery.deliveries_by_report(session=session, report_ids=[report.id])[report.id]
    building = delivery.is_building(report)
    page = render_template("reports/archive_report.html", report=report, deliveries=rows, building=building,
                           steps=("data", "charts", "pdf"))
    # While it builds the page reloads itself every 2 s: a Refresh header, since the CSP allows no
    # inline script and the base layout has no <head> block for a meta refresh.
    return page, 200, ({"Refresh": "2"} if building else {})


@bp.get("/reports/<int:report_id>/pdf")
@require_role(Role.ANALYST)
def weekly_pdf(report_id: int) -> Any:
    report = delivery.get_report(session=get_session(), report_id=report_id)
    if report.status != ReportStatus.READY or report.pdf is None:
        flash(_("Ce rapport n'est pas prêt."), "error")
        return redirect(url_for("reports.weekly_status", report_id=report.id))
    name = delivery.report_filename(g.territory, report)
    return Response(report.pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/reports/<int:report_id>/send")
@require_role(Role.MANAGER)
def weekly_send(report_id: int) -> Any:
    session = get_session()
    report = delivery.get_report(session=session, report_id=report_id)
    try:
        deliveries = delivery.send_report(session=session, territory=g.territory, report=report)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("reports.weekly_status", report_id=report.id))
    session.commit()
    if deliveries:
        flash(_("Rapport envoyé à %(n)s destinataire(s).", n=len(deliveries)), "success")
    else:
        flash(_("Tous les destinataires actifs l'ont déjà reçu."), "info")
    return redirect(url_for("reports.weekly_status", report_id=report.id))


@bp.get("/reports/preview")
@require_role(Role.ANALYST)
def weekly_preview() -> Any:
    """The report on screen, for any past week, from the same template as the PDF."""
    session = get_session()
    week = request.args.get("week") or weekly.last_complete_week(clock.now(), weekly.territory_tz(g.territory))
    weekly.check_week_complete(week, clock.now(), weekly.territory_tz(g.territory))
    data = weekly.build_report_data(session=session, territory=g.territory, iso_week=week)
    charts = pdf.render_charts(data, locale=g.territory.locale)
    return pdf.render_html(data, charts, mode="screen", locale=g.territory.locale,
                           back_url=url_for("reports.archive"))


# ------------------------------------------------------------------------------------ recipients


def _weekdays() -> list[str]:
    return [_("Lundi"), _("Mardi"), _("Mercredi"), _("Jeudi"), _("Vendredi"), _("Samedi"), _("Dimanche")]


def _recipient_form() -> dict[str, Any]:
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    form["active"] = "active" in request.form
    return form


@bp.route("/reports/recipients", methods=["GET", "POST"])
@require_role(Role.MANAGER)
def recipients() -> Any:
    session = get_session()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            data = validate(ReportRecipientCreate, {**_recipient_form(), "active": True})
            delivery.create_recipient(session=session, territory=g.territory, data=data, actor=_actor())
        except ValidationFailed as exc:
            errors = exc.errors
        except DomainError as exc:
            errors = {exc.field or "email": exc.message}
        else:
            session.commit()
            flash(_("Destinataire ajouté."), "success")
            return redirect(url_for("reports.recipients"))
    return render_template("reports/recipients.html", recipients=delivery.list_recipients(session=session),
                           errors=errors, form=request.form if errors else {}, weekdays=_weekdays()), \
        (422 if errors else 200)


@bp.post("/reports/recipients/<int:recipient_id>")
@require_role(Role.MANAGER)
def recipient_update(recipient_id: int) -> Any:
    session = get_session()
    delivery.get_recipient(session=session, recipient_id=recipient_id)  # 404 before anything else
    try:
        data = validate(ReportRecipientCreate, _recipient_form())
        delivery.update_recipient(session=session, territory=g.territory, recipient_id=recipient_id, data=data,
                                  actor=_actor())
    except ValidationFailed as exc:
        session.rollback()
        flash("; ".join(exc.errors.values()), "error")
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        session.rollback()
        flash(exc.message, "error")
    else:
        session.commit()
        flash(_("Destinataire modifié."), "success")
    return redirect(url_for("reports.recipients"))


@bp.post("/reports/recipients/<int:recipient_id>/remove")
@require_role(Role.MANAGER)
def recipient_remove(recipient_id: int) -> Any:
    session = get_session()
    deleted = delivery.remove_recipient(session=session, territory=g.territory, recipient_id=recipient_id,
                                        actor=_actor())
    session.commit()
    flash(_("Destinataire retiré.") if deleted else
          _("Destinataire désactivé : il reste dans l'historique des envois."), "success")
    return redirect(url_for("reports.recipients"))


@bp.post("/reports/schedule")
@require_role(Role.MANAGER)
def report_schedule() -> Any:
    session = get_session()
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        data = validate(ReportSchedule, form)
    except ValidationFailed as exc:
        flash("; ".join(exc.errors.values()), "error")
        return redirect(url_for("reports.recipients"))
    territory = session.merge(g.territory)
    delivery.update_schedule(session=session, territory=territory, data=data, actor=_actor())
    session.commit()
    flash(_("Heure d'envoi enregistrée."), "success")
    return redirect(url_for("reports.recipients"))

