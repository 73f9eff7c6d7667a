"""Insights synchronisation: daily facts from Facebook into the fact tables, and the roll-ups behind them.

What is stored, keyed by object and day, with upserts (a rerun changes nothing, a retry never doubles a row):

* `AdDailyMetric` per boost and day, from Ads Insights (`ad_insights_daily`: one request per 50 ads,
  an asynchronous report run for long ranges). Spend arrives converted exactly (`Decimal`) to minor
  units by the client; the boost's result is its audience's result type counted from `actions`.
* `AdWeekReach` per boost and ISO week, and the boost's lifetime reach in `BoostTotal`: reach is
  de-duplicated only within one query, so each period Rayonne shows is queried as a period
  (`ad_period_reach`), never added up from days.
* `PageDailyMetric` per day: followers, unique viewers, views organic / paid (`page_insights`, batched).
* `PostDailyMetric` per post and day. Facebook gives post metrics as **lifetime** totals only, so each
  reading stores the growth since the previous readings, on the day of the reading (the first reading
  of a post on its publication day): the rows of a post always add up to its latest lifetime figures.
  Readings are batched (`post_insights`, 50 posts per request).
* `PostSnapshot` at D+1, D+7 and D+28: the lifetime figures frozen (Meta keeps them two years).

Cadence (`reports.jobs.sync_insights`, hourly): running boosts every hour, everything else once a day
(`InsightsSync.last_daily_at`). Each run re-reads the last `RECENT_DAYS` days, since Facebook revises
recent figures, and catches up from the last synchronised day after an outage. A failure (throttling
past the retry policy, a fault) raises before the markers move, the caller rolls the territory back,
and the next run reads the same days again: nothing is lost, nothing doubled.

The roll-ups (`PostWeekMetric`, `TrackWeekMetric`, `TerritoryWeekMetric`, the blocks of four weeks
`PostBlockMetric` and `TrackBlockMetric`, `BoostTotal`, `PostTotal`) are recomputed from the facts for the
weeks a run touched, so the dashboard reads a few thousand rows for a year.

Historic **backfill** (`start_backfill`, `run_backfill_step`): a newly connected territory's past year,
30 days per step, with its progress in `InsightsBackfill`.

Services: flush, never commit. Calls Facebook: yes (through the territory's client).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Integer, cast, delete, func, insert, literal, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from accounts.models import Territory
from campaigns.models import ContentTrack, Post, PostStatus
from core.db import ALL, scoped, utc_now
from facebook import AdDay, AuthError, FacebookClient, FacebookError, PostMetrics
from reports.metrics import BLOCK_DAYS, BLOCK_EPOCH, block_start, engagement_expr, week_start, weeks_between
from reports.models import (
    AdDailyMetric,
    AdWeekReach,
    BackfillStatus,
    BoostTotal,
    InsightsBackfill,
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
from sponsored.models import Boost, BoostStatus
from targets.models import Audience, ResultType

logger = logging.getLogger(__name__)

RECENT_DAYS = 3  # days re-read on every run: Facebook revises recent figures
BOOST_TAIL_DAYS = 3  # a boost's figures are still read this many days after its end
POST_FOLLOW_DAYS = 30  # posts are read daily until D+30 (after the D+28 snapshot)
SNAPSHOT_OFFSETS = (1, 7, 28)
BACKFILL_DAYS = 365
BACKFILL_STEP_DAYS = 30
MAX_CATCH_UP_DAYS = 90
#: Boosts that may have delivered (the others never reached Facebook or were refused).
DELIVERING = (BoostStatus.ACTIVE, BoostStatus.PAUSED, BoostStatus.COMPLETED, BoostStatus.STOPPED)
#: The Ads Insights action type that counts as the result of each audience's result type.
RESULT_ACTIONS = {
    ResultType.LINK_CLICK: "link_click",
    ResultType.LANDING_PAGE_VIEW: "landing_page_view",
    ResultType.LEAD: "lead",
    ResultType.ENGAGEMENT: "post_engagement",
}
POST_FIELDS = ("viewers", "views_organic", "views_paid", "clicks", "reactions", "comments", "shares")


@dataclass
class SyncResult:
    """What one run did (the job's one-line summary)."""

    daily: bool = False
    boosts: int = 0
    ad_rows: int = 0
    page_days: int = 0
    posts: int = 0
    post_rows: int = 0
    snapshots: int = 0
    weeks: set[date] = field(default_factory=set)

    def summary(self) -> str:
        kind = "daily" if self.daily else "hourly"
        return (f"{kind}: {self.boosts} boost(s), {self.ad_rows} ad day(s), {self.page_days} page day(s), "
                f"{self.posts} post(s), {self.post_rows} post row(s), {self.snapshots} snapshot(s)")


# ============================================================================================ upsert


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def upsert(session: Session, model: type, rows: Sequence[dict[str, Any]], keys: Sequence[str], *,
           update: bool = True) -> None:
    """Insert rows, or update the existing row with the same `keys` — only when a value differs, so a
    rerun with the same figures changes nothing (not even `synced_at`). `update=False` keeps the existing
    row (snapshots are taken once)."""
    if not rows:
        return
    table = model.__table__
    stmt = _insert(session, table)
    if update:
        values = [c for c in rows[0] if c not in keys and c not in ("territory_id", "synced_at")]
        set_ = {c: stmt.excluded[c] for c in values}
        if "synced_at" in rows[0]:
            set_["synced_at"] = stmt.excluded["synced_at"]
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_=set_,
            where=or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in values)),
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    for start in range(0, len(rows), 500):
        session.execute(stmt, list(rows[start:start + 500]))


