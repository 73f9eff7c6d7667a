"""Budget pages."""

from __future__ import annotations

from typing import Any

from flask import render_template

from accounts.models import Role
from accounts.tenancy import require_role, tenant_blueprint
from core.db import get_session
from sponsored import services

bp = tenant_blueprint("sponsored", __name__, "/budgets", template_folder="templates")


@bp.get("/")
@require_role(Role.ANALYST)
def budgets() -> Any:
    return render_template("sponsored/budgets.html", balances=services.campaign_balances(session=get_session()))
