"""Campaign pages: campaigns and their tracks, the composer, posts, the calendar, website import."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from accounts.models import Role
from accounts.services import Actor
from accounts.tenancy import require_role, tenant_blueprint
from campaigns import composer, feeds, ical, services
from campaigns.models import (
    MESSAGE_FOLD_CHARS,
    MESSAGE_MAX_CHARS,
    Campaign,
    CampaignCreate,
    CampaignStatus,
    CampaignUpdate,
    ContentTrack,
    ContentTrackCreate,
    Objective,
    Post,
    PostStatus,
    PostUpdate,
    Story,
    StorySource,
)
from core.db import get_session, scoped
from core.errors import DomainError, NotFound, ValidationFailed
from core.forms import validate
from targets.forms import parse_euros
from targets.models import Audience
from targets.services import list_audiences

bp = tenant_blueprint("campaigns", __name__, "/campaigns", template_folder="templates")
# The iCalendar feed is read by calendar apps that cannot log in: its secret address is the key.
feed_bp = Blueprint("calendar_feed", __name__)


def _actor() -> Actor:
    return Actor.of(g.user)


def _tz() -> ZoneInfo:
    return ZoneInfo(g.territory.timezone)


def _get_or_404(getter: Any, **kwargs: Any) -> Any:
    try:
        return getter(session=get_session(), **kwargs)
    except NotFound:
        abort(404)


@bp.app_template_filter("media_url")
def media_url(image_path: str | None) -> str | None:
    """The URL of a stored image ("<slug>/<name>") inside the current territory."""
    if not image_path:
        return None
    return url_for("campaigns.media", filename=image_path.rsplit("/", 1)[-1])


@bp.app_template_filter("untagged")
def untagged(url: str | None) -> str:
    return services.untag_link(url) if url else ""


@bp.app_template_filter("domain")
def domain(url: str | None) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "") if url else ""


# -------------------------------------------------------------------------------------- campaigns


@bp.get("/")
@require_role(Role.ANALYST)
def index() -> Any:
    archived = request.args.get("archived") == "1"
    status = CampaignStatus.ARCHIVED if archived else CampaignStatus.ACTIVE
    return render_template("campaigns/index.html", archived=archived,
                           campaigns=services.list_campaigns(session=get_session(), status=status))


def _percent_to_bp(text: str) -> int:
    cleaned = text.strip().replace("%", "").replace(" ", "").replace(",", ".")
    if not cleaned:
        return 0
    if not re.fullmatch(r"\d+(\.\d{1,2})?", cleaned):
        raise ValueError(_("Pourcentage attendu, par exemple 40 ou 12,5 (deux décimales au plus)."))
    bp_value = round(float(cleaned) * 100)
    if bp_value > services.FULL_SHARE_BP:
        raise ValueError(_("Une part ne dépasse pas 100 %."))
    return bp_value


def _campaign_form(form: MultiDict[str, str], audiences: list[Audience]) -> tuple[
        dict[str, Any], list[ContentTrackCreate], dict[str, str]]:
    """The campaign form as the data model's input, the wanted tracks, and the errors found reading it."""
    errors: dict[str, str] = {}
    payload: dict[str, Any] = {k: form.get(k, "") for k in (
        "name", "theme", "starts_on", "ends_on", "objective", "dsa_beneficiary", "dsa_payor")}
    try:
        payload["approved_budget_minor"] = parse_euros(form.get("approved_budget", "") or "0")
    except ValueError as exc:
        errors["approved_budget"] = str(exc)
    tracks = []
    for audience in audiences:
        if not form.get(f"track_{audience.id}"):
            continue
        try:
            share = _percent_to_bp(form.get(f"share_{audience.id}", ""))
        except ValueError as exc:
            errors[f"share_{audience.id}"] = str(exc)
            share = 0
        raw = {"audience_id": audience.id, "budget_share_bp": share, "tone": form.get(f"tone_{audience.id}", ""),
               "guidelines": form.get(f"guidelines_{audience.id}", ""),
               "posts_per_week": form.get(f"posts_per_week_{audience.id}", "") or 0}
        try:
            tracks.append(validate(ContentTrackCreate, raw))
        except ValidationFailed as exc:
            names = {"budget_share_bp": "share", "tone": "tone", "guidelines": "guidelines",
                     "posts_per_week": "posts_per_week"}
            for key, message in exc.errors.items():
                errors.setdefault(f"{names.get(key, 'track')}_{audience.id}", message)
    return payload, tracks, errors


