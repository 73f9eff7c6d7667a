"""Rules for campaigns, content tracks, stories and posts, the calendar, and the UTM tagging of links.

Functions take keyword-only arguments and an explicit session; they flush, never commit. Workflow
transitions (submit, approve, schedule, publish) are in `campaigns.workflow`; this module only
creates and edits content, and plans it on the calendar.
"""

from __future__ import annotations

import calendar as _calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask_babel import gettext as _
from sqlalchemy import func
from sqlmodel import Session, select

from accounts.models import Territory
from accounts.services import Actor, audit
from campaigns.models import (
    Campaign,
    CampaignCreate,
    CampaignStatus,
    CampaignUpdate,
    ContentTrack,
    ContentTrackCreate,
    ContentTrackUpdate,
    Post,
    PostCreate,
    PostStatus,
    PostUpdate,
    Story,
    StoryCreate,
    StorySource,
)
from core.db import utc_now
from core.errors import Conflict, NotFound, ValidationFailed
from targets.forms import slugify
from targets.models import Audience

FULL_SHARE_BP = 10000  # 100 % in basis points
# Content can be changed while the post is a draft; later steps belong to the workflow.
EDITABLE_STATUSES = frozenset({PostStatus.DRAFT})
# A post that is on its way to Facebook, or there already, keeps its date.
NOT_RESCHEDULABLE = frozenset({PostStatus.PUBLISHING, PostStatus.PUBLISHED})
UTM_MEDIUMS = ("organic", "paid")


# ------------------------------------------------------------------------------------------ links


def tag_link(url: str, *, campaign: Campaign | str, audience_key: str, medium: str = "organic") -> str:
    """`url` with Rayonne's UTM parameters: source facebook, the medium, the campaign's slug, the audience key.

    Other query parameters and the fragment are kept; any `utm_*` already there is replaced, so
    tagging twice gives the same link. Pure function (the sponsored module calls it with "paid").
    :raise ValueError: for a medium other than "organic" or "paid".
    """
    if medium not in UTM_MEDIUMS:
        raise ValueError(f"medium must be one of {UTM_MEDIUMS}, not {medium!r}")
    slug = campaign if isinstance(campaign, str) else campaign_slug(campaign)
    parts = urlsplit(url.strip())
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith("utm_")]
    tags = [("utm_source", "facebook"), ("utm_medium", medium), ("utm_campaign", slug),
            ("utm_content", audience_key)]
    return urlunsplit(parts._replace(query=urlencode(kept + tags)))


def untag_link(url: str) -> str:
    """`url` without its `utm_*` parameters (to show and edit the link as the editor typed it)."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def check_link(url: str | None, field: str = "link") -> str | None:
    """A web address a post may carry, or None when empty. :raise ValidationFailed: otherwise."""
    if url is None or not url.strip():
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
        raise ValidationFailed({field: _("Adresse web complète attendue, commençant par https:// "
                                         "(par exemple https://www.valrive.fr/tramway).")})
    return url


# -------------------------------------------------------------------------------------- campaigns


def campaign_slug(campaign: Campaign) -> str:
    """The campaign's name in links (`utm_campaign`)."""
    return campaign.slug or slugify(campaign.name, 60) or f"campagne-{campaign.id}"


