"""Insights synchronisation against the Graph API sandbox: idempotent upserts, exact spend, faults,
expired tokens, the hourly/daily cadence, snapshots and the historic backfill."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, SQLModel, select

from accounts.connection import connection_of, get_connection
from accounts.models import ConnectionStatus
from core.db import scoped
from facebook import FacebookClient, RetryPolicy, ThrottledError, throttle_registry
from reports import sync
from reports.models import (
    AdDailyMetric,
    AdWeekReach,
    BackfillStatus,
    BoostTotal,
    InsightsSync,
    PageDailyMetric,
    PostBlockMetric,
    PostDailyMetric,
    PostSnapshot,
    PostTotal,
    PostWeekMetric,
    TerritoryWeekMetric,
    TrackBlockMetric,
    TrackWeekMetric,
)
from tests.conftest import connect_sandbox
from tests.reports.conftest import World, build_world, make_boost, make_post

FACT_TABLES = (AdDailyMetric, AdWeekReach, PageDailyMetric, PostDailyMetric, PostSnapshot, BoostTotal, PostTotal,
               PostWeekMetric, TrackWeekMetric, TerritoryWeekMetric, PostBlockMetric, TrackBlockMetric)


def sandbox_now(control) -> datetime:  # noqa: ANN001
    return datetime.fromisoformat(control.clock().replace("+0000", "+00:00"))


@dataclass
class Synced:
    world: World
    control: object
    ids: dict
    boosts: list
    posts: list

    app: object = None

    def client(self, session: Session) -> FacebookClient:
        with self.app.app_context(), scoped(session, self.world.territory.id):
            record = get_connection(session=session)
            return FacebookClient(connection_of(record), RetryPolicy(sleep=lambda s: None, poll_interval=0))

    def run(self, app, session: Session, *, force_daily: bool = False, client: FacebookClient | None = None):  # noqa: ANN001
        with app.app_context(), scoped(session, self.world.territory.id):
            result = sync.sync_territory(session=session, territory=self.world.territory,
                                         client=client or self.client(session), now=sandbox_now(self.control),
                                         force_daily=force_daily)
            session.commit()
        return result


@pytest.fixture
def synced(app, session, graph_sandbox) -> Iterator[Synced]:  # noqa: ANN001
    """Two boosted posts (investors, tourists) and one organic post (residents) on a sandbox Page."""
    world = build_world(session)
    ids = connect_sandbox(app, session, world.territory, graph_sandbox)
    control = graph_sandbox.control
    seeded = control.seed_boosts(page_id=ids["page_id"], ad_account_id=ids["ad_account_id"], count=2,
                                 daily_budget=1000, days=10, link="https://valrive.example/t2")
    now = sandbox_now(control)
    state = Synced(world, control, ids, [], [], app)
    client = state.client(session)
    organic_id = client.publish_post(message="Le marché de Noël ouvre samedi")
    with scoped(session, world.territory.id):
        for key, fb_post, fb_ad in zip(("investors", "tourists"), seeded["post_ids"], seeded["ad_ids"], strict=True):
            post = make_post(session, world, key, now - timedelta(hours=1), fb_post_id=fb_post)
            state.posts.append(post)
            state.boosts.append(make_boost(session, world, post, starts_at=now, days=10, fb_ad_id=fb_ad,
                                           budget_minor=10_000))
        state.posts.append(make_post(session, world, "residents", now, fb_post_id=organic_id))
        session.commit()
    yield state


# Roll-ups are recomputed from the facts (delete and insert), so their surrogate ids may change between
# runs (PostgreSQL sequences never reuse one); their content, keyed by object and week, must not.
ROLLUP_TABLES = (PostWeekMetric, TrackWeekMetric, TerritoryWeekMetric, PostBlockMetric, TrackBlockMetric)


def rows_of(session: Session, territory_id: int) -> list[str]:
    session.expire_all()
    out = []
    for model in FACT_TABLES:
        for row in session.exec(select(model).where(model.territory_id == territory_id)):
            values = SQLModel.model_dump(row)
            if model in ROLLUP_TABLES:
                values.pop("id")
            out.append(f"{model.__name__}:{sorted(values.items())}")
    return sorted(out)


def test_sync_stores_daily_facts_and_a_rerun_changes_nothing(app, session, synced) -> None:
    """A daily run stores ad, page and post facts; running it again (same clock) changes no row at all."""
    synced.control.advance(days=3)
    first = synced.run(app, session, force_daily=True)
    assert first.ad_rows > 0 and first.page_days > 0 and first.post_rows > 0
    before = rows_of(session, synced.world.territory.id)
    synced.run(app, session, force_daily=True)
    assert rows_of(session, synced.world.territory.id) == before


def test_spend_is_stored_exactly_in_cents(app, session, synced) -> None:
    """Each boost's daily spend equals the sandbox's spend to the cent; its results are its audience's action."""
    synced.control.advance(days=4)
    synced.run(app, session, force_daily=True)
    ads = {a["id"]: a for a in synced.control.state()["objects"]["ads"]}
    for boost in synced.boosts:
        rows = session.exec(select(AdDailyMetric).where(AdDailyMetric.boost_id == boost.id)).all()
        expected = {d: s for d, s in ads[boost.fb_ad_id]["spend_by_day"].items() if s}
        assert {r.day.isoformat(): r.spend_minor for r in rows} == expected
    investors = session.exec(select(AdDailyMetric).where(AdDailyMetric.boost_id == synced.boosts[0].id)).all()
    assert all(r.results == r.link_clicks for r in investors)
    tourists = session.exec(select(AdDailyMetric).where(AdDailyMetric.boost_id == synced.boosts[1].id)).all()
    # Their result is the lead: the "lead" action of each day as Facebook reports it (zero is zero, not missing).
    days = sorted(r.day for r in tourists)
    reported = synced.client(session).ad_insights_daily([synced.boosts[1].fb_ad_id], since=days[0], until=days[-1])
    assert {r.day: r.results for r in tourists} == {r.day: r.actions.get("lead", 0) for r in reported}
    assert all(r.results <= r.link_clicks for r in tourists)


