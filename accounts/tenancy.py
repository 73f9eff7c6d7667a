"""Which territory a request works in, and what the current user may do there.

Every page of a territory lives under `/t/<territory>/…`, in a blueprint made by
`tenant_blueprint`. Before any view of such a blueprint runs, the territory is loaded from the
URL, the user's membership is checked (a territory the user does not belong to answers 404, as
an unknown one does: nobody learns which territories exist), and the request's database session
is scoped to that territory (see `core.db`), so a view cannot read another territory's rows even
by passing a foreign id. `url_for` fills `territory` from the current request automatically.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, current_app, g, request
from flask_login import current_user
from sqlmodel import select

from accounts.models import ApiToken, Membership, Role, Territory, User
from core.db import ALL, get_session, scoped, set_scope, utc_now
from core.security import hash_token

F = TypeVar("F", bound=Callable[..., Any])


def tenant_blueprint(name: str, import_name: str, url_prefix: str, *, api: bool = False, **kwargs: Any) -> Blueprint:
    """A blueprint whose every route is inside one territory: `/t/<territory><url_prefix>`.

    With `api=True` the routes live under `/api/v1/t/<territory>…` and accept only API tokens.
    """
    prefix = f"{'/api/v1' if api else ''}/t/<territory>{url_prefix}"
    bp = Blueprint(name, import_name, url_prefix=prefix, **kwargs)
    bp.url_value_preprocessor(_pull_territory)
    bp.before_request(lambda: _enter_territory(api=api))
    return bp


def _pull_territory(endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.territory_slug = (values or {}).pop("territory", None)


def _enter_territory(*, api: bool) -> Any:
    session = get_session()
    user = _token_user() if api else _session_user()
    if user is None:
        if api:
            abort(401)
        return current_app.login_manager.unauthorized()
    with scoped(session, ALL):
        territory = session.exec(select(Territory).where(Territory.slug == g.territory_slug)).first()
        membership = None
        if territory is not None:
            membership = session.exec(
                select(Membership).where(Membership.user_id == user.id, Membership.territory_id == territory.id)
            ).first()
    if territory is None or membership is None:
        abort(404)
    g.territory = territory
    g.user = user
    g.membership = membership
    g.role = Role(membership.role)
    set_scope(session, territory.id)
    return None


def _session_user() -> User | None:
    """The logged-in user of the session cookie (web pages)."""
    if current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def _token_user() -> User | None:
    """The owner of a valid API token for this territory (API). The session cookie is ignored here."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    session = get_session()
    with scoped(session, ALL):
        token = session.exec(
            select(ApiToken).where(ApiToken.token_hash == hash_token(header[7:].strip()), ApiToken.revoked_at.is_(None))
        ).first()
        if token is None:
            return None
        territory = session.get(Territory, token.territory_id)
        # A token opens only the territory it was created for; elsewhere it finds nothing.
        if territory is None or territory.slug != g.get("territory_slug"):
            abort(404)
        user = session.get(User, token.user_id)
        token.last_used_at = utc_now()
    return user if user is not None and user.is_active else None


def require_role(role: Role) -> Callable[[F], F]:
    """Allow the view only to members whose role in the current territory is `role` or above."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not g.role.allows(role):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_role = role  # type: ignore[attr-defined]  # read by the isolation tests
        return wrapped  # type: ignore[return-value]

    return decorator


def can(role: Role) -> bool:
    """In templates: does the current user have at least `role` here?"""
    return "role" in g and g.role.allows(role)


def init_app(app: Flask) -> None:
    @app.url_defaults
    def _add_territory(endpoint: str, values: dict[str, Any]) -> None:
        if "territory" in values or "territory" not in g:
            return
        if app.url_map.is_endpoint_expecting(endpoint, "territory"):
            values["territory"] = g.territory.slug

    app.jinja_env.globals.update(can=can, Role=Role)
