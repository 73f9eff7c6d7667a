"""The mail service delivers through a real SMTP server on loopback, or keeps messages in the outbox."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email import policy

import pytest
from aiosmtpd.controller import Controller

from core import mail
from core.db import set_scope
from tests.conftest import free_port, make_territory


class Recorder:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(app) -> Iterator[tuple[Controller, Recorder]]:  # noqa: ANN001
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = app.config["RAYONNE_SETTINGS"]
    old = (settings.SMTP_HOST, settings.SMTP_PORT, settings.SMTP_STARTTLS)
    settings.SMTP_HOST, settings.SMTP_PORT, settings.SMTP_STARTTLS = "127.0.0.1", controller.port, False
    yield controller, handler
    settings.SMTP_HOST, settings.SMTP_PORT, settings.SMTP_STARTTLS = old
    controller.stop()


def test_message_with_attachment_reaches_the_smtp_server(session, smtp_server, app_ctx) -> None:  # noqa: ANN001
    """A message is delivered over SMTP with its text and PDF attachment, and recorded as sent."""
    _controller, handler = smtp_server
    territory = make_territory(session)
    set_scope(session, territory.id)
    record = mail.send_mail(
        session=session, territory_id=territory.id, to="elu@valrive.test", subject="Rapport de la semaine 47",
        text="Bonjour, voici le rapport : 12 345 personnes atteintes.",
        attachments=(mail.Attachment("rapport-2026-W47.pdf", b"%PDF-1.7 fake"),),
    )
    session.commit()
    assert record.status == "sent" and record.attempts == 1
    mail_from, rcpt, content = handler.messages[0]
    assert rcpt == ["elu@valrive.test"] and mail_from == "rayonne@localhost"
    parsed = email.message_from_bytes(content, policy=policy.default)
    assert parsed["Subject"] == "Rapport de la semaine 47"
    assert "12 345 personnes" in parsed.get_body(("plain",)).get_content()
    attachment = next(parsed.iter_attachments())
    assert attachment.get_filename() == "rapport-2026-W47.pdf"
    assert attachment.get_content() == b"%PDF-1.7 fake"


def test_without_smtp_messages_go_to_the_outbox(session, app_ctx) -> None:  # noqa: ANN001
    """With no SMTP server configured, the message is kept in the local outbox, not lost."""
    territory = make_territory(session)
    set_scope(session, territory.id)
    record = mail.send_mail(session=session, territory_id=territory.id, to="a@valrive.test", subject="S", text="T")
    assert record.status == "outbox"


def test_failed_delivery_is_recorded_and_retried(session, app_ctx) -> None:  # noqa: ANN001
    """When the server is down the failure is recorded; the retry job delivers once it is back."""
    territory = make_territory(session)
    set_scope(session, territory.id)
    settings = app_ctx.config["RAYONNE_SETTINGS"]
    port = free_port()
    settings.SMTP_HOST, settings.SMTP_PORT, settings.SMTP_STARTTLS = "127.0.0.1", port, False
    try:
        record = mail.send_mail(session=session, territory_id=territory.id, to="a@valrive.test", subject="S",
                                text="T")
        session.commit()
        assert record.status == "failed" and "Connection refused" in (record.error or "")
        handler = Recorder()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            assert mail.retry_failed(session=session) == 1
        finally:
            controller.stop()
        assert record.status == "sent" and len(handler.messages) == 1
    finally:
        settings.SMTP_HOST = None