def test_post_rows_add_up_to_the_lifetime_figures(app, session, synced) -> None:
    """Readings on several days store growth; each post's rows add up to its latest lifetime viewers."""
    for _ in range(3):
        synced.control.advance(days=1)
        synced.run(app, session)
    client = synced.client(session)
    lifetime = client.post_insights([p.fb_post_id for p in synced.posts])
    for post in synced.posts:
        rows = session.exec(select(PostDailyMetric).where(PostDailyMetric.post_id == post.id)).all()
        assert sum(r.viewers for r in rows) == lifetime[post.fb_post_id].total_viewers
        total = session.exec(select(PostTotal).where(PostTotal.post_id == post.id)).one()
        assert total.viewers == lifetime[post.fb_post_id].total_viewers
        assert total.boosted == (post.id != synced.posts[2].id)


def test_weekly_and_lifetime_reach_are_period_queries(app, session, synced) -> None:
    """Weekly reach and lifetime reach come from Ads Insights period queries, below the sum of daily reach."""
    synced.control.advance(days=9)
    synced.run(app, session, force_daily=True)
    client = synced.client(session)
    boost = synced.boosts[0]
    total = session.exec(select(BoostTotal).where(BoostTotal.boost_id == boost.id)).one()
    daily = session.exec(select(AdDailyMetric).where(AdDailyMetric.boost_id == boost.id)).all()
    expected = client.ad_period_reach([boost.fb_ad_id], since=total.first_day, until=sandbox_now(synced.control).date())
    assert total.reach == expected[boost.fb_ad_id]
    assert total.reach < sum(r.reach for r in daily)
    weeks = session.exec(select(AdWeekReach).where(AdWeekReach.boost_id == boost.id)).all()
    assert weeks and all(w.reach <= total.reach for w in weeks)


@pytest.mark.parametrize("fault", [
    {"kind": "error_500", "count": 2},
    {"kind": "batch_null", "count": 3},
    {"kind": "bad_gateway", "count": 1},
])
def test_transient_faults_never_lose_nor_double_a_row(app, session, synced, fault) -> None:
    """With transient faults absorbed by retries, the stored rows equal those of a clean run."""
    synced.control.advance(days=3)
    synced.control.add_fault(**fault)
    synced.run(app, session, force_daily=True)
    synced.control.clear_faults()
    with_faults = rows_of(session, synced.world.territory.id)
    synced.run(app, session, force_daily=True)
    assert rows_of(session, synced.world.territory.id) == with_faults
    assert session.exec(select(AdDailyMetric)).all()


