"""Campaigns, their content tracks (one per audience), stories and posts with their workflow."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import TerritoryOwned, UTCDateTime, created_at_field, str_enum
from core.forms import Email

# A Page post may hold 63,206 characters, but Rayonne refuses more than this: a social post for a
# public is short, and Facebook folds everything after about 480 characters behind "See more".
MESSAGE_MAX_CHARS = 5000
MESSAGE_FOLD_CHARS = 480


class Objective(enum.StrEnum):
    """A campaign's objective, named after the Marketing API's outcome objectives."""

    AWARENESS = "OUTCOME_AWARENESS"
    TRAFFIC = "OUTCOME_TRAFFIC"
    ENGAGEMENT = "OUTCOME_ENGAGEMENT"
    LEADS = "OUTCOME_LEADS"


class CampaignStatus(enum.StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class CampaignBase(SQLModel):
    name: str = Field(min_length=2, max_length=120)
    theme: str = Field(default="", max_length=2000)
    starts_on: date
    ends_on: date
    objective: Objective = Field(default=Objective.AWARENESS, sa_type=str_enum(Objective))
    approved_budget_minor: int = Field(default=0, ge=0)
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    # EU Digital Services Act: who benefits from and who pays for the ads.
    dsa_beneficiary: str = Field(default="", max_length=120)
    dsa_payor: str = Field(default="", max_length=120)


class Campaign(CampaignBase, TerritoryOwned, table=True):
    """A theme with dates, an objective and an approved budget, told to several audiences."""

    __table_args__ = (UniqueConstraint("territory_id", "slug"),)

    id: int | None = Field(default=None, primary_key=True)
    # Goes into `utm_campaign`; set from the name at creation and then kept, so that links already
    # published keep counting for the same campaign in the web analytics after a rename.
    slug: str | None = Field(default=None, max_length=80)
    status: CampaignStatus = Field(default=CampaignStatus.ACTIVE, sa_type=str_enum(CampaignStatus))
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()


class CampaignCreate(CampaignBase):
    pass


class CampaignUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=2, max_length=120)
    theme: str | None = Field(default=None, max_length=2000)
    starts_on: date | None = None
    ends_on: date | None = None
    objective: Objective | None = None
    approved_budget_minor: int | None = Field(default=None, ge=0)
    dsa_beneficiary: str | None = Field(default=None, max_length=120)
    dsa_payor: str | None = Field(default=None, max_length=120)


class CampaignRead(CampaignBase):
    id: int
    slug: str | None
    status: CampaignStatus
    created_at: datetime


class ContentTrackBase(SQLModel):
    # Share of the campaign budget in basis points (10000 = 100 %); shares never exceed the whole.
    budget_share_bp: int = Field(default=0, ge=0, le=10000)
    tone: str = Field(default="", max_length=500)
    guidelines: str = Field(default="", max_length=4000)
    posts_per_week: int = Field(default=2, ge=0, le=50)


class ContentTrack(ContentTrackBase, TerritoryOwned, table=True):
    """One audience's track in a campaign: its tone, cadence and share of the budget."""

    __tablename__ = "content_track"
    __table_args__ = (UniqueConstraint("campaign_id", "audience_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    audience_id: int = Field(foreign_key="audience.id", index=True)
    created_at: datetime = created_at_field()


class ContentTrackCreate(ContentTrackBase):
    audience_id: int


class ContentTrackUpdate(SQLModel):
    budget_share_bp: int | None = Field(default=None, ge=0, le=10000)
    tone: str | None = Field(default=None, max_length=500)
    guidelines: str | None = Field(default=None, max_length=4000)
    posts_per_week: int | None = Field(default=None, ge=0, le=50)


class ContentTrackRead(ContentTrackBase):
    id: int
    campaign_id: int
    audience_id: int


class StorySource(enum.StrEnum):
    WRITTEN = "written"
    WEBSITE = "website"  # imported from the territory's RSS/Atom feed, to adapt per track


class StoryBase(SQLModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=MESSAGE_MAX_CHARS, sa_type=Text)
    link: str | None = Field(default=None, max_length=1000)


class Story(StoryBase, TerritoryOwned, table=True):
    """One story written once, told by a variant post in each track."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    source: StorySource = Field(default=StorySource.WRITTEN, sa_type=str_enum(StorySource))
    source_url: str | None = Field(default=None, max_length=1000)
    source_guid: str | None = Field(default=None, max_length=500, index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()


class StoryCreate(StoryBase):
    campaign_id: int | None = None


class StoryRead(StoryBase):
    id: int
    campaign_id: int | None
    source: StorySource
    source_url: str | None
    created_at: datetime


class PostStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"  # intent recorded, Facebook call in flight (crash-safe, see campaigns.jobs)
    PUBLISHED = "published"
    FAILED = "failed"
    MISSED = "missed"


class Post(TerritoryOwned, table=True):
    """A message in one track, planned on the calendar and published to the Page."""

    id: int | None = Field(default=None, primary_key=True)
    track_id: int = Field(foreign_key="content_track.id", index=True)
    story_id: int | None = Field(default=None, foreign_key="story.id", index=True)
    message: str = Field(sa_type=Text)
    link: str | None = Field(default=None, max_length=1000)
    image_path: str | None = Field(default=None, max_length=300)
    planned_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    status: PostStatus = Field(default=PostStatus.DRAFT, index=True, sa_type=str_enum(PostStatus))
    failure_reason: str | None = Field(default=None, max_length=1000)
    copied_from_website: bool = False  # published as imported, not adapted for the track
    electoral_flag: str | None = Field(default=None, max_length=500)
    fb_post_id: str | None = Field(default=None, max_length=80, index=True)
    publish_attempts: int = 0
    publish_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    publish_retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # backoff after a failure
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    approved_by_label: str | None = Field(default=None, max_length=254)
    # Who confirmed, on approval, that a post flagged in a pre-electoral period may go out.
    electoral_confirmed_by: str | None = Field(default=None, max_length=254)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class PostCreate(SQLModel):
    track_id: int
    story_id: int | None = None
    message: str = Field(min_length=1, max_length=MESSAGE_MAX_CHARS)
    link: str | None = Field(default=None, max_length=800)
    planned_at: datetime | None = None


class PostUpdate(SQLModel):
    message: str | None = Field(default=None, min_length=1, max_length=MESSAGE_MAX_CHARS)
    link: str | None = Field(default=None, max_length=800)
    planned_at: datetime | None = None


class PostRead(SQLModel):
    id: int
    track_id: int
    story_id: int | None
    message: str
    link: str | None
    image_path: str | None
    planned_at: datetime | None
    status: PostStatus
    failure_reason: str | None
    copied_from_website: bool
    electoral_flag: str | None
    fb_post_id: str | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PostReview(TerritoryOwned, table=True):
    """A review decision or comment on a post (by a user or through an external link)."""

    __tablename__ = "post_review"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="user_account.id")
    author_label: str = Field(max_length=254)
    decision: str = Field(max_length=20)  # comment, approve, reject, submit
    comment: str = Field(default="", max_length=4000)
    at: datetime = created_at_field()


class ExternalApproval(TerritoryOwned, table=True):
    """A signed, expiring, single-use link sent to someone without an account (post or boost)."""

    __tablename__ = "external_approval"

    id: int | None = Field(default=None, primary_key=True)
    object_type: str = Field(max_length=20)  # "post" or "boost"
    object_id: int
    recipient_name: str = Field(max_length=120)
    recipient_email: str = Field(max_length=254)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision: str | None = Field(default=None, max_length=20)
    comment: str | None = Field(default=None, max_length=4000)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()


class ElectedOfficial(TerritoryOwned, table=True):
    """A name to watch in posts during a pre-electoral period."""

    __tablename__ = "elected_official"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    office: str = Field(default="", max_length=120)


class ElectedOfficialCreate(SQLModel):
    name: str = Field(min_length=2, max_length=120)
    office: str = Field(default="", max_length=120)


class ElectoralTerm(TerritoryOwned, table=True):
    """A word or phrase (French or English) that reads as electoral; none stored = the built-in list."""

    __tablename__ = "electoral_term"
    __table_args__ = (UniqueConstraint("territory_id", "term"),)

    id: int | None = Field(default=None, primary_key=True)
    term: str = Field(max_length=80)


# ---------------------------------------------------------------- workflow inputs (forms and JSON API)


class PostApprove(SQLModel):
    comment: str = Field(default="", max_length=4000)
    # Required when the post is flagged in a pre-electoral period: the manager confirms explicitly.
    confirm_electoral: bool = False


# Required values (the comment of a refusal, the planned time) are checked by the workflow once the post is
# found, so that an unknown post answers 404 before any 422.
class PostReject(SQLModel):
    comment: str = Field(default="", max_length=4000, description="Required: why the post is refused.")


class PostSchedule(SQLModel):
    # Naive values are read in the territory's time zone.
    planned_at: datetime | None = Field(default=None, description="Required: when to publish.")


class PostComment(SQLModel):
    comment: str = Field(default="", max_length=4000, description="Required.")


class ExternalApprovalCreate(SQLModel):
    recipient_name: str = Field(min_length=2, max_length=120)
    recipient_email: Email = Field(max_length=254)
