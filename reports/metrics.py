"""The figures of return — the ONE implementation used by the dashboard, the JSON API, the CSV exports
and the weekly PDF.

Two layers:

* **pure computations** (`compute_figures`, `track_results`, `results_value`, `paid_reach_of_boost`,
  `estimate_organic`…): plain numbers in, plain numbers out, every formula written in a docstring and
  tested against values computed by hand;
* **queries** (`period_figures`, `track_figures`, `campaign_figures`, `weekly_series`, `post_figures`,
  `top_and_bottom_posts`, `budget_consumption`): gather the facts of one territory over a period of days
  (`since` and `until` inclusive, UTC days) and hand them to the pure layer. They read the weekly
  roll-ups kept by `reports.sync` for whole ISO weeks and the daily facts only for the days of
  partly covered weeks, so a year costs a few thousand rows, not a million; sums are made in SQL
  (per track, per week, per post with ORDER BY … LIMIT for the top and bottom posts), over indexes
  that hold every column read. `dashboard_figures` gives what the dashboard shows in one pass, reading
  what the figures share (markers, boosts' reach, followers, tracks) once — each figure still comes
  from the one function that computes it.

Conventions: money in integer minor units (cents) of the campaign's currency, rounded half up when a
figure is a quotient; rates and ratios as floats (0.083 = 8.3 %). **Missing is `None`, never 0**: a
period that no synchronised fact covers gives `None` everywhere (and so does each week of a series
that none covers, e.g. before the first synchronised day); inside a covered period, a track with no
fact rows has zero viewers and zero spend (Facebook omits days without delivery), and every quotient
whose divisor is 0 or missing is `None` (no division by zero).

Meta removed per-post organic and paid *unique* reach in 2025–2026 (``shared/facebook-api.md`` §4), so:
viewers come from ``post_total_media_view_unique`` (organic and paid together), paid reach from the
Ads Insights ``reach`` of the boosts, views from ``post_media_view`` split by ``is_from_ads``, and the
organic reach is an **estimate**: max(0, viewers − paid reach), labelled so wherever it is shown.

Queries need a session scoped to one territory (`core.db.scoped`): they never mix territories.
Reads only: no flush, no commit, no call to Facebook.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, cast, func, literal, null, union_all
from sqlmodel import Session, select

from campaigns.models import Campaign, ContentTrack, Post, PostStatus
from core.db import ALL, get_scope
from reports.models import (
    AdDailyMetric,
    AdWeekReach,
    BoostTotal,
    InsightsSync,
    PageDailyMetric,
    PostBlockMetric,
    PostDailyMetric,
    PostTotal,
    PostWeekMetric,
    TerritoryWeekMetric,
    TrackBlockMetric,
    TrackWeekMetric,
)
from sponsored.models import Boost
from targets.models import Audience, ResultType

EXCERPT_CHARS = 140

# ============================================================================================ weeks


def week_start(day: date) -> date:
    """The Monday of the ISO week that contains `day`."""
    return day - timedelta(days=day.weekday())


def iso_week_label(day: date) -> str:
    """`2026-W47` for the ISO week that contains `day`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def weeks_between(since: date, until: date) -> list[date]:
    """The Mondays of every ISO week that meets [since, until], oldest first."""
    out, monday = [], week_start(since)
    while monday <= until:
        out.append(monday)
        monday += timedelta(days=7)
    return out


