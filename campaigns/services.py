"""Rules for campaigns, tracks and posts. Functions flush, never commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from campaigns.models import Campaign, CampaignStatus, ContentTrack, Post, PostStatus
from targets.models import Audience


def list_campaigns(*, session: Session, include_archived: bool = False) -> list[tuple[Campaign, int]]:
    """Campaigns with their number of tracks, the most recent first."""
    query = (
        select(Campaign, func.count(ContentTrack.id))
        .join(ContentTrack, ContentTrack.campaign_id == Campaign.id, isouter=True)
        .group_by(Campaign.id)
        .order_by(Campaign.starts_on.desc())
    )
    if not include_archived:
        query = query.where(Campaign.status == CampaignStatus.ACTIVE)
    return list(session.exec(query).all())


def posts_between(*, session: Session, start: datetime, end: datetime) -> list[tuple[Post, ContentTrack, Audience]]:
    """Posts planned or published in [start, end), with their track and audience, in time order."""
    return list(
        session.exec(
            select(Post, ContentTrack, Audience)
            .join(ContentTrack, ContentTrack.id == Post.track_id)
            .join(Audience, Audience.id == ContentTrack.audience_id)
            .where(Post.planned_at >= start, Post.planned_at < end)
            .order_by(Post.planned_at)
        ).all()
    )


def week_bounds(day: datetime) -> tuple[datetime, datetime]:
    start = (day - timedelta(days=day.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=7)


def count_posts_by_status(*, session: Session) -> dict[PostStatus, int]:
    rows = session.exec(select(Post.status, func.count()).group_by(Post.status)).all()
    return {PostStatus(status): count for status, count in rows}
