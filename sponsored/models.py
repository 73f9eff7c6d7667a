"""Boosts (paid posts), the Facebook campaign per track, the append-only budget ledger, pacing alerts
and the territory's own list of sensitive wording."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import AppendOnly, TerritoryOwned, UTCDateTime, created_at_field, str_enum


class BudgetKind(enum.StrEnum):
    DAILY = "daily"
    LIFETIME = "lifetime"


class BoostStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"  # above the territory's threshold: a manager must approve
    APPROVED = "approved"
    CREATING = "creating"  # intent recorded; Facebook objects being created (resumable)
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    REJECTED = "rejected"  # refused by Facebook's ad review: commitment released
    DECLINED = "declined"  # refused by a manager (or through an external link) before Facebook
    FAILED = "failed"


#: Boosts whose commitment is still open (money reserved, maybe being spent).
OPEN_STATUSES = frozenset({BoostStatus.PENDING_APPROVAL, BoostStatus.APPROVED, BoostStatus.CREATING,
                           BoostStatus.ACTIVE, BoostStatus.PAUSED})
#: Boosts that exist on Facebook and may be delivering.
LIVE_STATUSES = frozenset({BoostStatus.ACTIVE, BoostStatus.PAUSED})


class BoostBase(SQLModel):
    budget_kind: BudgetKind = Field(default=BudgetKind.LIFETIME, sa_type=str_enum(BudgetKind))
    budget_minor: int = Field(gt=0)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    optimization_goal: str = Field(default="REACH", max_length=40)
    # The audience preset as edited for this boost (Rayonne's shape, see targets.models.AudienceBase).
    targeting: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Boost(BoostBase, TerritoryOwned, table=True):
    """A published post paid to reach one track's audience, and the Facebook objects carrying it."""

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    track_id: int = Field(foreign_key="content_track.id", index=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    currency: str = Field(default="EUR", max_length=3)
    status: BoostStatus = Field(default=BoostStatus.APPROVED, index=True, sa_type=str_enum(BoostStatus))
    status_reason: str | None = Field(default=None, max_length=2000)  # why paused / failed / declined
    paused_by_pacing: bool = False
    fb_adset_id: str | None = Field(default=None, max_length=40)
    fb_creative_id: str | None = Field(default=None, max_length=40)
    fb_ad_id: str | None = Field(default=None, max_length=40, index=True)
    creation_attempts: int = 0
    # Set while a process creates the Facebook objects (a lease: another process keeps off until it is
    # cleared or expires, so the page and the resume job never create the same boost at once).
    creation_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=2000)
    review_status: str | None = Field(default=None, max_length=40)
    review_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rejection_reason: str | None = Field(default=None, max_length=2000)
    compliance_warnings: list[str] = Field(default_factory=list, sa_type=JSON)
    dsa_beneficiary: str | None = Field(default=None, max_length=120)
    dsa_payor: str | None = Field(default=None, max_length=120)
    requested_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    requested_by_label: str | None = Field(default=None, max_length=254)
    approved_by_label: str | None = Field(default=None, max_length=254)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()

    def object_name(self, kind: str) -> str:
        """The name every Facebook object of this boost carries, so that it can be found again."""
        return f"rayonne:boost:{self.id}:{kind}"


class BoostCreate(SQLModel):
    """What a person (form) or a program (API) asks for; money in minor units."""

    post_id: int
    track_id: int | None = None  # default: the post's own track
    budget_kind: BudgetKind = BudgetKind.LIFETIME
    budget_minor: int = Field(gt=0)
    starts_at: datetime | None = None  # default: now
    ends_at: datetime
    optimization_goal: str | None = Field(default=None, max_length=40)  # default: from the audience's result
    targeting: dict[str, Any] | None = None  # default: the audience's preset
    acknowledge_warnings: bool = False

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("a date and time with its time zone is expected")
        return value


class BoostRead(BoostBase):
    id: int
    post_id: int
    track_id: int
    campaign_id: int
    currency: str
    status: BoostStatus
    status_reason: str | None
    review_status: str | None
    rejection_reason: str | None
    compliance_warnings: list[str]
    fb_adset_id: str | None
    fb_ad_id: str | None
    requested_by_label: str | None
    approved_by_label: str | None
    approved_at: datetime | None
    created_at: datetime


