"""How the sandbox's world evolves on its own clock, and the figures it derives from it.

The clock only moves forward (:func:`advance`). Between two instants the simulation, in order:

* decides ad reviews that fell due (``PENDING_REVIEW`` → ``ACTIVE``, or ``DISAPPROVED`` when the
  boosted post uses social-issue or electoral wording) and publishes scheduled posts;
* spends each ACTIVE ad set's budget: a daily budget × a pace between 0.75 and 1.25 drawn per ad set
  and day (so a day spends at most 25 % over, as Facebook allows, and 100 % on average), or a
  lifetime budget pro rata over its schedule; never before ``start_time``, after ``end_time``,
  beyond the lifetime budget, the campaign's ``spend_cap`` or the ad account's ``spend_cap``;
* grows each Page's followers a little every day (plus a share of the people reached by its ads).

Everything else is derived when asked, from the stored spend per ad and day and from the seed:
impressions = spend ÷ CPM (CPM from the audience size, ±10 % per day), unique reach
R = A·(1 − e^(−I/A)) for audience A (diminishing returns: reach saturates), clicks, link clicks and
reactions as rates of impressions, landing-page views and leads (the site's pixel events, reported as
Ads Insights ``actions``) as rates of link clicks; organic unique viewers of a post tend to 2–10 % of the followers it
was published to, accruing over the first days (≈ 70 % on day one). The bounds are settings
(:data:`DEFAULT_SETTINGS`).

Days are UTC days. Money is kept in minor units (floats while accruing; reported floored).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from facebook.sandbox import reference
from facebook.sandbox.state import SandboxState

DAY = 86400.0
#: Tunable parameters (``"settings"`` in the setup payload overrides them for one sandbox).
DEFAULT_SETTINGS = {
    "review_hours": 1.0,  # how long an ad waits in review
    "organic_rate_min": 0.02,  # share of followers an unboosted post ends up reaching...
    "organic_rate_max": 0.10,  # ...drawn per post between these two
    "max_daily_overspend": 0.25,  # a day may spend up to this much over the daily budget
}
#: Organic views accrue with this time constant (days): 1 − e^(−t/τ).
ORGANIC_TAU_DAYS = 0.8
EPSILON = 1e-6


def setting(state: SandboxState, name: str) -> float:
    return float(state.data.get("settings", {}).get(name, DEFAULT_SETTINGS[name]))


def day_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).date().isoformat()


def day_start(day: str) -> float:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC).timestamp()


def iso_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def minor(value: float) -> int:
    """Floor accrued minor units for reporting (never reports more than was spent)."""
    return int(math.floor(value + EPSILON)) if value > 0 else 0


# ---------------------------------------------------------------------- clock


def advance(state: SandboxState, to: float) -> None:
    """Move the clock forward to ``to``, simulating everything that happens meanwhile."""
    now = state.clock
    if to <= now:
        return
    while now < to:
        _apply_events(state, now)
        next_day = day_start(day_of(now)) + DAY
        stop = min(to, next_day, _next_event(state, now, to))
        _deliver(state, now, stop)
        if stop >= next_day:
            _close_day(state, day_of(now))
        now = stop
    state.data["clock"] = to
    _apply_events(state, to)
    state.touch()


def _next_event(state: SandboxState, after: float, limit: float) -> float:
    soonest = limit
    for ad in state.data["ads"].values():
        due = ad.get("review_due")
        if ad.get("review") == "pending" and due and after < due < soonest:
            soonest = due
    for post in state.data["posts"].values():
        when = post.get("scheduled_publish_time")
        if when and not post.get("is_published") and not post.get("deleted") and after < when < soonest:
            soonest = when
    for adset in state.data["adsets"].values():
        for key in ("start_time", "end_time"):
            when = adset.get(key)
            if when and after < when < soonest:
                soonest = when
    return soonest


def _apply_events(state: SandboxState, at: float) -> None:
    for post in state.data["posts"].values():
        when = post.get("scheduled_publish_time")
        if when and not post.get("is_published") and not post.get("deleted") and when <= at:
            publish(state, post, when)
    for ad in state.data["ads"].values():
        if ad.get("review") == "pending" and ad.get("review_due", math.inf) <= at:
            _decide_review(state, ad)


def publish(state: SandboxState, post: dict[str, Any], at: float) -> None:
    """Make a post live at ``at``: it starts gathering organic viewers among the Page's followers."""
    page = state.data["pages"][post["page_id"]]
    post["is_published"] = True
    post["publish_time"] = at
    post["followers_at_publish"] = int(page["followers"])
    state.touch()


