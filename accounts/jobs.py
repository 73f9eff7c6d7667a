"""Scheduled work of accounts."""

from __future__ import annotations

from sqlmodel import Session

from accounts import services


def purge_login_attempts(*, session: Session) -> str:
    return f"{services.purge_login_attempts(session=session)} old login attempt(s) deleted"
