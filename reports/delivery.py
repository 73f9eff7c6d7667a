"""Weekly reports: recipients, generation into the archive, e-mail delivery, and the schedule.

Services flush, never commit (the view, the CLI or the job owns the transaction). A report is
unique per (territory, ISO week); it is e-mailed once (`Report.sent_at`), and each recipient has
one `ReportDelivery` whose status follows its `MailMessage` (sent, outbox, failed — the
`core.retry_mail` job retries failed ones).

**Schedule and catch-up.** The `reports.weekly` job runs every 15 minutes and decides per
territory: the last send moment (`report_weekday` at `report_hour`, territory time) that has
passed makes the week before it due. A due week whose report was never sent is built and sent,
whenever the job next runs — so a Monday missed while the scheduler was down is caught up when it
comes back, exactly once (`Report` is unique per territory and week, `sent_at` marks it sent).
Older gaps are caught up too, back to the last week that was sent (at most `CATCH_UP_WEEKS`);
send moments before the territory existed were not missed, and a territory that never received a
report only gets the latest one (no backlog of old reports on its first run).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from accounts.models import Territory
from accounts.services import Actor, audit
from core import clock
from core.db import ALL, scoped
from core.errors import Conflict, DomainError, NotFound
from core.mail import Attachment, MailMessage, send_mail
from reports import pdf, weekly
from reports.models import Report, ReportDelivery, ReportRecipient, ReportRecipientCreate, ReportSchedule, ReportStatus

logger = logging.getLogger(__name__)

CATCH_UP_WEEKS = 4
STALE_BUILD = timedelta(minutes=15)  # a build "in progress" for longer than this died with its process

Progress = Callable[[str], None]


# ----------------------------------------------------------------------------------- recipients


def list_recipients(*, session: Session) -> list[ReportRecipient]:
    return list(session.exec(select(ReportRecipient).order_by(ReportRecipient.active.desc(),
                                                               ReportRecipient.name)).all())


def get_recipient(*, session: Session, recipient_id: int) -> ReportRecipient:
    """:raise NotFound: unknown here (or another territory's)."""
    recipient = session.exec(select(ReportRecipient).where(ReportRecipient.id == recipient_id)).first()
    if recipient is None:
        raise NotFound(_("Destinataire introuvable."))
    return recipient


def create_recipient(*, session: Session, territory: Territory, data: ReportRecipientCreate,
                     actor: Actor) -> ReportRecipient:
    """Add a recipient of the weekly report, audited. Commits: no. :raise Conflict: same e-mail twice."""
    if session.exec(select(ReportRecipient).where(ReportRecipient.email == data.email)).first():
        raise Conflict(_("Cette adresse reçoit déjà le rapport."), field="email")
    recipient = ReportRecipient.model_validate(data, update={"territory_id": territory.id})
    session.add(recipient)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="report_recipient.create", obj=recipient,
          after=data.model_dump())
    return recipient


def update_recipient(*, session: Session, territory: Territory, recipient_id: int, data: ReportRecipientCreate,
                     actor: Actor) -> ReportRecipient:
    """Change a recipient, audited. Commits: no."""
    recipient = get_recipient(session=session, recipient_id=recipient_id)
    clash = session.exec(select(ReportRecipient).where(ReportRecipient.email == data.email,
                                                       ReportRecipient.id != recipient.id)).first()
    if clash:
        raise Conflict(_("Cette adresse reçoit déjà le rapport."), field="email")
    changes = data.model_dump()
    before = {k: getattr(recipient, k) for k in changes}
    recipient.sqlmodel_update(changes)
    session.add(recipient)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="report_recipient.update", obj=recipient,
          before=before, after=changes)
    return recipient