def test_throttling_rolls_back_and_the_next_run_completes(app, session, synced) -> None:
    """Throttled past the retry policy: the run raises, nothing is half-written, the next run stores everything."""
    synced.control.advance(days=3)
    synced.control.add_fault(kind="throttle", target=synced.ids["ad_account_id"], count=1, minutes=10)
    with pytest.raises(ThrottledError):
        synced.run(app, session, force_daily=True)
    session.rollback()
    assert rows_of(session, synced.world.territory.id) == []
    with scoped(session, synced.world.territory.id):
        assert session.exec(select(InsightsSync)).first() is None
    throttle_registry.clear()
    synced.run(app, session, force_daily=True)
    clean = rows_of(session, synced.world.territory.id)
    assert any(r.startswith("AdDailyMetric") for r in clean)
    synced.run(app, session, force_daily=True)
    assert rows_of(session, synced.world.territory.id) == clean


def test_expired_token_marks_the_connection_to_reconnect(app, session, synced) -> None:
    """Code 190 during the job: the connection is marked to reconnect and the territory skipped."""
    synced.control.add_fault(kind="expired_token")
    with app.app_context():
        summary = sync.sync_all(session=session, now=sandbox_now(synced.control))
    assert "valrive" in summary and "reconnect" in summary
    with scoped(session, synced.world.territory.id):
        assert get_connection(session=session).status == ConnectionStatus.TO_RECONNECT
    synced.control.clear_faults()
    with app.app_context():
        assert sync.sync_all(session=session).startswith("0 territory")


def test_running_boosts_hourly_everything_else_daily(app, session, synced) -> None:
    """After the day's first run, later runs that day read only the running boosts (no post, no Page)."""
    synced.control.advance(days=1)
    assert synced.run(app, session).daily
    synced.control.advance(hours=2)
    synced.control.reset_requests()
    second = synced.run(app, session)
    assert not second.daily and second.boosts == 2 and second.posts == 0
    endpoints = synced.control.requests()["by_endpoint"]
    assert not any("Post" in key or "Page}/insights" in key for key in endpoints)


def test_snapshots_at_day_1_7_and_28(app, session, synced) -> None:
    """Lifetime figures are frozen once at D+1, D+7 and D+28, never rewritten."""
    for days in (1, 6, 21):
        synced.control.advance(days=days)
        synced.run(app, session)
    post = synced.posts[2]
    snaps = {s.offset_days: s for s in session.exec(select(PostSnapshot).where(PostSnapshot.post_id == post.id))}
    assert set(snaps) == {1, 7, 28}
    assert snaps[1].viewers <= snaps[7].viewers <= snaps[28].viewers
    first = snaps[1].viewers
    synced.run(app, session, force_daily=True)
    session.expire_all()
    assert session.exec(select(PostSnapshot).where(PostSnapshot.post_id == post.id,
                                                   PostSnapshot.offset_days == 1)).one().viewers == first


def test_backfill_runs_step_by_step_with_progress(app, session, graph_sandbox) -> None:
    """A newly connected territory's past is fetched in steps; progress counts up to done."""
    world = build_world(session, "sorne")
    connect_sandbox(app, session, world.territory, graph_sandbox)
    graph_sandbox.control.advance(days=2)
    now = sandbox_now(graph_sandbox.control)
    with app.app_context(), scoped(session, world.territory.id):
        backfill = sync.start_backfill(session=session, territory=world.territory, days=70, now=now)
        session.commit()
        assert (backfill.steps_total, backfill.steps_done) == (4, 0)
        record = get_connection(session=session)
        client = FacebookClient(connection_of(record), RetryPolicy(sleep=lambda s: None))
        seen = []
        while backfill.status != BackfillStatus.DONE:
            backfill = sync.run_backfill_step(session=session, territory=world.territory, client=client, now=now)
            session.commit()
            seen.append(backfill.steps_done)
        assert seen == [1, 2, 3, 4]
        days = session.exec(select(PageDailyMetric)).all()
        assert len(days) >= 60  # the sandbox knows 120 days of follower history
        state = session.exec(select(InsightsSync)).one()
        assert state.covered_since == backfill.since
