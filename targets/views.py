"""Audience pages."""

from __future__ import annotations

from typing import Any

from flask import render_template

from accounts.models import Role
from accounts.tenancy import require_role, tenant_blueprint
from core.db import get_session
from targets import services

bp = tenant_blueprint("targets", __name__, "/audiences", template_folder="templates")


@bp.get("/")
@require_role(Role.ANALYST)
def index() -> Any:
    return render_template("targets/index.html", audiences=services.list_audiences(session=get_session()))
