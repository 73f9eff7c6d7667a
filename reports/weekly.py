"""The weekly report's content: every figure and list the PDF, the preview and the e-mail show.

`build_report_data` gathers one territory's ISO week (Monday–Sunday, territory time) into a
`WeeklyReport`, from the one metrics implementation (`reports.metrics`) and the budget and
planning services; the templates only format it. Missing data stays `None` (shown as "—"),
never 0. Reads only: no flush, no commit.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from accounts.models import Territory
from campaigns.models import Campaign, ContentTrack, Post, PostStatus
from campaigns.services import posts_between
from core import clock
from core.errors import DomainError
from reports import metrics
from reports.metrics import excerpt
from sponsored import services as sponsored
from sponsored.models import Boost, BoostStatus
from targets.models import Audience

ISO_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
TREND_WEEKS = 4  # the page-1 trend: this week and the three before it
CHART_WEEKS = 12  # the organic vs paid reach chart looks back this many weeks
TOP_POSTS = 3  # top and bottom posts per track

# Traffic light per track (written in the report's annex, keep both in step):
# each target gives a ratio actual ÷ plan for the week; the shortfall is max(0, 1 − ratio).
CLOSE_SHORTFALL = 0.10  # a shortfall up to 10 % is "within 10 %"; above it is "off"
OVERSPEND_RATIO = 1.20  # spending faster than 120 % of plan is "off" too (the sponsored pacing band)

INSTANCE_LOGOS = Path(__file__).resolve().parent.parent / "instance" / "logos"


# ------------------------------------------------------------------------------------- ISO weeks


def parse_iso_week(text: str) -> date:
    """The Monday of an ISO week written `2026-W47`. :raise DomainError: for any other text."""
    match = ISO_WEEK_RE.match((text or "").strip())
    if not match:
        raise DomainError(_("Semaine invalide : « %(week)s » (format attendu : 2026-W47).", week=text), field="week")
    try:
        return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise DomainError(_("La semaine « %(week)s » n'existe pas.", week=text), field="week") from None


def iso_week_of(day: date) -> str:
    """`2026-W47` for the ISO week that contains `day`."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(monday: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The week as aware UTC instants [Monday 00:00, next Monday 00:00) in the territory's time zone."""
    start = datetime.combine(monday, time(0), tz).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0), tz).astimezone(UTC)
    return start, end


def last_complete_week(now: datetime, tz: ZoneInfo) -> str:
    """The most recent ISO week that has fully ended at `now`, in the territory's time zone."""
    today = now.astimezone(tz).date()
    return iso_week_of(today - timedelta(days=today.weekday() + 7))


def check_week_complete(iso_week: str, now: datetime, tz: ZoneInfo) -> date:
    """The Monday of `iso_week`. :raise DomainError: if the week has not ended yet (or is malformed)."""
    monday = parse_iso_week(iso_week)
    if monday > parse_iso_week(last_complete_week(now, tz)):
        raise DomainError(
            _("La semaine %(week)s n'est pas encore terminée : un rapport porte sur une semaine complète.",
              week=iso_week), field="week")
    return monday


def recent_weeks(now: datetime, tz: ZoneInfo, count: int = 12) -> list[str]:
    """The last `count` complete ISO weeks, most recent first (the archive's "generate now" list)."""
    last = parse_iso_week(last_complete_week(now, tz))
    return [iso_week_of(last - timedelta(weeks=n)) for n in range(count)]


# ---------------------------------------------------------------------------------- the content


@dataclass(frozen=True)
class Reach:
    """People reached: organic is an estimate (viewers − paid reach), see the annex."""

    organic: int | None
    paid: int | None
    total: int | None


@dataclass(frozen=True)
class Light:
    """A track's traffic light for the week and the figures behind it."""

    status: str  # "on_track", "close" (within 10 %), "off", "none" (no target or no data)
    posts_published: int
    posts_planned: float | None  # cadence × share of the week inside the campaign
    spend_minor: int | None
    spend_plan_minor: int | None  # the track's allocation spread evenly over the campaign's days
    shortfall: float | None  # the larger shortfall of the two targets (0.07 = 7 % behind)
    overspend: bool = False


@dataclass(frozen=True)
class PostLine:
    post_id: int
    excerpt: str
    published_at: datetime | None
    reach: int | None  # unique viewers (organic and paid)
    engagement: int | None
    spend_minor: int | None  # None when the post was not boosted in the week
    boosted: bool