def _unique_slug(session: Session, name: str) -> str:
    base = slugify(name, 60) or "campagne"
    taken = set(session.exec(select(Campaign.slug).where(Campaign.slug.like(f"{base}%"))).all())
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_dates(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise ValidationFailed({"ends_on": _("La campagne ne peut pas finir avant de commencer (%(day)s).",
                                             day=starts_on.strftime("%d/%m/%Y"))})


def _campaign_snapshot(campaign: Campaign) -> dict[str, Any]:
    return {"name": campaign.name, "theme": campaign.theme, "starts_on": campaign.starts_on,
            "ends_on": campaign.ends_on, "objective": campaign.objective.value,
            "approved_budget_minor": campaign.approved_budget_minor, "dsa_beneficiary": campaign.dsa_beneficiary,
            "dsa_payor": campaign.dsa_payor, "status": campaign.status.value}


def list_campaigns(
    *, session: Session, include_archived: bool = False, status: CampaignStatus | None = None
) -> list[tuple[Campaign, int]]:
    """Campaigns with their number of tracks, the most recent first (active ones unless told otherwise)."""
    query = (
        select(Campaign, func.count(ContentTrack.id))
        .join(ContentTrack, ContentTrack.campaign_id == Campaign.id, isouter=True)
        .group_by(Campaign.id)
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
    )
    if status is not None:
        query = query.where(Campaign.status == status)
    elif not include_archived:
        query = query.where(Campaign.status == CampaignStatus.ACTIVE)
    return list(session.exec(query).all())


def get_campaign(*, session: Session, campaign_id: int) -> Campaign:
    """:raise NotFound: if the campaign is not in the session's territory."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(_("Campagne introuvable."))
    return campaign


def create_campaign(*, session: Session, territory: Territory, data: CampaignCreate, actor: Actor) -> Campaign:
    """Create a campaign (without tracks), audited. Commits: no. :raise ValidationFailed: on bad dates."""
    _check_dates(data.starts_on, data.ends_on)
    campaign = Campaign.model_validate(
        data, update={"territory_id": territory.id, "currency": territory.currency,
                      "slug": _unique_slug(session, data.name), "created_by_id": actor.user_id})
    session.add(campaign)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="campaign.create", obj=campaign,
          after=_campaign_snapshot(campaign))
    return campaign


def update_campaign(
    *, session: Session, territory: Territory, campaign: Campaign, data: CampaignUpdate, actor: Actor
) -> Campaign:
    """Change a campaign's fields, audited with before and after. Commits: no.

    The approved budget is only stored here; its ledger entries are the sponsored module's.
    :raise ValidationFailed: on bad dates.
    """
    changes = data.model_dump(exclude_unset=True)
    changes = {k: v for k, v in changes.items() if v is not None or k in ("theme",)}
    _check_dates(changes.get("starts_on", campaign.starts_on), changes.get("ends_on", campaign.ends_on))
    before = _campaign_snapshot(campaign)
    campaign.sqlmodel_update(changes)
    session.add(campaign)
    session.flush()
    after = _campaign_snapshot(campaign)
    changed = {k: v for k, v in after.items() if before[k] != v}
    if changed:
        audit(session=session, territory_id=territory.id, actor=actor, action="campaign.update", obj=campaign,
              before={k: before[k] for k in changed}, after=changed)
    return campaign


def set_campaign_status(
    *, session: Session, territory: Territory, campaign: Campaign, status: CampaignStatus, actor: Actor
) -> Campaign:
    """Archive or reactivate a campaign, audited. Its posts keep their state. Commits: no."""
    if campaign.status == status:
        return campaign
    before = campaign.status
    campaign.status = status
    session.add(campaign)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor,
          action="campaign.archive" if status == CampaignStatus.ARCHIVED else "campaign.restore", obj=campaign,
          before={"status": before.value}, after={"status": status.value})
    return campaign


# ----------------------------------------------------------------------------------------- tracks


def tracks_of(*, session: Session, campaign_id: int) -> list[tuple[ContentTrack, Audience]]:
    """A campaign's tracks with their audience, built-in audiences first."""
    return list(session.exec(
        select(ContentTrack, Audience).join(Audience, Audience.id == ContentTrack.audience_id)
        .where(ContentTrack.campaign_id == campaign_id).order_by(Audience.builtin.desc(), Audience.id)
    ).all())


def get_track(*, session: Session, track_id: int) -> ContentTrack:
    """:raise NotFound: if the track is not in the session's territory."""
    track = session.get(ContentTrack, track_id)
    if track is None:
        raise NotFound(_("Piste introuvable."))
    return track


def _percent(bp: int) -> str:
    return f"{bp / 100:g}".replace(".", ",") + " %"


def _check_share_total(total_bp: int, field: str = "budget_share_bp") -> None:
    if total_bp > FULL_SHARE_BP:
        raise ValidationFailed({field: _(
            "Les parts de budget des pistes totaliseraient %(total)s : elles ne peuvent pas dépasser 100 %% "
            "du budget approuvé. Réduisez-en une ou plusieurs.", total=_percent(total_bp))})


def _track_snapshot(track: ContentTrack) -> dict[str, Any]:
    return {"audience_id": track.audience_id, "budget_share_bp": track.budget_share_bp, "tone": track.tone,
            "guidelines": track.guidelines, "posts_per_week": track.posts_per_week}


def _usable_audience(session: Session, audience_id: int, field: str) -> Audience:
    audience = session.get(Audience, audience_id)
    if audience is None or audience.archived:
        raise ValidationFailed({field: _("Public inconnu ou archivé.")})
    return audience


def add_track(
    *, session: Session, territory: Territory, campaign: Campaign, data: ContentTrackCreate, actor: Actor
) -> ContentTrack:
    """Address one more audience in a campaign, audited. Commits: no.

    :raise ValidationFailed: unknown audience, or budget shares above 100 %.
    :raise Conflict: the campaign already has a track for this audience.
    """
    _usable_audience(session, data.audience_id, "audience_id")
    tracks = [t for t, _a in tracks_of(session=session, campaign_id=campaign.id)]
    if any(t.audience_id == data.audience_id for t in tracks):
        raise Conflict(_("Cette campagne a déjà une piste pour ce public."), field="audience_id")
    _check_share_total(sum(t.budget_share_bp for t in tracks) + data.budget_share_bp)
    track = ContentTrack.model_validate(data, update={"territory_id": territory.id, "campaign_id": campaign.id})
    session.add(track)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="track.create", obj=track,
          after={"campaign_id": campaign.id, **_track_snapshot(track)})
    return track