# ============================================================================================ markers


def sync_state(*, session: Session, territory: Territory) -> InsightsSync:
    """The territory's sync markers (created on first use). Commits: no."""
    state = session.exec(select(InsightsSync).where(InsightsSync.territory_id == territory.id)).first()
    if state is None:
        state = InsightsSync(territory_id=territory.id)
        session.add(state)
        session.flush()
    return state


def record_failure(*, session: Session, territory: Territory, error: BaseException) -> None:
    """Note the last failure on the markers (shown on the synchronisation page). Commits: no."""
    state = sync_state(session=session, territory=territory)
    state.last_error = f"{type(error).__name__}: {error}"[:1000]
    state.last_error_at = utc_now()
    session.add(state)


# ============================================================================================ the run


def sync_territory(*, session: Session, territory: Territory, client: FacebookClient | None = None,
                   now: datetime | None = None, force_daily: bool = False) -> SyncResult:
    """One synchronisation run for the territory the session is scoped to. Calls Facebook: read.

    Running boosts every time; Page, posts and the other boosts when the daily part is due.
    :raise FacebookError: on a failure the retry policy could not absorb (nothing has moved the markers).
    """
    from accounts.connection import client_for

    now = now or utc_now()
    today = now.date()
    client = client or client_for(session=session)
    state = sync_state(session=session, territory=territory)
    daily = force_daily or state.last_daily_at is None or state.last_daily_at.date() < today
    since = today - timedelta(days=RECENT_DAYS)
    if daily and state.synced_through is not None:
        since = max(min(since, state.synced_through - timedelta(days=RECENT_DAYS)),
                    today - timedelta(days=MAX_CATCH_UP_DAYS))
    result = SyncResult(daily=daily)
    boosts = _boosts_to_read(session, now, since, running_only=not daily)
    _sync_ads(session, client, territory, boosts, since, today, result, lifetime_until=today)
    if daily:
        _sync_page(session, client, territory, since, today, result)
        posts = _posts_to_read(session, now, {b.post_id for b in boosts})
        _sync_posts(session, client, territory, posts, now, result)
    refresh_rollups(session=session, territory_id=territory.id, since=since, until=today)
    state.last_hourly_at = now
    if daily:
        state.last_daily_at = now
        state.synced_through = today
        state.covered_since = min(state.covered_since or since, since)
    state.last_error = None
    session.add(state)
    session.flush()
    return result


def _boosts_to_read(session: Session, now: datetime, since: date, *, running_only: bool) -> list[Boost]:
    query = select(Boost).where(Boost.fb_ad_id.is_not(None), Boost.starts_at <= now)
    if running_only:
        query = query.where(Boost.status == BoostStatus.ACTIVE, Boost.ends_at >= now - timedelta(days=1))
    else:
        start = datetime.combine(since - timedelta(days=BOOST_TAIL_DAYS), time(0), UTC)
        query = query.where(Boost.status.in_(DELIVERING), Boost.ends_at >= start)
    return list(session.exec(query.order_by(Boost.id)).all())


def _posts_to_read(session: Session, now: datetime, boosted: set[int]) -> list[Post]:
    recent = now - timedelta(days=POST_FOLLOW_DAYS)
    condition = Post.published_at >= recent
    if boosted:
        condition = or_(condition, Post.id.in_(boosted))
    return list(session.exec(
        select(Post).where(Post.fb_post_id.is_not(None), Post.published_at.is_not(None),
                           Post.status == PostStatus.PUBLISHED, condition).order_by(Post.id)
    ).all())


# ============================================================================================ ads


def count_results(day: AdDay, result_type: ResultType) -> int | None:
    """The audience's result counted from the day's `actions` (absent = 0: Facebook omits zero actions);
    `None` for a reach audience, whose result is the de-duplicated paid reach itself."""
    action = RESULT_ACTIONS.get(result_type)
    if action is None:
        return None
    return int(day.actions.get(action, 0))


def _result_types(session: Session, boosts: Iterable[Boost]) -> dict[int, ResultType]:
    track_ids = {b.track_id for b in boosts}
    if not track_ids:
        return {}
    rows = session.exec(select(ContentTrack.id, Audience.result_type)
                        .join(Audience, Audience.id == ContentTrack.audience_id)
                        .where(ContentTrack.id.in_(track_ids))).all()
    by_track = {track_id: ResultType(kind) for track_id, kind in rows}
    return {b.id: by_track.get(b.track_id, ResultType.LINK_CLICK) for b in boosts}