def _campaign_values(campaign: Campaign, tracks: list[Any]) -> dict[str, Any]:
    values: dict[str, Any] = campaign.model_dump()
    values["approved_budget"] = f"{campaign.approved_budget_minor / 100:.2f}".replace(".", ",")
    for track, _audience in tracks:
        values.update({f"track_{track.audience_id}": "1",
                       f"share_{track.audience_id}": f"{track.budget_share_bp / 100:g}".replace(".", ","),
                       f"tone_{track.audience_id}": track.tone, f"guidelines_{track.audience_id}": track.guidelines,
                       f"posts_per_week_{track.audience_id}": track.posts_per_week})
    return values


def _render_campaign_form(campaign: Campaign | None, values: Any, errors: dict[str, str]) -> Any:
    audiences = list_audiences(session=get_session())
    if campaign is not None:  # an archived audience keeps showing in the campaigns that address it
        used = {a.id for _t, a in services.tracks_of(session=get_session(), campaign_id=campaign.id)}
        audiences += [a for a in list_audiences(session=get_session(), include_archived=True)
                      if a.archived and a.id in used]
    return render_template("campaigns/form.html", campaign=campaign, values=values, errors=errors,
                           audiences=audiences, objectives=list(Objective)), (422 if errors else 200)


def _campaign_errors(errors: dict[str, str]) -> dict[str, str]:
    return {("approved_budget" if k == "approved_budget_minor" else k): v for k, v in errors.items()}


