"""Budget pages: balances per campaign and track, the ledger (and its CSV export), pacing, alerts,
reallocation advice, the managers' forms; boosting a published post and steering a boost."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user
from sqlmodel import select

from accounts.connection import NotConnected, client_for
from accounts.models import Role
from accounts.services import Actor
from accounts.tenancy import can, require_role, tenant_blueprint
from campaigns.models import Campaign, ContentTrack, Post
from core.db import get_session, utc_now
from core.errors import DomainError, ValidationFailed
from core.forms import validate
from core.i18n import major_to_minor, minor_to_major
from facebook import FacebookClient, FacebookError
from sponsored import compliance, pacing, services
from sponsored.models import Boost, BoostCreate, BoostStatus, BudgetKind, LedgerKind, PacingAlert
from targets.models import Audience

bp = tenant_blueprint("sponsored", __name__, "/budgets", template_folder="templates")

KIND_LABELS = {
    LedgerKind.APPROVAL: _l("Approbation"),
    LedgerKind.ENVELOPE: _l("Enveloppe annuelle"),
    LedgerKind.ALLOCATION: _l("Allocation"),
    LedgerKind.COMMITMENT: lazy_pgettext("budget", "Engagement"),  # money set aside, not post reactions
    LedgerKind.RELEASE: _l("Libération"),
    LedgerKind.SPEND: _l("Dépense"),
}
REVIEW_LABELS = {
    "PENDING_REVIEW": _l("En cours d'examen par Facebook"),
    "ACTIVE": _l("Approuvée par Facebook"),
    "DISAPPROVED": _l("Refusée par Facebook"),
    "PAUSED": _l("En pause"),
    "ADSET_PAUSED": _l("En pause"),
    "CAMPAIGN_PAUSED": _l("Campagne en pause"),
    "ARCHIVED": _l("Archivée"),
    "WITH_ISSUES": _l("Problème signalé par Facebook"),
}


def actor() -> Actor:
    return Actor.of(current_user)


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    """Labels for the templates, and the open budget alerts for the banner of every territory page."""
    alerts = 0
    if g.get("territory") is not None and g.get("role") is not None:
        from sqlalchemy import func

        alerts = get_session().exec(select(func.count(PacingAlert.id)).where(
            PacingAlert.acknowledged_at.is_(None))).one()
    return {"budget_alert_count": alerts, "boost_status_label": services.status_label,
            "ledger_kind_label": lambda kind: str(KIND_LABELS.get(kind, kind)),
            "review_label": lambda s: str(REVIEW_LABELS.get(s, s)) if s else "—",
            "pace_label": pacing.pace_label}


def _client() -> FacebookClient:
    return client_for(session=get_session())


def _get(model: type, object_id: int) -> Any:
    obj = get_session().get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def _amount(field: str = "amount") -> int:
    raw = request.form.get(field, "").strip()
    try:
        value = major_to_minor(raw or "x")
    except Exception:
        raise ValidationFailed({field: _("Montant en euros attendu (ex. 1 500 ou 1 500,50).")}) from None
    return value


# ---------------------------------------------------------------------------------- budget pages


@bp.get("/")
@require_role(Role.ANALYST)
def budgets() -> Any:
    session = get_session()
    return render_template(
        "sponsored/budgets.html", balances=services.campaign_balances(session=session),
        envelopes=services.envelope_balances(session=session), alerts=pacing.open_alerts(session=session),
        pending=services.list_boosts(session=session, statuses=[BoostStatus.PENDING_APPROVAL]),
        this_year=utc_now().year, errors={}, form={},
    )


@bp.get("/campaigns/<int:campaign_id>")
@require_role(Role.ANALYST)
def campaign(campaign_id: int) -> Any:
    return _campaign_page(_get(Campaign, campaign_id))


def _campaign_page(campaign: Campaign, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    session = get_session()
    return render_template(
        "sponsored/campaign.html", campaign=campaign,
        balance=services.campaign_balance(session=session, campaign_id=campaign.id),
        tracks=pacing.track_pacing(session=session, campaign=campaign),
        boosts=services.list_boosts(session=session, campaign_id=campaign.id),
        lines=services.ledger_lines(session=session, campaign_id=campaign.id),
        alerts=pacing.open_alerts(session=session, campaign_id=campaign.id),
        advice=pacing.reallocation_advice(session=session, campaign=campaign),
        performance=pacing.track_performance(session=session, campaign=campaign),
        posts=services.boostable_posts(session=session, campaign_id=campaign.id),
        track_names=_track_names(campaign), errors=errors or {}, form=request.form if errors else {},
    ), status


def _track_names(campaign: Campaign) -> dict[int, str]:
    return {b.track.id: b.audience.name for b in services.track_balances(session=get_session(), campaign=campaign)}


def _budget_action(campaign: Campaign, action: Any, success: str) -> Any:
    session = get_session()
    try:
        action()
    except ValidationFailed as exc:
        session.rollback()
        return _campaign_page(campaign, exc.errors, 422)
    except DomainError as exc:
        session.rollback()
        if exc.status_code == 404:
            abort(404)
        return _campaign_page(campaign, {exc.field or "__all__": exc.message}, 422)
    session.commit()
    flash(success, "success")
    return redirect(url_for("sponsored.campaign", campaign_id=campaign.id))


def _optional_client() -> FacebookClient | None:
    try:
        return _client()
    except NotConnected:
        return None


@bp.post("/campaigns/<int:campaign_id>/approve")
@require_role(Role.MANAGER)
def approve_budget(campaign_id: int) -> Any:
    campaign = _get(Campaign, campaign_id)
    return _budget_action(campaign, lambda: services.approve_budget(
        session=get_session(), territory=g.territory, campaign=campaign, amount_minor=_amount(), actor=actor(),
        reason=request.form.get("reason", "")), _("Budget approuvé et inscrit au registre."))


@bp.post("/campaigns/<int:campaign_id>/allocate")
@require_role(Role.MANAGER)
def allocate(campaign_id: int) -> Any:
    campaign = _get(Campaign, campaign_id)
    track = get_session().get(ContentTrack, request.form.get("track_id", type=int) or 0)
    if track is None or track.campaign_id != campaign.id:
        return _campaign_page(campaign, {"track_id": _("Choisissez une piste de la campagne.")}, 422)
    return _budget_action(campaign, lambda: services.allocate(
        session=get_session(), territory=g.territory, campaign=campaign, track=track, amount_minor=_amount(),
        actor=actor(), reason=request.form.get("reason", ""), client=_optional_client()),
        _("Allocation inscrite au registre ; le plafond de dépense Facebook suit."))


@bp.post("/campaigns/<int:campaign_id>/reallocate")
@require_role(Role.MANAGER)
def reallocate(campaign_id: int) -> Any:
    campaign = _get(Campaign, campaign_id)
    session = get_session()
    donor = session.get(ContentTrack, request.form.get("from_track_id", type=int) or 0)
    recipient = session.get(ContentTrack, request.form.get("to_track_id", type=int) or 0)
    if donor is None or recipient is None or {donor.campaign_id, recipient.campaign_id} != {campaign.id}:
        return _campaign_page(campaign, {"from_track_id": _("Choisissez deux pistes de la campagne.")}, 422)
    return _budget_action(campaign, lambda: services.reallocate(
        session=session, territory=g.territory, campaign=campaign, from_track=donor, to_track=recipient,
        amount_minor=_amount(), actor=actor(), reason=request.form.get("reason", ""), client=_optional_client()),
        _("Réallocation approuvée : registre et plafonds Facebook mis à jour."))


@bp.post("/campaigns/<int:campaign_id>/alerts/acknowledge")
@require_role(Role.MANAGER)
def acknowledge_alerts(campaign_id: int) -> Any:
    campaign = _get(Campaign, campaign_id)
    session = get_session()
    for alert in pacing.open_alerts(session=session, campaign_id=campaign.id):
        pacing.acknowledge_alert(session=session, territory=g.territory, alert=alert, actor=actor())
    session.commit()
    flash(_("Alertes marquées comme vues."), "success")
    return redirect(url_for("sponsored.campaign", campaign_id=campaign.id))


@bp.post("/envelopes")
@require_role(Role.MANAGER)
def set_envelope() -> Any:
    session = get_session()
    try:
        year = int(request.form.get("year", ""))
    except ValueError:
        year = 0
    try:
        services.set_envelope(session=session, territory=g.territory, year=year, amount_minor=_amount(),
                              actor=actor(), reason=request.form.get("reason", ""))
    except (ValidationFailed, DomainError) as exc:
        session.rollback()
        errors = getattr(exc, "errors", None) or {exc.field or "amount": exc.message}
        return render_template(
            "sponsored/budgets.html", balances=services.campaign_balances(session=session),
            envelopes=services.envelope_balances(session=session), alerts=pacing.open_alerts(session=session),
            pending=services.list_boosts(session=session, statuses=[BoostStatus.PENDING_APPROVAL]),
            this_year=utc_now().year, errors=errors, form=request.form,
        ), 422
    session.commit()
    flash(_("Enveloppe annuelle %(year)s inscrite au registre.", year=year), "success")
    return redirect(url_for("sponsored.budgets"))


@bp.get("/ledger.csv")
@require_role(Role.ANALYST)
def ledger_csv() -> Any:
    """The ledger for the finance department: UTF-8 with BOM; ``sep=comma`` for a comma-separated file
    with decimal points, otherwise semicolons and decimal commas (what French Excel expects)."""
    session = get_session()
    campaign_id = request.args.get("campaign_id", type=int)
    semicolon = request.args.get("sep", "semicolon") != "comma"
    campaigns = {c.id: c.name for c in session.exec(select(Campaign))}
    tracks = {}
    for campaign_obj in session.exec(select(Campaign)):
        tracks.update(_track_names(campaign_obj))
    tz = ZoneInfo(g.territory.timezone)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if semicolon else ",", lineterminator="\r\n")
    writer.writerow([_("Date"), _("Type"), _("Campagne"), _("Piste"), _("Sponsorisation"), _("Année"), _("Jour"),
                     _("Montant"), _("Devise"), _("Motif"), _("Par"), _("Clé")])
    for line in services.ledger_lines(session=session, campaign_id=campaign_id):
        amount = str(minor_to_major(line.amount_minor, line.currency).quantize(minor_to_major(1, line.currency)))
        writer.writerow([
            line.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), str(KIND_LABELS[line.kind]),
            campaigns.get(line.campaign_id, ""), tracks.get(line.track_id, ""), line.boost_id or "", line.year or "",
            line.day.isoformat() if line.day else "", amount.replace(".", ",") if semicolon else amount,
            line.currency, line.reason, line.actor_label, line.source_key or "",
        ])
    name = f"registre-budgetaire-{g.territory.slug}" + (f"-campagne-{campaign_id}" if campaign_id else "") + ".csv"
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Content-Type": "text/csv; charset=utf-8"})


@bp.route("/compliance", methods=["GET", "POST"])
@require_role(Role.MANAGER)
def compliance_words() -> Any:
    session = get_session()
    if request.method == "POST":
        language = request.form.get("language", "")
        if language not in compliance.LANGUAGES:
            abort(400)
        words = request.form.get("words", "").replace(",", "\n").splitlines()
        compliance.save_sensitive_words(session=session, territory=g.territory, language=language, words=words,
                                        actor=actor())
        session.commit()
        flash(_("Liste de mots sensibles enregistrée."), "success")
        return redirect(url_for("sponsored.compliance_words"))
    lists = {lang: compliance.sensitive_words(session=session, language=lang) for lang in compliance.LANGUAGES}
    return render_template("sponsored/compliance.html", lists=lists)


# ------------------------------------------------------------------------------------- boosting


def _local(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(g.territory.timezone)).strftime("%Y-%m-%dT%H:%M")


def _preset_form(preset: dict[str, Any]) -> dict[str, str]:
    def city(c: Any) -> str:
        if isinstance(c, dict):
            return f"{c.get('key')}:{c.get('radius')}" if c.get("radius") else str(c.get("key"))
        return str(c)

    return {
        "countries": ", ".join(preset.get("countries") or []),
        "regions": ", ".join(str(r.get("key") if isinstance(r, dict) else r) for r in preset.get("regions") or []),
        "cities": ", ".join(city(c) for c in preset.get("cities") or []),
        "age_min": str(preset.get("age_min") or ""),
        "age_max": str(preset.get("age_max") or ""),
        "interests": "\n".join(f"{i.get('id')} {i.get('name', '')}".strip()
                               for i in preset.get("interests") or [] if isinstance(i, dict)),
    }


def _parse_preset(form: Any) -> dict[str, Any]:
    errors: dict[str, str] = {}
    preset: dict[str, Any] = {}
    countries = [c.strip().upper() for c in form.get("countries", "").split(",") if c.strip()]
    if any(len(c) != 2 or not c.isalpha() for c in countries):
        errors["countries"] = _("Codes pays à deux lettres séparés par des virgules (ex. FR, BE).")
    preset["countries"] = countries
    regions = [r.strip() for r in form.get("regions", "").split(",") if r.strip()]
    if regions:
        preset["regions"] = [{"key": r} for r in regions]
    cities = []
    for item in (c.strip() for c in form.get("cities", "").split(",")):
        if not item:
            continue
        key, _sep, radius = item.partition(":")
        if not key.strip().isdigit() or (radius and not radius.strip().isdigit()):
            errors["cities"] = _("Villes : clé Facebook, éventuellement suivie de :rayon en km (ex. 2420045:25).")
            continue
        cities.append({"key": key.strip(), **({"radius": int(radius)} if radius else {})})
    if cities:
        preset["cities"] = cities
    for name in ("age_min", "age_max"):
        raw = form.get(name, "").strip()
        if raw:
            if not raw.isdigit():
                errors[name] = _("Nombre entier attendu.")
            else:
                preset[name] = int(raw)
    interests = []
    for line in form.get("interests", "").splitlines():
        ident, _sep, name = line.strip().partition(" ")
        if not ident:
            continue
        if not ident.isdigit():
            errors["interests"] = _("Un centre d'intérêt par ligne : son identifiant Facebook puis son nom.")
            continue
        interests.append({"id": ident, "name": name.strip()})
    preset["interests"] = interests
    if errors:
        raise ValidationFailed(errors, _("Certains champs sont à corriger."))
    return preset


def _parse_local(raw: str, field: str, errors: dict[str, str], *, end_of_day: bool = False) -> datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    tz = ZoneInfo(g.territory.timezone)
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day, time(23, 59) if end_of_day else time(0, 0), tz)
        return datetime.fromisoformat(raw).replace(tzinfo=tz)
    except ValueError:
        errors[field] = _("Date et heure attendues.")
        return None


def _boost_data(post: Post) -> BoostCreate:
    form = request.form
    errors: dict[str, str] = {}
    try:
        preset = _parse_preset(form)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        preset = {}
    try:
        budget = major_to_minor(form.get("budget", "").strip() or "x")
    except Exception:
        errors["budget"] = _("Montant en euros attendu (ex. 150 ou 12,50).")
        budget = 0
    starts_at = _parse_local(form.get("starts_at", ""), "starts_at", errors)
    ends_at = _parse_local(form.get("ends_at", ""), "ends_at", errors, end_of_day=True)
    if ends_at is None and "ends_at" not in errors:
        errors["ends_at"] = _("Ce champ est obligatoire.")
    if errors:
        raise ValidationFailed(errors, _("Certains champs sont à corriger."))
    return validate(BoostCreate, {
        "post_id": post.id, "track_id": form.get("track_id", type=int), "budget_kind": form.get("budget_kind", ""),
        "budget_minor": budget, "starts_at": starts_at, "ends_at": ends_at,
        "optimization_goal": form.get("optimization_goal") or None, "targeting": preset,
        "acknowledge_warnings": form.get("acknowledge_warnings") == "1",
    })


def _boost_form(post: Post, errors: dict[str, str] | None = None, status: int = 200,
                warnings: list[str] | None = None) -> Any:
    session = get_session()
    track_id = request.form.get("track_id", type=int) or request.args.get("track_id", type=int)
    ctx = services.boost_context(session=session, post=post, track_id=track_id)
    found = compliance.check_post(session=session, territory=g.territory, text=post.message or "",
                                  audience=ctx.audience)
    minimum = None
    connection_error = None
    try:
        minimum = _client().minimum_daily_budget_minor()
    except NotConnected as exc:
        connection_error = exc.message
    except FacebookError as exc:
        connection_error = exc.user_message
    now = utc_now()
    if request.method == "POST" and errors is not None:
        form = dict(request.form)
    else:
        form = {"budget_kind": BudgetKind.LIFETIME.value, "starts_at": _local(now),
                "ends_at": _local(now + timedelta(days=7)), "optimization_goal": ctx.default_goal,
                **_preset_form(ctx.audience.targeting)}
    return render_template(
        "sponsored/boost_form.html", post=post, ctx=ctx, found=found, warnings=warnings or found.warnings,
        balance=services.track_balance(session=session, track=ctx.track), minimum=minimum,
        connection_error=connection_error, errors=errors or {}, form=form,
        threshold=g.territory.boost_approval_threshold_minor,
        track_options=[(t.id, a.name) for t, a in ctx.tracks], goal_options=[(goal, goal) for goal in ctx.goals],
        spec=services.targeting_spec(ctx.audience.targeting, ctx.audience.special_ad_category),
    ), status


@bp.get("/posts/<int:post_id>/boost")
@require_role(Role.EDITOR)
def boost_form(post_id: int) -> Any:
    post = _get(Post, post_id)
    try:
        return _boost_form(post)
    except services.BoostRefused as exc:
        flash(exc.message, "error")
        return redirect(url_for("sponsored.budgets"))


@bp.post("/posts/<int:post_id>/boost")
@require_role(Role.EDITOR)
def create_boost(post_id: int) -> Any:
    post = _get(Post, post_id)
    session = get_session()
    try:
        data = _boost_data(post)
        client = _client()
        boost = services.request_boost(
            session=session, territory=g.territory, data=data, actor=actor(), can_approve=can(Role.MANAGER),
            minimum_daily_minor=client.minimum_daily_budget_minor(),
        )
    except services.WarningsToAcknowledge as exc:
        session.rollback()
        return _boost_form(post, {"acknowledge_warnings": _("Cochez la case pour confirmer avoir lu les "
                                                            "avertissements.")}, 422, exc.warnings)
    except ValidationFailed as exc:
        session.rollback()
        return _boost_form(post, exc.errors, 422)
    except FacebookError as exc:
        session.rollback()
        return _boost_form(post, {"__all__": exc.user_message}, 422)
    except DomainError as exc:
        session.rollback()
        if exc.status_code == 404:
            abort(404)
        return _boost_form(post, {exc.field or "__all__": exc.message}, 422)
    session.commit()  # the intent and its commitment are recorded before Facebook hears anything
    if boost.status == BoostStatus.PENDING_APPROVAL:
        flash(_("Demande enregistrée : au-delà de %(threshold)s, un responsable doit l'approuver avant tout envoi "
                "à Facebook. Le montant est réservé.", threshold=services._money(
                    g.territory.boost_approval_threshold_minor, boost.currency)), "success")
    else:
        _launch_and_flash(boost, client)
    return redirect(url_for("sponsored.boost", boost_id=boost.id))


def _launch_and_flash(boost: Boost, client: FacebookClient) -> None:
    session = get_session()
    services.launch_boost(session=session, territory=g.territory, boost=boost, client=client,
                          checkpoint=session.commit)
    session.commit()
    if boost.status == BoostStatus.ACTIVE:
        flash(_("Sponsorisation créée sur Facebook : l'annonce est en cours d'examen par Facebook."), "success")
    elif boost.status == BoostStatus.CREATING and boost.creation_started_at is not None:
        flash(_("La création de cette sponsorisation est déjà en cours ; rechargez la page dans un instant."), "info")
    elif boost.status == BoostStatus.FAILED:
        flash(_("Facebook a refusé la création : %(why)s. L'engagement est rendu.", why=boost.status_reason), "error")
    else:
        flash(_("Création interrompue (%(why)s) : Rayonne la reprendra automatiquement, sans doublon.",
                why=boost.last_error or "—"), "error")


@bp.get("/boosts/<int:boost_id>")
@require_role(Role.ANALYST)
def boost(boost_id: int) -> Any:
    session = get_session()
    item = _get(Boost, boost_id)
    track = session.get(ContentTrack, item.track_id)
    return render_template(
        "sponsored/boost.html", boost=item, post=session.get(Post, item.post_id),
        campaign=session.get(Campaign, item.campaign_id), audience_name=_track_names(
            session.get(Campaign, track.campaign_id)).get(track.id, ""),
        pacing=pacing.boost_pacing(session=session, boost=item),
        spend=pacing.spend_by_day(session=session, boost=item),
        open_minor=services.boost_open_commitment(session=session, boost=item),
        lines=services.ledger_lines(session=session, boost_id=item.id),
        spec=services.targeting_spec(item.targeting, session.get(Audience, track.audience_id).special_ad_category),
    )


def _boost_action(boost_id: int, action: Any, success: str) -> Any:
    session = get_session()
    item = _get(Boost, boost_id)
    try:
        action(session, item)
    except FacebookError as exc:
        session.rollback()
        flash(exc.user_message, "error")
    except DomainError as exc:
        session.rollback()
        if exc.status_code == 404:
            abort(404)
        flash(exc.message, "error")
    else:
        session.commit()
        flash(success, "success")
    return redirect(url_for("sponsored.boost", boost_id=boost_id))


@bp.post("/boosts/<int:boost_id>/pause")
@require_role(Role.EDITOR)
def pause(boost_id: int) -> Any:
    return _boost_action(boost_id, lambda s, b: services.pause_boost(
        session=s, territory=g.territory, boost=b, client=_client(), actor=actor(),
        reason=request.form.get("reason", "")), _("Sponsorisation mise en pause."))


@bp.post("/boosts/<int:boost_id>/resume")
@require_role(Role.EDITOR)
def resume(boost_id: int) -> Any:
    return _boost_action(boost_id, lambda s, b: services.resume_boost(
        session=s, territory=g.territory, boost=b, client=_client(), actor=actor()), _("Sponsorisation relancée."))


@bp.post("/boosts/<int:boost_id>/stop")
@require_role(Role.EDITOR)
def stop(boost_id: int) -> Any:
    return _boost_action(boost_id, lambda s, b: services.stop_boost(
        session=s, territory=g.territory, boost=b, client=_optional_client(), actor=actor(),
        reason=request.form.get("reason", "")), _("Sponsorisation arrêtée ; le reste de son engagement est rendu."))


@bp.post("/boosts/<int:boost_id>/budget")
@require_role(Role.EDITOR)
def change_budget(boost_id: int) -> Any:
    def action(session: Any, item: Boost) -> None:
        client = _optional_client()
        services.change_boost_budget(
            session=session, territory=g.territory, boost=item, budget_minor=_amount("budget"), actor=actor(),
            can_approve=can(Role.MANAGER), client=client,
            minimum_daily_minor=client.minimum_daily_budget_minor() if client else None)

    return _boost_action(boost_id, action, _("Budget modifié ; l'engagement suit."))


@bp.post("/boosts/<int:boost_id>/refresh")
@require_role(Role.EDITOR)
def refresh(boost_id: int) -> Any:
    def action(session: Any, item: Boost) -> None:
        client = _client()
        services.sync_spend(session=session, boosts=[item], client=client)
        services.refresh_boost(session=session, territory=g.territory, boost=item, client=client)

    return _boost_action(boost_id, action, _("État et dépense relus chez Facebook."))


@bp.post("/boosts/<int:boost_id>/retry")
@require_role(Role.EDITOR)
def retry(boost_id: int) -> Any:
    item = _get(Boost, boost_id)
    if item.status != BoostStatus.CREATING:
        flash(_("Cette sponsorisation n'est pas en cours de création."), "error")
    else:
        try:
            _launch_and_flash(item, _client())
        except DomainError as exc:
            get_session().rollback()
            flash(exc.message, "error")
    return redirect(url_for("sponsored.boost", boost_id=boost_id))


@bp.post("/boosts/<int:boost_id>/approve")
@require_role(Role.MANAGER)
def approve(boost_id: int) -> Any:
    session = get_session()
    item = _get(Boost, boost_id)
    try:
        services.approve_boost(session=session, territory=g.territory, boost=item, actor=actor(),
                               comment=request.form.get("comment", ""))
        client = _client()
    except DomainError as exc:
        session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("sponsored.boost", boost_id=boost_id))
    session.commit()
    _launch_and_flash(item, client)
    return redirect(url_for("sponsored.boost", boost_id=boost_id))


@bp.post("/boosts/<int:boost_id>/approval-link")
@require_role(Role.MANAGER)
def approval_link(boost_id: int) -> Any:
    """E-mail an elected official or the director a signed link to approve or refuse the spending."""
    from flask import current_app

    from campaigns import approvals

    session = get_session()
    item = _get(Boost, boost_id)
    settings = current_app.config["RAYONNE_SETTINGS"]
    try:
        approval, token = approvals.create_link(
            session=session, territory=g.territory, object_type="boost", object_id=item.id,
            recipient_name=request.form.get("recipient_name", ""),
            recipient_email=request.form.get("recipient_email", ""), actor=actor(),
            days=settings.APPROVAL_LINK_DAYS)
        link = settings.BASE_URL.rstrip("/") + url_for("approval.link", token=token)
        approvals.send_link(session=session, territory=g.territory, approval=approval, link=link,
                            sender_name=g.user.name)
    except ValidationFailed as exc:
        session.rollback()
        flash(" ".join(exc.errors.values()), "error")
    except DomainError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        session.commit()
        flash(_("Lien de validation envoyé à %(name)s (%(email)s).", name=approval.recipient_name,
                email=approval.recipient_email), "success")
    return redirect(url_for("sponsored.boost", boost_id=boost_id))


@bp.post("/boosts/<int:boost_id>/decline")
@require_role(Role.MANAGER)
def decline(boost_id: int) -> Any:
    return _boost_action(boost_id, lambda s, b: services.decline_boost(
        session=s, territory=g.territory, boost=b, actor=actor(), reason=request.form.get("reason", "")),
        _("Sponsorisation refusée ; le montant réservé est rendu."))
