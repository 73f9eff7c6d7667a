"""The one mail service: SMTP from the settings, or the local outbox when no SMTP server is set.

Every message is recorded (`MailMessage`) with its delivery status, so that admins can see what
was sent, what waits in the outbox and what failed; failed messages are retried by a job.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from flask import current_app
from sqlalchemy import LargeBinary
from sqlmodel import Field, Session, select
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from core.db import TerritoryOwned, UTCDateTime, created_at_field, utc_now

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class MailMessage(TerritoryOwned, table=True):
    """A message Rayonne sent or tried to send, kept with its raw content."""

    __tablename__ = "mail_message"

    id: int | None = Field(default=None, primary_key=True)
    to_addr: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    kind: str = Field(default="", max_length=40)  # invitation, approval, alert, report
    status: str = Field(default="queued", max_length=20)  # queued, sent, outbox, failed
    attempts: int = 0
    error: str | None = Field(default=None, max_length=1000)
    raw: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = created_at_field()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


def build_message(
    *, to: str, subject: str, text: str, html: str | None = None, attachments: tuple[Attachment, ...] = ()
) -> EmailMessage:
    settings = current_app.config["RAYONNE_SETTINGS"]
    msg = EmailMessage()
    msg["From"] = settings.MAIL_FROM
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="rayonne")
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for item in attachments:
        msg.add_attachment(item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename)
    return msg


def send_mail(
    *,
    session: Session,
    territory_id: int,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    kind: str = "",
) -> MailMessage:
    """Record a message and deliver it now (SMTP) or leave it in the outbox. Commits: no (flushes)."""
    msg = build_message(to=to, subject=subject, text=text, html=html, attachments=attachments)
    record = MailMessage(
        territory_id=territory_id, to_addr=to, subject=subject, kind=kind, raw=msg.as_bytes()
    )
    session.add(record)
    deliver(record)
    session.flush()
    return record


def deliver(record: MailMessage) -> None:
    """Try to deliver one recorded message; its status says what happened. Never raises."""
    settings = current_app.config["RAYONNE_SETTINGS"]
    if not settings.SMTP_HOST:
        record.status = "outbox"
        return
    record.attempts += 1
    try:
        _smtp_send(record.raw, record.to_addr)
    except (OSError, smtplib.SMTPException) as exc:
        record.status = "failed"
        record.error = f"{type(exc).__name__}: {exc}"[:1000]
        logger.warning("Mail %s to %s failed: %s", record.subject, record.to_addr, exc)
        return
    record.status = "sent"
    record.error = None
    record.sent_at = utc_now()


@retry(
    retry=retry_if_exception_type((OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException)),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.2, max=2),
    reraise=True,
)
def _smtp_send(raw: bytes, to_addr: str) -> None:
    settings = current_app.config["RAYONNE_SETTINGS"]
    with smtplib.SMTP(settings.SMTP_HOST, settings.SMTP_PORT, timeout=settings.SMTP_TIMEOUT) as smtp:
        smtp.ehlo()
        if settings.SMTP_STARTTLS and smtp.has_extn("starttls"):
            smtp.starttls()
            smtp.ehlo()
        if settings.SMTP_USER:
            password = settings.SMTP_PASSWORD.get_secret_value() if settings.SMTP_PASSWORD else ""
            smtp.login(settings.SMTP_USER, password)
        # SMTP lines end with CRLF (RFC 5321 2.3.8); `as_bytes()` wrote bare LF, and smtplib passes bytes
        # through unchanged, so a strict server sees one endless line once a message exceeds 1,000 bytes.
        smtp.sendmail(parseaddr(settings.MAIL_FROM)[1], [to_addr], raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def retry_failed(*, session: Session) -> int:
    """Retry failed messages that have attempts left. Commits: no. Returns how many were sent."""
    sent = 0
    failed = session.exec(
        select(MailMessage).where(MailMessage.status == "failed", MailMessage.attempts < MAX_ATTEMPTS)
    ).all()
    for record in failed:
        deliver(record)
        sent += record.status == "sent"
    session.flush()
    return sent