def _sync_ads(session: Session, client: FacebookClient, territory: Territory, boosts: list[Boost], since: date,
              until: date, result: SyncResult, *, lifetime_until: date | None) -> None:
    """Daily rows, weekly reach and (with `lifetime_until`) lifetime reach of `boosts` over [since, until]."""
    if not boosts:
        return
    by_ad = {str(b.fb_ad_id): b for b in boosts}
    kinds = _result_types(session, boosts)
    read = set(session.exec(select(BoostTotal.boost_id).where(
        BoostTotal.territory_id == territory.id, BoostTotal.boost_id.in_([b.id for b in boosts]),
        BoostTotal.synced_through.is_not(None))).all())
    never_read = [b.starts_at.date() for b in boosts if b.id not in read]  # a new boost: read from its start
    fetch_since = min([max(since, min(b.starts_at.date() for b in boosts)), *never_read])
    now = utc_now()
    rows = []
    if fetch_since <= until:
        for day in client.ad_insights_daily(list(by_ad), since=fetch_since, until=until):
            boost = by_ad.get(day.ad_id)
            if boost is None:
                continue
            rows.append({
                "territory_id": territory.id, "boost_id": boost.id, "day": day.day, "spend_minor": day.spend_minor,
                "reach": day.reach, "impressions": day.impressions, "clicks": day.clicks,
                "link_clicks": day.link_clicks, "results": count_results(day, kinds[boost.id]), "synced_at": now,
            })
    upsert(session, AdDailyMetric, rows, ("boost_id", "day"))
    result.boosts += len(boosts)
    result.ad_rows += len(rows)
    # Weekly reach, each week queried as one period (daily reach does not add up).
    weeks = weeks_between(fetch_since, until) if fetch_since <= until else []
    reach_rows = []
    today = utc_now().date() if lifetime_until is None else lifetime_until
    for monday in weeks:
        live = [ad for ad, b in by_ad.items() if b.starts_at.date() <= monday + timedelta(days=6)]
        if not live:
            continue
        reach = client.ad_period_reach(live, since=monday, until=min(monday + timedelta(days=6), max(until, today)))
        reach_rows += [{"territory_id": territory.id, "boost_id": by_ad[ad].id, "week_start": monday,
                        "reach": value, "synced_at": now} for ad, value in reach.items() if ad in by_ad]
        result.weeks.add(monday)
    upsert(session, AdWeekReach, reach_rows, ("boost_id", "week_start"))
    lifetime: dict[int, int] | None = None
    if lifetime_until is not None:
        start = min(b.starts_at.date() for b in boosts)
        lifetime = {by_ad[ad].id: value for ad, value in
                    client.ad_period_reach(list(by_ad), since=start, until=lifetime_until).items() if ad in by_ad}
    refresh_boost_totals(session=session, territory_id=territory.id, boosts=boosts, lifetime_reach=lifetime,
                         synced_through=until)


def refresh_boost_totals(*, session: Session, territory_id: int, boosts: Sequence[Boost],
                         lifetime_reach: dict[int, int] | None, synced_through: date | None) -> None:
    """Recompute `BoostTotal` of `boosts` from their daily rows (and the lifetime reach when given).

    A boost whose delivery lies in a single ISO week gets that week's reach equal to its lifetime reach:
    both are the same de-duplicated count, so the weekly series and the period figures agree.
    """
    if not boosts:
        return
    ids = [b.id for b in boosts]
    sums = {row.boost_id: row for row in session.exec(
        select(AdDailyMetric.boost_id, func.min(AdDailyMetric.day).label("first_day"),
               func.max(AdDailyMetric.day).label("last_day"), func.sum(AdDailyMetric.spend_minor).label("spend"),
               func.sum(AdDailyMetric.impressions).label("impressions"),
               func.sum(AdDailyMetric.results).label("results"))
        .where(AdDailyMetric.territory_id == territory_id, AdDailyMetric.boost_id.in_(ids))
        .group_by(AdDailyMetric.boost_id))}
    existing = {t.boost_id: t for t in session.exec(select(BoostTotal).where(
        BoostTotal.territory_id == territory_id, BoostTotal.boost_id.in_(ids)))}
    now = utc_now()
    rows, same_week = [], []
    for boost in boosts:
        row = sums.get(boost.id)
        old = existing.get(boost.id)
        reach = (lifetime_reach.get(boost.id, 0 if row is None else None) if lifetime_reach is not None
                 else (old.reach if old else None))
        if lifetime_reach is not None and row is not None and reach is None:
            reach = old.reach if old else None
        first = _as_date(row.first_day) if row else None
        last = _as_date(row.last_day) if row else None
        rows.append({"territory_id": territory_id, "boost_id": boost.id, "post_id": boost.post_id,
                     "track_id": boost.track_id, "first_day": first, "last_day": last,
                     "spend_minor": int(row.spend or 0) if row else 0,
                     "impressions": int(row.impressions or 0) if row else 0,
                     "results": int(row.results) if row and row.results is not None else None,
                     "reach": reach, "synced_through": max(filter(None, (synced_through, old and old.synced_through)),
                                                           default=None), "synced_at": now})
        if first and last and week_start(first) == week_start(last) and reach is not None:
            same_week.append({"territory_id": territory_id, "boost_id": boost.id, "week_start": week_start(first),
                              "reach": reach, "synced_at": now})
    upsert(session, BoostTotal, rows, ("boost_id",))
    upsert(session, AdWeekReach, same_week, ("boost_id", "week_start"))


