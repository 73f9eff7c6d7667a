"""Delivery of the weekly report: recipients, e-mail with the PDF through a real SMTP server on loopback,
statuses and retries, the archive with "generate now", and the Monday schedule with its catch-up."""

from __future__ import annotations

import email
import io
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from sqlmodel import select

from accounts.models import Role
from core.db import scoped
from core.mail import MailMessage, retry_failed
from reports import delivery, weekly
from reports.models import Report, ReportDelivery, ReportRecipient, ReportStatus
from scheduler import runner
from tests.conftest import free_port, make_territory, make_user
from tests.reports.weekly_data import make_sample

MONDAY = date(2026, 11, 16)  # 2026-W47
AFTER = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday of W49, 10:00 in Paris


class Recorder:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def parsed(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(content, policy=policy.default) for _f, _r, content in self.messages]


@pytest.fixture
def smtp(app) -> Iterator[Recorder]:  # noqa: ANN001
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = app.config["RAYONNE_SETTINGS"]
    old = (settings.SMTP_HOST, settings.SMTP_PORT, settings.SMTP_STARTTLS)
    settings.SMTP_HOST, settings.SMTP_PORT, settings.SMTP_STARTTLS = "127.0.0.1", controller.port, False
    yield handler
    settings.SMTP_HOST, settings.SMTP_PORT, settings.SMTP_STARTTLS = old
    controller.stop()


def add_recipient(session, territory, name: str, address: str, language: str = "fr") -> ReportRecipient:  # noqa: ANN001
    recipient = ReportRecipient(territory_id=territory.id, name=name, role="Maire adjointe", email=address,
                                language=language)
    with scoped(session, territory.id):
        session.add(recipient)
        session.commit()
    return recipient


def pdf_of(message: email.message.EmailMessage) -> tuple[str, bytes]:
    attachment = next(message.iter_attachments())
    return attachment.get_filename(), attachment.get_content()


# -------------------------------------------------------------------------------------- e-mail


def test_report_is_emailed_with_the_pdf_to_each_recipient(app_ctx, session, smtp, clock) -> None:  # noqa: ANN001
    """Each active recipient gets one message over SMTP with the text, the HTML report and the PDF attached."""
    clock.freeze(AFTER)
    territory = make_territory(session, "valrive", "Valrive Agglo")
    make_sample(session, territory, last_monday=MONDAY, weeks=2)
    add_recipient(session, territory, "Claire Dumont", "claire@valrive.test")
    inactive = add_recipient(session, territory, "Paul Ancien", "paul@valrive.test")
    inactive.active = False
    with scoped(session, territory.id):
        session.add(inactive)
        report, data = delivery.generate_report(session=session, territory=territory, iso_week="2026-W47")
        deliveries = delivery.send_report(session=session, territory=territory, report=report, data=data)
        session.commit()
    assert [d.status for d in deliveries] == ["sent"] and report.sent_at == AFTER
    mail_from, rcpt, _content = smtp.messages[0]
    assert rcpt == ["claire@valrive.test"] and len(smtp.messages) == 1
    message = smtp.parsed()[0]
    assert message["Subject"] == "Rapport hebdomadaire — Valrive Agglo — semaine 2026-W47"
    text = message.get_body(("plain",)).get_content()
    assert "Personnes atteintes" in text and data.tracks[0].audience_name in text
    html = message.get_body(("html",)).get_content()
    assert '<html lang="fr">' in html and 'id="annex"' in html and "data:image/svg" not in html
    assert "Données du graphique" in html  # the charts' tables stand in for the images
    filename, attached = pdf_of(message)
    assert filename == "rapport-valrive-2026-W47.pdf" and attached == report.pdf
    assert PdfReader(io.BytesIO(attached)).trailer["/Root"]["/Lang"] == "fr"


def test_a_recipient_in_english_gets_the_english_report(app_ctx, session, smtp, clock) -> None:  # noqa: ANN001
    """The recipient's language decides the message and the attached PDF's language."""
    clock.freeze(AFTER)
    territory = make_territory(session, "valrive")
    make_sample(session, territory, last_monday=MONDAY, weeks=2)
    add_recipient(session, territory, "Jane Doe", "jane@valrive.test", language="en")
    with scoped(session, territory.id):
        report, data = delivery.generate_report(session=session, territory=territory, iso_week="2026-W47")
        delivery.send_report(session=session, territory=territory, report=report, data=data)
    message = smtp.parsed()[0]
    assert '<html lang="en">' in message.get_body(("html",)).get_content()
    _name, attached = pdf_of(message)
    assert attached != report.pdf
    reader = PdfReader(io.BytesIO(attached))
    assert reader.trailer["/Root"]["/Lang"] == "en"
    assert f"{data.reach.total:,}" in reader.pages[0].extract_text()  # English digit grouping


