"""JSON API for campaigns, their tracks, stories and posts (the workflow actions are in `campaigns.api_workflow`).

A time without an offset is read in the territory's time zone, as in the workflow endpoints.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, g, request
from flask_babel import gettext as _

from accounts.api import api_blueprint, operation
from accounts.models import Role
from accounts.services import Actor
from campaigns import services
from campaigns.models import (
    Campaign,
    CampaignCreate,
    CampaignRead,
    CampaignStatus,
    CampaignUpdate,
    ContentTrack,
    ContentTrackCreate,
    ContentTrackRead,
    ContentTrackUpdate,
    Post,
    PostCreate,
    PostRead,
    PostStatus,
    PostUpdate,
    Story,
    StoryCreate,
    StoryRead,
)
from core.db import get_session
from core.errors import ValidationFailed

bp = api_blueprint("campaigns_api", __name__, "")

_ID_MODELS = {"campaign_id": Campaign, "track_id": ContentTrack, "post_id": Post}


@bp.before_request
def _known_ids() -> None:
    # An unknown (or other territory's) id answers 404 before the body is validated, so the
    # answer for a foreign id never depends on what was sent.
    view = current_app.view_functions.get(request.endpoint or "")
    if not g.role.allows(getattr(view, "required_role", Role.ADMIN)):
        abort(403)  # the role answer comes first, as on every other route
    for name, model in _ID_MODELS.items():
        value = (request.view_args or {}).get(name)
        if value is not None and get_session().get(model, value) is None:
            abort(404)


def _actor() -> Actor:
    return Actor.of(g.user)


def _local(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=ZoneInfo(g.territory.timezone))
    return moment


# -------------------------------------------------------------------------------------- campaigns


@operation(bp, "/campaigns/", role=Role.ANALYST, summary="List campaigns (active; ?archived=1 for archived ones)",
           response=list[CampaignRead])
def list_campaigns() -> list[Campaign]:
    status = CampaignStatus.ARCHIVED if request.args.get("archived") == "1" else CampaignStatus.ACTIVE
    return [c for c, _n in services.list_campaigns(session=get_session(), status=status)]


@operation(bp, "/campaigns/", role=Role.MANAGER, method="POST", summary="Create a campaign", body=CampaignCreate,
           response=CampaignRead, status=201)
def create_campaign(data: CampaignCreate) -> Campaign:
    session = get_session()
    campaign = services.create_campaign(session=session, territory=g.territory, data=data, actor=_actor())
    session.commit()
    return campaign


@operation(bp, "/campaigns/<int:campaign_id>", role=Role.ANALYST, summary="Get a campaign", response=CampaignRead)
def get_campaign(campaign_id: int) -> Campaign:
    return services.get_campaign(session=get_session(), campaign_id=campaign_id)


@operation(bp, "/campaigns/<int:campaign_id>", role=Role.MANAGER, method="PATCH",
           summary="Change a campaign (status: use the archive endpoints)", body=CampaignUpdate,
           response=CampaignRead)
def update_campaign(campaign_id: int, data: CampaignUpdate) -> Campaign:
    session = get_session()
    campaign = services.get_campaign(session=session, campaign_id=campaign_id)
    services.update_campaign(session=session, territory=g.territory, campaign=campaign, data=data, actor=_actor())
    session.commit()
    return campaign


@operation(bp, "/campaigns/<int:campaign_id>/archive", role=Role.MANAGER, method="POST",
           summary="Archive a campaign", response=CampaignRead)
def archive_campaign(campaign_id: int) -> Campaign:
    return _set_status(campaign_id, CampaignStatus.ARCHIVED)


@operation(bp, "/campaigns/<int:campaign_id>/restore", role=Role.MANAGER, method="POST",
           summary="Reactivate an archived campaign", response=CampaignRead)
def restore_campaign(campaign_id: int) -> Campaign:
    return _set_status(campaign_id, CampaignStatus.ACTIVE)


def _set_status(campaign_id: int, status: CampaignStatus) -> Campaign:
    session = get_session()
    campaign = services.get_campaign(session=session, campaign_id=campaign_id)
    services.set_campaign_status(session=session, territory=g.territory, campaign=campaign, status=status,
                                 actor=_actor())
    session.commit()
    return campaign


# ----------------------------------------------------------------------------------------- tracks


@operation(bp, "/campaigns/<int:campaign_id>/tracks", role=Role.ANALYST, summary="List a campaign's tracks",
           response=list[ContentTrackRead])
def list_tracks(campaign_id: int) -> list[ContentTrack]:
    return [t for t, _a in services.tracks_of(session=get_session(), campaign_id=campaign_id)]


@operation(bp, "/campaigns/<int:campaign_id>/tracks", role=Role.MANAGER, method="POST",
           summary="Address one more audience (the shares of a campaign never exceed 10000 basis points)",
           body=ContentTrackCreate, response=ContentTrackRead, status=201)
def create_track(campaign_id: int, data: ContentTrackCreate) -> ContentTrack:
    session = get_session()
    campaign = services.get_campaign(session=session, campaign_id=campaign_id)
    track = services.add_track(session=session, territory=g.territory, campaign=campaign, data=data, actor=_actor())
    session.commit()
    return track


@operation(bp, "/tracks/<int:track_id>", role=Role.ANALYST, summary="Get a track", response=ContentTrackRead)
def get_track(track_id: int) -> ContentTrack:
    return services.get_track(session=get_session(), track_id=track_id)


@operation(bp, "/tracks/<int:track_id>", role=Role.MANAGER, method="PATCH",
           summary="Change a track's budget share, tone, guidelines or cadence", body=ContentTrackUpdate,
           response=ContentTrackRead)
def update_track(track_id: int, data: ContentTrackUpdate) -> ContentTrack:
    session = get_session()
    track = services.get_track(session=session, track_id=track_id)
    services.update_track(session=session, territory=g.territory, track=track, data=data, actor=_actor())
    session.commit()
    return track


# ---------------------------------------------------------------------------------------- stories


@operation(bp, "/stories/", role=Role.ANALYST, summary="List stories (?source=website|written)",
           response=list[StoryRead])
def list_stories() -> list[Story]:
    from campaigns.models import StorySource

    source = request.args.get("source")
    kind = StorySource(source) if source in ("website", "written") else None
    return [s for s, _n in services.list_stories(session=get_session(), source=kind)]


@operation(bp, "/stories/", role=Role.EDITOR, method="POST", summary="Write a story (its variants are posts)",
           body=StoryCreate, response=StoryRead, status=201)
def create_story(data: StoryCreate) -> Story:
    session = get_session()
    story = services.create_story(session=session, territory=g.territory, data=data, actor=_actor())
    session.commit()
    return story


# ------------------------------------------------------------------------------------------ posts


def _query_int(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise ValidationFailed({name: _("Nombre entier attendu.")})
    return int(raw)


def _query_date(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw) if "T" in raw else datetime.combine(date.fromisoformat(raw),
                                                                                 datetime.min.time())
    except ValueError:
        raise ValidationFailed({name: _("Date attendue (AAAA-MM-JJ ou AAAA-MM-JJTHH:MM).")}) from None
    return _local(value)


@operation(bp, "/posts/", role=Role.ANALYST,
           summary="List posts; filters: campaign_id, track_id, audience_id, story_id, status, since, until "
                   "(planned time, territory's zone when no offset)", response=list[PostRead])
def list_posts() -> list[Post]:
    status = request.args.get("status")
    if status and status not in {s.value for s in PostStatus}:
        raise ValidationFailed({"status": _("État inconnu : %(values)s.",
                                            values=", ".join(s.value for s in PostStatus))})
    return services.list_posts(
        session=get_session(), campaign_id=_query_int("campaign_id"), track_id=_query_int("track_id"),
        audience_id=_query_int("audience_id"), story_id=_query_int("story_id"),
        status=PostStatus(status) if status else None, since=_query_date("since"), until=_query_date("until"))


@operation(bp, "/posts/", role=Role.EDITOR, method="POST",
           summary="Write a draft post in a track; its link gets the UTM parameters", body=PostCreate,
           response=PostRead, status=201)
def create_post(data: PostCreate) -> Post:
    session = get_session()
    data.planned_at = _local(data.planned_at)
    post = services.create_post(session=session, territory=g.territory, data=data, actor=_actor())
    session.commit()
    return post


@operation(bp, "/posts/<int:post_id>", role=Role.ANALYST, summary="Get a post", response=PostRead)
def get_post(post_id: int) -> Post:
    return services.get_post(session=get_session(), post_id=post_id)


@operation(bp, "/posts/<int:post_id>", role=Role.EDITOR, method="PATCH",
           summary="Change a draft's text or link, or move a post not yet published", body=PostUpdate,
           response=PostRead)
def update_post(post_id: int, data: PostUpdate) -> Post:
    session = get_session()
    post = services.get_post(session=session, post_id=post_id)
    if data.planned_at is not None:
        data.planned_at = _local(data.planned_at)
    services.update_post(session=session, territory=g.territory, post=post, data=data, actor=_actor())
    session.commit()
    return post
