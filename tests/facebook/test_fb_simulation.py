"""The sandbox's simulation, observed through the client: budgets, caps, review timing, reach, determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from facebook import FacebookClient, RetryPolicy
from facebook.sandbox import (
    DEMO_AD_ACCOUNT_ID,
    DEMO_PAGE_ID,
    SandboxServer,
    create_sandbox_app,
    default_demo_setup,
    demo_connection,
)

SMALL_TOWN = {
    "geo_locations": {"cities": [{"key": "2420045", "radius": 0}]},
    "age_min": 30,
    "age_max": 35,
    "targeting_automation": {"advantage_audience": 0},
}


def _spend_by_day(fb_client, ad_id, since, until):
    return {r.day: r.spend_minor for r in fb_client.ad_insights_daily([ad_id], since=since, until=until)}


def test_spend_never_exceeds_the_campaign_spend_cap_over_60_days(fb_client, boost, control, sandbox_clock):
    """Across 60 simulated days the ad stops at the campaign's spend cap, never beyond."""
    start = sandbox_clock.today()
    boosted = boost(daily_budget_minor=2000, spend_cap_minor=50_000, days=90)
    for _ in range(6):
        control.advance(days=10)
    spend = _spend_by_day(fb_client, boosted.ad_id, start, sandbox_clock.today())
    total = sum(spend.values())
    assert 49_000 <= total <= 50_000
    assert fb_client.account_info().amount_spent <= 50_000
    assert max(spend) < sandbox_clock.today() - timedelta(days=20)  # the cap was hit long before the end


def test_a_day_spends_at_most_25_percent_over_the_daily_budget(fb_client, boost, control, sandbox_clock):
    """No day spends more than 125 % of the daily budget, and the average stays near the budget."""
    start = sandbox_clock.today()
    boosted = boost(daily_budget_minor=1000, spend_cap_minor=10**7, days=60)
    control.advance(days=30)
    spend = _spend_by_day(fb_client, boosted.ad_id, start, sandbox_clock.today())
    full_days = [v for d, v in spend.items() if start < d < sandbox_clock.today()]
    assert len(full_days) >= 28
    assert max(full_days) <= 1250
    assert max(full_days) > 1000  # Facebook does overspend some days
    assert 900 <= sum(full_days) / len(full_days) <= 1100


def test_lifetime_budget_is_spread_and_never_exceeded(fb_client, boost, control, sandbox_clock):
    """A lifetime budget spreads over the schedule, is never exceeded, and nothing is spent after end_time."""
    start = sandbox_clock.today()
    boosted = boost(daily_budget_minor=None, lifetime_budget_minor=10_000, days=10)
    control.advance(days=20)
    spend = _spend_by_day(fb_client, boosted.ad_id, start, sandbox_clock.today())
    assert 9_000 <= sum(spend.values()) <= 10_000
    assert max(spend) <= start + timedelta(days=10)
    assert len(spend) >= 10


def test_account_spend_cap_stops_every_ad(control, make_client):
    """An ad account's own spend cap stops all its ads."""
    control.setup(
        {"ad_accounts": [{"id": "act_555", "currency": "EUR", "access_token": "capped", "spend_cap": 3000}]}
    )
    control.seed_boosts(page_id=DEMO_PAGE_ID, ad_account_id="act_555", count=5, daily_budget=1000)
    control.advance(days=5)
    info = make_client(access_token="capped", ad_account_id="act_555").account_info()
    assert info.spend_cap == 3000 and 2900 <= info.amount_spent <= 3000


def test_paid_reach_saturates_in_a_small_audience(fb_client, boost, control, sandbox_clock):
    """Reach has diminishing returns: in a small town, impressions keep growing while reach levels off."""
    start = sandbox_clock.today()
    boosted = boost(daily_budget_minor=5000, targeting=SMALL_TOWN, days=30)
    control.advance(days=3)
    early = fb_client.ad_period_reach([boosted.ad_id], since=start, until=sandbox_clock.today())[
        boosted.ad_id
    ]
    control.advance(days=9)
    late = fb_client.ad_period_reach([boosted.ad_id], since=start, until=sandbox_clock.today())[boosted.ad_id]
    impressions = sum(
        r.impressions
        for r in fb_client.ad_insights_daily([boosted.ad_id], since=start, until=sandbox_clock.today())
    )
    assert late < 1.3 * early
    assert late < 0.2 * impressions


def test_narrow_audiences_cost_more_per_thousand(fb_client, boost, control, sandbox_clock):
    """CPM depends on the audience: a small-town audience costs more per 1,000 impressions than France."""
    start = sandbox_clock.today()
    country = boost(daily_budget_minor=3000)
    town = boost(daily_budget_minor=3000, targeting=SMALL_TOWN)
    control.advance(days=4)

    def cpm(ad_id):
        rows = fb_client.ad_insights_daily([ad_id], since=start, until=sandbox_clock.today())
        return sum(r.spend_minor for r in rows) / sum(r.impressions for r in rows) * 10

    assert cpm(town.ad_id) > cpm(country.ad_id) > 2.0


def test_review_takes_an_hour_of_sandbox_time(fb_client, boost, control):
    """Ad review completes after about an hour of sandbox time, and only then does the ad spend."""
    boosted = boost()
    control.advance(hours=0.5)
    assert fb_client.ad_review(boosted.ad_id).effective_status == "PENDING_REVIEW"
    assert fb_client.account_info().amount_spent == 0
    control.advance(hours=1)
    assert fb_client.ad_review(boosted.ad_id).effective_status == "ACTIVE"


def test_followers_grow_day_by_day(fb_client, control):
    """Page followers grow a little every simulated day."""
    first = fb_client.page_info().followers_count
    control.advance(days=10)
    later = fb_client.page_info().followers_count
    assert first < later < first * 1.02


def _run_world(seed):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with SandboxServer(create_sandbox_app(seed=seed, clock=start)) as server:
        server.control.setup(default_demo_setup())
        seeded = server.control.seed_boosts(page_id=DEMO_PAGE_ID, ad_account_id=DEMO_AD_ACCOUNT_ID, count=3)
        server.control.advance(days=4)
        client = FacebookClient(demo_connection(server.url), RetryPolicy(sleep=lambda s: None))
        rows = client.ad_insights_daily(
            seeded["ad_ids"], since=start.date(), until=start.date() + timedelta(4)
        )
        posts = client.post_insights(seeded["post_ids"])
        return [(r.day, r.spend_minor, r.impressions, r.reach) for r in rows], [
            posts[p] for p in seeded["post_ids"]
        ]


def test_the_simulation_is_deterministic_for_a_seed():
    """Two sandboxes with the same seed, clock and actions report identical figures; another seed differs."""
    assert _run_world(11) == _run_world(11)
    assert _run_world(11) != _run_world(12)