# ============================================================================================ page


def _sync_page(session: Session, client: FacebookClient, territory: Territory, since: date, until: date,
               result: SyncResult) -> None:
    now = utc_now()
    rows = [{"territory_id": territory.id, "day": day.day, "followers": day.followers, "viewers": day.viewers,
             "views_organic": day.views_organic, "views_paid": day.views_paid, "synced_at": now}
            for day in client.page_insights(since=since, until=until)
            if any(v is not None for v in (day.followers, day.viewers, day.views_organic, day.views_paid))]
    upsert(session, PageDailyMetric, rows, ("territory_id", "day"))
    result.page_days += len(rows)


# ============================================================================================ posts


def _metric_values(metrics: PostMetrics) -> dict[str, int | None]:
    return {"viewers": metrics.total_viewers, "views_organic": metrics.views_organic,
            "views_paid": metrics.views_paid, "clicks": metrics.clicks, "reactions": metrics.reactions,
            "comments": metrics.comments, "shares": metrics.shares}


def post_growth_rows(*, lifetime: dict[str, int | None], earlier: dict[str, int | None] | None,
                     today_row: dict[str, int | None] | None) -> dict[str, int | None] | None:
    """Today's row for a post: lifetime − the sum of its rows before today (per metric; a metric
    Facebook did not give stays `None`). `None` when nothing grew and no row exists for today (a rerun
    writes nothing). Pure."""
    values = {}
    for name in POST_FIELDS:
        total = lifetime.get(name)
        values[name] = None if total is None else total - ((earlier or {}).get(name) or 0)
    if today_row is None and all(not v for v in values.values()):
        return None
    return values


def _sync_posts(session: Session, client: FacebookClient, territory: Territory, posts: list[Post], now: datetime,
                result: SyncResult, *, first_reading_on_publish_day: bool = True) -> None:
    if not posts:
        return
    today = now.date()
    by_fb = {str(p.fb_post_id): p for p in posts}
    readings = client.post_insights(list(by_fb))
    ids = [p.id for p in posts]
    earlier: dict[int, dict[str, int | None]] = {}
    today_rows: dict[int, dict[str, int | None]] = {}
    any_rows: set[int] = set()
    for chunk in _chunks(ids, 500):
        for row in session.exec(
            select(PostDailyMetric.post_id, PostDailyMetric.day,
                   *(getattr(PostDailyMetric, n) for n in POST_FIELDS))
            .where(PostDailyMetric.territory_id == territory.id, PostDailyMetric.post_id.in_(chunk))
        ):
            any_rows.add(row.post_id)
            if _as_date(row.day) >= today:
                today_rows[row.post_id] = {n: getattr(row, n) for n in POST_FIELDS}
                continue
            acc = earlier.setdefault(row.post_id, {})
            for name in POST_FIELDS:
                value = getattr(row, name)
                if value is not None:
                    acc[name] = (acc.get(name) or 0) + value
    rows = []
    for fb_id, post in by_fb.items():
        metrics = readings.get(fb_id)
        if metrics is None:
            continue
        lifetime = _metric_values(metrics)
        published = post.published_at.date() if post.published_at else today
        if first_reading_on_publish_day and post.id not in any_rows and published < today:
            day, values = published, lifetime
            if all(not v for v in values.values()):
                continue
        else:
            day = today
            values = post_growth_rows(lifetime=lifetime, earlier=earlier.get(post.id),
                                      today_row=today_rows.get(post.id))
            if values is None:
                continue
        rows.append({"territory_id": territory.id, "post_id": post.id, "day": day, **values, "synced_at": utc_now()})
    upsert(session, PostDailyMetric, rows, ("post_id", "day"))
    result.posts += len(posts)
    result.post_rows += len(rows)
    result.weeks |= {week_start(r["day"]) for r in rows}
    # Snapshots at D+1, D+7, D+28 (taken once, when first due).
    existing = set(session.exec(select(PostSnapshot.post_id, PostSnapshot.offset_days)
                                .where(PostSnapshot.territory_id == territory.id, PostSnapshot.post_id.in_(ids))).all())
    paid = dict(session.exec(select(BoostTotal.post_id, func.sum(BoostTotal.reach))
                             .where(BoostTotal.territory_id == territory.id, BoostTotal.post_id.in_(ids))
                             .group_by(BoostTotal.post_id)).all())
    snapshots = []
    for fb_id, post in by_fb.items():
        metrics = readings.get(fb_id)
        if metrics is None or post.published_at is None:
            continue
        for offset in SNAPSHOT_OFFSETS:
            if (post.id, offset) in existing or now < post.published_at + timedelta(days=offset):
                continue
            if now > post.published_at + timedelta(days=offset + 2) and offset < max(SNAPSHOT_OFFSETS):
                continue  # a missed early snapshot is not taken late: it would not be a D+offset figure
            snapshots.append({"territory_id": territory.id, "post_id": post.id, "offset_days": offset,
                              "viewers": metrics.total_viewers, "views_organic": metrics.views_organic,
                              "views_paid": metrics.views_paid, "paid_reach": paid.get(post.id), "taken_at": now})
    upsert(session, PostSnapshot, snapshots, ("post_id", "offset_days"), update=False)
    result.snapshots += len(snapshots)
    refresh_post_totals(session=session, territory_id=territory.id, post_ids=ids)