def remove_recipient(*, session: Session, territory: Territory, recipient_id: int, actor: Actor) -> bool:
    """Remove a recipient; one who already received reports is deactivated instead, so the archive
    keeps saying who got what. Returns True when deleted. Commits: no."""
    recipient = get_recipient(session=session, recipient_id=recipient_id)
    audit(session=session, territory_id=territory.id, actor=actor, action="report_recipient.remove", obj=recipient,
          before={"email": recipient.email, "name": recipient.name})
    if session.exec(select(ReportDelivery.id).where(ReportDelivery.recipient_id == recipient.id)).first():
        recipient.active = False
        session.add(recipient)
        session.flush()
        return False
    session.delete(recipient)
    session.flush()
    return True


def update_schedule(*, session: Session, territory: Territory, data: ReportSchedule, actor: Actor) -> Territory:
    """Change the weekday and hour (territory time) of the weekly report, audited. Commits: no."""
    before = {"report_weekday": territory.report_weekday, "report_hour": territory.report_hour}
    territory.report_weekday, territory.report_hour = data.report_weekday, data.report_hour
    session.add(territory)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="report.schedule", obj=territory,
          before=before, after=data.model_dump())
    return territory


# ------------------------------------------------------------------------------------- archive


def list_reports(*, session: Session) -> list[Report]:
    """The archive, newest week first (the PDFs themselves are not loaded)."""
    return list(session.exec(select(Report).options(defer(Report.pdf)).order_by(Report.period_start.desc())).all())


def get_report(*, session: Session, report_id: int) -> Report:
    """:raise NotFound: unknown here (or another territory's)."""
    report = session.exec(select(Report).where(Report.id == report_id)).first()
    if report is None:
        raise NotFound(_("Rapport introuvable."))
    return report


def find_report(*, session: Session, iso_week: str) -> Report | None:
    return session.exec(select(Report).where(Report.iso_week == iso_week)).first()


def is_building(report: Report, now: datetime | None = None) -> bool:
    """Pending or building, and not abandoned by a process that died mid-build."""
    if report.status not in (ReportStatus.PENDING, ReportStatus.BUILDING):
        return False
    started = report.started_at or report.created_at
    return (now or clock.now()) - started < STALE_BUILD


def request_report(*, session: Session, territory: Territory, iso_week: str, requested_by: str) -> Report:
    """Create (or reset) the archive row of a past week, pending its build. Commits: no.

    :raise DomainError: malformed or unfinished week. :raise Conflict: already being built.
    """
    now = clock.now()
    monday = weekly.check_week_complete(iso_week, now, weekly.territory_tz(territory))
    iso_week = weekly.iso_week_of(monday)  # normalised
    report = find_report(session=session, iso_week=iso_week)
    if report is not None and is_building(report, now):
        raise Conflict(_("Le rapport de la semaine %(week)s est déjà en préparation.", week=iso_week))
    if report is None:
        report = Report(territory_id=territory.id, iso_week=iso_week, period_start=monday,
                        period_end=monday + timedelta(days=6))
    report.status, report.progress, report.error = ReportStatus.PENDING, "", None
    report.started_at, report.requested_by_label = now, requested_by
    session.add(report)
    session.flush()
    return report


def build_report(*, session: Session, territory: Territory, report: Report, progress: Progress | None = None,
                 timings: pdf.Timings | None = None) -> weekly.WeeklyReport | None:
    """Build a requested report's PDF in the territory's language and store it. Commits: no.

    Never raises for a failed build: the report is marked failed with the reason (logged), and
    None is returned. On success, returns the report's content (the e-mails reuse it).
    """
    def step(name: str) -> None:
        report.progress = name
        if progress:
            progress(name)

    report.status, report.started_at = ReportStatus.BUILDING, clock.now()
    timings = timings if timings is not None else pdf.Timings()
    try:
        step("data")
        started = time.perf_counter()
        data = weekly.build_report_data(session=session, territory=territory, iso_week=report.iso_week)
        timings.data += time.perf_counter() - started
        report.pdf = pdf.build_pdf(data, timings=timings, progress=step)
    except Exception as exc:  # any failure is recorded on the report and shown in the archive
        logger.exception("Weekly report %s of %s failed", report.iso_week, territory.slug)
        report.status, report.error = ReportStatus.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
        session.add(report)
        session.flush()
        return None
    report.status, report.progress, report.error = ReportStatus.READY, "", None
    report.generated_at = data.generated_at
    session.add(report)
    session.flush()
    return data


