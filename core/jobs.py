"""Scheduled work of the infrastructure."""

from __future__ import annotations

from sqlmodel import Session

from core import mail


def retry_mail(*, session: Session) -> str:
    sent = mail.retry_failed(session=session)
    return f"{sent} message(s) sent"
