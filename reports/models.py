"""Daily facts synchronised from Facebook, post snapshots, and the weekly reports with recipients.

Missing data is stored as NULL and shown as missing, never as zero.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import LargeBinary, UniqueConstraint
from sqlmodel import Field

from core.db import TerritoryOwned, UTCDateTime, created_at_field, str_enum


class PostDailyMetric(TerritoryOwned, table=True):
    """Per post and day: viewers and views (organic / paid) and engagement."""

    __tablename__ = "post_daily_metric"
    __table_args__ = (UniqueConstraint("post_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    day: date = Field(index=True)
    viewers: int | None = None  # post_total_media_view_unique (organic and paid together)
    views_organic: int | None = None  # post_media_view, is_from_ads = 0
    views_paid: int | None = None  # post_media_view, is_from_ads = 1
    clicks: int | None = None
    reactions: int | None = None
    comments: int | None = None
    shares: int | None = None
    synced_at: datetime = created_at_field()


class AdDailyMetric(TerritoryOwned, table=True):
    """Per boost (ad) and day, from Ads Insights: spend, paid reach, impressions, results."""

    __tablename__ = "ad_daily_metric"
    __table_args__ = (UniqueConstraint("boost_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    boost_id: int = Field(foreign_key="boost.id", index=True)
    day: date = Field(index=True)
    spend_minor: int | None = None
    reach: int | None = None
    impressions: int | None = None
    clicks: int | None = None
    link_clicks: int | None = None
    results: int | None = None  # the audience's result type, counted from `actions`
    synced_at: datetime = created_at_field()


class PageDailyMetric(TerritoryOwned, table=True):
    """Per territory's Page and day: followers and organic / paid views."""

    __tablename__ = "page_daily_metric"
    __table_args__ = (UniqueConstraint("territory_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    followers: int | None = None
    viewers: int | None = None
    views_organic: int | None = None
    views_paid: int | None = None
    synced_at: datetime = created_at_field()


class PostSnapshot(TerritoryOwned, table=True):
    """A post's lifetime figures frozen at D+1, D+7 and D+28 (Meta keeps them only two years)."""

    __tablename__ = "post_snapshot"
    __table_args__ = (UniqueConstraint("post_id", "offset_days"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    offset_days: int
    viewers: int | None = None
    views_organic: int | None = None
    views_paid: int | None = None
    paid_reach: int | None = None
    taken_at: datetime = created_at_field()


class ReportStatus(enum.StrEnum):
    PENDING = "pending"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"


class Report(TerritoryOwned, table=True):
    """A generated weekly PDF for a territory and an ISO week, kept in the archive."""

    __table_args__ = (UniqueConstraint("territory_id", "iso_week"),)

    id: int | None = Field(default=None, primary_key=True)
    iso_week: str = Field(max_length=8)  # "2026-W47"
    period_start: date
    period_end: date
    status: ReportStatus = Field(default=ReportStatus.PENDING, sa_type=str_enum(ReportStatus))
    error: str | None = Field(default=None, max_length=2000)
    pdf: bytes | None = Field(default=None, sa_type=LargeBinary)
    generated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    requested_by_label: str = Field(default="system", max_length=254)
    created_at: datetime = created_at_field()


class ReportRecipient(TerritoryOwned, table=True):
    """An elected official or director who receives the weekly report; never needs to log in."""

    __tablename__ = "report_recipient"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    role: str = Field(default="", max_length=120)
    email: str = Field(max_length=254)
    language: str = Field(default="fr", max_length=5)
    active: bool = True
    created_at: datetime = created_at_field()


class ReportDelivery(TerritoryOwned, table=True):
    """The delivery of one report to one recipient."""

    __tablename__ = "report_delivery"
    __table_args__ = (UniqueConstraint("report_id", "recipient_id"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    recipient_id: int = Field(foreign_key="report_recipient.id")
    mail_id: int | None = Field(default=None, foreign_key="mail_message.id")
    status: str = Field(default="pending", max_length=20)
    created_at: datetime = created_at_field()
