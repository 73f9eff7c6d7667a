"""Audience pages: the list, the form (create, edit), archive, and the Graph API search used by the form."""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from accounts.models import ConnectionStatus, Role
from accounts.services import Actor
from accounts.tenancy import require_role, tenant_blueprint
from core.db import get_session
from core.errors import DomainError, NotFound, ValidationFailed
from core.forms import validate
from targets import forms, services
from targets.models import Audience, AudienceCreate, AudienceUpdate, ResultType, SpecialAdCategory, result_label

logger = logging.getLogger(__name__)

bp = tenant_blueprint("targets", __name__, "/audiences", template_folder="templates")
bp.add_app_template_global(result_label, "result_type_label")


def _actor() -> Actor:
    return Actor.of(g.user)


def _audience_or_404(audience_id: int) -> Audience:
    try:
        return services.get_audience(session=get_session(), audience_id=audience_id)
    except NotFound:
        abort(404)


def _search_available() -> bool:
    from accounts.connection import get_connection

    connection = get_connection(session=get_session())
    return connection is not None and connection.status != ConnectionStatus.TO_RECONNECT


@bp.get("/")
@require_role(Role.ANALYST)
def index() -> Any:
    audiences = services.list_audiences(session=get_session(), include_archived=True)
    return render_template("targets/index.html", audiences=[a for a in audiences if not a.archived],
                           archived=[a for a in audiences if a.archived])


def _render_form(audience: Audience | None, values: dict[str, Any], errors: dict[str, str]) -> Any:
    return render_template(
        "targets/form.html", audience=audience, values=values, errors=errors,
        result_types=list(ResultType), categories=list(SpecialAdCategory), search=_search_available(),
    ), (422 if errors else 200)


@bp.route("/new", methods=["GET", "POST"])
@require_role(Role.MANAGER)
def create() -> Any:
    if request.method == "GET":
        return _render_form(None, {"result_type": ResultType.LINK_CLICK.value, "countries": "FR",
                                   "special_ad_category": SpecialAdCategory.NONE.value}, {})
    session = get_session()
    payload, errors = forms.audience_payload(request.form, create=True)
    try:
        data = _validated(AudienceCreate, payload, errors)
        audience = services.create_audience(session=session, territory=g.territory, data=data, actor=_actor())
    except ValidationFailed as exc:
        session.rollback()
        return _render_form(None, request.form, {**forms.form_errors(exc.errors), **errors})
    except DomainError as exc:
        session.rollback()
        return _render_form(None, request.form, {exc.field or "name": exc.message})
    session.commit()
    flash(_("Public « %(name)s » créé.", name=audience.name), "success")
    return redirect(url_for("targets.index"))


def _validated(model: type, payload: dict[str, Any], parse_errors: dict[str, str]) -> Any:
    """Validate with the data model; report the text-field errors found before, all at once."""
    try:
        data = validate(model, payload)
    except ValidationFailed as exc:
        raise ValidationFailed({**exc.errors, **parse_errors}) from None
    if parse_errors:
        raise ValidationFailed(parse_errors)
    return data


@bp.route("/<int:audience_id>/edit", methods=["GET", "POST"])
@require_role(Role.MANAGER)
def edit(audience_id: int) -> Any:
    audience = _audience_or_404(audience_id)
    if request.method == "GET":
        return _render_form(audience, forms.audience_to_form(audience), {})
    session = get_session()
    payload, errors = forms.audience_payload(request.form, create=False)
    try:
        data = _validated(AudienceUpdate, payload, errors)
        services.update_audience(session=session, territory=g.territory, audience=audience, data=data,
                                 actor=_actor())
    except ValidationFailed as exc:
        session.rollback()
        return _render_form(audience, request.form, {**forms.form_errors(exc.errors), **errors})
    session.commit()
    flash(_("Public « %(name)s » enregistré.", name=audience.name), "success")
    return redirect(url_for("targets.index"))


@bp.post("/<int:audience_id>/archive")
@require_role(Role.MANAGER)
def archive(audience_id: int) -> Any:
    audience = _audience_or_404(audience_id)
    session = get_session()
    try:
        services.archive_audience(session=session, territory=g.territory, audience=audience, actor=_actor())
    except DomainError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        session.commit()
        flash(_("Public « %(name)s » archivé.", name=audience.name), "success")
    return redirect(url_for("targets.index"))


@bp.post("/<int:audience_id>/restore")
@require_role(Role.MANAGER)
def restore(audience_id: int) -> Any:
    audience = _audience_or_404(audience_id)
    session = get_session()
    services.restore_audience(session=session, territory=g.territory, audience=audience, actor=_actor())
    session.commit()
    flash(_("Public « %(name)s » rétabli.", name=audience.name), "success")
    return redirect(url_for("targets.index"))


@bp.get("/search")
@require_role(Role.MANAGER)
def search() -> Any:
    """JSON for the form's search script: interests or places from the Graph API's targeting search."""
    from accounts import connection as conn
    from facebook import AuthError, FacebookError

    kind, q = request.args.get("type", ""), request.args.get("q", "")
    if kind not in services.SEARCH_KINDS:
        return jsonify(error=_("Type de recherche inconnu."), results=[]), 400
    session = get_session()
    try:
        client = conn.client_for(session=session)
        results = services.search_targeting(client=client, kind=kind, q=q)
    except conn.NotConnected as exc:
        return jsonify(error=exc.message, results=[]), 409
    except AuthError as exc:
        conn.mark_to_reconnect(session=session, territory=g.territory, error=exc)
        session.commit()
        return jsonify(error=exc.user_message, results=[]), 502
    except FacebookError as exc:
        logger.warning("targeting search failed for %s: %s", g.territory.slug, exc)
        return jsonify(error=exc.user_message, results=[]), 502
    return jsonify(results=results)