class BoostAction(enum.StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    APPROVE = "approve"  # managers only
    DECLINE = "decline"  # managers only


class BoostStatusChange(SQLModel):
    # Checked after the boost is found (an unknown boost answers 404 whatever the body says).
    action: BoostAction | None = Field(default=None, description="Required: pause, resume, stop, approve, decline")
    reason: str = Field(default="", max_length=1000)


class TrackAdCampaign(TerritoryOwned, table=True):
    """The one Facebook campaign per Rayonne campaign x track; its spend cap is the allocation.

    ``spend_cap_minor`` is the cap Facebook last confirmed; the pacing job brings it back to the
    track's allocation when a change could not be sent at once.
    """

    __tablename__ = "track_ad_campaign"
    __table_args__ = (UniqueConstraint("track_id"),)

    id: int | None = Field(default=None, primary_key=True)
    track_id: int = Field(foreign_key="content_track.id")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    fb_campaign_id: str | None = Field(default=None, max_length=40)
    objective: str = Field(default="OUTCOME_AWARENESS", max_length=40)
    special_ad_categories: list[str] = Field(default_factory=list, sa_type=JSON)
    spend_cap_minor: int = Field(ge=0)
    cap_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()

    @property
    def object_name(self) -> str:
        return f"rayonne:track:{self.track_id}:campaign"


class LedgerKind(enum.StrEnum):
    APPROVAL = "approval"  # a campaign's approved budget (or its change)
    ENVELOPE = "envelope"  # a territory's annual envelope
    ALLOCATION = "allocation"  # part of the campaign budget given to a track
    COMMITMENT = "commitment"  # a boost's budget, reserved (negative: consumed by spend)
    RELEASE = "release"  # a commitment given back (boost stopped, rejected, finished under budget)
    SPEND = "spend"  # actual spend, from Ads Insights


class LedgerEntry(AppendOnly, TerritoryOwned, table=True):
    """One line of the append-only budget ledger; balances are sums of these lines."""

    __tablename__ = "ledger_entry"
    __table_args__ = (UniqueConstraint("territory_id", "source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: LedgerKind = Field(index=True, sa_type=str_enum(LedgerKind))
    amount_minor: int  # signed: a release or a reduced approval is negative
    currency: str = Field(default="EUR", max_length=3)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    track_id: int | None = Field(default=None, foreign_key="content_track.id", index=True)
    boost_id: int | None = Field(default=None, foreign_key="boost.id", index=True)
    year: int | None = None  # for envelopes
    day: date | None = None  # for spend (and the commitment it consumes): the day of delivery
    reason: str = Field(max_length=1000)
    actor_label: str = Field(max_length=254)
    # Idempotency key for lines written by jobs (e.g. "spend:boost:12:2026-11-02").
    source_key: str | None = Field(default=None, max_length=120)
    at: datetime = created_at_field()


class LedgerRead(SQLModel):
    id: int
    kind: LedgerKind
    amount_minor: int
    currency: str
    campaign_id: int | None
    track_id: int | None
    boost_id: int | None
    year: int | None
    day: date | None
    reason: str
    actor_label: str
    source_key: str | None
    at: datetime


class AlertKind(enum.StrEnum):
    ALLOCATION_80 = "allocation_80"  # a track spent 80 % of its allocation
    ALLOCATION_100 = "allocation_100"
    PACING_LOW = "pacing_low"  # a boost or a track spends under 80 % of its plan
    PACING_HIGH = "pacing_high"  # over 120 % of its plan
    PAUSED = "paused"  # the pacing job paused a boost
    REJECTED = "rejected"  # Facebook's review refused a boost


class PacingAlert(TerritoryOwned, table=True):
    """An alert raised by the pacing job, once per threshold (``key``), shown until acknowledged."""

    __tablename__ = "pacing_alert"
    __table_args__ = (UniqueConstraint("territory_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160)
    kind: AlertKind = Field(sa_type=str_enum(AlertKind))
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    track_id: int | None = Field(default=None, foreign_key="content_track.id")
    boost_id: int | None = Field(default=None, foreign_key="boost.id")
    message: str = Field(max_length=1000)
    mailed: bool = False
    acknowledged_by_label: str | None = Field(default=None, max_length=254)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()


class SensitiveWordList(TerritoryOwned, table=True):
    """A territory's own social-issue / electoral words for one language (replaces the default list)."""

    __tablename__ = "sensitive_word_list"
    __table_args__ = (UniqueConstraint("territory_id", "language"),)

    id: int | None = Field(default=None, primary_key=True)
    language: str = Field(max_length=5)
    words: list[str] = Field(default_factory=list, sa_type=JSON)
    updated_by_label: str = Field(default="system", max_length=254)
    updated_at: datetime = created_at_field()
