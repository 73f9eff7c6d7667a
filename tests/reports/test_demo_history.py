"""The demo's history is generated through the sandbox (posts, boosts, delivery, sync) and only once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from core.db import scoped
from demo.history import build_history, has_history
from reports import metrics
from reports.models import AdDailyMetric, PostDailyMetric
from sponsored.models import Boost, BoostStatus
from tests.conftest import connect_sandbox
from tests.reports.conftest import build_world


def test_history_is_built_through_the_sandbox_and_only_once(app, session, graph_sandbox, tmp_path) -> None:
    """Three weeks: posts published and boosted in the sandbox, delivery synced, figures on the dashboard."""
    world = build_world(session, "demo")
    connect_sandbox(app, session, world.territory, graph_sandbox)
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    with app.app_context():
        summary = build_history(session, world.territory, days=21, state_path=str(tmp_path / "sandbox.json"), now=now)
        assert "posts" in summary and (tmp_path / "sandbox.json").exists()
        assert build_history(session, world.territory, days=21, state_path=str(tmp_path / "s2.json"),
                             now=now) == "history already present"
    with scoped(session, world.territory.id):
        assert has_history(session)
        assert session.exec(select(PostDailyMetric)).first() is not None
        assert session.exec(select(AdDailyMetric)).first() is not None
        boosts = session.exec(select(Boost)).all()
        assert boosts and any(b.status == BoostStatus.COMPLETED for b in boosts)
        figures = metrics.period_figures(session, since=(now - timedelta(days=21)).date(), until=now.date())
    assert figures.covered and figures.viewers > 0 and figures.paid_reach > 0 and figures.spend_minor > 0
    assert figures.organic_reach_estimate is not None
