"""Builders for the reports tests: a territory with one campaign told to three audiences, posts and
boosts made directly with the models (the campaign and boost services are tested elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import Session, select

from accounts.models import Territory
from campaigns.models import Campaign, ContentTrack, Post, PostStatus
from sponsored.models import Boost, BoostStatus
from targets.models import Audience, ResultType
from tests.conftest import make_territory


@dataclass
class World:
    territory: Territory
    campaign: Campaign
    tracks: dict[str, ContentTrack]  # by audience key
    audiences: dict[str, Audience]


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def build_world(session: Session, slug: str = "valrive", *, starts_on: date = date(2026, 11, 2),
                ends_on: date = date(2026, 12, 31)) -> World:
    """A territory, a campaign and its three tracks. Investors count link clicks worth 2 €, tourists
    leads worth 10 €, residents have no value set."""
    territory = make_territory(session, slug)
    audiences = {a.key: a for a in session.exec(select(Audience).where(Audience.territory_id == territory.id))}
    audiences["investors"].result_type, audiences["investors"].result_value_minor = ResultType.LINK_CLICK, 200
    audiences["investors"].value_note = "Un clic vers la page foncier vaut 2 € (coût d'un clic acheté)."
    audiences["tourists"].result_type, audiences["tourists"].result_value_minor = ResultType.LEAD, 1000
    audiences["tourists"].value_note = "Une demande de brochure vaut 10 €."
    audiences["residents"].result_type, audiences["residents"].result_value_minor = ResultType.LINK_CLICK, 0
    campaign = Campaign(territory_id=territory.id, name="Tramway T2", starts_on=starts_on, ends_on=ends_on,
                        approved_budget_minor=300_000)
    session.add(campaign)
    session.flush()
    tracks = {}
    for key in ("investors", "tourists", "residents"):
        tracks[key] = ContentTrack(territory_id=territory.id, campaign_id=campaign.id, audience_id=audiences[key].id,
                                   budget_share_bp=3000)
        session.add(tracks[key])
    session.commit()
    return World(territory, campaign, tracks, audiences)


def make_post(session: Session, world: World, key: str, published_at: datetime | None, *,
              fb_post_id: str | None = None, message: str = "Le tramway arrive à Valrive",
              copied: bool = False) -> Post:
    post = Post(territory_id=world.territory.id, track_id=world.tracks[key].id, message=message,
                status=PostStatus.PUBLISHED if published_at else PostStatus.DRAFT, published_at=published_at,
                fb_post_id=fb_post_id, copied_from_website=copied)
    session.add(post)
    session.flush()
    return post


def make_boost(session: Session, world: World, post: Post, *, starts_at: datetime, days: int = 7,
               fb_ad_id: str | None = None, budget_minor: int = 5000,
               status: BoostStatus = BoostStatus.ACTIVE) -> Boost:
    boost = Boost(territory_id=world.territory.id, post_id=post.id, track_id=post.track_id,
                  campaign_id=world.campaign.id, budget_minor=budget_minor,
                  starts_at=starts_at, ends_at=starts_at + timedelta(days=days), fb_ad_id=fb_ad_id, status=status)
    session.add(boost)
    session.flush()
    return boost


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)
