"""Workflow pages on the `campaigns` blueprint: a post's page and its actions, the review list, the
pre-electoral lists; and the public page of an external approval link (`/approval/<token>`).

The routes join `campaigns.views.bp` (imported at the end of `campaigns/views.py`), so their endpoints
read `campaigns.post_detail`, `campaigns.review`… Views parse, call `campaigns.workflow` (where the
rules live), commit, flash and redirect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlmodel import select

from accounts.models import AuditEvent, Role
from accounts.services import Actor
from accounts.tenancy import require_role
from campaigns import approvals, electoral, workflow
from campaigns.models import Campaign, ContentTrack, ElectedOfficialCreate, Post
from campaigns.views import bp
from core.db import get_session, set_scope
from core.errors import DomainError, ValidationFailed
from core.forms import validate
from targets.models import Audience

approval_bp = Blueprint("approval", __name__, template_folder="templates")


def _actor() -> Actor:
    return Actor.of(g.user)


def _post(post_id: int) -> Post:
    post = get_session().get(Post, post_id)
    if post is None:
        abort(404)
    return post


def _message(exc: DomainError) -> str:
    if isinstance(exc, ValidationFailed):
        return " ".join(exc.errors.values())
    return exc.message


def _back(post: Post) -> Any:
    return redirect(url_for("campaigns.post_detail", post_id=post.id))


def _run(post: Post, action: Any, done: str) -> Any:
    """Apply a workflow step: commit and say so, or roll back and say why."""
    session = get_session()
    try:
        action()
    except DomainError as exc:
        session.rollback()
        flash(_message(exc), "error")
    else:
        session.commit()
        flash(done, "success")
    return _back(post)


# --------------------------------------------------------------------------------- the post


@bp.get("/posts/<int:post_id>")
@require_role(Role.ANALYST)
def post_detail(post_id: int) -> Any:
    session = get_session()
    post = _post(post_id)
    track = session.get(ContentTrack, post.track_id)
    campaign = session.get(Campaign, track.campaign_id)
    audience = session.get(Audience, track.audience_id)
    history = session.exec(
        select(AuditEvent).where(AuditEvent.object_type == "Post", AuditEvent.object_id == str(post.id))
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    tz = ZoneInfo(g.territory.timezone)
    planned_local = post.planned_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if post.planned_at else ""
    return render_template(
        "campaigns/post_detail.html", post=post, track=track, campaign=campaign, audience=audience,
        reviews=workflow.reviews_of(session=session, post=post),
        links=approvals.links_for(session=session, object_type="post", object_id=post.id),
        live_reasons=electoral.flag_reasons(session=session, territory=g.territory, post=post),
        actions=workflow.allowed_actions(post, g.role), history=history, planned_local=planned_local,
        page_name=g.territory.brand_name or g.territory.name, status_label=workflow.status_label,
        decision_label=approvals.decision_label,
    )


@bp.post("/posts/<int:post_id>/submit")
@require_role(Role.EDITOR)
def post_submit(post_id: int) -> Any:
    post = _post(post_id)
    return _run(post, lambda: workflow.submit(
        session=get_session(), territory=g.territory, post=post, actor=_actor(), role=g.role,
        comment=request.form.get("comment", "")), _("Publication soumise à relecture."))


@bp.post("/posts/<int:post_id>/approve")
@require_role(Role.MANAGER)
def post_approve(post_id: int) -> Any:
    post = _post(post_id)
    return _run(post, lambda: workflow.approve(
        session=get_session(), territory=g.territory, post=post, actor=_actor(), role=g.role,
        comment=request.form.get("comment", ""), confirm_electoral=request.form.get("confirm_electoral") == "1",
    ), _("Publication approuvée."))


@bp.post("/posts/<int:post_id>/reject")
@require_role(Role.MANAGER)
def post_reject(post_id: int) -> Any:
    post = _post(post_id)
    return _run(post, lambda: workflow.reject(
        session=get_session(), territory=g.territory, post=post, actor=_actor(), role=g.role,
        comment=request.form.get("comment", "")), _("Publication refusée : elle revient en brouillon."))


@bp.post("/posts/<int:post_id>/schedule")
@require_role(Role.EDITOR)
def post_schedule(post_id: int) -> Any:
    post = _post(post_id)
    raw = request.form.get("planned_at", "")
    try:
        planned_at = datetime.fromisoformat(raw).replace(tzinfo=ZoneInfo(g.territory.timezone))
    except ValueError:
        flash(_("Indiquez la date et l'heure de publication."), "error")
        return _back(post)
    return _run(post, lambda: workflow.schedule(
        session=get_session(), territory=g.territory, post=post, actor=_actor(), role=g.role,
        planned_at=planned_at), _("Publication programmée."))


@bp.post("/posts/<int:post_id>/withdraw")
@require_role(Role.EDITOR)
def post_withdraw(post_id: int) -> Any:
    post = _post(post_id)
    return _run(post, lambda: workflow.withdraw(
        session=get_session(), territory=g.territory, post=post, actor=_actor(), role=g.role,
        comment=request.form.get("comment", "")), _("Publication revenue en brouillon."))


@bp.post("/posts/<int:post_id>/comment")
@require_role(Role.EDITOR)
def post_comment(post_id: int) -> Any:
    post = _post(post_id)
    return _run(post, lambda: workflow.add_comment(
        session=get_session(), post=post, actor=_actor(), role=g.role, comment=request.form.get("comment", "")),
        _("Commentaire ajouté."))


@bp.post("/posts/<int:post_id>/approval-link")
@require_role(Role.MANAGER)
def post_approval_link(post_id: int) -> Any:
    """E-mail an elected official or the director a link to approve or reject the post."""
    session = get_session()
    post = _post(post_id)
    settings = current_app.config["RAYONNE_SETTINGS"]
    try:
        approval, token = approvals.create_link(
            session=session, territory=g.territory, object_type="post", object_id=post.id,
            recipient_name=request.form.get("recipient_name", ""),
            recipient_email=request.form.get("recipient_email", ""), actor=_actor(),
            days=settings.APPROVAL_LINK_DAYS)
        link = settings.BASE_URL.rstrip("/") + url_for("approval.link", token=token)
        approvals.send_link(session=session, territory=g.territory, approval=approval, link=link,
                            sender_name=g.user.name)
    except DomainError as exc:
        session.rollback()
        flash(_message(exc), "error")
        return _back(post)
    session.commit()
    flash(_("Lien de validation envoyé à %(name)s (%(email)s).", name=approval.recipient_name,
            email=approval.recipient_email), "success")
    return _back(post)


@bp.get("/review")
@require_role(Role.MANAGER)
def review() -> Any:
    """Posts waiting for a manager's decision, flagged ones first."""
    rows = workflow.posts_to_review(session=get_session())
    return render_template("campaigns/review_list.html", rows=rows)