def test_failed_delivery_is_retried_and_its_status_shown(app, client, auth, session, clock) -> None:  # noqa: ANN001
    """SMTP down: the delivery is recorded as failed; the retry job sends it and the archive shows it sent."""
    clock.freeze(AFTER)
    territory = make_territory(session, "valrive")
    make_user(session, "ana@valrive.test", territory, Role.ANALYST)
    make_sample(session, territory, last_monday=MONDAY, weeks=2)
    add_recipient(session, territory, "Claire Dumont", "claire@valrive.test")
    settings = app.config["RAYONNE_SETTINGS"]
    port = free_port()
    settings.SMTP_HOST, settings.SMTP_PORT, settings.SMTP_STARTTLS = "127.0.0.1", port, False
    try:
        with app.app_context(), scoped(session, territory.id):
            report, data = delivery.generate_report(session=session, territory=territory, iso_week="2026-W47")
            [sent] = delivery.send_report(session=session, territory=territory, report=report, data=data)
            session.commit()
            assert sent.status == "failed"
        auth.login("ana@valrive.test")
        page = client.get("/t/valrive/reports").get_data(as_text=True)
        assert "Claire Dumont" in page and "échec, nouvel essai prévu" in page
        handler = Recorder()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            with app.app_context():
                assert retry_failed(session=session) == 1
                session.commit()
        finally:
            controller.stop()
    finally:
        settings.SMTP_HOST = None
    assert len(handler.messages) == 1
    page = client.get(f"/t/valrive/reports/{report.id}").get_data(as_text=True)
    assert "<td>envoyé" in page and "échec, nouvel essai prévu" not in page
    with app.app_context(), scoped(session, "*"):
        assert delivery.refresh_delivery_statuses(session=session) == 1
        assert session.exec(select(ReportDelivery)).one().status == "sent"


def test_without_smtp_the_report_waits_in_the_outbox(app_ctx, session, clock) -> None:  # noqa: ANN001
    """No SMTP server configured: the message (with its PDF) is kept in the local outbox."""
    clock.freeze(AFTER)
    territory = make_territory(session, "valrive")
    make_sample(session, territory, last_monday=MONDAY, weeks=1)
    add_recipient(session, territory, "Claire Dumont", "claire@valrive.test")
    with scoped(session, territory.id):
        report, data = delivery.generate_report(session=session, territory=territory, iso_week="2026-W47")
        [sent] = delivery.send_report(session=session, territory=territory, report=report, data=data)
        mail = session.get(MailMessage, sent.mail_id)
    assert sent.status == "outbox" and mail.kind == "report" and b"rapport-valrive-2026-W47.pdf" in mail.raw


# ----------------------------------------------------------------------------- pages and archive


def test_recipients_are_managed_by_managers(client, auth, session) -> None:  # noqa: ANN001
    """A manager adds, changes and removes recipients and sets the sending day and hour."""
    territory = make_territory(session, "valrive")
    make_user(session, "marc@valrive.test", territory, Role.MANAGER)
    auth.login("marc@valrive.test")
    response = auth.post("/t/valrive/reports/recipients", {"name": "Claire Dumont", "role": "Présidente",
                                                            "email": "Claire@Valrive.test", "language": "en"})
    assert response.status_code == 302
    bad = auth.post("/t/valrive/reports/recipients", {"name": "X", "email": "not-an-address", "language": "de"})
    assert bad.status_code == 422 and "Adresse e-mail invalide" in bad.get_data(as_text=True)
    with scoped(session, territory.id):
        recipient = session.exec(select(ReportRecipient)).one()
    assert (recipient.email, recipient.language, recipient.active) == ("claire@valrive.test", "en", True)
    auth.post(f"/t/valrive/reports/recipients/{recipient.id}", {"name": "Claire Dumont", "role": "Présidente",
                                                                 "email": "claire@valrive.test", "language": "fr"})
    session.expire_all()
    with scoped(session, territory.id):
        assert session.get(ReportRecipient, recipient.id).language == "fr"
        assert not session.get(ReportRecipient, recipient.id).active  # the checkbox was not sent
    auth.post("/t/valrive/reports/schedule", {"report_weekday": "1", "report_hour": "7"})
    session.expire_all()
    session.refresh(territory)
    assert (territory.report_weekday, territory.report_hour) == (1, 7)
    auth.post(f"/t/valrive/reports/recipients/{recipient.id}/remove")
    with scoped(session, territory.id):
        assert session.exec(select(ReportRecipient)).all() == []


