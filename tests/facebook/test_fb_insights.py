"""Ads Insights through the SDK: daily rows, one request per 50 ads, pagination, async runs, period reach."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from facebook import TransientError, spend_to_minor
from facebook.sandbox import DEMO_AD_ACCOUNT_ID, DEMO_PAGE_ID


def _seed(control, count, **extra):
    return control.seed_boosts(page_id=DEMO_PAGE_ID, ad_account_id=DEMO_AD_ACCOUNT_ID, count=count, **extra)


def test_daily_rows_match_the_sandbox_spend_exactly(fb_client, boost, control, sandbox_clock):
    """Daily rows carry spend in exact minor units and consistent impressions, reach, clicks and actions."""
    boosted = boost()
    control.advance(days=5)
    today = sandbox_clock.today()
    rows = fb_client.ad_insights_daily([boosted.ad_id], since=today - timedelta(days=6), until=today)
    [ad] = [a for a in control.state()["objects"]["ads"] if a["id"] == boosted.ad_id]
    assert {r.day.isoformat(): r.spend_minor for r in rows} == {
        d: s for d, s in ad["spend_by_day"].items() if s
    }
    for row in rows:
        assert row.ad_id == boosted.ad_id
        assert 0 < row.spend_minor <= 1250
        assert row.impressions >= row.reach > 0
        assert row.clicks >= row.link_clicks > 0
        assert row.actions["link_click"] == row.link_clicks
        assert row.actions["post_engagement"] >= row.clicks
        # The site's pixel events follow the link clicks: landing-page views, then a few leads.
        assert row.link_clicks > row.actions["landing_page_view"] > 0
        assert row.actions["landing_page_view"] > row.actions.get("lead", 0)


def test_one_insights_request_per_50_ads(fb_client, control, sandbox_clock):
    """120 ads need 3 account-level insights requests (ad.id IN filter), not 120."""
    seeded = _seed(control, 120)
    control.advance(days=3)
    today = sandbox_clock.today()
    before = control.requests()["by_endpoint"].get("GET /{AdAccount}/insights", 0)
    rows = fb_client.ad_insights_daily(seeded["ad_ids"], since=today - timedelta(days=3), until=today)
    assert control.requests()["by_endpoint"]["GET /{AdAccount}/insights"] - before == 3
    assert {r.ad_id for r in rows} == set(seeded["ad_ids"])


def test_insights_follow_cursor_pagination(fb_client, control, sandbox_clock):
    """More rows than a page holds (50 ads × 12 days > 500) arrive over two pages via `after`."""
    seeded = _seed(control, 50)
    control.advance(days=11)
    today = sandbox_clock.today()
    expected = sum(1 for a in control.state()["objects"]["ads"] for s in a["spend_by_day"].values() if s)
    before = control.requests()["by_endpoint"].get("GET /{AdAccount}/insights", 0)
    rows = fb_client.ad_insights_daily(seeded["ad_ids"], since=today - timedelta(days=11), until=today)
    assert expected > 500 and len(rows) == expected
    assert control.requests()["by_endpoint"]["GET /{AdAccount}/insights"] - before == 2


def test_long_ranges_use_an_async_report_run(fb_client, boost, control, sandbox_clock):
    """Over 31 days: POST insights → report_run_id, polled until 'Job Completed', then GET <run>/insights."""
    boosted = boost(days=60)
    control.advance(days=40)
    today = sandbox_clock.today()
    before = control.requests()["by_endpoint"]
    rows = fb_client.ad_insights_daily([boosted.ad_id], since=today - timedelta(days=45), until=today)
    after = control.requests()["by_endpoint"]

    def delta(key: str) -> int:
        return after.get(key, 0) - before.get(key, 0)

    assert delta("POST /{AdAccount}/insights") == 1
    assert delta("GET /{AdReportRun}") == 2  # "Job Running", then "Job Completed"
    assert delta("GET /{AdReportRun}/insights") == 1
    assert delta("GET /{AdAccount}/insights") == 0
    recent = fb_client.ad_insights_daily([boosted.ad_id], since=today - timedelta(days=10), until=today)
    assert [r for r in rows if r.day >= today - timedelta(days=10)] == recent
    assert len(rows) >= 40


def test_failed_report_run_is_transient(fb_client, boost, control, sandbox_clock):
    """A report run ending in 'Job Failed' raises a TransientError (to retry later)."""
    boosted = boost(days=60)
    control.advance(days=35)
    control.add_fault("report_failed", count=1)
    today = sandbox_clock.today()
    with pytest.raises(TransientError):
        fb_client.ad_insights_daily([boosted.ad_id], since=today - timedelta(days=40), until=today)


def test_period_reach_is_deduplicated(fb_client, boost, control, sandbox_clock):
    """Period reach (time_increment=all_days) is below the sum of daily reach and above the best day."""
    boosted = boost(
        targeting={
            "geo_locations": {"cities": [{"key": "2420045", "radius": 10}]},
            "targeting_automation": {"advantage_audience": 0},
        }
    )
    control.advance(days=6)
    today = sandbox_clock.today()
    since = today - timedelta(days=6)
    daily = fb_client.ad_insights_daily([boosted.ad_id], since=since, until=today)
    period = fb_client.ad_period_reach([boosted.ad_id], since=since, until=today)[boosted.ad_id]
    assert max(r.reach for r in daily) < period < sum(r.reach for r in daily)


def test_ads_without_delivery_are_absent(fb_client, boost, sandbox_clock):
    """An ad that never ran has no rows and no period reach (absent, not zero)."""
    boosted = boost(activate=False)
    today = sandbox_clock.today()
    assert fb_client.ad_insights_daily([boosted.ad_id], since=today - timedelta(days=2), until=today) == []
    assert fb_client.ad_period_reach([boosted.ad_id], since=today - timedelta(days=2), until=today) == {}


def test_spend_strings_convert_to_minor_units_exactly():
    """Insights spend (major-unit decimal strings) converts to minor units exactly, zero-decimal ones too."""
    rng = random.Random(3)
    for _ in range(2000):
        cents = rng.randrange(0, 10**9)
        text = f"{cents // 100}.{cents % 100:02d}"
        assert spend_to_minor(text, "EUR") == cents
        assert Decimal(text) * 100 == cents
    assert spend_to_minor("0.29", "EUR") == 29  # float arithmetic would give 28
    assert spend_to_minor("1234", "JPY") == 1234
    assert spend_to_minor(None, "EUR") == 0
