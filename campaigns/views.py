"""Campaign pages and the calendar."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, g, render_template, request

from accounts.models import Role
from accounts.tenancy import require_role, tenant_blueprint
from campaigns import services
from core.db import get_session

bp = tenant_blueprint("campaigns", __name__, "/campaigns", template_folder="templates")


@bp.get("/")
@require_role(Role.ANALYST)
def index() -> Any:
    return render_template("campaigns/index.html", campaigns=services.list_campaigns(session=get_session()))


@bp.get("/calendar")
@require_role(Role.ANALYST)
def calendar() -> Any:
    tz = ZoneInfo(g.territory.timezone)
    raw = request.args.get("week")
    try:
        anchor = datetime.fromisoformat(raw).replace(tzinfo=tz) if raw else datetime.now(tz)
    except ValueError:
        abort(400, "week must be a date (YYYY-MM-DD)")
    start, end = services.week_bounds(anchor)
    posts = services.posts_between(session=get_session(), start=start, end=end)
    return render_template("campaigns/calendar.html", posts=posts, start=start, end=end, tz=tz)
