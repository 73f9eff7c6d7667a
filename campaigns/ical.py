"""A territory's calendar as a read-only iCalendar feed behind a secret address.

The token is shown once to the admin who creates it and stored as a SHA-256 digest in
`Territory.calendar_token_hash`; regenerating it cuts off every calendar app that had the old one.
The feed lists planned, scheduled, published and failed posts, never a draft's full text. Its words
(states, labels) are in the territory's language: a calendar app sends no user, and its own language
says nothing about who reads the calendar.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Calendar, Event
from sqlmodel import Session, select

from accounts.models import Territory
from accounts.services import Actor, audit
from campaigns import services
from campaigns.models import PostStatus
from core.db import ALL, scoped, utc_now
from core.i18n import supported_locale
from core.security import hash_token, new_token

FEED_PAST_DAYS = 92
FEED_FUTURE_DAYS = 366
STATUS_LABELS = {
    PostStatus.DRAFT: _l("brouillon"), PostStatus.IN_REVIEW: _l("en relecture"), PostStatus.APPROVED: _l("approuvée"),
    PostStatus.SCHEDULED: _l("programmée"), PostStatus.PUBLISHING: _l("en cours de publication"),
    PostStatus.PUBLISHED: _l("publiée"), PostStatus.FAILED: _l("échec"), PostStatus.MISSED: _l("manquée"),
}


def regenerate_token(*, session: Session, territory: Territory, actor: Actor) -> str:
    """A new secret feed token (returned in clear, once); the previous one stops working. Commits: no."""
    token = new_token(24)
    had = territory.calendar_token_hash is not None
    territory.calendar_token_hash = hash_token(token)
    session.add(territory)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor,
          action="calendar.token_regenerate" if had else "calendar.token_create", obj=territory)
    return token


def revoke_token(*, session: Session, territory: Territory, actor: Actor) -> None:
    """Close the feed: no address works any more. Commits: no."""
    if territory.calendar_token_hash is None:
        return
    territory.calendar_token_hash = None
    session.add(territory)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="calendar.token_revoke", obj=territory)


def territory_for_token(*, session: Session, token: str) -> Territory | None:
    """The territory whose feed token this is, or None."""
    if not token or len(token) > 200:
        return None
    with scoped(session, ALL):
        return session.exec(select(Territory).where(Territory.calendar_token_hash == hash_token(token))).first()


def build_feed(*, session: Session, territory: Territory, base_url: str) -> bytes:
    """The .ics bytes of the territory's posts from three months ago to a year ahead, worded in the
    territory's language.

    The session must be scoped to `territory`. Commits: no.
    """
    with force_locale(supported_locale(territory.locale)):
        return _build_feed(session=session, territory=territory, base_url=base_url)


def _build_feed(*, session: Session, territory: Territory, base_url: str) -> bytes:
    now = utc_now()
    entries = services.calendar_entries(session=session, start=now - timedelta(days=FEED_PAST_DAYS),
                                        end=now + timedelta(days=FEED_FUTURE_DAYS))
    cal = Calendar()
    cal.add("prodid", "-//Rayonne//Calendrier éditorial//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Rayonne — {territory.name}")
    cal.add("x-wr-timezone", territory.timezone)
    host = base_url.split("//", 1)[-1].split("/", 1)[0] or "rayonne"
    for entry in entries:
        post = entry.post
        status = str(STATUS_LABELS.get(post.status, post.status.value))
        event = Event()
        event.add("uid", f"post-{post.id}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", entry.at)
        event.add("dtend", entry.at + timedelta(minutes=15))
        first_line = post.message.strip().splitlines()[0] if post.message.strip() else ""
        failed = post.status in (PostStatus.FAILED, PostStatus.MISSED)
        prefix = f"{status.upper()} — " if failed else ""
        event.add("summary", f"{prefix}[{entry.audience.name}] {first_line[:80]}")
        description = [_("Campagne : %(name)s", name=entry.campaign.name),
                       _("Public : %(name)s", name=entry.audience.name), _("État : %(status)s", status=status)]
        if post.failure_reason:
            description.append(_("Raison de l'échec : %(reason)s", reason=post.failure_reason))
        if post.link:
            description.append(_("Lien : %(url)s", url=post.link))
        event.add("description", "\n".join(description))
        event.add("categories", [entry.audience.name])
        event.add("url", f"{base_url.rstrip('/')}/t/{territory.slug}/campaigns/posts/{post.id}")
        cal.add_component(event)
    return cal.to_ical()