@dataclass(frozen=True)
class TrackLine:
    track_id: int
    campaign_name: str
    audience_key: str
    audience_name: str
    reach: Reach
    previous_total: int | None
    change: float | None  # total ÷ previous total − 1
    trend: tuple[int | None, ...]  # weekly totals, oldest first, ending with this week
    spend_minor: int | None
    cost_per_thousand_minor: int | None
    results: int | None
    cost_per_result_minor: int | None
    return_ratio: float | None
    value_per_result_minor: int | None
    value_note: str
    light: Light
    top_posts: tuple[PostLine, ...] = ()
    bottom_posts: tuple[PostLine, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.audience_name} ({self.campaign_name})"

    @property
    def trend_change(self) -> float | None:
        """Change from the first to the last of the trend's weeks (None if either is missing or 0)."""
        return change_ratio(self.trend[-1], self.trend[0]) if len(self.trend) > 1 else None


@dataclass(frozen=True)
class MoneyLine:
    """One campaign's public money: approved, committed, spent (ledger), pacing."""

    campaign_name: str
    starts_on: date
    ends_on: date
    approved_minor: int
    committed_minor: int
    spent_minor: int  # the ledger's spend lines, to date
    remaining_minor: int  # the ledger: approved − committed − spent
    spent_week_minor: int | None  # Ads Insights, during the report's week
    pacing: float | None  # ledger spend ÷ what an even spend of the approved budget would have reached by Sunday


@dataclass(frozen=True)
class BoostLine:
    excerpt: str
    track_label: str
    budget_minor: int
    status: str
    approved_by: str | None
    requested_by: str | None
    reason: str | None = None  # Facebook's refusal reason
    when: datetime | None = None


@dataclass(frozen=True)
class PlannedPost:
    planned_at: datetime
    track_label: str
    excerpt: str
    status: str


@dataclass
class WeeklyReport:
    """Everything one territory's weekly report shows; the templates only format it."""

    territory_name: str
    territory_slug: str
    brand_name: str | None
    brand_color: str
    locale: str
    timezone: str
    currency: str
    logo_data_uri: str | None
    iso_week: str
    monday: date
    sunday: date
    generated_at: datetime
    reach: Reach
    previous_reach: Reach
    change: float | None
    followers: int | None
    organic_rate: float | None  # estimated organic reach ÷ followers
    spend_week_minor: int | None
    spend_ytd_minor: int | None
    approved_year_minor: int | None
    tracks: list[TrackLine]
    money: list[MoneyLine]
    boosts: list[BoostLine]
    refused: list[BoostLine]
    next_posts: list[PlannedPost]
    pending_boosts: list[BoostLine]
    data_synced_at: datetime | None  # the newest fact from Facebook behind these figures
    # Raw series from `reports.metrics`, for the chart functions of `reports.charts`.
    series: list[Any] = field(default_factory=list)  # WeekFigures, oldest first
    track_figures: list[Any] = field(default_factory=list)  # TrackFigures of the week
    # Posts published in each week of `series` (territory time): the chart's organic ceiling is
    # posts × 10 % of followers, see `reports.charts.organic_ceilings` and the annex.
    series_posts: list[int] = field(default_factory=list)

    @property
    def next_monday(self) -> date:
        return self.monday + timedelta(days=7)

    @property
    def next_sunday(self) -> date:
        return self.monday + timedelta(days=13)

    @property
    def ytd_share(self) -> float | None:
        if self.spend_ytd_minor is None or not self.approved_year_minor:
            return None
        return self.spend_ytd_minor / self.approved_year_minor

    @property
    def lights_count(self) -> dict[str, int]:
        counts = {"on_track": 0, "close": 0, "off": 0, "none": 0}
        for track in self.tracks:
            counts[track.light.status] += 1
        return counts

    @property
    def cheapest_track(self) -> TrackLine | None:
        priced = [t for t in self.tracks if t.cost_per_thousand_minor is not None]
        return min(priced, key=lambda t: t.cost_per_thousand_minor) if priced else None


# ------------------------------------------------------------------------------------- helpers


def change_ratio(current: int | None, previous: int | None) -> float | None:
    """current ÷ previous − 1; None when either is missing or the previous week is 0."""
    if current is None or not previous:
        return None
    return current / previous - 1