def update_track(
    *, session: Session, territory: Territory, track: ContentTrack, data: ContentTrackUpdate, actor: Actor
) -> ContentTrack:
    """Change a track's share, tone, guidelines or cadence, audited. Commits: no.

    :raise ValidationFailed: if the campaign's shares would exceed 100 %.
    """
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if "budget_share_bp" in changes:
        others = session.exec(select(func.coalesce(func.sum(ContentTrack.budget_share_bp), 0)).where(
            ContentTrack.campaign_id == track.campaign_id, ContentTrack.id != track.id)).one()
        _check_share_total(int(others) + changes["budget_share_bp"])
    return _apply_track_changes(session=session, territory=territory, track=track, changes=changes, actor=actor)


def _apply_track_changes(
    *, session: Session, territory: Territory, track: ContentTrack, changes: dict[str, Any], actor: Actor
) -> ContentTrack:
    before = _track_snapshot(track)
    track.sqlmodel_update(changes)
    session.add(track)
    session.flush()
    after = _track_snapshot(track)
    changed = {k: v for k, v in after.items() if before[k] != v}
    if changed:
        audit(session=session, territory_id=territory.id, actor=actor, action="track.update", obj=track,
              before={k: before[k] for k in changed}, after=changed)
    return track


def remove_track(*, session: Session, territory: Territory, track: ContentTrack, actor: Actor) -> None:
    """Stop addressing an audience in a campaign. Commits: no.

    :raise Conflict: when the track already has posts (they keep their track; archive the campaign instead).
    """
    if session.exec(select(Post.id).where(Post.track_id == track.id)).first() is not None:
        raise Conflict(_("Cette piste a déjà des publications : elle ne peut plus être retirée."),
                       field=f"track_{track.audience_id}")
    audit(session=session, territory_id=territory.id, actor=actor, action="track.delete", obj=track,
          before=_track_snapshot(track))
    session.delete(track)
    session.flush()


def set_tracks(
    *, session: Session, territory: Territory, campaign: Campaign, wanted: list[ContentTrackCreate], actor: Actor
) -> list[ContentTrack]:
    """Make the campaign's tracks exactly `wanted` (one per audience): add, change, remove. Commits: no.

    Errors are keyed by the form's fields: `track_<audience_id>` or `budget_share`.
    :raise ValidationFailed: shares above 100 %, unknown audience, a removed track that has posts.
    """
    total = sum(w.budget_share_bp for w in wanted)
    try:
        _check_share_total(total, field="budget_share")
    except ValidationFailed as exc:
        errors = dict(exc.errors)
    else:
        errors = {}
    current = {t.audience_id: t for t, _a in tracks_of(session=session, campaign_id=campaign.id)}
    by_audience = {w.audience_id: w for w in wanted}
    for audience_id, track in current.items():
        if audience_id not in by_audience and session.exec(
                select(Post.id).where(Post.track_id == track.id)).first() is not None:
            errors[f"track_{audience_id}"] = _("Cette piste a déjà des publications : elle ne peut plus être retirée.")
    for audience_id in by_audience:
        if audience_id not in current:
            try:
                _usable_audience(session, audience_id, f"track_{audience_id}")
            except ValidationFailed as exc:
                errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors, _("Les pistes sont à corriger."))
    # The final total was checked above; removals and changes come before additions so that
    # add_track's own check sees the final shares of the other tracks.
    for audience_id, track in list(current.items()):
        if audience_id not in by_audience:
            remove_track(session=session, territory=territory, track=track, actor=actor)
    for audience_id, want in by_audience.items():
        if audience_id in current:
            _apply_track_changes(session=session, territory=territory, track=current[audience_id],
                                 changes=want.model_dump(exclude={"audience_id"}), actor=actor)
    for audience_id, want in by_audience.items():
        if audience_id not in current:
            add_track(session=session, territory=territory, campaign=campaign, data=want, actor=actor)
    return [t for t, _a in tracks_of(session=session, campaign_id=campaign.id)]