def backfill_followers(state: SandboxState, page: dict[str, Any], days: int = 120) -> None:
    """Give a new Page a follower history for the days before the sandbox knew it."""
    rate = _growth_rate(state, page["id"])
    today = date.fromisoformat(day_of(state.clock))
    followers = float(page["followers"])
    for back in range(1, days + 1):
        followers /= 1 + rate
        page["followers_history"][(today - timedelta(days=back)).isoformat()] = int(followers)


def _growth_rate(state: SandboxState, page_id: str) -> float:
    return 0.0002 + 0.0006 * state.rng("growth", page_id)


def _close_day(state: SandboxState, day: str) -> None:
    boosts = state.boosts_by_post()
    for page in state.data["pages"].values():
        gained_reach = 0
        for post in state.data["posts"].values():
            if post["page_id"] != page["id"]:
                continue
            for ad_id in boosts.get(post["id"], []):
                stats = ad_day_stats(state, state.data["ads"][ad_id], day)
                if stats:
                    gained_reach += stats["reach"]
        page["followers"] += page["followers"] * _growth_rate(state, page["id"]) + 0.004 * gained_reach
        page["followers_history"][day] = int(page["followers"])


# ---------------------------------------------------------------------- ads: review and status


def start_review(state: SandboxState, ad: dict[str, Any]) -> None:
    """An ad goes to review the first time it is set ACTIVE."""
    if ad.get("review") is None:
        ad["review"] = "pending"
        ad["review_due"] = state.clock + setting(state, "review_hours") * 3600
        state.touch()


def _decide_review(state: SandboxState, ad: dict[str, Any]) -> None:
    post = boosted_post(state, ad)
    message = (post or {}).get("message") or ""
    terms = reference.sensitive_terms(message)
    if terms:
        adset = state.data["adsets"].get(ad["adset_id"]) or {}
        geo = (adset.get("targeting") or {}).get("geo_locations") or {}
        in_eu = bool(reference.location_countries(geo) & reference.EU_COUNTRIES)
        reason = (
            "Cette publicité semble porter sur un sujet politique, électoral ou de société "
            f"({', '.join(terms)}). Meta ne diffuse plus ces publicités dans l'Union européenne."
            if in_eu
            else f"This ad appears to be about social issues, elections or politics ({', '.join(terms)}) "
            "and has no authorisation or disclaimer."
        )
        ad["review"] = "disapproved"
        ad["ad_review_feedback"] = {"global": {"Political or social issue ads": reason}}
        ad["issues_info"] = [
            {
                "level": "AD",
                "error_code": 2446173,
                "error_summary": "Ad rejected: social issues, elections or politics",
                "error_message": reason,
                "error_type": "HARD_ERROR",
            }
        ]
    else:
        ad["review"] = "approved"
    state.touch()


def boosted_post(state: SandboxState, ad: dict[str, Any]) -> dict[str, Any] | None:
    creative = state.data["creatives"].get(ad.get("creative_id") or "")
    if not creative:
        return None
    return state.data["posts"].get(creative.get("object_story_id") or "")


def campaign_effective_status(campaign: dict[str, Any]) -> str:
    return str(campaign["status"])


def adset_effective_status(state: SandboxState, adset: dict[str, Any]) -> str:
    if adset["status"] in ("DELETED", "ARCHIVED", "PAUSED"):
        return str(adset["status"])
    campaign = state.data["campaigns"][adset["campaign_id"]]
    if campaign["status"] != "ACTIVE":
        return "CAMPAIGN_PAUSED"
    return "ACTIVE"