# ------------------------------------------------------------------------ pre-electoral lists


@bp.get("/electoral")
@require_role(Role.ADMIN)
def electoral_settings() -> Any:
    return _electoral_page({}, {})


def _electoral_page(errors: dict[str, str], form: Any, status: int = 200) -> Any:
    session = get_session()
    stored = electoral.terms(session=session, territory=g.territory)
    return render_template(
        "campaigns/electoral_settings.html", officials=electoral.officials(session=session, territory=g.territory),
        terms="\n".join(stored), period=electoral.period_of(g.territory), errors=errors, form=form,
        defaults=list(electoral.DEFAULT_TERMS),
    ), status


@bp.post("/electoral/officials")
@require_role(Role.ADMIN)
def electoral_add_official() -> Any:
    session = get_session()
    try:
        data = validate(ElectedOfficialCreate, {"name": request.form.get("name", ""),
                                                "office": request.form.get("office", "")})
        official = electoral.add_official(session=session, territory=g.territory, data=data, actor=_actor())
    except ValidationFailed as exc:
        session.rollback()
        return _electoral_page(exc.errors, request.form, 422)
    session.commit()
    flash(_("%(name)s ajouté(e) à la liste des élus.", name=official.name), "success")
    return redirect(url_for("campaigns.electoral_settings"))


@bp.post("/electoral/officials/<int:official_id>/remove")
@require_role(Role.ADMIN)
def electoral_remove_official(official_id: int) -> Any:
    session = get_session()
    try:
        electoral.remove_official(session=session, territory=g.territory, official_id=official_id, actor=_actor())
    except DomainError:
        session.rollback()
        abort(404)
    session.commit()
    flash(_("Élu retiré de la liste."), "success")
    return redirect(url_for("campaigns.electoral_settings"))


@bp.post("/electoral/terms")
@require_role(Role.ADMIN)
def electoral_terms() -> Any:
    session = get_session()
    try:
        electoral.set_terms(session=session, territory=g.territory, text=request.form.get("terms", ""),
                            actor=_actor())
    except ValidationFailed as exc:
        session.rollback()
        return _electoral_page(exc.errors, request.form, 422)
    session.commit()
    flash(_("Vocabulaire électoral enregistré."), "success")
    return redirect(url_for("campaigns.electoral_settings"))


# ------------------------------------------------------------------- the public approval page


@approval_bp.route("/approval/<token>", methods=["GET", "POST"])
def link(token: str) -> Any:
    """An external approver's page: no login, the link is the credential (signed, expiring, single use).

    It speaks the territory's language, like the e-mail that brought the recipient here."""
    locale = approvals.link_locale(session=get_session(), token=token)
    if locale is None:  # an altered link: the browser's language
        return _link_page(token)
    with force_locale(locale):
        return _link_page(token)


def _link_page(token: str) -> Any:
    session = get_session()
    try:
        approval = approvals.find_link(session=session, token=token)
    except approvals.LinkInvalid as exc:
        return render_template("campaigns/approval_invalid.html", message=exc.message), exc.status_code
    # From here on the request works inside the link's territory only.
    set_scope(session, approval.territory_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        decision = request.form.get("decision", "")
        try:
            approvals.decide(session=session, token=token, decision=decision,
                             comment=request.form.get("comment", ""))
        except ValidationFailed as exc:
            session.rollback()
            errors = exc.errors
        except approvals.LinkInvalid as exc:
            session.rollback()
            return render_template("campaigns/approval_invalid.html", message=exc.message), exc.status_code
        except DomainError as exc:
            session.rollback()
            return render_template("campaigns/approval_invalid.html", message=exc.message), 409
        else:
            session.commit()
            return render_template("campaigns/approval_done.html", approval=approval, decision=decision,
                                   decision_label=approvals.decision_label)
    context = approvals.page_context(session=session, approval=approval)
    return render_template("campaigns/approval_page.html", approval=approval, errors=errors, form=request.form,
                           **context), (422 if errors else 200)