# ---------------------------------------------------------------------------------------- stories


def get_story(*, session: Session, story_id: int) -> Story:
    """:raise NotFound: if the story is not in the session's territory."""
    story = session.get(Story, story_id)
    if story is None:
        raise NotFound(_("Récit introuvable."))
    return story


def list_stories(*, session: Session, source: StorySource | None = None, limit: int = 200) -> list[tuple[Story, int]]:
    """Stories with their number of posts, the newest first."""
    query = (
        select(Story, func.count(Post.id)).join(Post, Post.story_id == Story.id, isouter=True)
        .group_by(Story.id).order_by(Story.created_at.desc(), Story.id.desc()).limit(limit)
    )
    if source is not None:
        query = query.where(Story.source == source)
    return list(session.exec(query).all())


def create_story(
    *, session: Session, territory: Territory, data: StoryCreate, actor: Actor,
    source: StorySource = StorySource.WRITTEN,
) -> Story:
    """Write a story once (its variants are posts). Commits: no. :raise ValidationFailed: bad link."""
    link = check_link(data.link)
    if data.campaign_id is not None:
        get_campaign(session=session, campaign_id=data.campaign_id)
    story = Story.model_validate(data, update={"territory_id": territory.id, "link": link, "source": source,
                                               "created_by_id": actor.user_id})
    session.add(story)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="story.create", obj=story,
          after={"title": story.title, "source": story.source.value, "campaign_id": story.campaign_id})
    return story


def story_text(story: Story) -> str:
    """The text a variant starts from: the story's body (an imported article: its title and summary)."""
    if story.source == StorySource.WEBSITE:
        return "\n\n".join(part for part in (story.title, story.body) if part).strip()
    return (story.body or story.title).strip()


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def is_copied_from_website(story: Story | None, message: str) -> bool:
    """True when a post repeats an imported article word for word instead of adapting it."""
    return (story is not None and story.source == StorySource.WEBSITE
            and _normalised(message) == _normalised(story_text(story)))


# ------------------------------------------------------------------------------------------ posts


def get_post(*, session: Session, post_id: int) -> Post:
    """:raise NotFound: if the post is not in the session's territory."""
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound(_("Publication introuvable."))
    return post


def _aware_utc(moment: datetime | None, field: str = "planned_at") -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValidationFailed({field: _("Date et heure avec leur fuseau attendues "
                                         "(par exemple 2027-03-02T10:30:00+01:00).")})
    return moment.astimezone(UTC)


def _check_future(moment: datetime, field: str = "planned_at") -> None:
    if moment <= utc_now():
        raise ValidationFailed({field: _("Choisissez une date et une heure à venir.")})


def _post_snapshot(post: Post) -> dict[str, Any]:
    return {"message": post.message[:200], "link": post.link, "image_path": post.image_path,
            "planned_at": post.planned_at, "copied_from_website": post.copied_from_website}


def create_post(
    *, session: Session, territory: Territory, data: PostCreate, actor: Actor, image_path: str | None = None
) -> Post:
    """A draft post in one track; its link is tagged with the campaign and audience. Commits: no.

    :raise ValidationFailed: unknown track or story, bad link, planned time not in the future.
    :raise Conflict: the campaign is archived.
    """
    track = session.get(ContentTrack, data.track_id)
    if track is None:
        raise ValidationFailed({"track_id": _("Piste inconnue.")})
    campaign = session.get(Campaign, track.campaign_id)
    if campaign.status == CampaignStatus.ARCHIVED:
        raise Conflict(_("Cette campagne est archivée : rétablissez-la pour y écrire."), field="track_id")
    audience = session.get(Audience, track.audience_id)
    story = None
    if data.story_id is not None:
        story = session.get(Story, data.story_id)
        if story is None:
            raise ValidationFailed({"story_id": _("Récit inconnu.")})
    link = check_link(data.link)
    planned_at = _aware_utc(data.planned_at)
    if planned_at is not None:
        _check_future(planned_at)
    post = Post(
        territory_id=territory.id, track_id=track.id, story_id=data.story_id, message=data.message.strip(),
        link=tag_link(link, campaign=campaign, audience_key=audience.key) if link else None,
        image_path=image_path, planned_at=planned_at, status=PostStatus.DRAFT,
        copied_from_website=is_copied_from_website(story, data.message), created_by_id=actor.user_id,
    )
    session.add(post)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="post.create", obj=post,
          after={"track_id": track.id, "story_id": post.story_id, **_post_snapshot(post)})
    return post


