"""The dashboard and the report archive."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlmodel import select

from accounts.models import Role
from accounts.tenancy import require_role, tenant_blueprint
from campaigns.services import count_posts_by_status, list_campaigns
from core.db import get_session
from reports.models import Report
from targets.services import list_audiences

bp = tenant_blueprint("reports", __name__, "", template_folder="templates")


@bp.get("/")
@require_role(Role.ANALYST)
def dashboard() -> Any:
    session = get_session()
    return render_template(
        "reports/dashboard.html", audiences=list_audiences(session=session),
        campaigns=list_campaigns(session=session), posts_by_status=count_posts_by_status(session=session),
    )


@bp.get("/reports")
@require_role(Role.ANALYST)
def archive() -> Any:
    reports = get_session().exec(select(Report).order_by(Report.period_start.desc())).all()
    return render_template("reports/archive.html", reports=reports)