def ad_effective_status(state: SandboxState, ad: dict[str, Any]) -> str:
    if ad["status"] in ("DELETED", "ARCHIVED"):
        return str(ad["status"])
    if ad.get("review") == "disapproved":
        return "DISAPPROVED"
    if ad["status"] == "PAUSED":
        return "PAUSED"
    adset = state.data["adsets"][ad["adset_id"]]
    campaign = state.data["campaigns"][ad["campaign_id"]]
    if campaign["status"] != "ACTIVE":
        return "CAMPAIGN_PAUSED"
    if adset["status"] != "ACTIVE":
        return "ADSET_PAUSED"
    if ad.get("review") == "pending":
        return "PENDING_REVIEW"
    return "ACTIVE"


def _deliverable(state: SandboxState, ad: dict[str, Any]) -> bool:
    if ad_effective_status(state, ad) != "ACTIVE" or ad.get("review") != "approved":
        return False
    post = boosted_post(state, ad)
    return post is not None and not post.get("deleted")


# ---------------------------------------------------------------------- ads: spending


def _deliver(state: SandboxState, start: float, stop: float) -> None:
    if stop <= start:
        return
    day = day_of(start)
    by_adset: dict[str, list[dict[str, Any]]] = {}
    for ad in state.data["ads"].values():
        if _deliverable(state, ad):
            by_adset.setdefault(ad["adset_id"], []).append(ad)
    if not by_adset:
        return
    data = state.data
    cbo_adsets: dict[str, int] = {}
    for adset_id in by_adset:
        campaign_id = data["adsets"][adset_id]["campaign_id"]
        cbo_adsets[campaign_id] = cbo_adsets.get(campaign_id, 0) + 1
    for adset_id in sorted(by_adset):
        adset = data["adsets"][adset_id]
        campaign = data["campaigns"][adset["campaign_id"]]
        account = data["accounts"][adset["account_id"]]
        lo = max(start, adset.get("start_time") or start)
        hi = min(stop, adset.get("end_time") or stop)
        if hi <= lo:
            continue
        fraction = (hi - lo) / DAY
        over = setting(state, "max_daily_overspend")
        pace = 1 - over + 2 * over * state.rng("pace", adset_id, day)  # mean 1, at most 1 + over
        planned = _planned_spend(adset, campaign, cbo_adsets[campaign["id"]], pace, fraction)
        limits = [planned]
        if adset.get("lifetime_budget"):
            limits.append(adset["lifetime_budget"] - adset.get("spent", 0.0))
        if campaign.get("lifetime_budget"):
            limits.append(campaign["lifetime_budget"] - campaign.get("spent", 0.0))
        if campaign.get("spend_cap"):
            limits.append(campaign["spend_cap"] - campaign.get("spent", 0.0))
        if account.get("spend_cap"):
            limits.append(account["spend_cap"] - account.get("amount_spent", 0.0))
        amount = max(0.0, min(limits))
        if amount <= 0:
            continue
        ads = by_adset[adset_id]
        share = amount / len(ads)
        for ad in ads:
            days = ad.setdefault("days", {})
            days[day] = days.get(day, 0.0) + share
        adset["spent"] = adset.get("spent", 0.0) + amount
        campaign["spent"] = campaign.get("spent", 0.0) + amount
        account["amount_spent"] = account.get("amount_spent", 0.0) + amount
    state.touch()


def _planned_spend(
    adset: dict[str, Any], campaign: dict[str, Any], adsets_in_campaign: int, pace: float, fraction: float
) -> float:
    owner, share = (adset, 1) if adset.get("daily_budget") or adset.get("lifetime_budget") else (campaign, 0)
    if share == 0:
        share = max(1, adsets_in_campaign)  # a campaign budget is shared by its running ad sets
    if owner.get("daily_budget"):
        return owner["daily_budget"] / share * pace * fraction
    if owner.get("lifetime_budget"):
        start = adset.get("start_time") or owner.get("start_time") or 0
        end = adset.get("end_time") or owner.get("stop_time") or (start + DAY)
        span_days = max((end - start) / DAY, 1 / 24)
        return owner["lifetime_budget"] / share / span_days * pace * fraction
    return 0.0


