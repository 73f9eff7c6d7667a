"""Scheduled work of the reports package (bodies stay thin: the services do the work)."""

from __future__ import annotations

from sqlmodel import Session

from reports import delivery


def weekly(*, session: Session) -> str:
    """Build and e-mail each territory's weekly report when due (and catch up missed ones). Commits: yes."""
    return delivery.run_weekly(session=session)


def sync_insights(*, session: Session) -> str:
    """Synchronise each connected territory's insights: running boosts hourly, everything else daily.

    Commits per territory; a territory whose token expired is marked to reconnect and skipped.
    """
    from reports import sync

    return sync.sync_all(session=session)


def backfill_insights(*, session: Session) -> str:
    """Advance the historic backfill of newly connected territories, committing after each step."""
    from reports import sync

    return sync.backfill_all(session=session)
