"""Daily facts synchronised from Facebook, post snapshots, and the weekly reports with recipients.

Missing data is stored as NULL and shown as missing, never as zero.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from pydantic import field_validator
from sqlalchemy import Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import TerritoryOwned, UTCDateTime, created_at_field, str_enum
from core.forms import Email


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


# ------------------------------------------------------------------------------------------------
# Insights roll-ups and sync bookkeeping (issue 6). Facts above are the source of truth; the tables
# below are derived from them by `reports.sync` (recomputed, never incremented, so a rerun changes
# nothing) and exist so the dashboard never scans a year of daily rows. Their indexes cover the queries
# of `reports.metrics` (every column a query reads is in the index: no table lookup per row).

_SUMS = ("viewers", "views_organic", "views_paid", "engagement", "spend_minor", "impressions", "results",
         "paid_reach", "post_rows", "ad_rows")


class AdWeekReach(TerritoryOwned, table=True):
    """A boost's de-duplicated paid reach over one ISO week (Ads Insights `reach`, one time range).

    Daily reach does not add up (a person reached on two days counts once in the week): the week's
    reach is queried as a period of its own.
    """

    __tablename__ = "ad_week_reach"
    __table_args__ = (UniqueConstraint("boost_id", "week_start"),)

    id: int | None = Field(default=None, primary_key=True)
    boost_id: int = Field(foreign_key="boost.id", index=True)
    week_start: date = Field(index=True)  # the Monday
    reach: int | None = None
    synced_at: datetime = created_at_field()


class BoostTotal(TerritoryOwned, table=True):
    """A boost's totals to date: delivery span, spend, results and its lifetime (de-duplicated) reach."""

    __tablename__ = "boost_total"
    __table_args__ = (
        UniqueConstraint("boost_id"),
        # The boosts delivering in a period (reach inputs, posts to rank): last_day >= since is the selective bound.
        Index("ix_boost_total_delivery", "territory_id", "last_day", "first_day", "post_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    boost_id: int = Field(foreign_key="boost.id")
    post_id: int = Field(foreign_key="post.id", index=True)
    track_id: int = Field(foreign_key="content_track.id", index=True)
    first_day: date | None = None  # first and last day with delivery (Facebook omits the others)
    last_day: date | None = None
    spend_minor: int | None = None
    impressions: int | None = None
    results: int | None = None
    reach: int | None = None  # Ads Insights `reach` over the boost's whole life
    synced_through: date | None = None  # the last day whose figures were read
    synced_at: datetime = created_at_field()


class PostTotal(TerritoryOwned, table=True):
    """A post's lifetime figures to date (the sum of its daily rows) and the followers it was published to."""

    __tablename__ = "post_total"
    __table_args__ = (
        UniqueConstraint("post_id"),
        # The unboosted posts published in a period, with what their organic reach rate needs.
        Index("ix_post_total_published", "territory_id", "published_on", "boosted", "track_id", "viewers",
              "followers_at_publish"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id")
    track_id: int = Field(foreign_key="content_track.id", index=True)
    published_on: date | None = None
    boosted: bool = False
    viewers: int | None = None
    views_organic: int | None = None
    views_paid: int | None = None
    engagement: int | None = None
    followers_at_publish: int | None = None
    synced_at: datetime = created_at_field()


class PostWeekMetric(TerritoryOwned, table=True):
    """Roll-up per post and ISO week of the daily post and ad facts (for top and bottom posts)."""

    __tablename__ = "post_week_metric"
    __table_args__ = (
        UniqueConstraint("post_id", "week_start"),
        # Ranking the period's posts by viewers (top and bottom posts): a year is ~50,000 post-weeks, read
        # from this narrow index alone. The figures of the few chosen posts use the unique (post_id, week_start).
        Index("ix_post_week_rank", "territory_id", "week_start", "post_id", "track_id", "viewers", "post_rows"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id")
    track_id: int = Field(foreign_key="content_track.id")
    week_start: date
    viewers: int | None = None
    views_organic: int | None = None
    views_paid: int | None = None
    engagement: int | None = None
    spend_minor: int | None = None
    impressions: int | None = None
    results: int | None = None
    paid_reach: int | None = None  # sum of the week's reach of the post's boosts
    post_rows: int = 0
    ad_rows: int = 0


class TrackWeekMetric(TerritoryOwned, table=True):
    """Roll-up per track and ISO week of the daily post and ad facts (weekly series, tracks)."""

    __tablename__ = "track_week_metric"
    __table_args__ = (
        UniqueConstraint("track_id", "week_start"),
        Index("ix_track_week_cover", "territory_id", "week_start", "track_id", *_SUMS),
    )

    id: int | None = Field(default=None, primary_key=True)
    track_id: int = Field(foreign_key="content_track.id")
    week_start: date
    viewers: int | None = None
    views_organic: int | None = None
    views_paid: int | None = None
    engagement: int | None = None
    spend_minor: int | None = None
    impressions: int | None = None
    results: int | None = None
    paid_reach: int | None = None
    post_rows: int = 0
    ad_rows: int = 0


class PostBlockMetric(TerritoryOwned, table=True):
    """Roll-up per post and block of four ISO weeks (`reports.metrics.block_start`) of `PostWeekMetric`, with
    what ranking a period's posts by viewers reads: a year of posts is a quarter of the weekly rows."""

    __tablename__ = "post_block_metric"
    __table_args__ = (
        UniqueConstraint("post_id", "block_start"),
        Index("ix_post_block_rank", "territory_id", "block_start", "post_id", "track_id", "viewers", "post_rows"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id")
    track_id: int = Field(foreign_key="content_track.id")
    block_start: date  # the Monday that starts the block
    viewers: int | None = None
    post_rows: int = 0


_BLOCK_SUMS = ("viewers", "views_organic", "views_paid", "engagement", "spend_minor", "impressions", "results",
               "post_rows", "ad_rows")


class TrackBlockMetric(TerritoryOwned, table=True):
    """Roll-up per track and block of four ISO weeks of `TrackWeekMetric` (a period's tracks). No reach:
    a track's paid reach over a period comes from its boosts, never from adding weeks up."""

    __tablename__ = "track_block_metric"
    __table_args__ = (
        UniqueConstraint("track_id", "block_start"),
        Index("ix_track_block_cover", "territory_id", "block_start", "track_id", *_BLOCK_SUMS),
    )

    id: int | None = Field(default=None, primary_key=True)
    track_id: int = Field(foreign_key="content_track.id")
    block_start: date  # the Monday that starts the block
    viewers: int | None = None
    views_organic: int | None = None
    views_paid: int | None = None
    engagement: int | None = None
    spend_minor: int | None = None
    impressions: int | None = None
    results: int | None = None
    post_rows: int = 0
    ad_rows: int = 0


class TerritoryWeekMetric(TerritoryOwned, table=True):
    """Roll-up per ISO week of the territory's track weeks (the weekly series reads 52 rows for a year)."""

    __tablename__ = "territory_week_metric"
    __table_args__ = (UniqueConstraint("territory_id", "week_start"),)

    id: int | None = Field(default=None, primary_key=True)
    week_start: date
    viewers: int | None = None
    views_organic: int | None = None
    views_paid: int | None = None
    engagement: int | None = None
    spend_minor: int | None = None
    impressions: int | None = None
    results: int | None = None
    paid_reach: int | None = None
    post_rows: int = 0
    ad_rows: int = 0


class InsightsSync(TerritoryOwned, table=True):
    """Per territory: when insights were last synchronised, and which days the stored facts cover."""

    __tablename__ = "insights_sync"
    __table_args__ = (UniqueConstraint("territory_id"),)

    id: int | None = Field(default=None, primary_key=True)
    last_hourly_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # running boosts
    last_daily_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # everything else
    covered_since: date | None = None
    synced_through: date | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    last_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BackfillStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class InsightsBackfill(TerritoryOwned, table=True):
    """The historic backfill of a newly connected territory, step by step, with its progress."""

    __tablename__ = "insights_backfill"
    __table_args__ = (UniqueConstraint("territory_id"),)

    id: int | None = Field(default=None, primary_key=True)
    status: BackfillStatus = Field(default=BackfillStatus.PENDING, sa_type=str_enum(BackfillStatus))
    since: date
    until: date
    next_day: date  # the first day not fetched yet
    steps_total: int = 0
    steps_done: int = 0
    error: str | None = Field(default=None, max_length=1000)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()


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
    progress: str = Field(default="", max_length=40)  # step while building: data, charts, pdf
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # of the last build
    pdf: bytes | None = Field(default=None, sa_type=LargeBinary)
    generated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When it was e-mailed to the recipients (by the schedule or by hand); None: not sent yet.
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
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


class ReportRecipientCreate(SQLModel):
    """A recipient as typed on the recipients page (also used to change one)."""

    name: str = Field(min_length=1, max_length=120)
    role: str = Field(default="", max_length=120)
    email: Email = Field(max_length=254)
    language: str = Field(default="fr", max_length=5)
    active: bool = True

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("fr", "en"):
            raise ValueError("locale must be fr or en")
        return value


class ReportSchedule(SQLModel):
    """When a territory's weekly report is sent: weekday (0 = Monday) and hour, territory time."""

    report_weekday: int = Field(ge=0, le=6)
    report_hour: int = Field(ge=0, le=23)


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