# ---------------------------------------------------------------------- ads: derived figures


def ad_audience(state: SandboxState, ad: dict[str, Any]) -> int:
    adset = state.data["adsets"].get(ad["adset_id"]) or {}
    return reference.audience_size(adset.get("targeting") or {})


def _currency(state: SandboxState, ad: dict[str, Any]) -> str:
    return str(state.data["accounts"][ad["account_id"]].get("currency") or "EUR")


def offset(currency: str) -> int:
    return reference.CURRENCY_OFFSET.get(currency, 100)


def reach_of(audience: int, impressions: float) -> int:
    """Unique people reached by ``impressions`` in an audience (saturating)."""
    if impressions <= 0:
        return 0
    return min(int(impressions), int(audience * (1 - math.exp(-impressions / audience))))


def ad_day_stats(state: SandboxState, ad: dict[str, Any], day: str) -> dict[str, Any] | None:
    """An ad's delivery on a day, or ``None`` when it spent nothing."""
    spend = minor((ad.get("days") or {}).get(day, 0.0))
    if spend <= 0:
        return None
    currency = _currency(state, ad)
    audience = ad_audience(state, ad)
    cpm = reference.cpm_eur(audience) * reference.CURRENCY_PER_EUR.get(currency, 1.0)
    cpm *= 0.9 + 0.2 * state.rng("cpm", ad["id"], day)
    impressions = int(spend / offset(currency) * 1000 / cpm)
    ctr = 0.008 + 0.012 * state.rng("ctr", ad["id"])
    clicks = int(impressions * ctr)
    post = boosted_post(state, ad) or {}
    # A photo post carries its link in its text; clicks on it are link clicks too.
    has_link = bool(post.get("link")) or (bool(post.get("photo")) and "://" in (post.get("message") or ""))
    link_clicks = int(clicks * 0.65) if has_link else 0
    # Conversions on the territory's site, as its pixel would report them: most link clicks load the
    # page (landing-page views, 55-85 %), and a few visitors leave their details (leads, 2-6 % of views).
    landing_page_views = int(link_clicks * (0.55 + 0.3 * state.rng("lpv", ad["id"])))
    leads = int(landing_page_views * (0.02 + 0.04 * state.rng("leads", ad["id"], day)) + 0.5)
    reactions = int(impressions * (0.002 + 0.004 * state.rng("reactions", ad["id"])))
    comments = reactions // 10
    shares = reactions // 20
    return {
        "spend": spend,
        "impressions": impressions,
        "reach": reach_of(audience, impressions),
        "clicks": clicks,
        "link_clicks": link_clicks,
        "landing_page_views": landing_page_views,
        "leads": leads,
        "reactions": reactions,
        "comments": comments,
        "shares": shares,
        "audience": audience,
    }


def ad_totals(state: SandboxState, ad: dict[str, Any], days: list[str] | None = None) -> dict[str, int]:
    """Sum of an ad's daily figures over ``days`` (all days when ``None``), with de-duplicated reach."""
    totals = {
        k: 0
        for k in ("spend", "impressions", "clicks", "link_clicks", "landing_page_views", "leads", "reactions",
                  "comments", "shares")
    }
    for day in days if days is not None else sorted(ad.get("days") or {}):
        stats = ad_day_stats(state, ad, day)
        if stats:
            for key in totals:
                totals[key] += stats[key]
    totals["reach"] = reach_of(ad_audience(state, ad), totals["impressions"])
    return totals


# ---------------------------------------------------------------------- organic figures


