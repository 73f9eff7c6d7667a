"""Pages through the SDK: the Page node, publishing, listing and finding posts, post and Page insights."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from facebook import InvalidRequestError, OutcomeUnknownError, PageInfo
from facebook.sandbox import DEMO_PAGE_ID


def test_page_info_reads_name_and_followers(fb_client):
    """The Page node gives its id, name and follower count."""
    assert fb_client.page_info() == PageInfo(id=DEMO_PAGE_ID, name="Ville de Valrive", followers_count=25_000)


def test_publish_post_returns_page_post_id(fb_client):
    """Publishing returns a '<page>_<post>' id with numeric parts, and the post is live at once."""
    post_id = fb_client.publish_post(message="Bonjour Valrive", link="https://valrive.example/")
    page, _, post = post_id.partition("_")
    assert page == DEMO_PAGE_ID and post.isdigit()
    [listed] = fb_client.list_posts()
    assert listed["id"] == post_id
    assert listed["is_published"] is True
    assert listed["link"] == "https://valrive.example/"
    assert listed["created_time"].tzinfo is not None


def test_scheduled_post_goes_live_when_the_clock_passes(fb_client, control, sandbox_clock):
    """A scheduled post is listed as scheduled, then published once the sandbox clock reaches its time."""
    when = (sandbox_clock.now() + timedelta(hours=2)).replace(microsecond=0)
    post_id = fb_client.publish_post(message="Marché de Noël", scheduled_at=when)
    [scheduled] = fb_client.list_posts(scheduled=True)
    assert scheduled["id"] == post_id and scheduled["scheduled_publish_time"] == when
    assert fb_client.list_posts() == []
    control.advance(hours=3)
    assert fb_client.list_posts(scheduled=True) == []
    assert [p["id"] for p in fb_client.list_posts()] == [post_id]


def test_schedule_too_soon_is_refused_with_facebooks_message(fb_client, sandbox_clock):
    """A schedule less than 10 minutes ahead is an invalid request carrying Facebook's user title."""
    with pytest.raises(InvalidRequestError) as caught:
        fb_client.publish_post(message="Trop tôt", scheduled_at=sandbox_clock.now() + timedelta(minutes=2))
    assert caught.value.code == 100
    assert caught.value.user_title == "Invalid scheduled publish time"
    assert "scheduled_publish_time" in caught.value.blame_fields


def test_naive_datetimes_are_refused_before_any_call(fb_client, sandbox_clock):
    """Datetimes sent to Facebook must be timezone-aware; a naive one fails locally, without HTTP."""
    before = sandbox_clock.requests()
    with pytest.raises(ValueError):
        fb_client.publish_post(message="x", scheduled_at=datetime(2030, 1, 1, 12, 0))
    assert sandbox_clock.requests() == before


def test_list_posts_follows_cursor_pagination(fb_client, sandbox_clock):
    """More posts than a page holds: the SDK cursor follows `after` until `paging.next` disappears."""
    for n in range(130):
        fb_client.publish_post(message=f"Actualité {n}")
    before = sandbox_clock.requests()
    posts = fb_client.list_posts()
    assert len({p["id"] for p in posts}) == 130
    assert sandbox_clock.requests() - before == 2  # pages of 100


def test_list_posts_since_keeps_newer_posts(fb_client, control, sandbox_clock):
    """`since` keeps only the posts created at or after it."""
    fb_client.publish_post(message="Ancien")
    control.advance(days=2)
    since = sandbox_clock.now() - timedelta(hours=1)
    newer = fb_client.publish_post(message="Récent")
    assert [p["id"] for p in fb_client.list_posts(since=since)] == [newer]


def test_find_post_looks_at_published_scheduled_and_dark_posts(fb_client, sandbox_clock):
    """find_post finds a post by message and link, whether published, scheduled or unpublished."""
    since = sandbox_clock.now() - timedelta(seconds=1)
    published = fb_client.publish_post(message="Plages", link="https://valrive.example/plages")
    scheduled = fb_client.publish_post(
        message="Concert", scheduled_at=sandbox_clock.now() + timedelta(hours=1)
    )
    dark = fb_client.publish_post(message="Pour la pub", link="https://valrive.example/pub", published=False)
    assert (
        fb_client.find_post(message="Plages", link="https://valrive.example/plages", since=since) == published
    )
    assert fb_client.find_post(message="Plages", link="https://valrive.example/autre", since=since) is None
    assert fb_client.find_post(message="Concert", link=None, since=since) == scheduled
    assert fb_client.find_post(message="Pour la pub", link="https://valrive.example/pub", since=since) == dark
    assert fb_client.find_post(message="Jamais publié", link=None, since=since) is None


def test_publish_post_reconciles_after_crash_after_create(fb_client, control, sandbox_clock):
    """A post Facebook created but answered with a 500 is found again: never published twice."""
    since = sandbox_clock.now() - timedelta(seconds=1)
    control.add_fault("crash_after_create", count=1)
    post_id = fb_client.publish_post(
        message="Fête du port", link="https://valrive.example/fete", reconcile_since=since
    )
    posts = [p for p in control.state()["objects"]["posts"] if p["message"] == "Fête du port"]
    assert [p["id"] for p in posts] == [post_id]


def test_publish_post_without_reconciliation_raises_outcome_unknown(fb_client, control):
    """Without reconcile_since a lost answer raises OutcomeUnknownError, and the post is not re-sent."""
    control.add_fault("crash_after_create", count=1)
    with pytest.raises(OutcomeUnknownError):
        fb_client.publish_post(message="Une seule fois")
    assert [p["message"] for p in control.state()["objects"]["posts"]] == ["Une seule fois"]


