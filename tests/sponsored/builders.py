"""Builders for the sponsored-post tests (also used by the browser test): a territory connected to the
sandbox, a campaign with its tracks and budget, a published post, a client with instant retries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import Flask
from sqlmodel import Session, select

from accounts.connection import client_for
from accounts.models import Role, Territory
from accounts.services import Actor
from campaigns.models import Campaign, ContentTrack, Post, PostStatus
from core import clock as rayonne_clock
from core.db import scoped
from facebook import FacebookClient, RetryPolicy
from sponsored import services
from targets.models import Audience
from tests.conftest import connect_sandbox, make_territory, make_user

#: Every world starts at this moment (a Monday, 09:00 UTC) on both clocks, so that the sandbox's simulated
#: delivery (drawn per day from a fixed seed) is the same on every run, whatever the real date.
START = datetime(2045, 1, 2, 9, 0, tzinfo=UTC)
MANAGER = Actor(label="manager@valrive.test")
EDITOR = Actor(label="editor@valrive.test")


@dataclass
class World:
    territory: Territory
    campaign: Campaign
    tracks: dict[str, ContentTrack]
    audiences: dict[str, Audience]
    fb: dict


def sandbox_now(sandbox) -> datetime:  # noqa: ANN001
    return datetime.fromisoformat(sandbox.control.clock().replace("+0000", "+00:00"))


def sync_clocks(sandbox) -> datetime:  # noqa: ANN001
    """Freeze Rayonne's clock on the sandbox's (both then move together)."""
    now = sandbox_now(sandbox)
    rayonne_clock.freeze(now)
    return now


def advance(sandbox, *, days: float = 0, hours: float = 0) -> datetime:  # noqa: ANN001
    """Move both clocks forward by the same amount."""
    sandbox.control.advance(days=days, hours=hours)
    return sync_clocks(sandbox)


def build_world(app: Flask, session: Session, sandbox, *, slug: str = "valrive", approved: int = 100_000,  # noqa: ANN001
                allocations: dict[str, int] | None = None, threshold: int = 50_000, users: bool = False) -> World:
    """A territory connected to the sandbox, a campaign (DSA set) with the three built-in tracks, an
    approved budget and allocations written through the services (so the ledger is real)."""
    if sandbox_now(sandbox) < START:
        sandbox.app.advance(to=START.isoformat())
    territory = make_territory(session, slug, slug.capitalize(), boost_approval_threshold_minor=threshold)
    fb = connect_sandbox(app, session, territory, sandbox)
    if users:
        make_user(session, f"manager@{slug}.test", territory, Role.MANAGER)
        make_user(session, f"editor@{slug}.test", territory, Role.EDITOR)
    now = sync_clocks(sandbox)
    with app.app_context(), scoped(session, territory.id):
        audiences = {a.key: a for a in session.exec(select(Audience))}
        campaign = Campaign(territory_id=territory.id, name="Printemps — le tramway", starts_on=now.date(),
                            ends_on=(now + timedelta(days=90)).date(), dsa_beneficiary="Ville de Valrive",
                            dsa_payor="Ville de Valrive")
        session.add(campaign)
        session.flush()
        tracks = {}
        for key in ("investors", "tourists", "residents"):
            track = ContentTrack(territory_id=territory.id, campaign_id=campaign.id, audience_id=audiences[key].id,
                                 budget_share_bp=3333)
            session.add(track)
            session.flush()
            tracks[key] = track
        if approved:
            services.approve_budget(session=session, territory=territory, campaign=campaign, amount_minor=approved,
                                    actor=MANAGER, reason="Délibération du conseil")
        for key, amount in (allocations if allocations is not None else {"tourists": 40_000}).items():
            services.allocate(session=session, territory=territory, campaign=campaign, track=tracks[key],
                              amount_minor=amount, actor=MANAGER, reason="Répartition initiale")
        session.commit()
    return World(territory=territory, campaign=campaign, tracks=tracks, audiences=audiences, fb=fb)


def client(app: Flask, session: Session, territory: Territory) -> FacebookClient:
    """The territory's client, with instant retries (no sleeping in tests)."""
    with app.app_context(), scoped(session, territory.id):
        return client_for(session=session, retry=RetryPolicy(max_attempts=3, base_delay=0, max_delay=1,
                                                                 sleep=lambda s: None, poll_interval=0))


def published_post(app: Flask, session: Session, world: World, track: str = "tourists",
                   message: str = "Cet été, les berges de la Rive se visitent en tramway.", *,
                   photo: bytes | None = None) -> Post:
    """A post published on the sandbox Page (its real id) and marked published in Rayonne.

    With `photo` (image bytes), a photo post whose link is in its text, as the publishing job sends it.
    """
    fb_client = client(app, session, world.territory)
    if photo is not None:
        fb_post_id = fb_client.publish_photo(message=f"{message}\n\nhttps://valrive.example/ete", image=photo,
                                             filename="photo.png")
    else:
        fb_post_id = fb_client.publish_post(message=message, link="https://valrive.example/ete")
    with app.app_context(), scoped(session, world.territory.id):
        post = Post(territory_id=world.territory.id, track_id=world.tracks[track].id, message=message,
                    status=PostStatus.PUBLISHED, fb_post_id=fb_post_id, published_at=rayonne_clock.now())
        session.add(post)
        session.commit()
    return post


def boost_data(post: Post, *, budget: int = 5_000, kind: str = "lifetime", days: int = 7, **extra: object):  # noqa: ANN201
    from sponsored.models import BoostCreate

    now = rayonne_clock.now()
    return BoostCreate(post_id=post.id, budget_kind=kind, budget_minor=budget, starts_at=now,
                       ends_at=now + timedelta(days=days), **extra)


def today() -> date:
    return rayonne_clock.now().date()