def traffic_light(*, posts_published: int, posts_planned: float | None, spend_minor: int | None,
                  spend_plan_minor: int | None) -> Light:
    """The rule printed in the annex: the larger shortfall against cadence and spend plan decides."""
    shortfalls: list[float] = []
    overspend = False
    if posts_planned:
        shortfalls.append(max(0.0, 1 - posts_published / posts_planned))
    if spend_plan_minor and spend_minor is not None:
        ratio = spend_minor / spend_plan_minor
        shortfalls.append(max(0.0, 1 - ratio))
        overspend = ratio > OVERSPEND_RATIO
    if not shortfalls:
        status, worst = "none", None
    else:
        worst = max(shortfalls)
        if overspend or worst > CLOSE_SHORTFALL:
            status = "off"
        elif worst > 0:
            status = "close"
        else:
            status = "on_track"
    return Light(status=status, posts_published=posts_published, posts_planned=posts_planned,
                 spend_minor=spend_minor, spend_plan_minor=spend_plan_minor, shortfall=worst, overspend=overspend)


def logo_data_uri(slug: str) -> str | None:
    """The territory's logo, if one was dropped in `instance/logos/<slug>.svg|png|jpg`."""
    for suffix, mime in ((".svg", "image/svg+xml"), (".png", "image/png"), (".jpg", "image/jpeg")):
        path = INSTANCE_LOGOS / f"{slug}{suffix}"
        if path.is_file():
            return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"
    return None


def territory_tz(territory: Territory) -> ZoneInfo:
    return ZoneInfo(territory.timezone)


# --------------------------------------------------------------------------------- the builder


def build_report_data(*, session: Session, territory: Territory, iso_week: str) -> WeeklyReport:
    """Gather one territory's ISO week. `session` must be scoped to the territory. Reads only."""
    tz = territory_tz(territory)
    monday = parse_iso_week(iso_week)
    sunday = monday + timedelta(days=6)
    start, end = week_bounds(monday, tz)
    previous = (monday - timedelta(days=7), sunday - timedelta(days=7))

    headline = metrics.period_figures(session, since=monday, until=sunday)
    before = metrics.period_figures(session, since=previous[0], until=previous[1])
    year_start = date(sunday.year, 1, 1)
    ytd = metrics.period_figures(session, since=year_start, until=sunday)

    # Tracks: this week, and each of the trend's weeks (the previous week is one of them).
    weeks = [monday - timedelta(weeks=n) for n in range(TREND_WEEKS - 1, -1, -1)]
    covered = metrics.covered_weeks(session, since=monday - timedelta(weeks=CHART_WEEKS - 1), until=sunday)
    by_week = {m: {t.track_id: t for t in metrics.track_figures(session, since=m, until=m + timedelta(days=6))}
               for m in weeks[:-1]}
    current = metrics.track_figures(session, since=monday, until=sunday)
    by_week[monday] = {t.track_id: t for t in current}
    posts = metrics.post_figures(session, since=monday, until=sunday)
    plans = _track_plans(session, [t.track_id for t in current], monday, sunday)
    published = _published_counts(session, start, end)

    tracks = []
    for figures in current:
        plan = plans.get(figures.track_id)
        track_posts = [p for p in posts if p.track_id == figures.track_id]
        top, bottom = metrics.top_and_bottom(track_posts, TOP_POSTS)
        prior = by_week.get(previous[0], {}).get(figures.track_id)
        previous_total = prior.viewers if prior is not None else None
        tracks.append(TrackLine(
            track_id=figures.track_id, campaign_name=figures.campaign_name, audience_key=figures.audience_key,
            audience_name=figures.audience_name,
            reach=Reach(figures.organic_reach_estimate, figures.paid_reach, figures.viewers),
            previous_total=previous_total, change=change_ratio(figures.viewers, previous_total),
            trend=tuple(by_week[m][figures.track_id].viewers if figures.track_id in by_week[m] and m in covered
                        else None for m in weeks),
            spend_minor=figures.spend_minor, cost_per_thousand_minor=figures.cost_per_thousand_minor,
            results=figures.results, cost_per_result_minor=figures.cost_per_result_minor,
            return_ratio=figures.return_ratio, value_per_result_minor=figures.value_per_result_minor,
            value_note=figures.value_note,
            light=traffic_light(posts_published=published.get(figures.track_id, 0),
                                posts_planned=plan.posts_planned if plan else None,
                                spend_minor=figures.spend_minor,
                                spend_plan_minor=plan.spend_plan_minor if plan else None),
            top_posts=tuple(_post_line(p) for p in top), bottom_posts=tuple(_post_line(p) for p in bottom),
        ))

    # The chart starts with the first week that synchronised facts cover; a later week that none covers
    # comes from the metrics module as missing (None), never as zeros.
    first = min(covered, default=monday)
    series = metrics.weekly_series(session, since=first, until=sunday)
    return WeeklyReport(
        territory_name=territory.name, territory_slug=territory.slug, brand_name=territory.brand_name,
        brand_color=territory.brand_color, locale=territory.locale, timezone=territory.timezone,
        currency=territory.currency, logo_data_uri=logo_data_uri(territory.slug),
        iso_week=iso_week_of(monday), monday=monday, sunday=sunday, generated_at=clock.now(),
        reach=Reach(headline.organic_reach_estimate, headline.paid_reach, headline.viewers),
        previous_reach=Reach(before.organic_reach_estimate, before.paid_reach, before.viewers),
        change=change_ratio(headline.viewers, before.viewers), followers=headline.followers,
        organic_rate=headline.organic_reach_rate,
        spend_week_minor=headline.spend_minor, spend_ytd_minor=ytd.spend_minor,
        approved_year_minor=_approved_for_year(session, sunday.year),
        tracks=tracks, money=_money_lines(session, monday, sunday),
        boosts=_boost_lines(session, start, end, refused=False),
        refused=_boost_lines(session, start, end, refused=True),
        next_posts=_next_posts(session, end), pending_boosts=_pending_boosts(session),
        data_synced_at=headline.last_synced_at, series=series, track_figures=current,
        series_posts=metrics.published_by_week(session, mondays=[w.week_start for w in series], tz=tz),
    )


