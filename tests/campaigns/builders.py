"""Builders of campaigns, tracks, stories and posts for tests (plain functions, rows committed)."""

from __future__ import annotations

import io
from datetime import date, datetime

from sqlmodel import Session, select

from accounts.models import Territory
from campaigns.models import Campaign, ContentTrack, Post, PostStatus, Story, StorySource
from targets.models import Audience

SHARES = {"investors": 4000, "tourists": 3500, "residents": 2500}


def audiences_of(session: Session, territory: Territory) -> dict[str, Audience]:
    return {a.key: a for a in session.exec(select(Audience).where(Audience.territory_id == territory.id))}


def make_campaign(session: Session, territory: Territory, name: str = "Printemps 2030 — le tramway",
                  shares: dict[str, int] | None = None, **fields: object) -> tuple[Campaign, dict[str, ContentTrack]]:
    """A campaign with one track per audience key of `shares` (basis points)."""
    values = {"starts_on": date(2030, 3, 1), "ends_on": date(2030, 5, 31), "approved_budget_minor": 600000,
              "slug": name.lower().split(" ")[0]}
    values.update(fields)
    campaign = Campaign(territory_id=territory.id, name=name, **values)
    session.add(campaign)
    session.flush()
    audiences = audiences_of(session, territory)
    tracks = {}
    for key, share in (SHARES if shares is None else shares).items():
        track = ContentTrack(territory_id=territory.id, campaign_id=campaign.id, audience_id=audiences[key].id,
                             budget_share_bp=share)
        session.add(track)
        tracks[key] = track
    session.commit()
    return campaign, tracks


def make_post(session: Session, track: ContentTrack, message: str = "Un message", planned_at: datetime | None = None,
              status: PostStatus = PostStatus.DRAFT, **fields: object) -> Post:
    post = Post(territory_id=track.territory_id, track_id=track.id, message=message, planned_at=planned_at,
                status=status, **fields)
    session.add(post)
    session.commit()
    return post


def make_story(session: Session, territory: Territory, title: str = "Le tramway arrive",
               body: str = "La ligne T2 relie la gare au campus.", source: StorySource = StorySource.WRITTEN,
               **fields: object) -> Story:
    story = Story(territory_id=territory.id, title=title, body=body, source=source, **fields)
    session.add(story)
    session.commit()
    return story


def image_bytes(width: int = 1200, height: int = 630, kind: str = "PNG") -> bytes:
    """A small real image of the given size and format."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (29, 78, 137)).save(buffer, format=kind)
    return buffer.getvalue()


def text_of(response) -> str:  # noqa: ANN001
    """A page's text as a person reads it: entities decoded, no-break spaces as spaces."""
    from html import unescape

    return unescape(response.get_data(as_text=True)).replace("\u202f", " ").replace("\xa0", " ")
