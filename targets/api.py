"""JSON API for audiences."""

from __future__ import annotations

from accounts.api import api_blueprint, operation
from accounts.models import Role
from core.db import get_session
from targets import services
from targets.models import Audience, AudienceRead

bp = api_blueprint("targets_api", __name__, "/audiences")


@operation(bp, "/", role=Role.ANALYST, summary="List the territory's audiences", response=list[AudienceRead])
def list_audiences() -> list[Audience]:
    return services.list_audiences(session=get_session())