def test_generate_now_shows_progress_then_the_pdf(client, auth, session, clock) -> None:  # noqa: ANN001
    """"Generate now" for a past week returns at once to a page that refreshes itself until the PDF is ready."""
    clock.freeze(AFTER)
    territory = make_territory(session, "valrive")
    make_user(session, "emma@valrive.test", territory, Role.EDITOR)
    make_sample(session, territory, last_monday=MONDAY, weeks=2)
    auth.login("emma@valrive.test")
    archive = client.get("/t/valrive/reports").get_data(as_text=True)
    assert '<option value="2026-W48">' in archive and "Générer maintenant" in archive
    response = auth.post("/t/valrive/reports/generate", {"week": "2026-W48", "week_other": "2026-W47"})
    assert response.status_code == 302
    status_url = response.headers["Location"]
    deadline = time.monotonic() + 60
    while True:
        page = client.get(status_url)
        if "Refresh" not in page.headers:
            break
        assert "En préparation" in page.get_data(as_text=True)
        assert time.monotonic() < deadline, "the report never finished building"
        time.sleep(0.1)
    assert "prêt" in page.get_data(as_text=True)
    with scoped(session, territory.id):
        report = session.exec(select(Report)).one()
    assert report.iso_week == "2026-W47" and report.requested_by_label == "emma@valrive.test"
    download = client.get(f"/t/valrive/reports/{report.id}/pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert 'filename="rapport-valrive-2026-W47.pdf"' in download.headers["Content-Disposition"]
    assert download.data.startswith(b"%PDF-")
    refused = auth.post("/t/valrive/reports/generate", {"week": "2026-W49"})  # the current week
    assert refused.status_code == 302
    assert "pas encore terminée" in client.get("/t/valrive/reports").get_data(as_text=True)


# ------------------------------------------------------------------------------------ schedule


def run_at(clock, moment: datetime) -> str:  # noqa: ANN001
    clock.freeze(moment)
    return runner.run_job("reports.weekly").detail or ""


def sent_weeks(session) -> list[tuple[str, int]]:  # noqa: ANN001
    session.expire_all()
    with scoped(session, "*"):
        reports = session.exec(select(Report).where(Report.sent_at.is_not(None)).order_by(Report.iso_week)).all()
        return [(r.iso_week, len(session.exec(select(ReportDelivery).where(ReportDelivery.report_id == r.id)).all()))
                for r in reports]


def test_the_job_sends_on_monday_at_the_territory_hour_once(app_ctx, session, smtp, clock) -> None:  # noqa: ANN001
    """Monday 08:00 Paris: not at 07:45, sent at 08:00, and the 08:15 run sends nothing again."""
    clock.freeze(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))  # the territory is created on Wednesday
    territory = make_territory(session, "valrive")
    make_sample(session, territory, last_monday=date(2026, 11, 23), weeks=1)
    add_recipient(session, territory, "Claire Dumont", "claire@valrive.test")
    assert "0 rapport" in run_at(clock, datetime(2026, 11, 30, 6, 45, tzinfo=UTC))  # 07:45 in Paris
    assert sent_weeks(session) == [] and smtp.messages == []
    run_at(clock, datetime(2026, 11, 30, 7, 0, tzinfo=UTC))  # 08:00 in Paris
    assert sent_weeks(session) == [("2026-W48", 1)] and len(smtp.messages) == 1
    run_at(clock, datetime(2026, 11, 30, 7, 15, tzinfo=UTC))
    assert len(smtp.messages) == 1