@dataclass(frozen=True)
class _Plan:
    posts_planned: float | None
    spend_plan_minor: int | None


def _track_plans(session: Session, track_ids: list[int], monday: date, sunday: date) -> dict[int, _Plan]:
    """Each track's targets for the week: its cadence and its allocation, pro rata of the campaign's
    days that fall in the week (the traffic-light rule in the annex)."""
    if not track_ids:
        return {}
    rows = session.exec(select(ContentTrack, Campaign).join(Campaign, Campaign.id == ContentTrack.campaign_id)
                        .where(ContentTrack.id.in_(track_ids))).all()
    allocations: dict[int, int] = {}
    for campaign in {c.id: c for _t, c in rows}.values():
        for balance in sponsored.track_balances(session=session, campaign=campaign):
            allocations[balance.track.id] = balance.allocated_minor
    plans = {}
    for track, campaign in rows:
        campaign_days = (campaign.ends_on - campaign.starts_on).days + 1
        overlap = (min(sunday, campaign.ends_on) - max(monday, campaign.starts_on)).days + 1
        if campaign_days <= 0 or overlap <= 0:
            plans[track.id] = _Plan(None, None)
            continue
        allocation = allocations.get(track.id) or 0
        plans[track.id] = _Plan(
            posts_planned=track.posts_per_week * overlap / 7 if track.posts_per_week else None,
            spend_plan_minor=round(allocation * overlap / campaign_days) if allocation else None,
        )
    return plans


def _published_counts(session: Session, start: datetime, end: datetime) -> dict[int, int]:
    rows = session.exec(select(Post.track_id, func.count()).where(
        Post.status == PostStatus.PUBLISHED, Post.published_at >= start, Post.published_at < end,
    ).group_by(Post.track_id)).all()
    return {track_id: count for track_id, count in rows}


def _post_line(post: Any) -> PostLine:
    return PostLine(post_id=post.post_id, excerpt=excerpt(post.excerpt), published_at=post.published_at,
                    reach=post.viewers, engagement=post.engagement, spend_minor=post.spend_minor,
                    boosted=post.boosted)