def _organic_at(state: SandboxState, post: dict[str, Any], at: float) -> dict[str, int]:
    live = post.get("publish_time")
    if not post.get("is_published") or live is None or at <= live or post.get("deleted"):
        return {"unique": 0, "views": 0, "clicks": 0, "reactions": 0, "comments": 0, "shares": 0}
    low, high = setting(state, "organic_rate_min"), setting(state, "organic_rate_max")
    rate = low + (high - low) * state.rng("organic", post["id"])
    target = post.get("followers_at_publish", 0) * rate
    accrued = 1 - math.exp(-((at - live) / DAY) / ORGANIC_TAU_DAYS)
    unique = int(target * accrued)
    views = int(unique * (1.2 + 0.4 * state.rng("views", post["id"])))
    reactions = int(unique * (0.02 + 0.05 * state.rng("org_reactions", post["id"])))
    return {
        "unique": unique,
        "views": views,
        "clicks": int(views * (0.01 + 0.02 * state.rng("org_clicks", post["id"]))),
        "reactions": reactions,
        "comments": reactions // 8,
        "shares": reactions // 15,
    }


def post_figures(state: SandboxState, post: dict[str, Any], at: float | None = None) -> dict[str, int]:
    """Lifetime figures of a post at ``at`` (default: now), organic and paid together.

    Total unique viewers count people reached both ways once: the overlap is estimated as the
    organic viewers × the share of each ad's audience it reached.
    """
    at = state.clock if at is None else at
    organic = _organic_at(state, post, at)
    paid = {"reach": 0, "impressions": 0, "clicks": 0, "reactions": 0, "comments": 0, "shares": 0}
    overlap = 0.0
    for ad_id in state.boosts_by_post().get(post["id"], []):
        ad = state.data["ads"][ad_id]
        totals = ad_totals(state, ad)
        for key in paid:
            paid[key] += totals[key]
        overlap += organic["unique"] * totals["reach"] / max(ad_audience(state, ad), 1)
    overlap = min(overlap, organic["unique"], paid["reach"])
    return {
        "organic_unique": organic["unique"],
        "organic_views": organic["views"],
        "paid_reach": paid["reach"],
        "paid_views": paid["impressions"],
        "total_unique": int(organic["unique"] + paid["reach"] - overlap),
        "clicks": organic["clicks"] + paid["clicks"],
        "reactions": organic["reactions"] + paid["reactions"],
        "comments": organic["comments"] + paid["comments"],
        "shares": organic["shares"] + paid["shares"],
    }


def page_day_figures(state: SandboxState, page: dict[str, Any], day: str) -> dict[str, int] | None:
    """A Page's figures for one UTC day (``None`` for days in the future)."""
    start = day_start(day)
    if start > state.clock:
        return None
    end = min(start + DAY, state.clock)
    today = day_of(state.clock)
    followers = (
        int(page["followers"]) if day >= today else page["followers_history"].get(day, int(page["followers"]))
    )
    previous = page["followers_history"].get((date.fromisoformat(day) - timedelta(days=1)).isoformat())
    organic_views = organic_unique = engagements = 0
    paid_views = paid_reach = 0
    boosts = state.boosts_by_post()
    for post in state.data["posts"].values():
        if post["page_id"] != page["id"]:
            continue
        after, before = _organic_at(state, post, end), _organic_at(state, post, start)
        organic_views += after["views"] - before["views"]
        organic_unique += after["unique"] - before["unique"]
        engagements += sum(after[k] - before[k] for k in ("clicks", "reactions", "comments", "shares"))
        for ad_id in boosts.get(post["id"], []):
            stats = ad_day_stats(state, state.data["ads"][ad_id], day)
            if stats:
                paid_views += stats["impressions"]
                paid_reach += stats["reach"]
                engagements += stats["clicks"] + stats["reactions"] + stats["comments"] + stats["shares"]
    overlap = min(organic_unique, paid_reach) * 0.1
    return {
        "page_follows": followers,
        "page_daily_follows_unique": max(0, followers - previous) if previous is not None else 0,
        "views_organic": organic_views,
        "views_paid": paid_views,
        "page_total_media_view_unique": int(organic_unique + paid_reach - overlap),
        "page_post_engagements": engagements,
    }