_KEEP = object()


def update_post(
    *, session: Session, territory: Territory, post: Post, data: PostUpdate, actor: Actor,
    image_path: Any = _KEEP,
) -> Post:
    """Change a draft's text, link, image or planned time, audited. Commits: no.

    Pass `image_path=None` to remove the image. A change of planned time alone follows
    `reschedule_post`'s rule (any post not yet published).
    :raise Conflict: content change on a post that is no longer a draft.
    :raise ValidationFailed: bad link, planned time not in the future.
    """
    changes = data.model_dump(exclude_unset=True)
    content_change = any(k in changes for k in ("message", "link")) or image_path is not _KEEP
    if content_change and post.status not in EDITABLE_STATUSES:
        raise Conflict(_("Seul un brouillon peut être modifié ; cette publication est « %(status)s ».",
                         status=post.status.value))
    before = _post_snapshot(post)
    if changes.get("message") is not None:
        post.message = changes["message"].strip()
        story = session.get(Story, post.story_id) if post.story_id else None
        post.copied_from_website = is_copied_from_website(story, post.message)
    if "link" in changes:
        link = check_link(changes["link"])
        if link:
            track = session.get(ContentTrack, post.track_id)
            campaign = session.get(Campaign, track.campaign_id)
            audience = session.get(Audience, track.audience_id)
            link = tag_link(link, campaign=campaign, audience_key=audience.key)
        post.link = link
    if image_path is not _KEEP:
        post.image_path = image_path
    if "planned_at" in changes:
        if post.status in NOT_RESCHEDULABLE:
            raise Conflict(_("Une publication déjà publiée (ou en cours de publication) garde sa date."))
        planned_at = _aware_utc(changes["planned_at"])
        if planned_at is not None:
            _check_future(planned_at)
        post.planned_at = planned_at
    post.updated_at = utc_now()
    session.add(post)
    session.flush()
    after = _post_snapshot(post)
    changed = {k: v for k, v in after.items() if before[k] != v}
    if changed:
        audit(session=session, territory_id=territory.id, actor=actor, action="post.update", obj=post,
              before={k: before[k] for k in changed}, after=changed)
    return post


def reschedule_post(*, session: Session, territory: Territory, post: Post, planned_at: datetime,
                    actor: Actor) -> Post:
    """Move a post not yet published to another (future, timezone-aware) time, audited. Commits: no.

    The post keeps its workflow state: a scheduled post is published at the new time.
    :raise Conflict: the post is published or being published.
    :raise ValidationFailed: naive or past time.
    """
    if post.status in NOT_RESCHEDULABLE:
        raise Conflict(_("Une publication déjà publiée (ou en cours de publication) garde sa date."))
    moment = _aware_utc(planned_at)
    assert moment is not None
    _check_future(moment)
    before = post.planned_at
    post.planned_at = moment
    post.updated_at = utc_now()
    session.add(post)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="post.reschedule", obj=post,
          before={"planned_at": before}, after={"planned_at": moment})
    return post


def list_posts(
    *, session: Session, campaign_id: int | None = None, track_id: int | None = None,
    audience_id: int | None = None, story_id: int | None = None, status: PostStatus | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: int = 500,
) -> list[Post]:
    """Posts matching every filter given, by planned time (unplanned last), then newest."""
    query = select(Post).join(ContentTrack, ContentTrack.id == Post.track_id)
    if campaign_id is not None:
        query = query.where(ContentTrack.campaign_id == campaign_id)
    if track_id is not None:
        query = query.where(Post.track_id == track_id)
    if audience_id is not None:
        query = query.where(ContentTrack.audience_id == audience_id)
    if story_id is not None:
        query = query.where(Post.story_id == story_id)
    if status is not None:
        query = query.where(Post.status == status)
    if since is not None:
        query = query.where(Post.planned_at >= since)
    if until is not None:
        query = query.where(Post.planned_at < until)
    query = query.order_by(Post.planned_at.is_(None), Post.planned_at, Post.id.desc()).limit(limit)
    return list(session.exec(query).all())