def test_post_insights_split_views_and_count_paid_viewers(fb_client, boost, control, sandbox_clock):
    """Total viewers include the ad's viewers; views are split organic/paid by is_from_ads."""
    boosted = boost()
    control.advance(days=3)
    metrics = fb_client.post_insights([boosted.post_id])[boosted.post_id]
    today = sandbox_clock.today()
    paid_reach = fb_client.ad_period_reach([boosted.ad_id], since=today - timedelta(days=5), until=today)
    assert metrics.views_organic > 0 and metrics.views_paid > 0
    assert paid_reach[boosted.ad_id] <= metrics.total_viewers
    assert metrics.clicks > 0 and metrics.reactions > 0
    assert metrics.comments is not None and metrics.shares is not None


def test_organic_viewers_are_2_to_10_percent_of_followers(fb_client, control):
    """Unboosted posts reach 2–10 % of the Page's followers, most of it on the first day."""
    post_ids = [fb_client.publish_post(message=f"Balade {n}") for n in range(20)]
    control.advance(days=1)
    first_day = fb_client.post_insights(post_ids)
    control.advance(days=6)
    week = fb_client.post_insights(post_ids)
    for post_id in post_ids:
        viewers = week[post_id].total_viewers
        assert 0.0199 * 25_000 <= viewers <= 0.10 * 25_000
        assert first_day[post_id].total_viewers >= 0.6 * viewers
        assert week[post_id].views_paid == 0
        assert week[post_id].views_organic >= viewers  # views count repeat viewing
    assert len({m.total_viewers for m in week.values()}) > 10  # each post draws its own rate


def test_post_insights_are_batched_50_operations_per_request(fb_client, control):
    """Metrics of 120 posts take 3 batch requests of at most 50 operations, not 120 requests."""
    post_ids = [fb_client.publish_post(message=f"Agenda {n}") for n in range(120)]
    before = control.requests()
    metrics = fb_client.post_insights(post_ids)
    after = control.requests()
    assert set(metrics) == set(post_ids)
    assert after["batch_requests"] - before["batch_requests"] == 3
    assert after["batch_ops"] - before["batch_ops"] == 120
    assert after["graph_requests"] - before["graph_requests"] == 3


def test_refused_metric_is_missing_not_zero(fb_client, control):
    """A metric Facebook refuses with #100 becomes None for every post while the others still arrive."""
    control.setup({"removed_metrics": ["post_clicks"]})
    post_ids = [fb_client.publish_post(message=f"Info {n}") for n in range(3)]
    control.advance(days=1)
    metrics = fb_client.post_insights(post_ids)
    for post_id in post_ids:
        assert metrics[post_id].clicks is None
        assert metrics[post_id].total_viewers > 0 and metrics[post_id].views_organic > 0
    before = control.requests()["batch_ops"]
    again = fb_client.post_insights(post_ids)  # the refused metric is no longer asked for
    assert control.requests()["batch_ops"] - before == 3
    assert all(m.clicks is None and m.total_viewers for m in again.values())


def test_page_insights_give_daily_followers_views_and_viewers(fb_client, boost, control, sandbox_clock):
    """Page Insights give, per day, followers, organic and paid views, and unique viewers."""
    boost()
    control.advance(days=3)
    today = sandbox_clock.today()
    days = fb_client.page_insights(since=today - timedelta(days=3), until=today - timedelta(days=1))
    assert [d.day for d in days] == [today - timedelta(days=n) for n in (3, 2, 1)]
    assert all(d.followers and d.followers >= 25_000 for d in days)
    assert days[0].followers <= days[-1].followers
    assert all(d.views_paid > 0 and d.viewers > 0 for d in days[1:])
    assert days[0].views_organic > 0  # the boosted post was published that day


def test_page_insights_cut_long_ranges_into_90_day_chunks(fb_client, control, sandbox_clock):
    """200 days take 3 requests (≤ 90 days each), one operation per metric."""
    today = sandbox_clock.today()
    before = control.requests()
    days = fb_client.page_insights(since=today - timedelta(days=199), until=today)
    after = control.requests()
    assert len(days) == 200 and days[-1].day == today
    assert after["graph_requests"] - before["graph_requests"] == 3
    assert after["batch_ops"] - before["batch_ops"] == 9


def test_page_insights_missing_metric_leaves_column_empty(fb_client, control, sandbox_clock):
    """A Page metric Facebook refuses leaves its column None, never 0, and the rest still arrives."""
    control.setup({"removed_metrics": ["page_follows"]})
    fb_client.publish_post(message="Nouvelles")
    control.advance(days=2)
    today = sandbox_clock.today()
    days = fb_client.page_insights(since=today - timedelta(days=2), until=today - timedelta(days=1))
    assert all(d.followers is None for d in days)
    assert days[0].views_organic > 0 and days[0].viewers > 0


def test_page_insights_days_are_utc_days(fb_client, sandbox_clock):
    """Each PageDay is a calendar day in the range, even today (partial) and days without activity."""
    today = sandbox_clock.today()
    days = fb_client.page_insights(since=today - timedelta(days=1), until=today)
    assert [d.day for d in days] == [today - timedelta(days=1), today]
    assert days[0].views_organic == 0 and days[0].followers is not None