@bp.route("/new", methods=["GET", "POST"])
@require_role(Role.MANAGER)
def create() -> Any:
    if request.method == "GET":
        values = {"objective": Objective.AWARENESS.value, "dsa_beneficiary": g.territory.name,
                  "dsa_payor": g.territory.name}
        return _render_campaign_form(None, values, {})
    session = get_session()
    payload, tracks, errors = _campaign_form(request.form, list_audiences(session=session))
    try:
        data = validate(CampaignCreate, payload)
    except ValidationFailed as exc:
        errors = {**_campaign_errors(exc.errors), **errors}
    if errors:
        return _render_campaign_form(None, request.form, errors)
    try:
        campaign = services.create_campaign(session=session, territory=g.territory, data=data, actor=_actor())
        services.set_tracks(session=session, territory=g.territory, campaign=campaign, wanted=tracks,
                            actor=_actor())
    except ValidationFailed as exc:
        session.rollback()
        return _render_campaign_form(None, request.form, _campaign_errors(exc.errors))
    session.commit()
    flash(_("Campagne « %(name)s » créée avec %(n)s piste(s).", name=campaign.name, n=len(tracks)), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


@bp.get("/<int:campaign_id>")
@require_role(Role.ANALYST)
def detail(campaign_id: int) -> Any:
    campaign = _get_or_404(services.get_campaign, campaign_id=campaign_id)
    session = get_session()
    tracks = services.tracks_of(session=session, campaign_id=campaign.id)
    posts = services.list_posts(session=session, campaign_id=campaign.id)
    by_track: dict[int, list[Post]] = {}
    for post in posts:
        by_track.setdefault(post.track_id, []).append(post)
    total_share = sum(t.budget_share_bp for t, _a in tracks)
    return render_template("campaigns/detail.html", campaign=campaign, tracks=tracks, by_track=by_track,
                           total_share=total_share)


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@require_role(Role.MANAGER)
def edit(campaign_id: int) -> Any:
    campaign = _get_or_404(services.get_campaign, campaign_id=campaign_id)
    session = get_session()
    if request.method == "GET":
        tracks = services.tracks_of(session=session, campaign_id=campaign.id)
        return _render_campaign_form(campaign, _campaign_values(campaign, tracks), {})
    audiences = list_audiences(session=session, include_archived=True)
    payload, tracks, errors = _campaign_form(request.form, audiences)
    try:
        data = validate(CampaignUpdate, payload)
    except ValidationFailed as exc:
        errors = {**_campaign_errors(exc.errors), **errors}
    if errors:
        return _render_campaign_form(campaign, request.form, errors)
    try:
        services.update_campaign(session=session, territory=g.territory, campaign=campaign, data=data,
                                 actor=_actor())
        services.set_tracks(session=session, territory=g.territory, campaign=campaign, wanted=tracks,
                            actor=_actor())
    except ValidationFailed as exc:
        session.rollback()
        return _render_campaign_form(campaign, request.form, _campaign_errors(exc.errors))
    session.commit()
    flash(_("Campagne « %(name)s » enregistrée.", name=campaign.name), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/archive")
@require_role(Role.MANAGER)
def archive(campaign_id: int) -> Any:
    return _set_status(campaign_id, CampaignStatus.ARCHIVED, _("Campagne archivée."))


@bp.post("/<int:campaign_id>/restore")
@require_role(Role.MANAGER)
def restore(campaign_id: int) -> Any:
    return _set_status(campaign_id, CampaignStatus.ACTIVE, _("Campagne rétablie."))


def _set_status(campaign_id: int, status: CampaignStatus, message: str) -> Any:
    campaign = _get_or_404(services.get_campaign, campaign_id=campaign_id)
    session = get_session()
    services.set_campaign_status(session=session, territory=g.territory, campaign=campaign, status=status,
                                 actor=_actor())
    session.commit()
    flash(message, "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


# --------------------------------------------------------------------------------------- composer


def _local_datetime(day: str, hour: str, field: str) -> datetime | None:
    """A date and time typed in the territory's time zone, as an aware datetime (None if both empty)."""
    day, hour = (day or "").strip(), (hour or "").strip()
    if not day and not hour:
        return None
    try:
        parsed_day = date.fromisoformat(day)
    except ValueError:
        raise ValidationFailed({field: _("Date attendue (AAAA-MM-JJ).")}) from None
    try:
        parsed_time = time.fromisoformat(hour) if hour else None
    except ValueError:
        raise ValidationFailed({field: _("Heure attendue (HH:MM).")}) from None
    if parsed_time is None:
        raise ValidationFailed({field: _("Indiquez aussi l'heure de publication.")})
    return datetime.combine(parsed_day, parsed_time, _tz())


def _composer_error_key(key: str) -> str:
    if key.startswith("story."):
        return "story_" + key.removeprefix("story.")
    match = re.fullmatch(r"variant-(\d+)-(\w+)", key)
    if match:
        track_id, field = match.groups()
        field = {"planned_at": "date", "track_id": "message", "story_id": "message"}.get(field, field)
        return f"{field}_{track_id}"
    return key


@bp.route("/<int:campaign_id>/compose", methods=["GET", "POST"])
@require_role(Role.EDITOR)
def compose(campaign_id: int) -> Any:
    """Write a story once and one variant per track, side by side."""
    campaign = _get_or_404(services.get_campaign, campaign_id=campaign_id)
    session = get_session()
    story: Story | None = None
    story_id = request.values.get("story", "")
    if story_id:
        if not story_id.isdigit():
            abort(404)
        story = _get_or_404(services.get_story, story_id=int(story_id))
    tracks = services.tracks_of(session=session, campaign_id=campaign.id)
    if campaign.status == CampaignStatus.ARCHIVED:
        flash(_("Cette campagne est archivée : rétablissez-la pour y écrire."), "error")
        return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    if not tracks:
        flash(_("Ajoutez d'abord au moins une piste (un public) à la campagne."), "error")
        return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    form = request.form
    values: dict[str, Any] = {}
    if request.method == "GET" or form.get("action") == "derive":
        values = dict(form) if request.method == "POST" else {}
        if story is not None:
            values.update(story_title=story.title, story_body=story.body, story_link=story.link or "")
        base_text = services.story_text(story) if story is not None else values.get("story_body", "")
        base_link = (story.link if story is not None else values.get("story_link")) or ""
        for track, _audience in tracks:
            if not values.get(f"message_{track.id}"):
                values[f"message_{track.id}"] = base_text
            if not values.get(f"link_{track.id}"):
                values[f"link_{track.id}"] = base_link
        return _render_composer(campaign, story, tracks, values, {})

    errors: dict[str, str] = {}
    variants = []
    for track, _audience in tracks:
        image_path = composer.owned_image_path(upload_dir=composer.upload_dir(), territory=g.territory,
                                               value=form.get(f"image_path_{track.id}"))
        upload = request.files.get(f"image_{track.id}")
        if upload is not None and upload.filename:
            try:
                image_path = composer.save_image(data=upload.read(), upload_dir=composer.upload_dir(),
                                                  territory=g.territory)
            except composer.ImageRefused as exc:
                errors[f"image_{track.id}"] = str(exc)
        if form.get(f"remove_image_{track.id}"):
            image_path = None
        planned_at = None
        try:
            planned_at = _local_datetime(form.get(f"date_{track.id}", ""), form.get(f"time_{track.id}", ""),
                                         f"date_{track.id}")
        except ValidationFailed as exc:
            errors.update(exc.errors)
        variants.append(composer.Variant(track_id=track.id, message=form.get(f"message_{track.id}", ""),
                                         link=form.get(f"link_{track.id}", "").strip() or None,
                                         image_path=image_path, planned_at=planned_at))
    story_data = {"title": form.get("story_title", ""), "body": form.get("story_body", ""),
                  "link": form.get("story_link", "").strip() or None}
    kept = {f"image_path_{v.track_id}": v.image_path for v in variants if v.image_path}
    if not errors:
        try:
            story, posts = composer.compose(session=session, territory=g.territory, campaign=campaign, story=story,
                                            story_data=story_data, variants=variants, actor=_actor())
        except ValidationFailed as exc:
            session.rollback()
            errors = {_composer_error_key(k): v for k, v in exc.errors.items()}
        except DomainError as exc:
            session.rollback()
            errors = {"variants": exc.message}
        else:
            session.commit()
            flash(_("« %(title)s » : %(n)s variante(s) enregistrée(s) en brouillon.", title=story.title,
                    n=len(posts)), "success")
            return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    return _render_composer(campaign, story if story is not None and story.id else None, tracks,
                            {**form.to_dict(), **kept}, errors)


def _render_composer(campaign: Campaign, story: Story | None, tracks: list[Any], values: dict[str, Any],
                     errors: dict[str, str]) -> Any:
    return render_template(
        "campaigns/compose.html", campaign=campaign, story=story, tracks=tracks, values=values, errors=errors,
        max_chars=MESSAGE_MAX_CHARS, fold_chars=MESSAGE_FOLD_CHARS,
    ), (422 if errors else 200)


@bp.get("/media/<filename>")
@require_role(Role.ANALYST)
def media(filename: str) -> Any:
    """An image of this territory (never another's: the folder is the territory's)."""
    path = composer.image_file(upload_dir=composer.upload_dir(), territory=g.territory, name=filename)
    if path is None:
        abort(404)
    response = send_file(path, mimetype=composer.MIMETYPES[path.suffix.lstrip(".")], max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# ------------------------------------------------------------------------------------------ posts


def _post_context(post: Post) -> dict[str, Any]:
    session = get_session()
    track = session.get(ContentTrack, post.track_id)
    return {"post": post, "track": track, "audience": session.get(Audience, track.audience_id),
            "campaign": session.get(Campaign, track.campaign_id),
            "story": session.get(Story, post.story_id) if post.story_id else None}


def _local_inputs(moment: datetime | None) -> tuple[str, str]:
    if moment is None:
        return "", ""
    local = moment.astimezone(_tz())
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M")


# The post's own page (`campaigns.post_detail`) and its workflow actions are in campaigns.views_workflow;
# it includes campaigns/_post_content.html for the edit link and the reschedule form below.


@bp.app_template_filter("local_inputs")
def local_inputs(moment: datetime | None) -> tuple[str, str]:
    """A UTC time as the values of a date and a time input, in the territory's time zone."""
    return _local_inputs(moment)


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@require_role(Role.EDITOR)
def post_edit(post_id: int) -> Any:
    post = _get_or_404(services.get_post, post_id=post_id)
    context = _post_context(post)
    if post.status not in services.EDITABLE_STATUSES:
        flash(_("Seul un brouillon peut être modifié."), "error")
        return redirect(url_for("campaigns.post_detail", post_id=post.id))
    session = get_session()
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        image_path: Any = post.image_path
        upload = request.files.get("image")
        if upload is not None and upload.filename:
            try:
                image_path = composer.save_image(data=upload.read(), upload_dir=composer.upload_dir(),
                                                  territory=g.territory)
            except composer.ImageRefused as exc:
                errors["image"] = str(exc)
        if form.get("remove_image"):
            image_path = None
        try:
            planned_at = _local_datetime(form.get("date", ""), form.get("time", ""), "date")
        except ValidationFailed as exc:
            errors.update(exc.errors)
            planned_at = None
        if not errors:
            try:
                data = validate(PostUpdate, {"message": form.get("message", ""),
                                             "link": form.get("link", "").strip() or None, "planned_at": planned_at})
                services.update_post(session=session, territory=g.territory, post=post, data=data, actor=_actor(),
                                     image_path=image_path)
            except ValidationFailed as exc:
                session.rollback()
                errors = {("date" if k == "planned_at" else k): v for k, v in exc.errors.items()}
            except DomainError as exc:
                session.rollback()
                errors = {"message": exc.message}
            else:
                session.commit()
                flash(_("Publication enregistrée."), "success")
                return redirect(url_for("campaigns.post_detail", post_id=post.id))
        values = form.to_dict()
    else:
        day, hour = _local_inputs(post.planned_at)
        values = {"message": post.message, "link": untagged(post.link), "date": day, "time": hour}
    return render_template("campaigns/post_edit.html", **context, values=values, errors=errors,
                           max_chars=MESSAGE_MAX_CHARS, fold_chars=MESSAGE_FOLD_CHARS), (422 if errors else 200)


@bp.post("/posts/<int:post_id>/reschedule")
@require_role(Role.EDITOR)
def reschedule(post_id: int) -> Any:
    """Move a post not yet published to another date and time (typed in the territory's time zone)."""
    post = _get_or_404(services.get_post, post_id=post_id)
    session = get_session()
    try:
        moment = _local_datetime(request.form.get("date", ""), request.form.get("time", ""), "date")
        if moment is None:
            raise ValidationFailed({"date": _("Indiquez la date et l'heure de publication.")})
        services.reschedule_post(session=session, territory=g.territory, post=post, planned_at=moment,
                                 actor=_actor())
    except DomainError as exc:
        session.rollback()
        flash(" ".join(exc.errors.values()) if isinstance(exc, ValidationFailed) else exc.message, "error")
        return redirect(url_for("campaigns.post_detail", post_id=post.id))
    session.commit()
    flash(_("Publication déplacée au %(when)s.", when=moment.strftime("%d/%m/%Y %H:%M")), "success")
    back = request.form.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect(url_for("campaigns.post_detail", post_id=post.id))


# --------------------------------------------------------------------------------------- calendar


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else None


@bp.get("/calendar")
@require_role(Role.ANALYST)
def calendar() -> Any:
    """Week or month view across tracks; filters (campaign, audience) and the period live in the URL."""
    tz = _tz()
    view = "month" if request.args.get("view") == "month" else "week"
    raw = request.args.get("date") or request.args.get("week") or ""
    try:
        anchor = date.fromisoformat(raw[:10]) if raw else datetime.now(tz).date()
    except ValueError:
        abort(400, _("La date s'écrit AAAA-MM-JJ."))
    # A track is one audience in one campaign: `campaign` + `audience`, or `track` for a link to one track.
    filters = {"campaign": _int_arg("campaign"), "audience": _int_arg("audience"), "track": _int_arg("track")}
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        days = [first + timedelta(days=i) for i in range(7)]
        weeks = [days]
        previous, following = first - timedelta(days=7), first + timedelta(days=7)
    else:
        weeks = services.month_weeks(anchor.year, anchor.month)
        days = [d for week in weeks for d in week]
        previous = (anchor.replace(day=1) - timedelta(days=1)).replace(day=1)
        following = (anchor.replace(day=28) + timedelta(days=4)).replace(day=1)
    start, end = services.local_midnight(days[0], tz), services.local_midnight(days[-1] + timedelta(days=1), tz)
    session = get_session()
    entries = services.calendar_entries(session=session, start=start, end=end, campaign_id=filters["campaign"],
                                        audience_id=filters["audience"], track_id=filters["track"])
    by_day: dict[date, list[services.CalendarEntry]] = {}
    for entry in entries:
        by_day.setdefault(entry.at.astimezone(tz).date(), []).append(entry)
    campaigns = [c for c, _n in services.list_campaigns(session=session, include_archived=True)]
    query = {k: v for k, v in filters.items() if v is not None}
    return render_template(
        "campaigns/calendar.html", view=view, anchor=anchor, weeks=weeks, by_day=by_day, entries=entries,
        previous=previous, following=following, filters=filters, query=query, campaigns=campaigns,
        audiences=list_audiences(session=session, include_archived=True), tz=tz, today=datetime.now(tz).date(),
    )


@bp.route("/calendar/feed", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def calendar_feed_settings() -> Any:
    """Create, regenerate or close the territory's secret iCalendar address (shown once)."""
    session = get_session()
    url = None
    if request.method == "POST":
        if request.form.get("action") == "revoke":
            ical.revoke_token(session=session, territory=g.territory, actor=_actor())
            session.commit()
            flash(_("Le flux iCalendar est fermé : aucune adresse ne fonctionne plus."), "success")
            return redirect(url_for("campaigns.calendar_feed_settings"))
        token = ical.regenerate_token(session=session, territory=g.territory, actor=_actor())
        session.commit()
        base = current_app.config["RAYONNE_SETTINGS"].BASE_URL.rstrip("/")
        url = base + url_for("calendar_feed.feed", token=token)
    return render_template("campaigns/calendar_feed.html", url=url,
                           active=g.territory.calendar_token_hash is not None)


@feed_bp.get("/calendar/<token>.ics")
def feed(token: str) -> Any:
    """The read-only iCalendar feed; an unknown token is simply not found."""
    session = get_session()
    territory = ical.territory_for_token(session=session, token=token)
    if territory is None:
        abort(404)
    with scoped(session, territory.id):
        body = ical.build_feed(session=session, territory=territory,
                               base_url=current_app.config["RAYONNE_SETTINGS"].BASE_URL)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="rayonne-{territory.slug}.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


# ------------------------------------------------------------------------------ stories, import


@bp.get("/stories")
@require_role(Role.EDITOR)
def stories() -> Any:
    session = get_session()
    source = request.args.get("source")
    rows = services.list_stories(session=session, source=StorySource(source) if source in ("website", "written")
                                 else None)
    campaigns = [c for c, _n in services.list_campaigns(session=session)]
    return render_template("campaigns/stories.html", stories=rows, campaigns=campaigns, source=source,
                           feed_url=g.territory.website_feed_url, errors={})


@bp.get("/stories/adapt")
@require_role(Role.EDITOR)
def adapt() -> Any:
    """From the stories list: open the composer of the chosen campaign with the chosen story."""
    campaign_id, story_id = _int_arg("campaign"), _int_arg("story")
    if campaign_id is None or story_id is None:
        abort(400, _("Choisissez une campagne."))
    return redirect(url_for("campaigns.compose", campaign_id=campaign_id, story=story_id))


@bp.post("/stories/import")
@require_role(Role.EDITOR)
def import_stories() -> Any:
    session = get_session()
    settings = current_app.config["RAYONNE_SETTINGS"]
    try:
        result = feeds.import_feed(session=session, territory=g.territory, actor=_actor(),
                                   allow_private=not settings.is_production)
    except DomainError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        session.commit()
        flash(_("%(created)s article(s) importé(s) du site, %(skipped)s déjà connu(s). Adaptez-les à chaque public "
                "avant de les publier.", created=result.created, skipped=result.skipped), "success")
    return redirect(url_for("campaigns.stories", source="website"))


@bp.post("/stories/feed")
@require_role(Role.ADMIN)
def set_feed() -> Any:
    session = get_session()
    settings = current_app.config["RAYONNE_SETTINGS"]
    try:
        feeds.set_feed_url(session=session, territory=g.territory, url=request.form.get("website_feed_url", ""),
                           actor=_actor(), allow_private=not settings.is_production)
    except ValidationFailed as exc:
        session.rollback()
        rows = services.list_stories(session=session)
        campaigns = [c for c, _n in services.list_campaigns(session=session)]
        return render_template("campaigns/stories.html", stories=rows, campaigns=campaigns, source=None,
                               feed_url=request.form.get("website_feed_url", ""), errors=exc.errors), 422
    session.commit()
    flash(_("Adresse du flux du site enregistrée."), "success")
    return redirect(url_for("campaigns.stories"))


STATUS_LABELS = {
    PostStatus.DRAFT: _l("Brouillon"), PostStatus.IN_REVIEW: _l("En relecture"), PostStatus.APPROVED: _l("Approuvée"),
    PostStatus.SCHEDULED: _l("Programmée"), PostStatus.PUBLISHING: _l("Publication en cours"),
    PostStatus.PUBLISHED: _l("Publiée"), PostStatus.FAILED: _l("Échec"), PostStatus.MISSED: _l("Manquée"),
}


@bp.app_template_filter("post_status")
def post_status(status: PostStatus | str) -> str:
    """A post's state in words (French; the English catalog translates)."""
    return str(STATUS_LABELS.get(PostStatus(status), status))