def generate_report(*, session: Session, territory: Territory, iso_week: str, requested_by: str = "system",
                    timings: pdf.Timings | None = None) -> tuple[Report, weekly.WeeklyReport | None]:
    """Request and build a week's report at once (CLI, job). Commits: no."""
    report = request_report(session=session, territory=territory, iso_week=iso_week, requested_by=requested_by)
    data = build_report(session=session, territory=territory, report=report, timings=timings)
    return report, data


def report_filename(territory: Territory, report: Report) -> str:
    return f"rapport-{territory.slug}-{report.iso_week}.pdf"


# ------------------------------------------------------------------------------------ delivery


@dataclass(frozen=True)
class DeliveryRow:
    delivery: ReportDelivery
    recipient: ReportRecipient
    mail: MailMessage | None

    @property
    def status(self) -> str:
        """The mail's own status when known (it moves when `core.retry_mail` succeeds)."""
        return self.mail.status if self.mail is not None else self.delivery.status


def send_report(*, session: Session, territory: Territory, report: Report,
                data: weekly.WeeklyReport | None = None) -> list[ReportDelivery]:
    """E-mail a ready report to every active recipient who has not had it, in each one's language,
    with the PDF attached. Marks the report sent. Commits: no. :raise DomainError: not ready."""
    if report.status != ReportStatus.READY or report.pdf is None:
        raise DomainError(_("Le rapport n'est pas prêt : générez-le d'abord."))
    done = set(session.exec(select(ReportDelivery.recipient_id).where(ReportDelivery.report_id == report.id)).all())
    recipients = [r for r in list_recipients(session=session) if r.active and r.id not in done]
    if recipients and data is None:
        data = weekly.build_report_data(session=session, territory=territory, iso_week=report.iso_week)
    deliveries = []
    content: dict[str, tuple[str, str, str, bytes]] = {}
    for recipient in recipients:
        language = recipient.language if recipient.language in ("fr", "en") else territory.locale
        if language not in content:
            content[language] = _compose(territory, report, data, language)
        subject, text, html, attachment = content[language]
        mail = send_mail(session=session, territory_id=territory.id, to=recipient.email, subject=subject,
                         text=text, html=html, kind="report",
                         attachments=(Attachment(report_filename(territory, report), attachment),))
        delivery = ReportDelivery(territory_id=territory.id, report_id=report.id, recipient_id=recipient.id,
                                  mail_id=mail.id, status=mail.status)
        session.add(delivery)
        deliveries.append(delivery)
    report.sent_at = clock.now()
    session.add(report)
    session.flush()
    return deliveries


def _compose(territory: Territory, report: Report, data: weekly.WeeklyReport | None,
             language: str) -> tuple[str, str, str, bytes]:
    """Subject, text, HTML body (the report's template) and PDF for one language."""
    assert data is not None
    attachment = report.pdf if language == territory.locale else pdf.build_pdf(data, locale=language)
    with force_locale(language):
        subject = _("Rapport hebdomadaire — %(name)s — semaine %(week)s", name=territory.name,
                    week=report.iso_week)
        text = render_template("reports/weekly_email.txt", r=data, filename=report_filename(territory, report))
    html = pdf.render_html(data, pdf.render_charts(data, locale=language, draw=False), mode="email", locale=language)
    return subject, text, html, attachment