def _approved_for_year(session: Session, year: int) -> int | None:
    """The year's approved public money: the annual envelope when one is set, else the approved
    budgets of the campaigns that run during the year. None when neither exists."""
    for envelope in sponsored.envelope_balances(session=session):
        if envelope.year == year and envelope.envelope_minor > 0:
            return envelope.envelope_minor
    approved = [balance.approved_minor for campaign, balance in sponsored.campaign_balances(session=session)
                if campaign.starts_on.year <= year <= campaign.ends_on.year]
    return sum(approved) if approved else None


def _money_lines(session: Session, monday: date, sunday: date) -> list[MoneyLine]:
    lines = []
    for line in metrics.budget_consumption(session, since=monday, until=sunday):
        days = (line.ends_on - line.starts_on).days + 1
        elapsed = min(max((sunday - line.starts_on).days + 1, 0), days)
        planned = line.approved_minor * elapsed / days if days > 0 else 0
        lines.append(MoneyLine(
            campaign_name=line.campaign_name, starts_on=line.starts_on, ends_on=line.ends_on,
            approved_minor=line.approved_minor, committed_minor=line.committed_minor, spent_minor=line.spent_minor,
            remaining_minor=line.remaining_minor, spent_week_minor=line.spent_in_period_minor,
            pacing=line.spent_minor / planned if planned > 0 else None,
        ))
    return lines


def _track_labels(session: Session) -> dict[int, str]:
    rows = session.exec(select(ContentTrack.id, Campaign.name, Audience.name)
                        .join(Campaign, Campaign.id == ContentTrack.campaign_id)
                        .join(Audience, Audience.id == ContentTrack.audience_id)).all()
    return {track_id: f"{audience} — {campaign}" for track_id, campaign, audience in rows}


LIVE_BOOSTS = (BoostStatus.APPROVED, BoostStatus.CREATING, BoostStatus.ACTIVE, BoostStatus.PAUSED,
               BoostStatus.COMPLETED, BoostStatus.STOPPED)


def _boost_lines(session: Session, start: datetime, end: datetime, *, refused: bool) -> list[BoostLine]:
    """Boosts that ran during the week (or, with `refused`, that Facebook refused during it)."""
    query = select(Boost, Post).join(Post, Post.id == Boost.post_id).order_by(Boost.starts_at, Boost.id)
    if refused:
        query = query.where(Boost.status == BoostStatus.REJECTED, or_(
            and_(Boost.review_checked_at >= start, Boost.review_checked_at < end),
            and_(Boost.starts_at < end, Boost.ends_at >= start)))
    else:
        query = query.where(Boost.status.in_(LIVE_BOOSTS), Boost.starts_at < end, Boost.ends_at >= start)
    labels = _track_labels(session)
    return [BoostLine(excerpt=excerpt(post.message), track_label=labels.get(boost.track_id, "—"),
                      budget_minor=boost.budget_minor, status=boost.status.value,
                      approved_by=boost.approved_by_label, requested_by=boost.requested_by_label,
                      reason=boost.rejection_reason or boost.status_reason, when=boost.review_checked_at)
            for boost, post in session.exec(query).all()]


def _pending_boosts(session: Session) -> list[BoostLine]:
    labels = _track_labels(session)
    rows = session.exec(select(Boost, Post).join(Post, Post.id == Boost.post_id)
                        .where(Boost.status == BoostStatus.PENDING_APPROVAL).order_by(Boost.created_at)).all()
    return [BoostLine(excerpt=excerpt(post.message), track_label=labels.get(boost.track_id, "—"),
                      budget_minor=boost.budget_minor, status=boost.status.value, approved_by=None,
                      requested_by=boost.requested_by_label, when=boost.created_at)
            for boost, post in rows]


NEXT_WEEK_STATUSES = (PostStatus.DRAFT, PostStatus.IN_REVIEW, PostStatus.APPROVED, PostStatus.SCHEDULED,
                      PostStatus.PUBLISHING, PostStatus.PUBLISHED)


def _next_posts(session: Session, next_start: datetime) -> list[PlannedPost]:
    """Posts planned in the week after the report's (territory time)."""
    rows = posts_between(session=session, start=next_start, end=next_start + timedelta(days=7))
    campaigns = {c.id: c.name for c in session.exec(select(Campaign)).all()}
    return [PlannedPost(planned_at=post.planned_at, excerpt=excerpt(post.message), status=post.status.value,
                        track_label=f"{audience.name} — {campaigns.get(track.campaign_id, '')}")
            for post, track, audience in rows if post.status in NEXT_WEEK_STATUSES]