def refresh_post_totals(*, session: Session, territory_id: int, post_ids: Sequence[int] | None = None) -> None:
    """Recompute `PostTotal` (lifetime sums, boosted flag, followers at publication) for these posts
    (all the territory's posts with facts when `None`)."""
    query = select(PostDailyMetric.post_id, *(func.sum(getattr(PostDailyMetric, n)).label(n) for n in POST_FIELDS)
                   ).where(PostDailyMetric.territory_id == territory_id).group_by(PostDailyMetric.post_id)
    if post_ids is not None:
        if not post_ids:
            return
        query = query.where(PostDailyMetric.post_id.in_(list(post_ids)))
    sums = {row.post_id: row for row in session.exec(query)}
    ids = list(sums)
    if not ids:
        return
    posts: dict[int, Post] = {}
    for chunk in _chunks(ids, 500):
        posts.update({p.id: p for p in session.exec(select(Post).where(Post.territory_id == territory_id,
                                                                         Post.id.in_(chunk)))})
    boosted = set()
    for chunk in _chunks(ids, 500):
        boosted |= set(session.exec(select(BoostTotal.post_id).where(
            BoostTotal.territory_id == territory_id, BoostTotal.post_id.in_(chunk),
            BoostTotal.first_day.is_not(None))).all())
    followers = sorted(session.exec(select(PageDailyMetric.day, PageDailyMetric.followers).where(
        PageDailyMetric.territory_id == territory_id, PageDailyMetric.followers.is_not(None))).all())
    days = [_as_date(d) for d, _ in followers]
    now = utc_now()
    rows = []
    for post_id, row in sums.items():
        post = posts.get(post_id)
        if post is None:
            continue
        published = post.published_at.date() if post.published_at else None
        at_publish = None
        if published is not None and days:
            index = _bisect_right(days, published) - 1
            at_publish = followers[index][1] if index >= 0 else followers[0][1]
        parts = [row.clicks, row.reactions, row.comments, row.shares]
        engagement = None if all(p is None for p in parts) else sum(int(p or 0) for p in parts)
        rows.append({"territory_id": territory_id, "post_id": post_id, "track_id": post.track_id,
                     "published_on": published, "boosted": post_id in boosted,
                     "viewers": _int(row.viewers), "views_organic": _int(row.views_organic),
                     "views_paid": _int(row.views_paid), "engagement": engagement,
                     "followers_at_publish": at_publish, "synced_at": now})
    upsert(session, PostTotal, rows, ("post_id",))


# ============================================================================================ roll-ups


