"""How fast does the dashboard answer on a year of data, against aggregating the daily rows naively?

Generates, in a temporary SQLite database (or a fresh PostgreSQL database beside TEST_DATABASE_URL
when that is set, e.g. `postgresql+psycopg://postgres@127.0.0.1:5432/rayonne_bench`; either is removed
at the end), one territory with three years of history: 300 campaigns told to 3 of 9
audiences each (900 tracks), about 3,000 posts (each followed daily for a year), each boosted for
two weeks by its ad — about one million daily metric rows — inserted in bulk. The roll-ups are then
built by the same function the synchronisation calls after each run (`reports.sync.refresh_rollups`),
and the planner statistics gathered (`ANALYZE`; `VACUUM ANALYZE` on PostgreSQL, as autovacuum would).

Then, in the same run, over the last 52 ISO weeks:

* **naive** — one year's figures by track and ISO week straight from the daily rows in SQL
  (`GROUP BY track, week` over `post_daily_metric` and `ad_daily_metric`, plus the weekly reach);
* **data path** — `reports.dashboard.load` without charts (what the page computes);
* **page** — `GET /t/bench/?period=custom&since=…&until=…` through the test client, logged in
  (first request cold — charts drawn — then the median of warm requests, charts served from their cache).

It asserts that the figures of the data path equal the naive aggregation's, per week and per track.
Run from the repository root: ``python bench/dashboard.py``. Last line:
``RATIO <page time / naive aggregation> dashboard page / naive SQL aggregation``.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import select  # noqa: E402

POSTS_PER_CAMPAIGN = 10
CAMPAIGNS = 300
AUDIENCES = 9
TRACKS_PER_CAMPAIGN = 3
POST_DAYS = 365  # daily rows per post
BOOST_DAYS = 14
YEARS = 3
RUNS = 5


def database_url(tmp: str) -> str:
    """A SQLite file in `tmp`, or a fresh PostgreSQL database beside TEST_DATABASE_URL's (made here)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp}/bench.db"
    url = make_url(base)
    name = f"{url.database}_bench_dashboard"
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Remove the PostgreSQL database `database_url` made (a SQLite file goes with its directory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        _admin(parsed, f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def _admin(url, *statements: str) -> None:  # noqa: ANN001
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def timed(fn, runs: int = 3):  # noqa: ANN001, ANN201
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    logging.disable(logging.INFO)
    from alembic import command

    from app import alembic_config, create_app
    from core.settings import Settings

    tmp = tempfile.mkdtemp(prefix="rayonne-bench-")
    url = database_url(tmp)
    try:
        settings = Settings(_env_file=None, RAYONNE_ENV="test", DATABASE_URL=url, SECRET_KEY="bench-" + "x" * 40,
                            RAYONNE_ENCRYPTION_KEY=Fernet.generate_key().decode(), SMTP_HOST=None,
                            BASE_URL="http://bench.test")
        app = create_app(settings)
        try:
            with app.app_context():
                command.upgrade(alembic_config(url), "head")
                today = date(2026, 11, 29)  # a Sunday: the year below is 52 whole ISO weeks
                t0 = time.perf_counter()
                rows = generate(today)
                dialect = app.extensions["rayonne.engine"].dialect.name
                print(f"generated {rows:,} daily metric rows in {time.perf_counter() - t0:.1f} s ({dialect})")
                t0 = time.perf_counter()
                build_rollups()
                print(f"roll-ups built from the facts in {time.perf_counter() - t0:.1f} s")
                until = today
                since = until - timedelta(days=7 * 52 - 1)
                measure(app, since, until)
        finally:
            app.extensions["rayonne.engine"].dispose()
    finally:  # the database goes, even after a failure
        drop_database(url)
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------ generation


def generate(today: date) -> int:
    from accounts.models import Membership, Role, TerritoryCreate, UserCreate
    from accounts.services import SYSTEM, create_territory, create_user
    from campaigns.models import Campaign, ContentTrack, Post, PostStatus
    from core.db import get_engine, scoped, session_scope
    from reports.models import InsightsSync
    from targets.models import Audience, ResultType
    from targets.services import ensure_builtin_audiences

    rng = random.Random(6)
    start = today - timedelta(days=365 * YEARS)
    with session_scope() as session:
        territory = create_territory(session=session, data=TerritoryCreate(slug="bench", name="Bench"), actor=SYSTEM)
        ensure_builtin_audiences(session=session, territory=territory)
        user = create_user(session=session, data=UserCreate(email="bench@bench.test", name="Bench",
                                                            password="bench-password-1"))
        session.add(Membership(territory_id=territory.id, user_id=user.id, role=Role.ANALYST))
        tid = territory.id
        with scoped(session, tid):
            audiences = list(session.exec(select(Audience)).all())
            for n in range(AUDIENCES - len(audiences)):
                audience = Audience(territory_id=tid, key=f"public-{n}", name=f"Public {n}",
                                    result_type=ResultType.LINK_CLICK, result_value_minor=150)
                session.add(audience)
                audiences.append(audience)
            for a in audiences:
                a.result_value_minor = a.result_value_minor or 100
            session.flush()
            tracks = []
            for c in range(CAMPAIGNS):
                begins = start + timedelta(days=int(c * 365 * YEARS / CAMPAIGNS))
                campaign = Campaign(territory_id=tid, name=f"Campagne {c:03d}", starts_on=begins,
                                    ends_on=begins + timedelta(days=60), approved_budget_minor=500_000)
                session.add(campaign)
                session.flush()
                for k in range(TRACKS_PER_CAMPAIGN):
                    track = ContentTrack(territory_id=tid, campaign_id=campaign.id,
                                         audience_id=audiences[(c + k * 3) % AUDIENCES].id, budget_share_bp=3000)
                    session.add(track)
                    tracks.append((track, campaign))
            session.flush()
            posts = []
            for c, index in enumerate(range(0, len(tracks), TRACKS_PER_CAMPAIGN)):
                campaign_tracks = tracks[index:index + TRACKS_PER_CAMPAIGN]
                for p in range(POSTS_PER_CAMPAIGN):
                    track, campaign = campaign_tracks[p % TRACKS_PER_CAMPAIGN]
                    day = campaign.starts_on + timedelta(days=p * 5)
                    post = Post(territory_id=tid, track_id=track.id, message=f"Publication {c}-{p} " * 6,
                                status=PostStatus.PUBLISHED, published_at=datetime(day.year, day.month, day.day, 10,
                                                                                    tzinfo=UTC),
                                fb_post_id=f"1_{c}_{p}", copied_from_website=p % 4 == 0)
                    session.add(post)
                    posts.append((post, campaign, day))
            session.flush()
            session.add(InsightsSync(territory_id=tid, covered_since=start, synced_through=today))
            post_ids = [(p.id, p.track_id, campaign.id, day) for p, campaign, day in posts]
    engine = get_engine()
    count = 0
    with engine.begin() as conn:
        style = engine.dialect.paramstyle
        mark = "?" if style == "qmark" else "%s"

        def bulk(table: str, columns: tuple[str, ...], values: list[tuple]) -> None:  # noqa: ANN001
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
            for i in range(0, len(values), 20_000):
                conn.exec_driver_sql(sql, values[i:i + 20_000])

        now = datetime.now(UTC).replace(tzinfo=None)
        # Boosts (one per post) and their Facebook figures.
        boosts = []
        for post_id, track_id, campaign_id, day in post_ids:
            boosts.append((tid, "lifetime", 20_000, datetime(day.year, day.month, day.day, 12),
                           datetime(day.year, day.month, day.day, 12) + timedelta(days=BOOST_DAYS), "REACH", "{}",
                           post_id, track_id, campaign_id, "EUR", "completed", False, f"ad{post_id}", 0, "[]", now))
        bulk("boost", ("territory_id", "budget_kind", "budget_minor", "starts_at", "ends_at", "optimization_goal",
                       "targeting", "post_id", "track_id", "campaign_id", "currency", "status", "paused_by_pacing",
                       "fb_ad_id", "creation_attempts", "compliance_warnings", "created_at"), boosts)
        boost_ids = {post_id: boost_id for boost_id, post_id in conn.exec_driver_sql(
            "SELECT id, post_id FROM boost").fetchall()}
        post_rows, ad_rows, week_rows, totals = [], [], [], []
        for post_id, track_id, _campaign_id, day in post_ids:
            base = rng.randint(800, 2500)
            for d in range(POST_DAYS):
                when = day + timedelta(days=d)
                if when > today:
                    break
                viewers = max(1, int(base * 0.72 ** d)) + (1 if d % 7 == 0 else 0)
                post_rows.append((tid, post_id, when, viewers, viewers + viewers // 5, viewers // 2 if d < BOOST_DAYS
                                  else 0, viewers // 50, viewers // 30, viewers // 300, viewers // 600, now))
            boost_id = boost_ids[post_id]
            weekly: dict[date, int] = defaultdict(int)
            spend_total = reach_total = results_total = 0
            first = last = None
            for d in range(1, BOOST_DAYS + 1):
                when = day + timedelta(days=d)
                if when > today:
                    break
                spend = rng.randint(600, 1600)
                reach = spend + rng.randint(0, 800)
                clicks = reach // 40
                ad_rows.append((tid, boost_id, when, spend, reach, reach * 13 // 10, clicks, clicks * 2 // 3,
                                clicks * 2 // 3, now))
                weekly[when - timedelta(days=when.weekday())] += reach
                spend_total += spend
                reach_total += reach
                results_total += clicks * 2 // 3
                first, last = first or when, when
            for monday, reach in weekly.items():
                week_rows.append((tid, boost_id, monday, reach * 4 // 5, now))
            if first is not None:
                totals.append((tid, boost_id, post_id, track_id, first, last, spend_total, results_total,
                               reach_total * 3 // 5, today, now))
        bulk("post_daily_metric", ("territory_id", "post_id", "day", "viewers", "views_organic", "views_paid",
                                   "clicks", "reactions", "comments", "shares", "synced_at"), post_rows)
        bulk("ad_daily_metric", ("territory_id", "boost_id", "day", "spend_minor", "reach", "impressions", "clicks",
                                 "link_clicks", "results", "synced_at"), ad_rows)
        bulk("ad_week_reach", ("territory_id", "boost_id", "week_start", "reach", "synced_at"), week_rows)
        bulk("boost_total", ("territory_id", "boost_id", "post_id", "track_id", "first_day", "last_day", "spend_minor",
                             "results", "reach", "synced_through", "synced_at"), totals)
        followers, page_rows = 20_000.0, []
        for d in range(365 * YEARS + 1):
            followers *= 1.0004
            page_rows.append((tid, start + timedelta(days=d), int(followers), None, None, None, now))
        bulk("page_daily_metric", ("territory_id", "day", "followers", "viewers", "views_organic", "views_paid",
                                   "synced_at"), page_rows)
        count = len(post_rows) + len(ad_rows) + len(page_rows)
    return count


def build_rollups() -> None:
    from accounts.models import Territory
    from core.db import get_engine, scoped, session_scope
    from reports.sync import refresh_post_totals, refresh_rollups

    with session_scope() as session:
        territory = session.exec(select(Territory).where(Territory.slug == "bench")).one()
        with scoped(session, territory.id):
            refresh_rollups(session=session, territory_id=territory.id)
            refresh_post_totals(session=session, territory_id=territory.id)
    # Planner statistics (and, on PostgreSQL, the visibility map that index-only scans need), as a
    # production database's autovacuum keeps them. VACUUM cannot run inside a transaction.
    engine = get_engine()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


# ------------------------------------------------------------------------------------ timings


NAIVE = {
    "sqlite": "date(d.day, 'weekday 0', '-6 days')",
    "postgresql": "CAST(date_trunc('week', d.day) AS DATE)",
}


def naive_aggregation(conn, dialect: str, tid: int, since: date, until: date) -> dict:  # noqa: ANN001
    """One year by track and ISO week, straight from the daily rows."""
    week = NAIVE[dialect]
    out: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    posts = conn.execute(text(f"""
        SELECT p.track_id, {week} AS week, SUM(d.viewers), SUM(d.views_organic), SUM(d.views_paid),
               SUM(COALESCE(d.clicks, 0) + COALESCE(d.reactions, 0) + COALESCE(d.comments, 0) + COALESCE(d.shares, 0))
        FROM post_daily_metric d JOIN post p ON p.id = d.post_id
        WHERE d.territory_id = :tid AND d.day BETWEEN :since AND :until
        GROUP BY p.track_id, {week}"""), {"tid": tid, "since": since, "until": until}).fetchall()
    for track, wk, viewers, organic, paid, engagement in posts:
        slot = out[(track, str(wk)[:10])]
        slot.update(viewers=int(viewers), views_organic=int(organic), views_paid=int(paid), engagement=int(engagement))
    ads = conn.execute(text(f"""
        SELECT p.track_id, {week} AS week, SUM(d.spend_minor), SUM(d.impressions), SUM(d.results)
        FROM ad_daily_metric d JOIN boost b ON b.id = d.boost_id JOIN post p ON p.id = b.post_id
        WHERE d.territory_id = :tid AND d.day BETWEEN :since AND :until
        GROUP BY p.track_id, {week}"""), {"tid": tid, "since": since, "until": until}).fetchall()
    for track, wk, spend, impressions, results in ads:
        out[(track, str(wk)[:10])].update(spend=int(spend), impressions=int(impressions), results=int(results))
    reach = conn.execute(text("""
        SELECT p.track_id, r.week_start, SUM(r.reach)
        FROM ad_week_reach r JOIN boost b ON b.id = r.boost_id JOIN post p ON p.id = b.post_id
        WHERE r.territory_id = :tid AND r.week_start BETWEEN :since AND :until
        GROUP BY p.track_id, r.week_start"""), {"tid": tid, "since": since, "until": until}).fetchall()
    for track, wk, value in reach:
        out[(track, str(wk)[:10])]["paid_reach"] = int(value)
    return out


def measure(app, since: date, until: date) -> None:  # noqa: ANN001
    from accounts.models import Territory
    from core.db import get_engine, new_session
    from reports import dashboard

    engine = get_engine()
    with new_session("*") as session:
        tid = session.exec(select(Territory).where(Territory.slug == "bench")).one().id
    with engine.connect() as conn:
        naive_time, naive = timed(lambda: naive_aggregation(conn, engine.dialect.name, tid, since, until))
    print(f"naive aggregation of one year by track and week: {naive_time * 1000:.0f} ms "
          f"({len(naive):,} track-weeks)")

    session = new_session(tid)
    period = dashboard.Period("custom", since, until, "bench", args=(("period", "custom"),
                                                                       ("since", since.isoformat()),
                                                                       ("until", until.isoformat())))
    data_time, data = timed(lambda: dashboard.load(session, period, with_charts=False))
    print(f"dashboard data path (figures, tracks, weeks, posts, budget): {data_time * 1000:.0f} ms "
          f"({len(data.tracks)} tracks, {len(data.weeks)} weeks)")
    check(naive, data)

    client = app.test_client()
    from tests.conftest import CSRF_RE

    page = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    client.post("/login", data={"email": "bench@bench.test", "password": "bench-password-1", "csrf_token": token})
    url = f"/t/bench/?period=custom&since={since.isoformat()}&until={until.isoformat()}"
    start = time.perf_counter()
    response = client.get(url)
    cold = time.perf_counter() - start
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    total = sum(v.get("viewers", 0) for v in naive.values())
    shown = f"{total:,}".replace(",", "\u202f")
    assert shown in html, f"the page does not show the naive total of viewers {shown}"
    page_time, _ = timed(lambda: client.get(url), RUNS)
    print(f"dashboard page through the test client: cold {cold * 1000:.0f} ms (charts drawn), "
          f"warm median {page_time * 1000:.0f} ms (charts from their cache)")
    print(f"figures checked: every week and every track equal the naive aggregation; page total viewers {shown}")
    session.close()
    print(f"RATIO {page_time / naive_time:.3f} dashboard page / naive SQL aggregation")


def check(naive: dict, data) -> None:  # noqa: ANN001
    by_week: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_track: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (track, wk), values in naive.items():
        for key, value in values.items():
            by_week[wk][key] += value
            by_track[track][key] += value
    for week in data.weeks:
        expected = by_week.get(week.week_start.isoformat(), {})
        for key in ("viewers", "paid_reach", "views_organic", "views_paid", "engagement"):
            assert getattr(week, key) == expected.get(key, 0), (week.iso_week, key, getattr(week, key), expected)
        assert week.spend_minor == expected.get("spend", 0), week.iso_week
    tracks = {t.track_id: t for t in data.tracks}
    assert set(by_track) <= set(tracks), "a track with facts is missing from the dashboard"
    for track_id, expected in by_track.items():
        t = tracks[track_id]
        assert (t.viewers, t.views_organic, t.views_paid, t.engagement) == (
            expected["viewers"], expected["views_organic"], expected["views_paid"], expected["engagement"]), track_id
        assert (t.spend_minor, t.impressions, t.results) == (
            expected.get("spend", 0), expected.get("impressions", 0), expected.get("results", 0)), track_id
    assert data.figures.viewers == sum(v["viewers"] for v in by_track.values())
    assert data.figures.spend_minor == sum(v.get("spend", 0) for v in by_track.values())


if __name__ == "__main__":
    main()
