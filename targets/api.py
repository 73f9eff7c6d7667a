"""JSON API for audiences."""

from __future__ import annotations

from flask import abort, current_app, g, request

from accounts.api import api_blueprint, operation
from accounts.models import Role
from accounts.services import Actor
from core.db import get_session
from targets import services
from targets.models import Audience, AudienceCreate, AudienceRead, AudienceUpdate

bp = api_blueprint("targets_api", __name__, "/audiences")


@bp.before_request
def _known_audience() -> None:
    # An unknown (or other territory's) id answers 404 before the body is validated: 422 would
    # confirm nothing, but the answer for a foreign id must not depend on what was sent.
    view = current_app.view_functions.get(request.endpoint or "")
    if not g.role.allows(getattr(view, "required_role", Role.ADMIN)):
        abort(403)  # the role answer comes first, as on every other route
    audience_id = (request.view_args or {}).get("audience_id")
    if audience_id is not None and get_session().get(Audience, audience_id) is None:
        abort(404)


@operation(bp, "/", role=Role.ANALYST, summary="List the territory's audiences", response=list[AudienceRead])
def list_audiences() -> list[Audience]:
    return services.list_audiences(session=get_session())


@operation(bp, "/<int:audience_id>", role=Role.ANALYST, summary="Get an audience", response=AudienceRead)
def get_audience(audience_id: int) -> Audience:
    return services.get_audience(session=get_session(), audience_id=audience_id)


@operation(bp, "/", role=Role.MANAGER, method="POST", summary="Create a custom audience", body=AudienceCreate,
           response=AudienceRead, status=201)
def create_audience(data: AudienceCreate) -> Audience:
    session = get_session()
    audience = services.create_audience(session=session, territory=g.territory, data=data, actor=Actor.of(g.user))
    session.commit()
    return audience


@operation(bp, "/<int:audience_id>", role=Role.MANAGER, method="PATCH", summary="Change an audience",
           body=AudienceUpdate, response=AudienceRead)
def update_audience(audience_id: int, data: AudienceUpdate) -> Audience:
    session = get_session()
    audience = services.get_audience(session=session, audience_id=audience_id)
    services.update_audience(session=session, territory=g.territory, audience=audience, data=data,
                             actor=Actor.of(g.user))
    session.commit()
    return audience