def _week_expr(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.cast(func.date_trunc("week", column), AdDailyMetric.__table__.c.day.type)
    return func.date(column, "weekday 0", "-6 days")


def _block_expr(session: Session, column: Any) -> Any:
    """SQL: the start of the block of four ISO weeks (`metrics.block_start`) of a week's Monday."""
    if session.get_bind().dialect.name == "postgresql":  # date − date is a number of days, date − days a date
        return column - (column - literal(BLOCK_EPOCH, Date)) % BLOCK_DAYS
    days = cast(func.julianday(column) - func.julianday(BLOCK_EPOCH.isoformat()), Integer) % BLOCK_DAYS
    return func.date(column, func.printf("-%d days", days))


def refresh_rollups(*, session: Session, territory_id: int, since: date | None = None,
                    until: date | None = None) -> int:
    """Recompute `PostWeekMetric`, `TrackWeekMetric` and `TerritoryWeekMetric` for the ISO weeks meeting
    [since, until] (all weeks when both are `None`) from the daily facts and the weekly reach, then the
    blocks of four weeks those weeks are in (`PostBlockMetric`, `TrackBlockMetric`) from all of their
    weeks. Idempotent. Returns the number of post-week rows written."""
    lo = week_start(since) if since else None
    hi = week_start(until) + timedelta(days=6) if until else None

    def within(column: Any, is_week: bool = False) -> list[Any]:
        out = []
        if lo is not None:
            out.append(column >= lo)
        if hi is not None:
            out.append(column <= (week_start(hi) if is_week else hi))
        return out

    for model in (PostWeekMetric, TrackWeekMetric, TerritoryWeekMetric):
        session.execute(delete(model).where(model.territory_id == territory_id, *within(model.week_start, True)))
    acc: dict[tuple[int, date], dict[str, Any]] = {}

    def slot(post_id: int, track_id: int, monday: Any) -> dict[str, Any]:
        key = (post_id, _as_date(monday))
        if key not in acc:
            acc[key] = {"territory_id": territory_id, "post_id": post_id, "track_id": track_id, "week_start": key[1],
                        "viewers": None, "views_organic": None, "views_paid": None, "engagement": None,
                        "spend_minor": None, "impressions": None, "results": None, "paid_reach": None,
                        "post_rows": 0, "ad_rows": 0}
        return acc[key]

    week = _week_expr(session, PostDailyMetric.day)
    for row in session.exec(
        select(PostDailyMetric.post_id, Post.track_id, week.label("week"),
               func.sum(PostDailyMetric.viewers).label("viewers"),
               func.sum(PostDailyMetric.views_organic).label("views_organic"),
               func.sum(PostDailyMetric.views_paid).label("views_paid"),
               func.sum(engagement_expr(PostDailyMetric)).label("engagement"), func.count().label("n"))
        .join(Post, Post.id == PostDailyMetric.post_id)
        .where(PostDailyMetric.territory_id == territory_id, *within(PostDailyMetric.day))
        .group_by(PostDailyMetric.post_id, Post.track_id, week)
    ):
        target = slot(row.post_id, row.track_id, row.week)
        for name in ("viewers", "views_organic", "views_paid", "engagement"):
            target[name] = _int(getattr(row, name))
        target["post_rows"] = int(row.n)
    week = _week_expr(session, AdDailyMetric.day)
    for row in session.exec(
        select(Boost.post_id, Post.track_id, week.label("week"),
               func.sum(AdDailyMetric.spend_minor).label("spend_minor"),
               func.sum(AdDailyMetric.impressions).label("impressions"),
               func.sum(AdDailyMetric.results).label("results"), func.count().label("n"))
        .join(Boost, Boost.id == AdDailyMetric.boost_id).join(Post, Post.id == Boost.post_id)
        .where(AdDailyMetric.territory_id == territory_id, *within(AdDailyMetric.day))
        .group_by(Boost.post_id, Post.track_id, week)
    ):
        target = slot(row.post_id, row.track_id, row.week)
        for name in ("spend_minor", "impressions", "results"):
            target[name] = _int(getattr(row, name))
        target["ad_rows"] = int(row.n)
    for row in session.exec(
        select(Boost.post_id, Post.track_id, AdWeekReach.week_start, func.sum(AdWeekReach.reach).label("reach"))
        .join(Boost, Boost.id == AdWeekReach.boost_id).join(Post, Post.id == Boost.post_id)
        .where(AdWeekReach.territory_id == territory_id, *within(AdWeekReach.week_start, True))
        .group_by(Boost.post_id, Post.track_id, AdWeekReach.week_start)
    ):
        slot(row.post_id, row.track_id, row.week_start)["paid_reach"] = _int(row.reach)
    rows = list(acc.values())
    for start in range(0, len(rows), 1000):
        session.execute(insert(PostWeekMetric.__table__), rows[start:start + 1000])
    sums = [func.sum(getattr(PostWeekMetric, n)) for n in ("viewers", "views_organic", "views_paid", "engagement",
                                                           "spend_minor", "impressions", "results", "paid_reach",
                                                           "post_rows", "ad_rows")]
    columns = ["territory_id", "track_id", "week_start", "viewers", "views_organic", "views_paid", "engagement",
               "spend_minor", "impressions", "results", "paid_reach", "post_rows", "ad_rows"]
    session.execute(insert(TrackWeekMetric.__table__).from_select(columns, select(
        PostWeekMetric.territory_id, PostWeekMetric.track_id, PostWeekMetric.week_start, *sums)
        .where(PostWeekMetric.territory_id == territory_id, *within(PostWeekMetric.week_start, True))
        .group_by(PostWeekMetric.territory_id, PostWeekMetric.track_id, PostWeekMetric.week_start)))
    track_sums = [func.sum(getattr(TrackWeekMetric, name)) for name in columns[3:]]
    session.execute(insert(TerritoryWeekMetric.__table__).from_select(
        ["territory_id", "week_start", *columns[3:]],
        select(TrackWeekMetric.territory_id, TrackWeekMetric.week_start, *track_sums)
        .where(TrackWeekMetric.territory_id == territory_id, *within(TrackWeekMetric.week_start, True))
        .group_by(TrackWeekMetric.territory_id, TrackWeekMetric.week_start)))
    _refresh_blocks(session, territory_id, block_start(lo) if lo else None, block_start(hi) if hi else None)
    session.flush()
    return len(rows)


def _refresh_blocks(session: Session, territory_id: int, first: date | None, last: date | None) -> None:
    """Recompute the blocks of four weeks starting from `first` to `last` (all when `None`) from the weekly
    roll-ups of all their weeks."""

    def within(column: Any, end: int = 0) -> list[Any]:
        return ([column >= first] if first else []) + ([column <= last + timedelta(days=end)] if last else [])

    for model in (PostBlockMetric, TrackBlockMetric):
        session.execute(delete(model).where(model.territory_id == territory_id, *within(model.block_start)))
    block = _block_expr(session, PostWeekMetric.week_start)
    session.execute(insert(PostBlockMetric.__table__).from_select(
        ["territory_id", "post_id", "track_id", "block_start", "viewers", "post_rows"],
        select(PostWeekMetric.territory_id, PostWeekMetric.post_id, PostWeekMetric.track_id, block,
               func.sum(PostWeekMetric.viewers), func.sum(PostWeekMetric.post_rows))
        .where(PostWeekMetric.territory_id == territory_id, *within(PostWeekMetric.week_start, BLOCK_DAYS - 7))
        .group_by(PostWeekMetric.territory_id, PostWeekMetric.post_id, PostWeekMetric.track_id, block)))
    names = ["viewers", "views_organic", "views_paid", "engagement", "spend_minor", "impressions", "results",
             "post_rows", "ad_rows"]
    block = _block_expr(session, TrackWeekMetric.week_start)
    session.execute(insert(TrackBlockMetric.__table__).from_select(
        ["territory_id", "track_id", "block_start", *names],
        select(TrackWeekMetric.territory_id, TrackWeekMetric.track_id, block,
               *(func.sum(getattr(TrackWeekMetric, name)) for name in names))
        .where(TrackWeekMetric.territory_id == territory_id, *within(TrackWeekMetric.week_start, BLOCK_DAYS - 7))
        .group_by(TrackWeekMetric.territory_id, TrackWeekMetric.track_id, block)))


# ============================================================================================ backfill


def start_backfill(*, session: Session, territory: Territory, days: int = BACKFILL_DAYS,
                   now: datetime | None = None) -> InsightsBackfill:
    """Plan (or restart) the historic backfill of the territory's last `days` days. Commits: no."""
    today = (now or utc_now()).date()
    since, until = today - timedelta(days=days), today - timedelta(days=1)
    backfill = session.exec(select(InsightsBackfill).where(InsightsBackfill.territory_id == territory.id)).first()
    if backfill is None:
        backfill = InsightsBackfill(territory_id=territory.id, since=since, until=until, next_day=since)
    backfill.since, backfill.until, backfill.next_day = since, until, since
    backfill.status = BackfillStatus.PENDING
    backfill.steps_total = math.ceil(days / BACKFILL_STEP_DAYS) + 1
    backfill.steps_done = 0
    backfill.error = None
    backfill.started_at = backfill.finished_at = None
    session.add(backfill)
    session.flush()
    return backfill


def get_backfill(*, session: Session) -> InsightsBackfill | None:
    """The current territory's backfill, if one was ever planned."""
    return session.exec(select(InsightsBackfill)).first()


def run_backfill_step(*, session: Session, territory: Territory, client: FacebookClient | None = None,
                      now: datetime | None = None) -> InsightsBackfill | None:
    """Do the next step of the territory's backfill: 30 days of Page and ad facts, or, last, the posts'
    lifetime readings and the boosts' lifetime reach. Returns the backfill (None if there is none).
    Calls Facebook: read. Commits: no (commit after each step: the progress is what the page shows)."""
    from accounts.connection import client_for

    backfill = session.exec(select(InsightsBackfill).where(InsightsBackfill.territory_id == territory.id)).first()
    if backfill is None or backfill.status in (BackfillStatus.DONE, BackfillStatus.FAILED):
        return backfill
    now = now or utc_now()
    client = client or client_for(session=session)
    result = SyncResult(daily=True)
    if backfill.status == BackfillStatus.PENDING:
        backfill.status, backfill.started_at = BackfillStatus.RUNNING, now
    if backfill.next_day <= backfill.until:
        lo = backfill.next_day
        hi = min(backfill.until, lo + timedelta(days=BACKFILL_STEP_DAYS - 1))
        _sync_page(session, client, territory, lo, hi, result)
        start = datetime.combine(lo - timedelta(days=BOOST_TAIL_DAYS), time(0), UTC)
        end = datetime.combine(hi + timedelta(days=1), time(0), UTC)
        boosts = list(session.exec(select(Boost).where(
            Boost.fb_ad_id.is_not(None), Boost.status.in_(DELIVERING), Boost.starts_at < end, Boost.ends_at >= start)
            .order_by(Boost.id)).all())
        _sync_ads(session, client, territory, boosts, lo, hi, result, lifetime_until=None)
        refresh_rollups(session=session, territory_id=territory.id, since=lo, until=hi)
        backfill.next_day = hi + timedelta(days=1)
    else:
        start = datetime.combine(backfill.since, time(0), UTC)
        posts = list(session.exec(select(Post).where(
            Post.fb_post_id.is_not(None), Post.status == PostStatus.PUBLISHED, Post.published_at >= start)
            .order_by(Post.id)).all())
        boosts = list(session.exec(select(Boost).where(
            Boost.fb_ad_id.is_not(None), Boost.status.in_(DELIVERING), Boost.ends_at >= start)).all())
        if boosts:
            first = min(b.starts_at.date() for b in boosts)
            reach = client.ad_period_reach([str(b.fb_ad_id) for b in boosts], since=first, until=now.date())
            by_ad = {str(b.fb_ad_id): b.id for b in boosts}
            refresh_boost_totals(session=session, territory_id=territory.id, boosts=boosts,
                                 lifetime_reach={by_ad[a]: v for a, v in reach.items() if a in by_ad},
                                 synced_through=backfill.until)
        for chunk in _chunks(posts, 200):
            _sync_posts(session, client, territory, chunk, now, result)
        refresh_rollups(session=session, territory_id=territory.id, since=backfill.since, until=now.date())
        state = sync_state(session=session, territory=territory)
        state.covered_since = min(state.covered_since or backfill.since, backfill.since)
        state.synced_through = max(state.synced_through or backfill.until, backfill.until)
        session.add(state)
        backfill.status, backfill.finished_at = BackfillStatus.DONE, now
    backfill.steps_done = min(backfill.steps_total, backfill.steps_done + 1)
    session.add(backfill)
    session.flush()
    return backfill


def fail_backfill(*, session: Session, territory: Territory, error: BaseException) -> None:
    """Record why the backfill stopped; an admin may start it again. Commits: no."""
    backfill = session.exec(select(InsightsBackfill).where(InsightsBackfill.territory_id == territory.id)).first()
    if backfill is not None:
        backfill.status = BackfillStatus.FAILED
        backfill.error = f"{type(error).__name__}: {error}"[:1000]
        backfill.finished_at = utc_now()
        session.add(backfill)


# ============================================================================================ jobs


def _connected_territories(session: Session) -> list[Territory]:
    from accounts.models import ConnectionStatus, FacebookConnection

    with scoped(session, ALL):
        return list(session.exec(
            select(Territory).join(FacebookConnection, FacebookConnection.territory_id == Territory.id)
            .where(FacebookConnection.status != ConnectionStatus.TO_RECONNECT).order_by(Territory.id)).all())


def _on_auth_error(session: Session, territory: Territory, exc: BaseException) -> None:
    from accounts.connection import mark_to_reconnect

    session.rollback()
    mark_to_reconnect(session=session, territory=territory, error=exc)
    session.commit()


def sync_all(*, session: Session, now: datetime | None = None) -> str:
    """The `reports.sync_insights` job: every connected territory, one transaction each. A territory
    seen for the first time gets its historic backfill planned. Commits: yes (per territory)."""
    from accounts.connection import NotConnected

    done, failed, expired = [], [], []
    for territory in _connected_territories(session):
        with scoped(session, territory.id):
            try:
                if session.exec(select(InsightsSync.id)).first() is None and get_backfill(session=session) is None:
                    start_backfill(session=session, territory=territory, now=now)
                result = sync_territory(session=session, territory=territory, now=now)
                session.commit()
                done.append(f"{territory.slug} ({result.summary()})")
            except AuthError as exc:
                _on_auth_error(session, territory, exc)
                expired.append(territory.slug)
            except NotConnected:
                session.rollback()
            except Exception as exc:
                session.rollback()
                logger.exception("Insights sync failed for territory %s", territory.slug)
                record_failure(session=session, territory=territory, error=exc)
                session.commit()
                failed.append(territory.slug)
    parts = [f"{len(done)} territory(ies) synchronised"] + done
    if failed:
        parts.append(f"failed (retried next run): {', '.join(failed)}")
    if expired:
        parts.append(f"token expired, to reconnect: {', '.join(expired)}")
    return "; ".join(parts)


def backfill_all(*, session: Session, budget_seconds: float = 45.0, now: datetime | None = None) -> str:
    """The `reports.backfill_insights` job: advance pending backfills step by step within a time budget,
    committing after each step so the progress page moves. Commits: yes."""
    import time as _time

    from accounts.connection import NotConnected

    started = _time.monotonic()
    with scoped(session, ALL):
        pending = list(session.exec(select(InsightsBackfill.territory_id).where(
            InsightsBackfill.status.in_((BackfillStatus.PENDING, BackfillStatus.RUNNING)))).all())
        territories = {t.id: t for t in session.exec(select(Territory).where(Territory.id.in_(pending or [0])))}
    steps = 0
    for territory_id in pending:
        territory = territories[territory_id]
        with scoped(session, territory.id):
            while _time.monotonic() - started < budget_seconds:
                try:
                    backfill = run_backfill_step(session=session, territory=territory, now=now)
                    session.commit()
                    steps += 1
                except AuthError as exc:
                    _on_auth_error(session, territory, exc)
                    break
                except NotConnected:
                    session.rollback()
                    break
                except Exception as exc:
                    session.rollback()
                    logger.exception("Insights backfill step failed for territory %s", territory.slug)
                    if isinstance(exc, FacebookError) and getattr(exc, "retry_after", None) is not None:
                        break  # throttled: the next run takes the same step again
                    fail_backfill(session=session, territory=territory, error=exc)
                    session.commit()
                    break
                if backfill is None or backfill.status != BackfillStatus.RUNNING:
                    break
    return f"{steps} backfill step(s) for {len(pending)} territory(ies)"


# ============================================================================================ helpers


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) and not isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _bisect_right(days: list[date], day: date) -> int:
    from bisect import bisect_right

    return bisect_right(days, day)