def count_posts_by_status(*, session: Session) -> dict[PostStatus, int]:
    rows = session.exec(select(Post.status, func.count()).group_by(Post.status)).all()
    return {PostStatus(status): count for status, count in rows}


# --------------------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class CalendarEntry:
    """A post on the calendar, with its track, audience and campaign; `at` is when it is (or was) shown."""

    post: Post
    track: ContentTrack
    audience: Audience
    campaign: Campaign

    @property
    def at(self) -> datetime:
        return self.post.published_at or self.post.planned_at  # type: ignore[return-value]


def calendar_entries(
    *, session: Session, start: datetime, end: datetime, campaign_id: int | None = None,
    audience_id: int | None = None, track_id: int | None = None,
) -> list[CalendarEntry]:
    """Posts planned or published in [start, end), filtered, in time order (drafts without a date are not shown)."""
    when = func.coalesce(Post.published_at, Post.planned_at)
    query = (
        select(Post, ContentTrack, Audience, Campaign)
        .join(ContentTrack, ContentTrack.id == Post.track_id)
        .join(Audience, Audience.id == ContentTrack.audience_id)
        .join(Campaign, Campaign.id == ContentTrack.campaign_id)
        .where(when >= start, when < end)
        .order_by(when, Post.id)
    )
    if campaign_id is not None:
        query = query.where(ContentTrack.campaign_id == campaign_id)
    if audience_id is not None:
        query = query.where(ContentTrack.audience_id == audience_id)
    if track_id is not None:
        query = query.where(Post.track_id == track_id)
    return [CalendarEntry(*row) for row in session.exec(query).all()]


def posts_between(*, session: Session, start: datetime, end: datetime) -> list[tuple[Post, ContentTrack, Audience]]:
    """Posts planned in [start, end), with their track and audience, in time order."""
    return [(e.post, e.track, e.audience) for e in calendar_entries(session=session, start=start, end=end)]


def week_bounds(day: datetime) -> tuple[datetime, datetime]:
    """Monday 00:00 of `day`'s week and the Monday after (in `day`'s time zone)."""
    start = (day - timedelta(days=day.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=7)


def month_weeks(year: int, month: int) -> list[list[date]]:
    """The weeks (Monday first) that show a month, days of the neighbouring months included."""
    return _calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)


def local_midnight(day: date, tz: Any) -> datetime:
    """00:00 of `day` in the time zone `tz` (a ZoneInfo), as an aware datetime."""
    return datetime.combine(day, time(0), tz)


# -------------------------------------------------------------------------- adapted versus copied


class AdaptationRow(NamedTuple):
    """How many posts of an audience's tracks were written for it, and how many repeat the website."""

    audience: Audience
    adapted: int
    copied: int

    @property
    def copied_share(self) -> float | None:
        total = self.adapted + self.copied
        return None if total == 0 else self.copied / total


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(0), UTC)


# Positional-or-keyword on purpose: issue 4 announced it as `adaptation_share(session, since, until)`.
def adaptation_share(
    session: Session, since: date | datetime, until: date | datetime, *, published_only: bool = True
) -> list[AdaptationRow]:
    """Per audience: posts adapted for it versus copied as is from the website, in [since, until).

    By default counts posts published in the period (what the public saw); `published_only=False`
    counts every post planned (or, unplanned, created) in the period. Audiences without posts
    appear with zeros; archived ones only if they have posts. Commits: no.
    """
    start, end = _as_datetime(since), _as_datetime(until)
    if published_only:
        when = Post.published_at
        query = select(ContentTrack.audience_id, Post.copied_from_website, func.count(Post.id)).where(
            Post.status == PostStatus.PUBLISHED)
    else:
        when = func.coalesce(Post.planned_at, Post.created_at)
        query = select(ContentTrack.audience_id, Post.copied_from_website, func.count(Post.id))
    query = (query.join(ContentTrack, ContentTrack.id == Post.track_id).where(when >= start, when < end)
             .group_by(ContentTrack.audience_id, Post.copied_from_website))
    counts: dict[int, list[int]] = {}
    for audience_id, copied, n in session.exec(query).all():
        counts.setdefault(audience_id, [0, 0])[1 if copied else 0] += n
    audiences: Iterable[Audience] = session.exec(
        select(Audience).order_by(Audience.builtin.desc(), Audience.id)).all()
    return [AdaptationRow(a, *counts.get(a.id, [0, 0])) for a in audiences if not a.archived or a.id in counts]
