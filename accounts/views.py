"""Login, logout, the territory switcher, invitations, and the admin pages of a territory."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlmodel import select

from accounts import services
from accounts.models import AuditEvent, Invitation, InvitationCreate, Membership, Role, TerritoryUpdate, User
from accounts.services import Actor
from accounts.tenancy import require_role, tenant_blueprint
from core.db import get_session
from core.errors import DomainError, ValidationFailed
from core.forms import validate
from core.i18n import supported_locale
from core.mail import MailMessage, send_mail

bp = Blueprint("accounts", __name__, template_folder="templates")
admin_bp = tenant_blueprint("admin", __name__, "/admin", template_folder="templates")


def actor() -> Actor:
    return Actor.of(current_user)


def _safe_next(target: str | None) -> str | None:
    # Only local paths: never redirect a user to another site after login.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


# ------------------------------------------------------------------------------ public pages


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("accounts.home"))
    error = None
    status = 200
    email = request.form.get("email", "")
    if request.method == "POST":
        settings = current_app.config["RAYONNE_SETTINGS"]
        session = get_session()
        try:
            user = services.authenticate(
                session=session, email=email, password=request.form.get("password", ""),
                ip=request.remote_addr, max_failures=settings.LOGIN_MAX_FAILURES,
                lock_minutes=settings.LOGIN_LOCK_MINUTES,
            )
        except DomainError as exc:
            session.commit()  # the failed attempt must be kept for throttling
            error, status = exc.message, exc.status_code if exc.status_code == 429 else 401
        else:
            session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("accounts.home"))
    return render_template("accounts/login.html", error=error, email=email), status


@bp.post("/logout")
@login_required
def logout() -> Any:
    logout_user()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("accounts.login"))


@bp.get("/")
@login_required
def home() -> Any:
    """The territory switcher; a user of a single territory goes straight to its dashboard."""
    territories = services.territories_of(session=get_session(), user=current_user)
    if len(territories) == 1 and not request.args.get("choose"):
        return redirect(url_for("reports.dashboard", territory=territories[0][0].slug))
    return render_template("accounts/home.html", territories=territories)


@bp.post("/preferences/locale")
@login_required
def set_locale() -> Any:
    locale = request.form.get("locale", "")
    if locale not in ("fr", "en"):
        flash(_("Langue inconnue."), "error")
    else:
        session = get_session()
        user = session.merge(current_user._get_current_object())
        user.locale = locale
        session.commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("accounts.home"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Any:
    session = get_session()
    try:
        invitation = services.find_invitation(session=session, token=token)
    except DomainError as exc:
        return render_template("accounts/invitation_invalid.html", message=exc.message), 404
    has_account = services.get_user_by_email(session=session, email=invitation.email) is not None
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            user = services.accept_invitation(
                session=session, token=token, name=request.form.get("name", ""),
                password=request.form.get("password", ""),
            )
        except ValidationFailed as exc:
            errors = exc.errors
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            session.commit()
            login_user(user)
            flash(_("Bienvenue ! Vous avez rejoint le territoire."), "success")
            return redirect(url_for("accounts.home"))
    return render_template(
        "accounts/invitation.html", invitation=invitation, has_account=has_account, errors=errors,
        form=request.form,
    ), (422 if errors else 200)


# ------------------------------------------------------------------------------- admin pages


@admin_bp.get("/members")
@require_role(Role.ADMIN)
def members() -> Any:
    session = get_session()
    invitations = session.exec(
        select(Invitation).where(Invitation.accepted_at.is_(None)).order_by(Invitation.created_at.desc())
    ).all()
    return render_template(
        "accounts/members.html", members=services.members(session=session, territory=g.territory),
        invitations=invitations, roles=list(Role), errors={}, form={},
    )


@admin_bp.post("/members/invite")
@require_role(Role.ADMIN)
def invite() -> Any:
    session = get_session()
    settings = current_app.config["RAYONNE_SETTINGS"]
    try:
        data = validate(InvitationCreate, {"email": request.form.get("email", ""),
                                           "role": request.form.get("role", "")})
        invitation, token = services.invite(
            session=session, territory=g.territory, data=data, actor=actor(), days=settings.INVITATION_DAYS
        )
    except ValidationFailed as exc:
        return _members_with_errors(exc.errors)
    except DomainError as exc:
        return _members_with_errors({exc.field or "email": exc.message})
    link = settings.BASE_URL.rstrip("/") + url_for("accounts.accept_invitation", token=token)
    context = {"territory": g.territory, "inviter": current_user.name, "role": data.role, "link": link,
               "days": settings.INVITATION_DAYS}
    # Written in the territory's language: the invitee has no account yet, so no language of their own.
    with force_locale(supported_locale(g.territory.locale)):
        subject = _("Invitation à rejoindre %(name)s sur Rayonne", name=g.territory.name)
        text = render_template("accounts/email/invitation.txt", **context)
    send_mail(session=session, territory_id=g.territory.id, to=invitation.email, kind="invitation", subject=subject,
              text=text)
    session.commit()
    flash(_("Invitation envoyée à %(email)s.", email=invitation.email), "success")
    return redirect(url_for("admin.members"))


def _members_with_errors(errors: dict[str, str]) -> Any:
    session = get_session()
    invitations = session.exec(select(Invitation).where(Invitation.accepted_at.is_(None))).all()
    return render_template(
        "accounts/members.html", members=services.members(session=session, territory=g.territory),
        invitations=invitations, roles=list(Role), errors=errors, form=request.form,
    ), 422


@admin_bp.post("/members/<int:membership_id>/role")
@require_role(Role.ADMIN)
def change_role(membership_id: int) -> Any:
    session = get_session()
    membership = session.get(Membership, membership_id)
    if membership is None:
        return _not_found()
    try:
        role = Role(request.form.get("role", ""))
    except ValueError:
        flash(_("Rôle inconnu."), "error")
        return redirect(url_for("admin.members"))
    user = session.get(User, membership.user_id)
    try:
        services.set_membership(session=session, territory=g.territory, user=user, role=role, actor=actor())
    except DomainError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        session.commit()
        flash(_("Rôle de %(name)s modifié.", name=user.name), "success")
    return redirect(url_for("admin.members"))


@admin_bp.post("/members/<int:membership_id>/remove")
@require_role(Role.ADMIN)
def remove_member(membership_id: int) -> Any:
    session = get_session()
    try:
        services.remove_membership(session=session, territory=g.territory, membership_id=membership_id,
                                   actor=actor())
    except DomainError as exc:
        session.rollback()
        if exc.status_code == 404:
            return _not_found()
        flash(exc.message, "error")
    else:
        session.commit()
        flash(_("Membre retiré du territoire."), "success")
    return redirect(url_for("admin.members"))


def _not_found() -> Any:
    abort(404)


@admin_bp.get("/audit")
@require_role(Role.ADMIN)
def audit_log() -> Any:
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(500)
    events = get_session().exec(query).all()
    return render_template("accounts/audit.html", events=events)


@admin_bp.get("/outbox")
@require_role(Role.ADMIN)
def outbox() -> Any:
    messages = get_session().exec(select(MailMessage).order_by(MailMessage.created_at.desc()).limit(200)).all()
    return render_template("accounts/outbox.html", messages=messages)


@admin_bp.get("/outbox/<int:message_id>")
@require_role(Role.ADMIN)
def outbox_message(message_id: int) -> Any:
    from email import message_from_bytes, policy

    message = get_session().get(MailMessage, message_id)
    if message is None:
        return _not_found()
    parsed = message_from_bytes(message.raw, policy=policy.default)
    body = parsed.get_body(preferencelist=("plain", "html"))
    attachments = [part.get_filename() for part in parsed.iter_attachments()]
    return render_template("accounts/outbox_message.html", message=message,
                           body=body.get_content() if body else "", attachments=attachments)


@admin_bp.route("/settings", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def settings() -> Any:
    session = get_session()
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form.to_dict()
        form["election_date"] = form.get("election_date") or None
        try:
            data = validate(TerritoryUpdate, form)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            services.update_territory(session=session, territory=g.territory, data=data, actor=actor())
            session.commit()
            flash(_("Réglages enregistrés."), "success")
            return redirect(url_for("admin.settings"))
    values = request.form if request.method == "POST" else g.territory.model_dump()
    return render_template("accounts/settings.html", errors=errors, values=values), (422 if errors else 200)


@admin_bp.route("/tokens", methods=["GET", "POST"])
@require_role(Role.ANALYST)
def tokens() -> Any:
    """Every member manages their own API tokens for this territory."""
    from accounts.models import ApiToken, ApiTokenCreate

    session = get_session()
    errors: dict[str, str] = {}
    created = None
    if request.method == "POST":
        try:
            data = validate(ApiTokenCreate, {"name": request.form.get("name", "")})
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            _token, created = services.create_api_token(session=session, territory=g.territory,
                                                        user=current_user, name=data.name)
            session.commit()
    mine = session.exec(select(ApiToken).where(ApiToken.user_id == current_user.id, ApiToken.revoked_at.is_(None))
                        .order_by(ApiToken.created_at.desc())).all()
    return render_template("accounts/tokens.html", tokens=mine, created=created, errors=errors), (
        422 if errors else 200)


@admin_bp.post("/tokens/<int:token_id>/revoke")
@require_role(Role.ANALYST)
def revoke_token(token_id: int) -> Any:
    session = get_session()
    try:
        services.revoke_api_token(session=session, territory=g.territory, user=current_user, token_id=token_id)
    except DomainError:
        return _not_found()
    session.commit()
    flash(_("Jeton révoqué."), "success")
    return redirect(url_for("admin.tokens"))


@admin_bp.route("/connection", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def connection() -> Any:
    """Connect the territory to Facebook or to the sandbox; secrets are never shown again."""
    from accounts import connection as conn

    session = get_session()
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        try:
            data = validate(conn.ConnectionForm, form)
            conn.save_connection(session=session, territory=g.territory, data=data, actor=actor())
        except ValidationFailed as exc:
            errors = exc.errors
        except DomainError as exc:
            errors = {exc.field or "page_id": exc.message}
        else:
            session.commit()
            flash(_("Connexion enregistrée. Testez-la pour vérifier ce qui fonctionne."), "success")
            return redirect(url_for("admin.connection"))
    view = conn.describe(conn.get_connection(session=session))
    return render_template("accounts/connection.html", connection=view, errors=errors,
                           form=request.form if errors else {}), (422 if errors else 200)


@admin_bp.post("/connection/test")
@require_role(Role.ADMIN)
def test_connection() -> Any:
    from accounts import connection as conn

    session = get_session()
    try:
        result = conn.check(session=session, territory=g.territory, actor=actor())
    except DomainError as exc:
        session.commit()  # the status (error, to reconnect) is kept
        flash(exc.message, "error")
        return redirect(url_for("admin.connection"))
    session.commit()
    return render_template("accounts/connection_check.html", result=result)