def split_period(since: date, until: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """Cut [since, until] into its whole ISO weeks (first Monday, last Monday) and the leftover day ranges.

    The whole weeks are read from the roll-ups, the leftover days (at most six at each end) from the
    daily facts.
    """
    first_full = since if since.weekday() == 0 else week_start(since) + timedelta(days=7)
    last_full = week_start(until + timedelta(days=1)) - timedelta(days=7)  # Monday of the last week ending ≤ until
    if first_full > last_full:
        return None, [(since, until)]
    edges = []
    if since < first_full:
        edges.append((since, first_full - timedelta(days=1)))
    if last_full + timedelta(days=6) < until:
        edges.append((last_full + timedelta(days=7), until))
    return (first_full, last_full), edges


BLOCK_EPOCH = date(2000, 1, 3)  # a Monday: blocks of four ISO weeks start every 28 days from it
BLOCK_DAYS = 28


def block_start(day: date) -> date:
    """The Monday that starts the block of four ISO weeks containing `day`."""
    monday = week_start(day)
    return monday - timedelta(days=(monday - BLOCK_EPOCH).days % BLOCK_DAYS)


def split_weeks(first: date, last: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """Cut the whole weeks from Monday `first` to Monday `last` into whole blocks of four weeks (first and
    last block start) and the leftover weeks (ranges of Mondays, at most three at each end).

    The roll-ups per block hold a quarter of the weekly rows: a year's tracks and posts are read from
    them, the leftover weeks from the weekly roll-ups.
    """
    first_block = first if block_start(first) == first else block_start(first) + timedelta(days=BLOCK_DAYS)
    last_block = block_start(last + timedelta(days=7)) - timedelta(days=BLOCK_DAYS)  # the last block ending ≤ last
    if first_block > last_block:
        return None, [(first, last)]
    rest = []
    if first < first_block:
        rest.append((first, first_block - timedelta(days=7)))
    if last_block + timedelta(days=BLOCK_DAYS - 7) < last:
        rest.append((last_block + timedelta(days=BLOCK_DAYS), last))
    return (first_block, last_block), rest


# ============================================================================================ pure


def _quotient(numerator: int, denominator: int) -> int:
    """numerator ÷ denominator rounded half up (away from zero), exactly: integers, no float or Decimal."""
    q, r = divmod(abs(numerator), abs(denominator))
    q += 2 * r >= abs(denominator)
    return q if (numerator < 0) == (denominator < 0) else -q


def add(a: int | None, b: int | None) -> int | None:
    """None-aware sum: missing + x = x; missing + missing = missing."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


@dataclass(frozen=True)
class Facts:
    """Additive facts over a period for one post, track, campaign or the territory.

    `viewers` is summed over posts (a person who saw two posts counts twice); `paid_reach` is summed
    over boosts, each boost's reach de-duplicated over the period (see `paid_reach_of_boost`);
    `unboosted_viewers` / `unboosted_followers` are the lifetime viewers of the never-boosted posts
    published in the period and the followers the Page had when each was published.
    """

    viewers: int | None = None
    views_organic: int | None = None
    views_paid: int | None = None
    engagement: int | None = None
    spend_minor: int | None = None
    impressions: int | None = None
    action_results: int | None = None  # results counted from Ads Insights `actions`
    paid_reach: int | None = None
    unboosted_viewers: int | None = None
    unboosted_followers: int | None = None

    def __add__(self, other: Facts) -> Facts:
        return sum_facts((self, other))


_FACT_FIELDS = tuple(f.name for f in fields(Facts))


_FACT_VALUES = attrgetter(*_FACT_FIELDS)


def sum_facts(items: Iterable[Facts]) -> Facts:
    """The None-aware sum (`add`) of several facts, field by field."""
    columns = zip(*map(_FACT_VALUES, items), strict=True)  # one tuple of values per field
    totals = [sum(present) if (present := [v for v in column if v is not None]) else None for column in columns]
    return Facts(*totals) if totals else Facts()


ZERO_FACTS = Facts(viewers=0, views_organic=0, views_paid=0, engagement=0, spend_minor=0, impressions=0,
                   action_results=0, paid_reach=0)


@dataclass(frozen=True)
class Figures:
    """Every figure of return for one scope and period. `None` = missing or not computable."""

    followers: int | None
    viewers: int | None
    paid_reach: int | None
    organic_reach_estimate: int | None
    organic_reach_rate: float | None
    incremental_reach: int | None
    uplift: float | None
    views_organic: int | None
    views_paid: int | None
    engagement: int | None
    spend_minor: int | None
    impressions: int | None
    cost_per_thousand_minor: int | None
    results: int | None
    cost_per_result_minor: int | None
    value_of_results_minor: int | None
    return_ratio: float | None


FIGURE_FIELDS = tuple(f.name for f in fields(Figures))


def estimate_organic(viewers: int | None, paid_reach: int | None) -> int | None:
    """Estimated organic reach = max(0, viewers − paid reach). An ESTIMATE: the two audiences overlap
    and the numbers come from two systems (Page Insights and Ads Insights). Missing if either is missing."""
    if viewers is None or paid_reach is None:
        return None
    return max(0, viewers - paid_reach)


def track_results(facts: Facts, result_type: ResultType | None) -> int | None:
    """The results of a track: its audience's result type counted from `actions` (link clicks, leads…);
    for an audience whose result is reach, the paid reach itself."""
    if result_type == ResultType.REACH:
        return facts.paid_reach
    return facts.action_results


def results_value(results: int | None, value_per_result_minor: int | None) -> int | None:
    """Value of results = results × the audience's value of one result. Missing when either is missing."""
    if results is None or value_per_result_minor is None:
        return None
    return results * value_per_result_minor


def compute_figures(
    facts: Facts, *, followers: int | None, results: int | None, value_of_results_minor: int | None,
    cls: type = Figures, **extra: Any,
) -> Any:
    """Derive every figure from additive facts. Formulas:

    - estimated organic reach = max(0, viewers − paid reach)  (an estimate, see `estimate_organic`);
    - organic reach rate = lifetime viewers of the unboosted posts published in the period ÷ the
      followers the Page had when each was published (the ≈ 10 % ceiling);
    - incremental reach = viewers − estimated organic reach (what the money added);
    - uplift = viewers ÷ estimated organic reach (how many times further the money carried it);
    - cost per 1,000 people reached = spend ÷ paid reach × 1,000;
    - cost per result = spend ÷ results;
    - return = (value of results − spend) ÷ spend.

    Any quotient whose divisor is 0 or missing is `None`. Returns a `Figures`, or a `cls` that extends it
    built with its `extra` fields (the figures of a track or a campaign are made at once, not copied).
    """
    organic = estimate_organic(facts.viewers, facts.paid_reach)
    incremental = facts.viewers - organic if facts.viewers is not None and organic is not None else None
    uplift = facts.viewers / organic if facts.viewers is not None and organic else None
    rate = (facts.unboosted_viewers / facts.unboosted_followers
            if facts.unboosted_viewers is not None and facts.unboosted_followers else None)
    spend = facts.spend_minor
    per_thousand = (_quotient(spend * 1000, facts.paid_reach)
                    if spend is not None and facts.paid_reach else None)
    per_result = _quotient(spend, results) if spend is not None and results else None
    ret = ((value_of_results_minor - spend) / spend
           if spend and value_of_results_minor is not None else None)
    return cls(
        followers=followers, viewers=facts.viewers, paid_reach=facts.paid_reach, organic_reach_estimate=organic,
        organic_reach_rate=rate, incremental_reach=incremental, uplift=uplift, views_organic=facts.views_organic,
        views_paid=facts.views_paid, engagement=facts.engagement, spend_minor=spend, impressions=facts.impressions,
        cost_per_thousand_minor=per_thousand, results=results, cost_per_result_minor=per_result,
        value_of_results_minor=value_of_results_minor, return_ratio=ret, **extra,
    )


EMPTY_FIGURES = compute_figures(Facts(), followers=None, results=None, value_of_results_minor=None)


@dataclass(frozen=True)
class BoostReachInput:
    """What `paid_reach_of_boost` needs about one boost (all days are UTC days)."""

    first_day: date | None  # first and last day with delivery
    last_day: date | None
    lifetime_reach: int | None
    week_reach: dict[date, int | None]  # Monday → the week's de-duplicated reach
    daily_reach: dict[date, int | None]  # delivery day → that day's reach


def paid_reach_of_boost(boost: BoostReachInput, since: date, until: date) -> tuple[int, bool]:
    """A boost's paid reach over [since, until]; returns (reach, complete).

    Daily reach does not add up, so reach is only ever taken from a period query:

    - the whole delivery lies in the period → the boost's lifetime reach;
    - otherwise, per ISO week with delivery in the period: the week's reach when all of that week's
      delivery days are in the period, else min(the week's reach, the sum of the daily reaches of the
      days in the period) — an upper bound, since a person reached on two of those days counts twice.

    `complete` is False when a needed reach was never synchronised (the figure is then missing).
    """
    if boost.first_day is None or boost.last_day is None or boost.first_day > until or boost.last_day < since:
        return 0, True
    if since <= boost.first_day and boost.last_day <= until and boost.lifetime_reach is not None:
        return boost.lifetime_reach, True
    total, complete = 0, True
    for monday in weeks_between(max(since, boost.first_day), min(until, boost.last_day)):
        days = [d for d in boost.daily_reach if monday <= d <= monday + timedelta(days=6)]
        inside = [d for d in days if since <= d <= until]
        if days and not inside:
            continue
        week = boost.week_reach.get(monday)
        if days and len(inside) == len(days):
            if week is None:
                complete = False
            else:
                total += week
            continue
        daily = [boost.daily_reach[d] for d in inside]
        if not days or any(v is None for v in daily) or week is None:
            complete = False
            continue
        total += min(week, sum(v for v in daily if v is not None))
    return total, complete


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    """The start of a post on one line, cut at a word, with an ellipsis."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


# ============================================================================================ results


@dataclass(frozen=True)
class TerritoryFigures(Figures):
    """The territory's figures over [since, until]. `covered` is False when no synchronised fact covers
    the period (then every figure is `None`). `results` and cost per result are only given when every
    track with results counts the same kind of result; value and return add the tracks' values."""

    since: date
    until: date
    currency: str
    covered: bool
    last_synced_at: Any  # datetime | None: the newest synchronisation behind the figures


@dataclass(frozen=True)
class TrackFigures(Figures):
    """One content track (a campaign told to one audience) over the period, with the audience's value
    per result and its note, to print beside the return."""

    track_id: int
    campaign_id: int
    campaign_name: str
    audience_id: int
    audience_key: str
    audience_name: str
    result_type: str
    value_per_result_minor: int | None  # None when the audience has no value set (0)
    value_note: str
    currency: str


@dataclass(frozen=True)
class CampaignFigures(Figures):
    """One campaign over the period (its tracks added up)."""

    campaign_id: int
    campaign_name: str
    starts_on: date
    ends_on: date
    currency: str


@dataclass(frozen=True)
class WeekFigures:
    """One ISO week of the series (clipped to the period: `partial` when the period cuts it)."""

    iso_week: str  # "2026-W47"
    week_start: date
    since: date
    until: date
    partial: bool
    followers: int | None
    viewers: int | None
    paid_reach: int | None
    organic_reach_estimate: int | None  # an estimate: max(0, viewers − paid reach)
    spend_minor: int | None
    views_organic: int | None
    views_paid: int | None
    engagement: int | None
    cost_per_thousand_minor: int | None


@dataclass(frozen=True)
class PostFigures:
    """One post's figures over the period (posts with any fact in the period). `organic_reach_rate` is
    lifetime viewers ÷ followers at publication, for posts never boosted only; `spend_minor` is `None`
    when no boost of the post delivered in the period."""

    post_id: int
    excerpt: str
    track_id: int
    campaign_name: str
    audience_key: str
    audience_name: str
    published_at: Any  # datetime | None
    copied_from_website: bool
    boosted: bool  # a boost of the post delivered in the period
    viewers: int | None
    paid_reach: int | None
    organic_reach_estimate: int | None
    organic_reach_rate: float | None
    views_organic: int | None
    views_paid: int | None
    engagement: int | None
    spend_minor: int | None
    results: int | None


@dataclass(frozen=True)
class BudgetLine:
    """One active campaign's money: the ledger's balance (`sponsored.services.campaign_balances`) and
    the spend Ads Insights reported, in the period and from the start to `until`."""

    campaign_id: int
    campaign_name: str
    starts_on: date
    ends_on: date
    currency: str
    approved_minor: int
    committed_minor: int
    spent_minor: int  # ledger
    remaining_minor: int  # ledger: approved − committed − spent
    spent_in_period_minor: int | None  # Ads Insights
    spent_to_date_minor: int | None  # Ads Insights, through `until`
    consumed_rate: float | None  # spent to date ÷ approved


def _figures_of(cls: type, figures: Figures, **extra: Any) -> Any:
    return cls(**vars(figures), **extra)  # a Figures' attributes are its fields, nothing else


# ============================================================================================ queries


def _territory_id(session: Session) -> int:
    scope = get_scope(session)
    if scope is None or scope == ALL:
        raise ValueError("reports.metrics needs a session scoped to one territory (core.db.scoped)")
    return int(scope)


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _check_period(since: date, until: date) -> None:
    if until < since:
        raise ValueError("until is before since")


_POST_SUMS = ("viewers", "views_organic", "views_paid", "engagement")
_AD_SUMS = ("spend_minor", "impressions", "results")


def engagement_expr(model: Any) -> Any:
    """SQL: clicks + reactions + comments + shares of a daily row (missing ones skipped; all missing → NULL)."""
    parts = (model.clicks, model.reactions, model.comments, model.shares)
    return case((and_(*(p.is_(None) for p in parts)), None),
                else_=sum((func.coalesce(p, 0) for p in parts[1:]), func.coalesce(parts[0], 0)))


@dataclass
class _Acc:
    """Accumulated sums for one key."""

    viewers: int | None = None
    views_organic: int | None = None
    views_paid: int | None = None
    engagement: int | None = None
    spend_minor: int | None = None
    impressions: int | None = None
    results: int | None = None
    week_paid_reach: int | None = None
    post_rows: int = 0
    ad_rows: int = 0

    def take(self, row: Any, names: Iterable[str], rows_attr: str, rows: int) -> None:
        for name in names:
            setattr(self, name, add(getattr(self, name), getattr(row, name)))
        setattr(self, rows_attr, getattr(self, rows_attr) + int(rows or 0))


_SUMS = (*_POST_SUMS, *_AD_SUMS)


@dataclass(frozen=True)
class _Period:
    """What every query of one call reads once: the territory, the days, the synchronisation markers and
    whether synchronised facts cover the days."""

    tid: int
    since: date
    until: date
    state: InsightsSync | None
    covered: bool


def _period(session: Session, since: date, until: date) -> _Period:
    tid = _territory_id(session)
    _check_period(since, until)
    state = _sync_state(session, tid)
    return _Period(tid, since, until, state, _covers(session, tid, state, since, until))


def _flows(session: Session, tid: int, since: date, until: date, *, by: str,
           track_id: int | None = None, post_ids: list[int] | None = None) -> dict[Any, _Acc]:
    """Additive facts over [since, until] grouped `by` "track", "post" or "week" (roll-ups for whole weeks,
    daily facts for the leftover days)."""
    out: dict[Any, _Acc] = defaultdict(_Acc)
    full, edges = split_period(since, until)
    if full is not None:
        if by == "track" and track_id is None:  # a period's tracks: mostly from the blocks of four weeks
            query = _tracks_rollup(tid, full)
        else:
            # The territory's weeks have a roll-up of their own (52 rows a year); a track's are in the tracks'.
            model: Any = (PostWeekMetric if by == "post" else
                          TerritoryWeekMetric if by == "week" and track_id is None else TrackWeekMetric)
            key = model.post_id if by == "post" else (model.track_id if by == "track" else model.week_start)
            sums = [func.sum(getattr(model, n)).label(n) for n in _SUMS]
            if by == "week":  # the week's reach is only ever used by week (reach does not add up over weeks)
                sums.append(func.sum(model.paid_reach).label("paid_reach"))
            query = (select(key.label("k"), *sums, func.sum(model.post_rows).label("post_rows"),
                            func.sum(model.ad_rows).label("ad_rows"))
                     .where(model.territory_id == tid, model.week_start >= full[0], model.week_start <= full[1])
                     .group_by(key))
            if track_id is not None:
                query = query.where(model.track_id == track_id)
            if post_ids is not None:
                query = query.where(PostWeekMetric.post_id.in_(post_ids))
        for row in session.exec(query):  # one row per key: its accumulator starts from it (read by position)
            out[_date(row[0]) if by == "week" else row[0]] = _Acc(
                **dict(zip(_SUMS, row[1:1 + len(_SUMS)], strict=True)),
                week_paid_reach=row[1 + len(_SUMS)] if by == "week" else None,
                post_rows=int(row[-2] or 0), ad_rows=int(row[-1] or 0))
    for lo, hi in edges:
        post_key = {"post": PostDailyMetric.post_id, "track": Post.track_id, "week": PostDailyMetric.day}[by]
        query = (select(post_key.label("k"), func.sum(PostDailyMetric.viewers).label("viewers"),
                        func.sum(PostDailyMetric.views_organic).label("views_organic"),
                        func.sum(PostDailyMetric.views_paid).label("views_paid"),
                        func.sum(engagement_expr(PostDailyMetric)).label("engagement"), func.count().label("n"))
                 .where(PostDailyMetric.territory_id == tid, PostDailyMetric.day >= lo, PostDailyMetric.day <= hi)
                 .group_by(post_key))
        if by == "track" or track_id is not None:  # the post's track is only read when needed
            query = query.join(Post, Post.id == PostDailyMetric.post_id)
        if track_id is not None:
            query = query.where(Post.track_id == track_id)
        if post_ids is not None:
            query = query.where(PostDailyMetric.post_id.in_(post_ids))
        for row in session.exec(query):
            k = week_start(_date(row.k)) if by == "week" else row.k
            out[k].take(row, _POST_SUMS, "post_rows", row.n)
        ad_key = {"post": Boost.post_id, "track": Post.track_id, "week": AdDailyMetric.day}[by]
        query = (select(ad_key.label("k"), func.sum(AdDailyMetric.spend_minor).label("spend_minor"),
                        func.sum(AdDailyMetric.impressions).label("impressions"),
                        func.sum(AdDailyMetric.results).label("results"), func.count().label("n"))
                 .join(Boost, Boost.id == AdDailyMetric.boost_id).join(Post, Post.id == Boost.post_id)
                 .where(AdDailyMetric.territory_id == tid, AdDailyMetric.day >= lo, AdDailyMetric.day <= hi)
                 .group_by(ad_key))
        if track_id is not None:
            query = query.where(Post.track_id == track_id)
        if post_ids is not None:
            query = query.where(Boost.post_id.in_(post_ids))
        for row in session.exec(query):
            k = week_start(_date(row.k)) if by == "week" else row.k
            out[k].take(row, _AD_SUMS, "ad_rows", row.n)
    return out


def _tracks_rollup(tid: int, weeks: tuple[date, date]) -> Any:
    """SQL: the additive facts per track over whole weeks (Mondays `weeks[0]` to `weeks[1]`), from the
    blocks of four weeks and the leftover weeks' roll-ups, in one query."""
    blocks, rest = split_weeks(*weeks)
    columns = ("track_id", *_SUMS, "post_rows", "ad_rows")
    parts = [select(*(getattr(TrackWeekMetric, c) for c in columns))
             .where(TrackWeekMetric.territory_id == tid, TrackWeekMetric.week_start >= lo,
                    TrackWeekMetric.week_start <= hi) for lo, hi in rest]
    if blocks is not None:
        parts.append(select(*(getattr(TrackBlockMetric, c) for c in columns))
                     .where(TrackBlockMetric.territory_id == tid, TrackBlockMetric.block_start >= blocks[0],
                            TrackBlockMetric.block_start <= blocks[1]))
    rows = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("rows")
    return (select(rows.c.track_id.label("k"), *(func.sum(rows.c[c]).label(c) for c in columns[1:]))
            .group_by(rows.c.track_id))


def _spend_by_track(session: Session, tid: int, since: date, until: date) -> dict[int, int]:
    """Ad spend per track over [since, until] — one narrow sum: the roll-ups for whole weeks, the daily
    facts for the leftover days. Tracks without ad rows are absent."""
    out: dict[int, int] = defaultdict(int)
    full, edges = split_period(since, until)
    if full is not None:
        for k, total in session.exec(
            select(TrackWeekMetric.track_id, func.sum(TrackWeekMetric.spend_minor)).where(
                TrackWeekMetric.territory_id == tid, TrackWeekMetric.week_start >= full[0],
                TrackWeekMetric.week_start <= full[1], TrackWeekMetric.ad_rows > 0)
            .group_by(TrackWeekMetric.track_id)
        ):
            out[k] += int(total or 0)
    for lo, hi in edges:
        for k, total in session.exec(
            select(Post.track_id, func.sum(AdDailyMetric.spend_minor))
            .join(Boost, Boost.id == AdDailyMetric.boost_id).join(Post, Post.id == Boost.post_id)
            .where(AdDailyMetric.territory_id == tid, AdDailyMetric.day >= lo, AdDailyMetric.day <= hi)
            .group_by(Post.track_id)
        ):
            out[k] += int(total or 0)
    return out


_Inputs = dict[int, tuple[int, int, BoostReachInput]]  # boost id → (post id, track id, reach input)


def _boost_reach_inputs(session: Session, tid: int, since: date, until: date, track_id: int | None = None, *,
                        cuts: Iterable[tuple[date, date]] = (), post_ids: list[int] | None = None) -> _Inputs:
    """boost id → (post id, track id, reach input) for the boosts whose delivery meets [since, until].

    The weekly and daily reach are read only for the boosts that [since, until], or one of `cuts` (day
    ranges inside it, such as the partial weeks of a series), cuts through: the others take their
    lifetime reach.
    """
    query = (select(BoostTotal.boost_id, BoostTotal.post_id, Post.track_id, BoostTotal.first_day,
                    BoostTotal.last_day, BoostTotal.reach)
             .join(Post, Post.id == BoostTotal.post_id)
             .where(BoostTotal.territory_id == tid, BoostTotal.first_day <= until, BoostTotal.last_day >= since))
    if track_id is not None:
        query = query.where(Post.track_id == track_id)
    if post_ids is not None:
        query = query.where(BoostTotal.post_id.in_(post_ids))
    rows = [(boost_id, post_id, track, _date(first), _date(last), reach)
            for boost_id, post_id, track, first, last, reach in session.exec(query)]
    ranges = [(since, until), *cuts]
    straddling = [boost_id for boost_id, _p, _t, first, last, reach in rows
                  if reach is None or any(first <= hi and last >= lo and not (lo <= first and last <= hi)
                                          for lo, hi in ranges)]
    weekly: dict[int, dict[date, int | None]] = defaultdict(dict)
    daily: dict[int, dict[date, int | None]] = defaultdict(dict)
    if straddling:
        lo, hi = week_start(since), week_start(until) + timedelta(days=6)
        for chunk in _chunks(straddling, 500):
            for boost_id, monday, reach in session.exec(
                select(AdWeekReach.boost_id, AdWeekReach.week_start, AdWeekReach.reach)
                .where(AdWeekReach.territory_id == tid, AdWeekReach.boost_id.in_(chunk),
                       AdWeekReach.week_start >= lo, AdWeekReach.week_start <= hi)
            ):
                weekly[boost_id][_date(monday)] = reach
            for boost_id, day, reach in session.exec(
                select(AdDailyMetric.boost_id, AdDailyMetric.day, AdDailyMetric.reach)
                .where(AdDailyMetric.territory_id == tid, AdDailyMetric.boost_id.in_(chunk),
                       AdDailyMetric.day >= lo, AdDailyMetric.day <= hi)
            ):
                daily[boost_id][_date(day)] = reach
    return {
        boost_id: (post_id, track, BoostReachInput(first_day=first, last_day=last, lifetime_reach=reach,
                                                   week_reach=weekly.get(boost_id, {}),
                                                   daily_reach=daily.get(boost_id, {})))
        for boost_id, post_id, track, first, last, reach in rows
    }


def _paid_reach_by(inputs: _Inputs, since: date, until: date, by: str) -> dict[int, int | None]:
    """Paid reach per post or per track: the sum over its boosts; missing if one boost's reach is."""
    out: dict[int, int | None] = {}
    for post_id, track_id, boost in inputs.values():
        key = post_id if by == "post" else track_id
        reach, complete = paid_reach_of_boost(boost, since, until)
        if key in out and out[key] is None:
            continue
        out[key] = (out.get(key) or 0) + reach if complete else None
    return out


def _unboosted(session: Session, tid: int, since: date, until: date, by: str) -> dict[int, tuple[int, int]]:
    """track (or post) → (lifetime viewers, followers at publication) of never-boosted posts published
    in the period, where both are known."""
    key = PostTotal.track_id if by == "track" else PostTotal.post_id
    query = (select(key, func.sum(PostTotal.viewers), func.sum(PostTotal.followers_at_publish))
             .where(PostTotal.territory_id == tid, PostTotal.boosted.is_(False),
                    PostTotal.published_on >= since, PostTotal.published_on <= until,
                    PostTotal.viewers.is_not(None), PostTotal.followers_at_publish.is_not(None))
             .group_by(key))
    return {k: (int(v), int(f)) for k, v, f in session.exec(query)}


def _sync_state(session: Session, tid: int) -> InsightsSync | None:
    return session.exec(select(InsightsSync).where(InsightsSync.territory_id == tid)).first()


def _state_covers(state: InsightsSync | None, since: date, until: date) -> bool:
    return (state is not None and state.covered_since is not None and state.synced_through is not None
            and state.covered_since <= until and state.synced_through >= since)


def _covers(session: Session, tid: int, state: InsightsSync | None, since: date, until: date) -> bool:
    """The synchronisation markers meet [since, until], or a fact (or roll-up) row lies in it."""
    if _state_covers(state, since, until):
        return True
    for model, column in ((PageDailyMetric, PageDailyMetric.day), (TrackWeekMetric, TrackWeekMetric.week_start),
                          (PostDailyMetric, PostDailyMetric.day), (AdDailyMetric, AdDailyMetric.day)):
        lo = week_start(since) if model is TrackWeekMetric else since
        found = session.exec(select(model.id).where(model.territory_id == tid, column >= lo, column <= until)
                             .limit(1)).first()
        if found is not None:
            return True
    return False


def is_covered(session: Session, since: date, until: date) -> bool:
    """Does any synchronised fact cover [since, until]? (Otherwise every figure is missing.)"""
    tid = _territory_id(session)
    return _covers(session, tid, _sync_state(session, tid), since, until)


def covered_weeks(session: Session, *, since: date, until: date) -> set[date]:
    """The Mondays of the ISO weeks meeting [since, until] whose days in the period synchronised facts
    cover (`is_covered` week by week; no query when the synchronisation markers cover them all)."""
    return _covered_weeks(session, _period(session, since, until))


def _covered_weeks(session: Session, p: _Period) -> set[date]:
    if not p.covered:
        return set()
    out, rest = set(), []
    for monday in weeks_between(p.since, p.until):
        lo, hi = max(p.since, monday), min(p.until, monday + timedelta(days=6))
        if _state_covers(p.state, lo, hi):
            out.add(monday)
        else:
            rest.append((monday, lo, hi))
    if rest and _covers(session, p.tid, None, rest[0][1], rest[-1][2]):
        # Weeks with a Page row or a roll-up row first (two queries), then the daily facts week by week.
        days = session.exec(select(PageDailyMetric.day).where(
            PageDailyMetric.territory_id == p.tid, PageDailyMetric.day >= rest[0][1],
            PageDailyMetric.day <= rest[-1][2])).all()
        mondays = {week_start(_date(d)) for d in days} | {_date(m) for m in session.exec(
            select(TrackWeekMetric.week_start).distinct().where(
                TrackWeekMetric.territory_id == p.tid, TrackWeekMetric.week_start >= rest[0][0],
                TrackWeekMetric.week_start <= rest[-1][2]))}
        out.update(monday for monday, lo, hi in rest if monday in mondays or _covers(session, p.tid, None, lo, hi))
    return out


def followers_on(session: Session, until: date, since: date | None = None) -> int | None:
    """The Page's followers on the last day ≤ `until` (and ≥ `since`) that has the figure."""
    tid = _territory_id(session)
    query = (select(PageDailyMetric.followers)
             .where(PageDailyMetric.territory_id == tid, PageDailyMetric.day <= until,
                    PageDailyMetric.followers.is_not(None))
             .order_by(PageDailyMetric.day.desc()).limit(1))
    if since is not None:
        query = query.where(PageDailyMetric.day >= since)
    return session.exec(query).first()


@dataclass(frozen=True)
class _TrackInfo:
    track_id: int
    campaign_id: int
    campaign_name: str
    starts_on: date
    ends_on: date
    currency: str
    audience_id: int
    audience_key: str
    audience_name: str
    result_type: ResultType
    value_per_result_minor: int | None
    value_note: str


def _tracks(session: Session, tid: int, ids: Iterable[int] | None = None, *, since: date | None = None,
            until: date | None = None, campaign_id: int | None = None) -> dict[int, _TrackInfo]:
    """Tracks with their campaign and audience: those of `ids`, plus those whose campaign meets the period.

    With a period, every track of the territory is read and the choice made here: a territory has a few
    hundred tracks, cheaper to read than a long `IN` list of ids is to send.
    """
    query = (select(ContentTrack.id, Campaign.id, Campaign.name, Campaign.starts_on, Campaign.ends_on,
                    Campaign.currency, Audience.id, Audience.key, Audience.name, Audience.result_type,
                    Audience.result_value_minor, Audience.value_note)
             .join(Campaign, Campaign.id == ContentTrack.campaign_id)
             .join(Audience, Audience.id == ContentTrack.audience_id)
             .where(ContentTrack.territory_id == tid))
    wanted = set(ids or ())
    in_period = since is not None and until is not None
    if wanted and not in_period:
        query = query.where(ContentTrack.id.in_(wanted))
    if campaign_id is not None:
        query = query.where(Campaign.id == campaign_id)
    out = {}
    for track_id, cid, cname, starts, ends, currency, aid, akey, aname, rtype, value, note in session.exec(query):
        starts, ends = _date(starts), _date(ends)
        if in_period and track_id not in wanted and not (starts <= until and ends >= since):
            continue
        out[track_id] = _TrackInfo(track_id, cid, cname, starts, ends, currency or "EUR", aid, akey,
                                   aname, ResultType(rtype), value or None, note or "")
    return out


def _facts(acc: _Acc | None, paid_reach: int | None, unboosted: tuple[int, int] | None, covered: bool) -> Facts:
    """Facts of one key; a covered period without rows means zero (Facebook omits empty days)."""
    if not covered:
        return Facts()
    acc = acc or _Acc()
    posts, ads = acc.post_rows > 0, acc.ad_rows > 0
    return Facts(
        viewers=acc.viewers if posts else 0, views_organic=acc.views_organic if posts else 0,
        views_paid=acc.views_paid if posts else 0, engagement=acc.engagement if posts else 0,
        spend_minor=acc.spend_minor if ads else 0, impressions=acc.impressions if ads else 0,
        action_results=acc.results if ads else 0, paid_reach=paid_reach if ads or paid_reach else 0,
        unboosted_viewers=unboosted[0] if unboosted else None,
        unboosted_followers=unboosted[1] if unboosted else None,
    )


def _track_level(session: Session, p: _Period, inputs: _Inputs) -> tuple[dict[int, _TrackInfo], dict[int, Facts]]:
    """Every track with facts in the period or whose campaign meets it, and its facts."""
    flows = _flows(session, p.tid, p.since, p.until, by="track") if p.covered else {}
    reach = _paid_reach_by(inputs, p.since, p.until, "track") if p.covered else {}
    unboosted = _unboosted(session, p.tid, p.since, p.until, "track") if p.covered else {}
    ids = set(flows) | set(reach) | set(unboosted)
    tracks = _tracks(session, p.tid, ids, since=p.since, until=p.until)
    facts = {t: _facts(flows.get(t), reach.get(t, 0), unboosted.get(t), p.covered) for t in tracks}
    return tracks, facts


def _track_figure(info: _TrackInfo, facts: Facts, followers: int | None) -> TrackFigures:
    results = track_results(facts, info.result_type)
    return compute_figures(
        facts, followers=followers, results=results,
        value_of_results_minor=results_value(results, info.value_per_result_minor), cls=TrackFigures,
        track_id=info.track_id, campaign_id=info.campaign_id, campaign_name=info.campaign_name,
        audience_id=info.audience_id, audience_key=info.audience_key, audience_name=info.audience_name,
        result_type=info.result_type.value, value_per_result_minor=info.value_per_result_minor,
        value_note=info.value_note, currency=info.currency)


def _aggregate(items: list[tuple[_TrackInfo, Facts, Figures]], followers: int | None, covered: bool,
               cls: type = Figures, extra: dict[str, Any] | None = None) -> Any:
    """Figures of several tracks together: facts added up (so the organic estimate, the rate and the
    quotients are computed on the totals); results only when every track with results counts the same
    kind of result; value added up, missing when a track that spent has no value per result set.
    A `cls` extending `Figures` is built with its `extra` fields."""
    extra = extra or {}
    if not covered:
        return _figures_of(cls, EMPTY_FIGURES, **extra)
    if not items:
        return compute_figures(ZERO_FACTS, followers=followers, results=None, value_of_results_minor=None,
                               cls=cls, **extra)
    kinds = set()
    results: int | None = None
    value, value_missing = 0, False
    for info, _facts_of_track, figures in items:
        if figures.results:
            kinds.add(info.result_type)
        results = add(results, figures.results)
        if figures.value_of_results_minor is not None:
            value += figures.value_of_results_minor
        elif figures.spend_minor != 0:
            value_missing = True
    return compute_figures(sum_facts(f for _i, f, _g in items), followers=followers,
                           results=None if len(kinds) > 1 else results,
                           value_of_results_minor=None if value_missing else value, cls=cls, **extra)


@dataclass(frozen=True)
class Overview:
    """The territory, its tracks and its campaigns over one period, computed from one pass over the facts."""

    figures: TerritoryFigures
    tracks: list[TrackFigures]
    campaigns: list[CampaignFigures]


def overview(session: Session, *, since: date, until: date, campaign_id: int | None = None) -> Overview:
    """`period_figures`, `track_figures` and `campaign_figures` together (the dashboard needs all three).
    With `campaign_id`, tracks and campaigns are that campaign's; the territory's figures stay the whole's."""
    p = _period(session, since, until)
    inputs = _boost_reach_inputs(session, p.tid, since, until) if p.covered else {}
    followers = followers_on(session, until, since) if p.covered else None
    return _overview(session, p, inputs, followers, campaign_id)[0]


def _overview(session: Session, p: _Period, inputs: _Inputs, followers: int | None, campaign_id: int | None
              ) -> tuple[Overview, dict[int, _TrackInfo], dict[int, Facts]]:
    """The overview, and the tracks and facts behind it (for the callers that reuse them)."""
    tracks, facts = _track_level(session, p, inputs)
    figures_by_track = {t: _track_figure(info, facts[t], followers) for t, info in tracks.items()}
    items = [(info, facts[t], figures_by_track[t]) for t, info in tracks.items()]
    state = p.state
    currencies = {info.currency for info in tracks.values()}
    territory = _aggregate(items, followers, p.covered, TerritoryFigures, dict(
        since=p.since, until=p.until, currency=currencies.pop() if len(currencies) == 1 else "EUR",
        covered=p.covered, last_synced_at=max((t for t in (state.last_hourly_at, state.last_daily_at) if t),
                                              default=None) if state else None))
    chosen = {t: info for t, info in tracks.items() if campaign_id is None or info.campaign_id == campaign_id}
    track_list = [figures_by_track[t] for t in chosen]
    track_list.sort(key=lambda t: (tracks[t.track_id].starts_on, t.campaign_name, t.campaign_id, t.audience_key))
    by_campaign: dict[int, list[tuple[_TrackInfo, Facts, Figures]]] = defaultdict(list)
    for t, info in chosen.items():
        by_campaign[info.campaign_id].append((info, facts[t], figures_by_track[t]))
    campaigns = []
    for group in by_campaign.values():
        info = group[0][0]
        campaigns.append(_aggregate(group, followers, p.covered, CampaignFigures, dict(
            campaign_id=info.campaign_id, campaign_name=info.campaign_name, starts_on=info.starts_on,
            ends_on=info.ends_on, currency=info.currency)))
    campaigns.sort(key=lambda c: (c.starts_on, c.campaign_name))
    return Overview(territory, track_list, campaigns), tracks, facts


def track_figures(session: Session, *, since: date, until: date, campaign_id: int | None = None
                  ) -> list[TrackFigures]:
    """Every track with facts in the period or whose campaign meets it (or of one campaign), by campaign
    then audience."""
    return overview(session, since=since, until=until, campaign_id=campaign_id).tracks


def campaign_figures(session: Session, *, since: date, until: date) -> list[CampaignFigures]:
    """Every campaign with facts in the period or running in it, its tracks added up."""
    return overview(session, since=since, until=until).campaigns


def period_figures(session: Session, *, since: date, until: date) -> TerritoryFigures:
    """The territory's headline figures over [since, until]."""
    return overview(session, since=since, until=until).figures


def _partial_weeks(since: date, until: date) -> list[tuple[date, date]]:
    """The days of the ISO weeks that [since, until] cuts (the first and the last week at most)."""
    out = []
    for monday in {week_start(since), week_start(until)}:
        lo, hi = max(since, monday), min(until, monday + timedelta(days=6))
        if (lo, hi) != (monday, monday + timedelta(days=6)):
            out.append((lo, hi))
    return sorted(out)


def weekly_series(session: Session, *, since: date, until: date, track_id: int | None = None) -> list[WeekFigures]:
    """One `WeekFigures` per ISO week meeting [since, until] (for the territory or one track), oldest first.

    A week's paid reach is the sum of its boosts' weekly reach; the estimate is computed per week, so
    the weeks' estimates need not add up to the period's (reach never adds up over time). A week that
    no synchronised fact covers is missing (`None` everywhere), even when the period as a whole is
    covered — before the first synchronised day, nothing is known, not zero.
    """
    p = _period(session, since, until)
    cuts = _partial_weeks(since, until)
    inputs = _boost_reach_inputs(session, p.tid, since, until, track_id, cuts=cuts) if p.covered and cuts else {}
    followers = _weekly_followers(session, p.tid, since, until) if p.covered else {}
    return _weeks(session, p, track_id, inputs, followers)


def _weeks(session: Session, p: _Period, track_id: int | None, inputs: _Inputs,
           followers: dict[date, int]) -> list[WeekFigures]:
    covered = _covered_weeks(session, p)
    flows = _flows(session, p.tid, p.since, p.until, by="week", track_id=track_id) if covered else {}
    boosts = [boost for _post, track, boost in inputs.values() if track_id is None or track == track_id]
    out = []
    for monday in weeks_between(p.since, p.until):
        lo, hi = max(p.since, monday), min(p.until, monday + timedelta(days=6))
        partial = (lo, hi) != (monday, monday + timedelta(days=6))
        acc = flows.get(monday)
        reach: int | None = 0
        if monday not in covered:
            reach = None
        elif partial:
            for boost in boosts:
                value, complete = paid_reach_of_boost(boost, lo, hi)
                reach = reach + value if complete and reach is not None else None
        elif acc is not None:
            reach = acc.week_paid_reach
        facts = _facts(acc, reach, None, monday in covered)
        figures = compute_figures(facts, followers=None, results=None, value_of_results_minor=None)
        out.append(WeekFigures(
            iso_week=iso_week_label(monday), week_start=monday, since=lo, until=hi, partial=partial,
            followers=followers.get(monday) if monday in covered else None, viewers=figures.viewers,
            paid_reach=figures.paid_reach, organic_reach_estimate=figures.organic_reach_estimate,
            spend_minor=figures.spend_minor, views_organic=figures.views_organic, views_paid=figures.views_paid,
            engagement=figures.engagement, cost_per_thousand_minor=figures.cost_per_thousand_minor,
        ))
    return out


def _weekly_followers(session: Session, tid: int, since: date, until: date) -> dict[date, int]:
    """Monday → the followers on the last day of that week (in the period) with the figure."""
    out: dict[date, tuple[date, int]] = {}
    for day, followers in session.exec(
        select(PageDailyMetric.day, PageDailyMetric.followers)
        .where(PageDailyMetric.territory_id == tid, PageDailyMetric.day >= since, PageDailyMetric.day <= until,
               PageDailyMetric.followers.is_not(None))
    ):
        day = _date(day)
        monday = week_start(day)
        if monday not in out or out[monday][0] < day:
            out[monday] = (day, followers)
    return {monday: value for monday, (_day, value) in out.items()}


def _post_level(session: Session, p: _Period, track_id: int | None) -> list[tuple[int, _Acc, int | None]]:
    """(post id, its flows, its paid reach) of every post with facts in the period."""
    flows = _flows(session, p.tid, p.since, p.until, by="post", track_id=track_id)
    inputs = _boost_reach_inputs(session, p.tid, p.since, p.until, track_id)
    reach = _paid_reach_by(inputs, p.since, p.until, "post")
    ids = [i for i, acc in flows.items() if acc.post_rows or acc.ad_rows] + [i for i in reach if i not in flows]
    return [(i, flows.get(i) or _Acc(), reach.get(i, 0)) for i in ids]


def _post_rows(session: Session, tid: int, rows: list[tuple[int, _Acc, int | None]],
               tracks: dict[int, _TrackInfo] | None = None) -> list[PostFigures]:
    """PostFigures of these posts, in the given order (reads only the columns it needs; `tracks` are the
    track details already read, the others are read here)."""
    details: dict[int, Any] = {}
    for chunk in _chunks([i for i, _a, _r in rows], 500):
        for row in session.exec(
            select(Post.id, Post.track_id, Post.message, Post.published_at, Post.copied_from_website,
                   PostTotal.boosted, PostTotal.viewers, PostTotal.followers_at_publish)
            .join(PostTotal, PostTotal.post_id == Post.id, isouter=True)
            .where(Post.territory_id == tid, Post.id.in_(chunk))
        ):
            details[row[0]] = row
    tracks = dict(tracks or {})
    missing = {d[1] for d in details.values()} - set(tracks)
    if missing:
        tracks.update(_tracks(session, tid, missing))
    out = []
    for post_id, acc, reach in rows:
        if post_id not in details:
            continue
        _id, track_id, message, published_at, copied, ever, lifetime_viewers, followers = details[post_id]
        info = tracks[track_id]
        boosted = acc.ad_rows > 0 or bool(reach)
        facts = _facts(acc, reach, None, True)
        rate = (lifetime_viewers / followers
                if not ever and not boosted and lifetime_viewers is not None and followers else None)
        out.append(PostFigures(
            post_id=post_id, excerpt=excerpt(message), track_id=track_id, campaign_name=info.campaign_name,
            audience_key=info.audience_key, audience_name=info.audience_name, published_at=published_at,
            copied_from_website=bool(copied), boosted=boosted, viewers=facts.viewers,
            paid_reach=facts.paid_reach, organic_reach_estimate=estimate_organic(facts.viewers, facts.paid_reach),
            organic_reach_rate=rate, views_organic=facts.views_organic, views_paid=facts.views_paid,
            engagement=facts.engagement, spend_minor=facts.spend_minor if boosted else None,
            results=track_results(facts, info.result_type) if boosted else None,
        ))
    return out


def _viewers_rank(row: tuple[int, _Acc, int | None]) -> tuple[int, int]:
    post_id, acc, _reach = row
    return (-((acc.viewers or 0) if acc.post_rows else 0), post_id)


def post_figures(session: Session, *, since: date, until: date, track_id: int | None = None) -> list[PostFigures]:
    """Every post with facts in the period (optionally of one track), most viewers first."""
    p = _period(session, since, until)
    if not p.covered:
        return []
    return _post_rows(session, p.tid, sorted(_post_level(session, p, track_id), key=_viewers_rank))


def _ranked_posts(session: Session, p: _Period, count: int, track_ids: list[int] | None
                  ) -> tuple[list[int], list[int]]:
    """The ids of the `count` posts with the most viewers over the period and of the `count` with the
    fewest (never the same post twice), as `top_and_bottom(post_figures(...))` ranks them: the posts with
    a post or ad fact in the period or a boost delivering in it, on their viewers (0 without a post fact;
    a post whose viewers are all missing is not ranked), ties by id.

    The per-post sums of the period are made and ranked in SQL (ORDER BY … LIMIT): only the chosen ids
    leave the database, not a year of post-weeks.
    """
    if count <= 0 or track_ids == []:
        return [], []
    tid, since, until = p.tid, p.since, p.until

    def facts_of(post_id: Any, viewers: Any, post_rows: Any) -> Any:  # one part of the union, its columns named
        return select(post_id.label("post_id"), viewers.label("viewers"), post_rows.label("post_rows"))

    no_viewers, post_row, ad_row = cast(null(), Integer), literal(1, Integer), literal(0, Integer)
    full, edges = split_period(since, until)
    parts = []
    if full is not None:  # whole blocks of four weeks, then the leftover whole weeks
        blocks, rest = split_weeks(*full)
        if blocks is not None:
            part = (facts_of(PostBlockMetric.post_id, PostBlockMetric.viewers, PostBlockMetric.post_rows)
                    .where(PostBlockMetric.territory_id == tid, PostBlockMetric.block_start >= blocks[0],
                           PostBlockMetric.block_start <= blocks[1]))
            parts.append(part if track_ids is None else part.where(PostBlockMetric.track_id.in_(track_ids)))
        for lo, hi in rest:
            part = (facts_of(PostWeekMetric.post_id, PostWeekMetric.viewers, PostWeekMetric.post_rows)
                    .where(PostWeekMetric.territory_id == tid, PostWeekMetric.week_start >= lo,
                           PostWeekMetric.week_start <= hi))
            parts.append(part if track_ids is None else part.where(PostWeekMetric.track_id.in_(track_ids)))
    for lo, hi in edges:
        days = (facts_of(PostDailyMetric.post_id, PostDailyMetric.viewers, post_row)
                .where(PostDailyMetric.territory_id == tid, PostDailyMetric.day >= lo, PostDailyMetric.day <= hi))
        ads = (facts_of(Boost.post_id, no_viewers, ad_row).join(AdDailyMetric, AdDailyMetric.boost_id == Boost.id)
               .where(AdDailyMetric.territory_id == tid, AdDailyMetric.day >= lo, AdDailyMetric.day <= hi))
        if track_ids is not None:
            days = days.join(Post, Post.id == PostDailyMetric.post_id).where(Post.track_id.in_(track_ids))
            ads = ads.join(Post, Post.id == Boost.post_id).where(Post.track_id.in_(track_ids))
        parts += [days, ads]
    delivering = (facts_of(BoostTotal.post_id, no_viewers, ad_row)
                  .where(BoostTotal.territory_id == tid, BoostTotal.first_day <= until, BoostTotal.last_day >= since))
    if track_ids is not None:
        delivering = delivering.join(Post, Post.id == BoostTotal.post_id).where(Post.track_id.in_(track_ids))
    parts.append(delivering)
    facts = union_all(*parts).subquery("facts")
    viewers = case((func.sum(facts.c.post_rows) > 0, func.sum(facts.c.viewers)), else_=0)
    per_post = (select(facts.c.post_id.label("post_id"), viewers.label("viewers"))
                .group_by(facts.c.post_id).having(viewers.is_not(None)).cte("per_post"))
    most = (select(per_post.c.post_id, per_post.c.viewers)
            .order_by(per_post.c.viewers.desc(), per_post.c.post_id).limit(count).subquery("most"))
    fewest = (select(per_post.c.post_id, per_post.c.viewers)
              .order_by(per_post.c.viewers, per_post.c.post_id.desc()).limit(count).subquery("fewest"))
    rows = session.execute(union_all(
        select(literal(0, Integer).label("side"), most.c.post_id, most.c.viewers),
        select(literal(1, Integer), fewest.c.post_id, fewest.c.viewers))).all()
    top = [post for _s, post, _v in sorted((r for r in rows if r[0] == 0), key=lambda r: (-r[2], r[1]))]
    bottom = [post for _s, post, _v in sorted((r for r in rows if r[0] == 1), key=lambda r: (r[2], -r[1]))
              if post not in top]
    return top, bottom


def _top_and_bottom(session: Session, p: _Period, count: int, track_ids: list[int] | None,
                    inputs: _Inputs | None, tracks: dict[int, _TrackInfo] | None
                    ) -> tuple[list[PostFigures], list[PostFigures]]:
    if not p.covered:
        return [], []
    top_ids, bottom_ids = _ranked_posts(session, p, count, track_ids)
    chosen = top_ids + bottom_ids
    if not chosen:
        return [], []
    flows = _flows(session, p.tid, p.since, p.until, by="post", post_ids=chosen)
    if inputs is None:
        inputs = _boost_reach_inputs(session, p.tid, p.since, p.until, post_ids=chosen)
    wanted = set(chosen)
    reach = _paid_reach_by({b: v for b, v in inputs.items() if v[0] in wanted}, p.since, p.until, "post")
    built = {f.post_id: f for f in _post_rows(
        session, p.tid, [(i, flows.get(i) or _Acc(), reach.get(i, 0)) for i in chosen], tracks)}
    return [built[i] for i in top_ids if i in built], [built[i] for i in bottom_ids if i in built]


def top_and_bottom_posts(session: Session, *, since: date, until: date, count: int = 5,
                         track_ids: Iterable[int] | None = None) -> tuple[list[PostFigures], list[PostFigures]]:
    """`top_and_bottom(post_figures(...))` (optionally among the posts of `track_ids`) without building the
    figures of the posts in between: the posts are ranked in SQL, then only the chosen ones are computed."""
    p = _period(session, since, until)
    return _top_and_bottom(session, p, count, None if track_ids is None else list(track_ids), None, None)


def top_and_bottom(posts: list[PostFigures], count: int = 5) -> tuple[list[PostFigures], list[PostFigures]]:
    """The `count` posts with the most viewers and the `count` with the fewest (never the same post twice)."""
    ranked = sorted((p for p in posts if p.viewers is not None), key=lambda p: (-p.viewers, p.post_id))
    top = ranked[:count]
    bottom = [p for p in reversed(ranked[count:])][:count]
    return top, bottom


def _campaign_of_tracks(session: Session, tid: int) -> dict[int, int]:
    return dict(session.exec(select(ContentTrack.id, ContentTrack.campaign_id)
                             .where(ContentTrack.territory_id == tid)).all())


def _spent_to_date(session: Session, p: _Period) -> dict[int, int]:
    """Campaign → the spend Ads Insights reported from its first delivery through `until`, for the
    campaigns that delivered by then. From sums, not from the history: each boost's total to date
    (`BoostTotal`, kept by the synchronisation), less what was delivered after `until` (nothing unless
    the period lies in the past, then only the roll-ups of the days since)."""
    rows = session.exec(
        select(ContentTrack.campaign_id, func.sum(BoostTotal.spend_minor), func.min(BoostTotal.first_day),
               func.max(BoostTotal.last_day))
        .join(ContentTrack, ContentTrack.id == BoostTotal.track_id)
        .where(BoostTotal.territory_id == p.tid, BoostTotal.first_day.is_not(None))
        .group_by(ContentTrack.campaign_id)
    ).all()
    out = {campaign: int(total or 0) for campaign, total, first, _last in rows if _date(first) <= p.until}
    last = max((_date(row[3]) for row in rows), default=None)
    if last is not None and last > p.until and out:
        campaign_of = _campaign_of_tracks(session, p.tid)
        for track_id, spend in _spend_by_track(session, p.tid, p.until + timedelta(days=1), last).items():
            if campaign_of.get(track_id) in out:
                out[campaign_of[track_id]] -= spend
    return out


def _budget(session: Session, p: _Period, spent_in_period: dict[int, int]) -> list[BudgetLine]:
    """The budget lines, given each campaign's spend in the period."""
    from sponsored.services import campaign_balance_rows

    to_date = _spent_to_date(session, p)
    out = []
    for campaign, balance in campaign_balance_rows(session=session):
        spent = to_date.get(campaign.id, 0) if p.covered or campaign.id in to_date else None
        out.append(BudgetLine(
            campaign_id=campaign.id, campaign_name=campaign.name, starts_on=campaign.starts_on,
            ends_on=campaign.ends_on, currency=campaign.currency, approved_minor=balance.approved_minor,
            committed_minor=balance.committed_minor, spent_minor=balance.spent_minor,
            remaining_minor=balance.remaining_minor,
            spent_in_period_minor=spent_in_period.get(campaign.id, 0) if p.covered else None,
            spent_to_date_minor=spent,
            consumed_rate=spent / balance.approved_minor if spent is not None and balance.approved_minor else None,
        ))
    return out


def budget_consumption(session: Session, *, since: date, until: date) -> list[BudgetLine]:
    """Active campaigns' ledger balances beside the spend Ads Insights reported (period and to date)."""
    p = _period(session, since, until)
    period: dict[int, int] = defaultdict(int)
    if p.covered:
        campaign_of = _campaign_of_tracks(session, p.tid)
        for track_id, spend in _spend_by_track(session, p.tid, since, until).items():
            if track_id in campaign_of:
                period[campaign_of[track_id]] += spend
    return _budget(session, p, period)


@dataclass(frozen=True)
class DashboardFigures:
    """Everything the dashboard shows for one period. Each part equals its own function's result
    (`overview`, `weekly_series`, `top_and_bottom_posts`, `budget_consumption`): the same code computes
    it, but what they share (the synchronisation markers, the boosts' reach, the followers, the tracks)
    is read once."""

    overview: Overview
    weeks: list[WeekFigures]
    top_posts: list[PostFigures]
    bottom_posts: list[PostFigures]
    budget: list[BudgetLine]


def dashboard_figures(session: Session, *, since: date, until: date, campaign_id: int | None = None,
                      top_count: int = 5) -> DashboardFigures:
    """The dashboard's figures over [since, until]; with `campaign_id`, tracks, campaigns and posts are
    that campaign's (the territory's figures, the weeks and the budget stay the whole's)."""
    p = _period(session, since, until)
    inputs = (_boost_reach_inputs(session, p.tid, since, until, cuts=_partial_weeks(since, until))
              if p.covered else {})
    weekly_followers = _weekly_followers(session, p.tid, since, until) if p.covered else {}
    # The followers on the period's last day with the figure (`followers_on`): the last week's.
    followers = weekly_followers[max(weekly_followers)] if weekly_followers else None
    view, tracks, facts = _overview(session, p, inputs, followers, campaign_id)
    track_ids = [t.track_id for t in view.tracks] if campaign_id is not None else None
    top, bottom = _top_and_bottom(session, p, top_count, track_ids, inputs, tracks)
    spent: dict[int, int] = defaultdict(int)
    for track_id, info in tracks.items():
        spent[info.campaign_id] += facts[track_id].spend_minor or 0
    return DashboardFigures(overview=view, weeks=_weeks(session, p, None, inputs, weekly_followers),
                            top_posts=top, bottom_posts=bottom, budget=_budget(session, p, spent))


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def published_by_week(session: Session, *, mondays: list[date], tz: ZoneInfo) -> list[int]:
    """How many posts were published in each of these ISO weeks (territory time), in their order.

    Behind the weekly "organic ceiling": posts of the week × ~10 % of followers is the most an unpaid
    week could reach. Used by the dashboard and the weekly PDF (the same chart).
    """
    if not mondays:
        return []

    def midnight(day: date) -> datetime:  # the instant a territory day starts
        return datetime.combine(day, time(0), tz).astimezone(UTC)

    # Each week as the UTC instants of its first and next Monday's local midnights (DST included): a post
    # is placed by bisection among them, not by converting each publication to local time.
    weeks = sorted({monday: (midnight(monday), midnight(monday + timedelta(days=7))) for monday in mondays}.items(),
                   key=lambda item: item[1][0])
    starts = [begin for _monday, (begin, _end) in weeks]
    counts: dict[date, int] = {}
    for published_at in session.exec(select(Post.published_at).where(
            Post.status == PostStatus.PUBLISHED, Post.published_at >= starts[0],
            Post.published_at < weeks[-1][1][1])).all():
        index = bisect_right(starts, published_at) - 1
        monday, (_begin, end) = weeks[index]
        if published_at < end:
            counts[monday] = counts.get(monday, 0) + 1
    return [counts.get(monday, 0) for monday in mondays]

