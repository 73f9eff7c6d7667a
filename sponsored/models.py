"""Boosts (paid posts), the Facebook campaign per track, and the append-only budget ledger."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

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
    FAILED = "failed"


class BoostBase(SQLModel):
    budget_kind: BudgetKind = Field(default=BudgetKind.LIFETIME, sa_type=str_enum(BudgetKind))
    budget_minor: int = Field(gt=0)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    optimization_goal: str = Field(default="REACH", max_length=40)
    targeting: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Boost(BoostBase, TerritoryOwned, table=True):
    """A published post paid to reach one track's audience, and the Facebook objects carrying it."""

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    track_id: int = Field(foreign_key="content_track.id", index=True)
    currency: str = Field(default="EUR", max_length=3)
    status: BoostStatus = Field(default=BoostStatus.APPROVED, index=True, sa_type=str_enum(BoostStatus))
    fb_adset_id: str | None = Field(default=None, max_length=40)
    fb_creative_id: str | None = Field(default=None, max_length=40)
    fb_ad_id: str | None = Field(default=None, max_length=40, index=True)
    review_status: str | None = Field(default=None, max_length=40)
    rejection_reason: str | None = Field(default=None, max_length=2000)
    compliance_warnings: list[str] = Field(default_factory=list, sa_type=JSON)
    requested_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    approved_by_label: str | None = Field(default=None, max_length=254)
    created_at: datetime = created_at_field()


class TrackAdCampaign(TerritoryOwned, table=True):
    """The one Facebook campaign per Rayonne campaign x track; its spend cap is the allocation."""

    __tablename__ = "track_ad_campaign"
    __table_args__ = (UniqueConstraint("track_id"),)

    id: int | None = Field(default=None, primary_key=True)
    track_id: int = Field(foreign_key="content_track.id")
    fb_campaign_id: str | None = Field(default=None, max_length=40)
    spend_cap_minor: int = Field(ge=0)
    created_at: datetime = created_at_field()


class LedgerKind(enum.StrEnum):
    APPROVAL = "approval"  # a campaign's approved budget (or its change)
    ENVELOPE = "envelope"  # a territory's annual envelope
    ALLOCATION = "allocation"  # part of the campaign budget given to a track
    COMMITMENT = "commitment"  # a boost's budget, reserved
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
    reason: str = Field(max_length=1000)
    actor_label: str = Field(max_length=254)
    # Idempotency key for lines written by jobs (e.g. "spend:boost:12:2026-11-02").
    source_key: str | None = Field(default=None, max_length=120)
    at: datetime = created_at_field()