def deliveries_by_report(*, session: Session, report_ids: list[int]) -> dict[int, list[DeliveryRow]]:
    """Each report's deliveries with the recipient and the mail, for the archive."""
    result: dict[int, list[DeliveryRow]] = {rid: [] for rid in report_ids}
    if not report_ids:
        return result
    rows = session.exec(
        select(ReportDelivery, ReportRecipient, MailMessage)
        .join(ReportRecipient, ReportRecipient.id == ReportDelivery.recipient_id)
        .join(MailMessage, MailMessage.id == ReportDelivery.mail_id, isouter=True)
        .where(ReportDelivery.report_id.in_(report_ids))
        .order_by(ReportRecipient.name)
        .options(defer(MailMessage.raw))
    ).all()
    for delivery, recipient, mail in rows:
        result[delivery.report_id].append(DeliveryRow(delivery, recipient, mail))
    return result


def refresh_delivery_statuses(*, session: Session) -> int:
    """Copy each delivery's mail status onto it (after `core.retry_mail` retries). Commits: no."""
    changed = 0
    rows = session.exec(
        select(ReportDelivery, MailMessage.status)
        .join(MailMessage, MailMessage.id == ReportDelivery.mail_id)
        .where(ReportDelivery.status != MailMessage.status)
    ).all()
    for delivery, status in rows:
        delivery.status = status
        session.add(delivery)
        changed += 1
    session.flush()
    return changed


# ------------------------------------------------------------------------------------ schedule


def last_send_moment(territory: Territory, now: datetime) -> datetime:
    """The latest `report_weekday` at `report_hour` (territory time) at or before `now`, in UTC."""
    tz = ZoneInfo(territory.timezone)
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - territory.report_weekday) % 7)
    moment = datetime.combine(day, clock_time(territory.report_hour), tz)
    if moment > local:
        moment = datetime.combine(day - timedelta(days=7), clock_time(territory.report_hour), tz)
    return moment.astimezone(UTC)


def week_due_at(territory: Territory, moment: datetime) -> str:
    """The week a send moment reports on: the last complete ISO week before it."""
    return weekly.last_complete_week(moment, ZoneInfo(territory.timezone))


def due_weeks(*, session: Session, territory: Territory, now: datetime) -> list[str]:
    """Weeks whose send moment has passed and whose report was never sent, oldest first."""
    sent = set(session.exec(select(Report.iso_week).where(Report.sent_at.is_not(None))).all())
    moment = last_send_moment(territory, now)
    due: list[str] = []
    for back in range(CATCH_UP_WEEKS + 1):
        at = moment - timedelta(weeks=back)
        if at < territory.created_at:
            break  # the territory did not exist yet: nothing was missed
        week = week_due_at(territory, at)
        if week in sent:
            break
        due.append(week)
        if not sent:  # never sent anything: only the latest week, no backlog of old reports
            break
    return sorted(due)


def run_weekly(*, session: Session, now: datetime | None = None) -> str:
    """The `reports.weekly` job: for each territory, build and send every due week. Commits: yes,
    per territory, so one territory's failure (logged) never undoes or stops the others."""
    now = now or clock.now()
    sent, failed = 0, 0
    with scoped(session, ALL):
        territories = list(session.exec(select(Territory).order_by(Territory.id)).all())
        refresh_delivery_statuses(session=session)
    session.commit()
    for territory in territories:
        try:
            with scoped(session, territory.id):
                for week in due_weeks(session=session, territory=territory, now=now):
                    report = find_report(session=session, iso_week=week)
                    if report is not None and is_building(report, now):
                        continue  # someone pressed "generate now" a moment ago; next run sends it
                    data = None
                    if report is None or report.status != ReportStatus.READY:
                        report, data = generate_report(session=session, territory=territory, iso_week=week)
                        if data is None:
                            failed += 1
                            session.commit()  # keep the failure visible in the archive
                            continue
                    send_report(session=session, territory=territory, report=report, data=data)
                    session.commit()
                    sent += 1
        except Exception:  # one territory's failure must not stop the others
            session.rollback()
            failed += 1
            logger.exception("Weekly report of territory %s failed", territory.slug)
    return f"{sent} rapport(s) envoyé(s), {failed} échec(s)"