def test_a_monday_missed_while_the_scheduler_was_down_is_caught_up_once(app_ctx, session, smtp, clock) -> None:  # noqa: ANN001
    """Scheduler stopped from Sunday to Tuesday: on restart the missed report is built and sent, exactly once."""
    clock.freeze(datetime(2026, 11, 18, 12, 0, tzinfo=UTC))
    territory = make_territory(session, "valrive")
    make_sample(session, territory, last_monday=date(2026, 11, 23), weeks=2)
    add_recipient(session, territory, "Claire Dumont", "claire@valrive.test")
    # Running normally: the W47 report goes out on Monday 23 November.
    run_at(clock, datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
    assert sent_weeks(session) == [("2026-W47", 1)]
    # Every 15 minutes until the scheduler stops on Sunday evening…
    moment = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
    while moment < datetime(2026, 11, 29, 22, 0, tzinfo=UTC):
        run_at(clock, moment)
        moment += timedelta(minutes=15)
    assert sent_weeks(session) == [("2026-W47", 1)]
    # …down all Monday; it comes back on Tuesday morning and catches W48 up.
    restart = datetime(2026, 12, 1, 6, 10, tzinfo=UTC)
    assert "1 rapport(s) envoyé(s)" in run_at(clock, restart)
    assert sent_weeks(session) == [("2026-W47", 1), ("2026-W48", 1)]
    for n in range(1, 6):  # later runs send nothing more
        run_at(clock, restart + timedelta(minutes=15 * n))
    assert sent_weeks(session) == [("2026-W47", 1), ("2026-W48", 1)] and len(smtp.messages) == 2


def test_a_new_territory_gets_only_the_latest_week(app_ctx, session, smtp, clock) -> None:  # noqa: ANN001
    """With no report ever sent, the first run sends the last complete week only, not a backlog."""
    clock.freeze(datetime(2026, 10, 1, 12, 0, tzinfo=UTC))
    territory = make_territory(session, "valrive")
    make_sample(session, territory, last_monday=date(2026, 11, 23), weeks=3)
    run_at(clock, datetime(2026, 12, 1, 6, 10, tzinfo=UTC))
    assert sent_weeks(session) == [("2026-W48", 0)]


def test_weekday_and_hour_are_per_territory(app_ctx, session, smtp, clock) -> None:  # noqa: ANN001
    """A territory set to Tuesday 07:00 in Montreal time is sent then, not on Monday."""
    clock.freeze(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    territory = make_territory(session, "quebec", timezone="America/Montreal", report_weekday=1, report_hour=7)
    make_sample(session, territory, last_monday=date(2026, 11, 23), weeks=1)
    run_at(clock, datetime(2026, 11, 30, 13, 0, tzinfo=UTC))  # Monday 08:00 in Montreal
    assert sent_weeks(session) == []
    run_at(clock, datetime(2026, 12, 1, 12, 0, tzinfo=UTC))  # Tuesday 07:00 in Montreal
    assert sent_weeks(session) == [("2026-W48", 0)]


def test_one_territory_failing_does_not_stop_the_others(app_ctx, session, smtp, clock, monkeypatch) -> None:  # noqa: ANN001
    """A territory whose report fails is logged and marked failed; the other territories still get theirs."""
    clock.freeze(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    good = make_territory(session, "valrive")
    bad = make_territory(session, "sorne")
    for territory in (good, bad):
        make_sample(session, territory, last_monday=date(2026, 11, 23), weeks=1)
        add_recipient(session, territory, "Élu", f"elu@{territory.slug}.test")
    real = weekly.build_report_data

    def flaky(*, session, territory, iso_week):  # noqa: ANN001, ANN202
        if territory.slug == "sorne":
            raise RuntimeError("Pango exploded")
        return real(session=session, territory=territory, iso_week=iso_week)

    monkeypatch.setattr(weekly, "build_report_data", flaky)
    detail = run_at(clock, datetime(2026, 11, 30, 7, 5, tzinfo=UTC))
    assert "1 rapport(s) envoyé(s), 1 échec(s)" in detail
    assert [m for _f, m, _c in smtp.messages] == [["elu@valrive.test"]]
    with scoped(session, bad.id):
        session.expire_all()
        failed = session.exec(select(Report)).one()
    assert failed.status == ReportStatus.FAILED and "Pango exploded" in failed.error


def test_post_engagement_and_budget_commitment_are_told_apart_in_english(app_ctx, session, clock) -> None:  # noqa: ANN001
    """French "Engagement" is reactions to a post in the report's posts table and money set aside in the
    budget table: English reads "Engagement" for the first and "Committed" for the second."""
    clock.freeze(AFTER)
    territory = make_territory(session, "valrive")
    make_sample(session, territory, last_monday=MONDAY, weeks=2)
    with scoped(session, territory.id):
        _report, data = delivery.generate_report(session=session, territory=territory, iso_week="2026-W47")
    from reports import pdf

    html = pdf.render_html(data, pdf.render_charts(data, locale="en", draw=False), mode="email", locale="en")
    assert '<th scope="col" class="num">Engagement</th>' in html  # reactions, comments and shares
    assert '<th scope="col" class="num">Committed</th>' in html  # the budget table
    assert "Engagé" not in html and "Commitment</th>" not in html
