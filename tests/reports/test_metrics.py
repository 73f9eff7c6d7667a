"""Every figure of `reports.metrics` against values computed by hand on a small fixed data set
(two ISO weeks, 2026-W46 and 2026-W47), including partial weeks, an empty period, zero spend and
missing days. The hand computations are written beside each assertion."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from core.db import scoped
from reports import metrics
from reports.metrics import BoostReachInput, Facts, compute_figures, paid_reach_of_boost, split_period
from reports.models import AdDailyMetric, AdWeekReach, InsightsSync, PageDailyMetric, PostDailyMetric
from reports.sync import refresh_boost_totals, refresh_post_totals, refresh_rollups
from sponsored.models import LedgerEntry, LedgerKind
from tests.reports.conftest import World, at, build_world, make_boost, make_post

D = lambda day: date(2026, 11, day)  # noqa: E731
W46, W47 = D(9), D(16)

POST_ROWS = {  # (viewers, views_organic, views_paid, clicks, reactions, comments, shares)
    "P1": {9: (1000, 1100, 0, 10, 20, 2, 1), 10: (2000, 300, 2500, 30, 40, 4, 2), 11: (500, 50, 700, 5, 5, 0, 0)},
    "P2": {12: (800, 900, 0, 8, 10, 1, 0), 14: (1500, 100, 1800, 20, 15, 2, 1), 17: (700, 20, 900, 6, 4, 0, 0)},
    "P3": {17: (1200, 1400, 0, 12, 30, 3, 2), 18: (300, 350, 0, 3, 5, 1, 0)},
    # P4: Nov 11 missing, and Facebook refused post_clicks (None).
    "P4": {10: (900, 1000, 0, None, 9, 1, 0), 12: (100, 110, 0, None, 1, 0, 0)},
}
AD_ROWS = {  # (spend, reach, impressions, clicks, link_clicks, results)
    "B1": {10: (1500, 1800, 2500, 40, 26, 26), 11: (1200, 1400, 2000, 30, 20, 20), 12: (1000, 1000, 1500, 20, 13, 13)},
    "B2": {13: (800, 900, 1200, 15, 0, 2), 14: (900, 1000, 1400, 17, 0, 1), 15: (700, 800, 1100, 12, 0, 0),
           16: (600, 700, 900, 10, 0, 1), 17: (500, 600, 800, 8, 0, 0), 18: (400, 500, 700, 6, 0, 1)},
}
FOLLOWERS = {9: 20000, 12: 20050, 15: 20100, 17: None, 20: 20200}


@pytest.fixture
def data(session: Session) -> World:
    world = build_world(session)
    tid = world.territory.id
    with scoped(session, tid):
        posts = {"P1": make_post(session, world, "investors", at(D(9))),
                 "P2": make_post(session, world, "tourists", at(D(12))),
                 "P3": make_post(session, world, "residents", at(D(17)), message="Fête du tram " * 20),
                 "P4": make_post(session, world, "residents", at(D(10)), copied=True)}
        boosts = {"B1": make_boost(session, world, posts["P1"], starts_at=at(D(10)), days=3),
                  "B2": make_boost(session, world, posts["P2"], starts_at=at(D(13)), days=6)}
        for key, days in POST_ROWS.items():
            for day, values in days.items():
                names = ("viewers", "views_organic", "views_paid", "clicks", "reactions", "comments", "shares")
                session.add(PostDailyMetric(territory_id=tid, post_id=posts[key].id, day=D(day),
                                            **dict(zip(names, values, strict=True))))
        for key, days in AD_ROWS.items():
            for day, values in days.items():
                names = ("spend_minor", "reach", "impressions", "clicks", "link_clicks", "results")
                session.add(AdDailyMetric(territory_id=tid, boost_id=boosts[key].id, day=D(day),
                                          **dict(zip(names, values, strict=True))))
        for day, followers in FOLLOWERS.items():
            session.add(PageDailyMetric(territory_id=tid, day=D(day), followers=followers))
        for key, monday, reach in (("B1", W46, 3000), ("B2", W46, 2200), ("B2", W47, 1500)):
            session.add(AdWeekReach(territory_id=tid, boost_id=boosts[key].id, week_start=monday, reach=reach))
        session.add(InsightsSync(territory_id=tid, covered_since=D(1), synced_through=D(22)))
        session.add(LedgerEntry(territory_id=tid, kind=LedgerKind.APPROVAL, amount_minor=300_000,
                                campaign_id=world.campaign.id, reason="vote", actor_label="test"))
        session.flush()
        refresh_boost_totals(session=session, territory_id=tid, boosts=list(boosts.values()),
                             lifetime_reach={boosts["B1"].id: 3000, boosts["B2"].id: 3300}, synced_through=D(22))
        refresh_post_totals(session=session, territory_id=tid)
        refresh_rollups(session=session, territory_id=tid)
        session.commit()
    world.posts = posts  # type: ignore[attr-defined]
    return world


def _scoped(session: Session, world: World):  # noqa: ANN202
    return scoped(session, world.territory.id)


# ------------------------------------------------------------------------------------- pure layer


def test_split_period_reads_whole_weeks_from_rollups_and_edges_from_days() -> None:
    """[Wed 11, Wed 25] = the week of the 16th whole, 11–15 and 23–25 as leftover days."""
    assert split_period(D(11), D(25)) == ((W47, W47), [(D(11), D(15)), (D(23), D(25))])
    assert split_period(D(9), D(22)) == ((W46, W47), [])
    assert split_period(D(12), D(18)) == (None, [(D(12), D(18))])


def test_split_weeks_reads_whole_blocks_of_four_weeks() -> None:
    """Blocks of four ISO weeks start every 28 days from Monday 3 January 2000; leftover weeks at each end."""
    assert metrics.block_start(D(9)) == metrics.block_start(D(29)) == D(2)
    assert metrics.split_weeks(D(2), D(23)) == ((D(2), D(2)), [])
    assert metrics.split_weeks(date(2026, 10, 26), D(30)) == ((D(2), D(2)), [(date(2026, 10, 26),) * 2, (D(30),) * 2])
    assert metrics.split_weeks(date(2026, 10, 5), D(30)) == ((date(2026, 10, 5), D(2)), [(D(30), D(30))])
    assert metrics.split_weeks(D(9), D(23)) == (None, [(D(9), D(23))])


def test_quotients_never_divide_by_zero_and_missing_stays_missing() -> None:
    """Zero spend, zero reach, zero organic and missing inputs give None, never 0 or an error."""
    zero = compute_figures(Facts(viewers=0, paid_reach=0, spend_minor=0), followers=None, results=0,
                           value_of_results_minor=0)
    assert zero.cost_per_thousand_minor is None and zero.cost_per_result_minor is None
    assert zero.return_ratio is None and zero.uplift is None and zero.organic_reach_estimate == 0
    missing = compute_figures(Facts(viewers=100), followers=None, results=None, value_of_results_minor=None)
    assert missing.organic_reach_estimate is None and missing.incremental_reach is None


def test_paid_reach_of_a_boost_follows_the_period_rule() -> None:
    """Lifetime when the delivery fits; a whole week's reach; min(week, Σ daily) for a cut week."""
    boost = BoostReachInput(first_day=D(13), last_day=D(18), lifetime_reach=3300,
                            week_reach={W46: 2200, W47: 1500},
                            daily_reach={D(13): 900, D(14): 1000, D(15): 800, D(16): 700, D(17): 600, D(18): 500})
    assert paid_reach_of_boost(boost, D(9), D(22)) == (3300, True)
    assert paid_reach_of_boost(boost, D(9), D(15)) == (2200, True)
    assert paid_reach_of_boost(boost, D(14), D(22)) == (min(2200, 1000 + 800) + 1500, True)
    assert paid_reach_of_boost(boost, D(16), D(16)) == (min(1500, 700), True)
    assert paid_reach_of_boost(boost, D(19), D(30)) == (0, True)
    unsynced = BoostReachInput(D(13), D(18), None, {}, {D(13): 900})
    assert paid_reach_of_boost(unsynced, D(9), D(15))[1] is False


# ------------------------------------------------------------------------------------- territory


def test_period_figures_over_two_whole_weeks(session, data) -> None:
    """Territory over W46–W47: sums, the reach rule, the estimate and every quotient by hand."""
    with _scoped(session, data):
        f = metrics.period_figures(session, since=D(9), until=D(22))
    assert f.covered
    assert f.followers == 20200  # the last known day (the 20th)
    assert f.viewers == 3500 + 3000 + 1500 + 1000
    assert (f.views_organic, f.views_paid) == (1450 + 1020 + 1750 + 1110, 3200 + 2700)
    assert f.engagement == 119 + 67 + 56 + 11  # P4's clicks are missing: its engagement is what is known
    assert f.spend_minor == 3700 + 3900
    assert f.impressions == 6000 + 6100
    assert f.paid_reach == 3000 + 3300  # both boosts fit in the period: lifetime reach
    assert f.organic_reach_estimate == 9000 - 6300
    assert f.incremental_reach == 6300
    assert f.uplift == pytest.approx(9000 / 2700)
    assert f.organic_reach_rate == pytest.approx((1500 + 1000) / (20100 + 20000))
    assert f.cost_per_thousand_minor == round(7600 * 1000 / 6300)  # 1206
    assert f.results is None and f.cost_per_result_minor is None  # link clicks and leads do not add up
    assert f.value_of_results_minor == 59 * 200 + 5 * 1000
    assert f.return_ratio == pytest.approx((16800 - 7600) / 7600)


def test_period_cut_inside_weeks_uses_daily_rows_and_the_reach_rule(session, data) -> None:
    """[12, 18] covers no whole week: every sum comes from the days, B1's reach is min(week, day)."""
    with _scoped(session, data):
        f = metrics.period_figures(session, since=D(12), until=D(18))
    assert f.viewers == 0 + 3000 + 1500 + 100
    assert f.spend_minor == 1000 + 3900
    assert f.paid_reach == min(3000, 1000) + 3300
    assert f.organic_reach_estimate == 4600 - 4300
    assert f.followers == 20100  # the 17th's row has no followers: the last known day is the 15th
    assert f.organic_reach_rate == pytest.approx(1500 / 20100)  # P3 only (P4 was published on the 10th)


def test_an_empty_period_is_missing_everywhere(session, data) -> None:
    """No synchronised fact covers January 2025: every figure is None, never 0."""
    with _scoped(session, data):
        f = metrics.period_figures(session, since=date(2025, 1, 1), until=date(2025, 1, 31))
        tracks = metrics.track_figures(session, since=date(2025, 1, 1), until=date(2025, 1, 31))
        weeks = metrics.weekly_series(session, since=date(2025, 1, 6), until=date(2025, 1, 19))
        posts = metrics.post_figures(session, since=date(2025, 1, 1), until=date(2025, 1, 31))
    assert not f.covered
    assert all(getattr(f, name) is None for name in metrics.FIGURE_FIELDS)
    assert tracks == [] and posts == []
    assert [w.iso_week for w in weeks] == ["2025-W02", "2025-W03"]
    assert all(w.viewers is None and w.spend_minor is None and w.paid_reach is None for w in weeks)


@pytest.mark.parametrize(("since", "until"), [
    (date(2026, 10, 5), D(29)), (date(2026, 10, 26), date(2026, 12, 6)), (date(2026, 10, 28), date(2026, 12, 2)),
])
def test_blocks_of_four_weeks_give_the_figures_of_their_weeks(session, data, since, until) -> None:  # noqa: ANN001
    """Periods read partly from the blocks of four weeks (with leftover weeks and days) give W46–W47's
    figures, territory and tracks: no fact lies outside those two weeks."""
    with _scoped(session, data):
        wide = metrics.overview(session, since=since, until=until)
        weeks = metrics.overview(session, since=D(9), until=D(22))
    for name in metrics.FIGURE_FIELDS:
        assert getattr(wide.figures, name) == getattr(weeks.figures, name), name
    assert [[getattr(t, n) for n in metrics.FIGURE_FIELDS] for t in wide.tracks] == \
        [[getattr(t, n) for n in metrics.FIGURE_FIELDS] for t in weeks.tracks]


def test_a_covered_period_without_delivery_has_zero_spend_and_no_quotient(session, data) -> None:
    """19–22 November: synchronised, nothing delivered: spend and reach 0, cost per 1,000 and return None."""
    with _scoped(session, data):
        f = metrics.period_figures(session, since=D(19), until=D(22))
    assert (f.viewers, f.spend_minor, f.paid_reach, f.organic_reach_estimate) == (0, 0, 0, 0)
    assert f.cost_per_thousand_minor is None and f.return_ratio is None and f.uplift is None
    assert f.followers == 20200


# ------------------------------------------------------------------------------------- tracks


def test_track_figures_by_hand(session, data) -> None:
    """Each track with its audience's value and note; the tourists' estimate is clamped at 0."""
    with _scoped(session, data):
        tracks = {t.audience_key: t for t in metrics.track_figures(session, since=D(9), until=D(22))}
    inv, tour, res = tracks["investors"], tracks["tourists"], tracks["residents"]
    assert (inv.viewers, inv.paid_reach, inv.organic_reach_estimate, inv.incremental_reach) == (3500, 3000, 500, 3000)
    assert inv.uplift == pytest.approx(7.0)
    assert (inv.spend_minor, inv.results, inv.cost_per_result_minor) == (3700, 59, round(3700 / 59))
    assert inv.cost_per_thousand_minor == round(3700 * 1000 / 3000)
    assert inv.value_of_results_minor == 59 * 200
    assert inv.return_ratio == pytest.approx((11800 - 3700) / 3700)
    assert inv.value_per_result_minor == 200 and "2 €" in inv.value_note
    assert (tour.viewers, tour.paid_reach, tour.organic_reach_estimate, tour.uplift) == (3000, 3300, 0, None)
    assert (tour.results, tour.cost_per_result_minor) == (5, 780)  # 5 leads, 3900 ÷ 5
    assert tour.cost_per_thousand_minor == round(3900 * 1000 / 3300)  # 1182
    assert tour.return_ratio == pytest.approx((5000 - 3900) / 3900)
    assert (res.viewers, res.paid_reach, res.organic_reach_estimate, res.uplift) == (2500, 0, 2500, 1.0)
    assert (res.spend_minor, res.cost_per_thousand_minor, res.results) == (0, None, 0)
    assert res.value_per_result_minor is None and res.value_of_results_minor is None and res.return_ratio is None
    assert res.organic_reach_rate == pytest.approx(2500 / 40100)


def test_campaign_figures_add_up_its_tracks(session, data) -> None:
    """The one campaign equals the territory over the same period."""
    with _scoped(session, data):
        [campaign] = metrics.campaign_figures(session, since=D(9), until=D(22))
        territory = metrics.period_figures(session, since=D(9), until=D(22))
    for name in metrics.FIGURE_FIELDS:
        assert getattr(campaign, name) == getattr(territory, name), name


# ------------------------------------------------------------------------------------- weeks, posts


def test_weekly_series_by_hand(session, data) -> None:
    """W46: 6800 viewers, 5200 paid (Σ weekly reach), 6100 spent; W47: 2200, 1500, 1500."""
    with _scoped(session, data):
        w46, w47 = metrics.weekly_series(session, since=D(9), until=D(22))
    assert (w46.iso_week, w46.viewers, w46.paid_reach, w46.organic_reach_estimate, w46.spend_minor) == \
        ("2026-W46", 6800, 5200, 1600, 6100)
    assert (w47.iso_week, w47.viewers, w47.paid_reach, w47.organic_reach_estimate, w47.spend_minor) == \
        ("2026-W47", 2200, 1500, 700, 1500)
    assert (w46.followers, w47.followers) == (20100, 20200)
    assert not w46.partial and not w47.partial


def test_weekly_series_clips_partial_weeks(session, data) -> None:
    """[12, 18]: W46 is 12–15 (B1 cut: min(3000, 1000)), W47 is 16–18."""
    with _scoped(session, data):
        w46, w47 = metrics.weekly_series(session, since=D(12), until=D(18))
    assert w46.partial and (w46.since, w46.until) == (D(12), D(15))
    assert (w46.viewers, w46.paid_reach, w46.organic_reach_estimate, w46.spend_minor) == (2400, 3200, 0, 3400)
    assert (w47.viewers, w47.paid_reach, w47.organic_reach_estimate, w47.spend_minor) == (2200, 1500, 700, 1500)


def test_weekly_series_of_one_track(session, data) -> None:
    """Only the tourists' track: P2 and B2."""
    with _scoped(session, data):
        w46, w47 = metrics.weekly_series(session, since=D(9), until=D(22), track_id=data.tracks["tourists"].id)
    assert (w46.viewers, w46.paid_reach, w46.spend_minor) == (2300, 2200, 2400)
    assert (w47.viewers, w47.paid_reach, w47.spend_minor) == (700, 1500, 1500)


def test_post_figures_by_hand(session, data) -> None:
    """Posts ranked by viewers; spend only for boosted posts; organic rate only for unboosted ones."""
    with _scoped(session, data):
        posts = metrics.post_figures(session, since=D(9), until=D(22))
        top, bottom = metrics.top_and_bottom(posts, 2)
    p = data.posts
    assert [f.post_id for f in posts] == [p["P1"].id, p["P2"].id, p["P3"].id, p["P4"].id]
    p1, p2, p3, p4 = posts
    assert (p1.viewers, p1.paid_reach, p1.organic_reach_estimate, p1.spend_minor, p1.results) == (3500, 3000, 500,
                                                                                                 3700, 59)
    assert p1.boosted and p1.organic_reach_rate is None and p1.engagement == 119
    assert (p2.viewers, p2.paid_reach, p2.organic_reach_estimate, p2.spend_minor) == (3000, 3300, 0, 3900)
    assert (p3.viewers, p3.paid_reach, p3.spend_minor, p3.boosted) == (1500, 0, None, False)
    assert p3.organic_reach_rate == pytest.approx(1500 / 20100)
    assert p3.excerpt.endswith("…") and len(p3.excerpt) <= metrics.EXCERPT_CHARS + 1
    assert p4.organic_reach_rate == pytest.approx(1000 / 20000) and p4.copied_from_website
    assert [t.post_id for t in top] == [p["P1"].id, p["P2"].id]
    assert [b.post_id for b in bottom] == [p["P4"].id, p["P3"].id]


def test_budget_consumption_beside_the_ledger(session, data) -> None:
    """Approved 3 000 € (ledger); 76 € reported by Ads Insights in the period and to date."""
    with _scoped(session, data):
        [line] = metrics.budget_consumption(session, since=D(16), until=D(22))
    assert (line.approved_minor, line.spent_in_period_minor, line.spent_to_date_minor) == (300_000, 1500, 7600)
    assert line.consumed_rate == pytest.approx(7600 / 300_000)


def test_budget_spent_to_date_stops_at_the_end_of_the_period(session, data) -> None:
    """Through the 15th: B1's 3 700 and B2's 13th–15th (800 + 900 + 700); nothing after the 15th."""
    with _scoped(session, data):
        [line] = metrics.budget_consumption(session, since=D(13), until=D(15))
        [before] = metrics.budget_consumption(session, since=D(1), until=D(9))
    assert (line.spent_in_period_minor, line.spent_to_date_minor) == (2400, 3700 + 2400)
    assert (before.spent_in_period_minor, before.spent_to_date_minor) == (0, 0)  # covered, nothing delivered yet


def test_weekly_series_is_missing_before_the_first_synchronised_day(session, data) -> None:
    """Facts cover 1–22 November: in a period from 19 October, W43 is None everywhere, never 0; W44
    (its Sunday is the 1st) and W45 are covered and empty: zeros."""
    since = date(2026, 10, 19)
    with _scoped(session, data):
        w43, w44, w45, w46, w47 = metrics.weekly_series(session, since=since, until=D(22))
        covered = metrics.covered_weeks(session, since=since, until=D(22))
    assert all(getattr(w43, name) is None for name in ("followers", "viewers", "paid_reach", "organic_reach_estimate",
                                                        "spend_minor", "views_organic", "views_paid", "engagement",
                                                        "cost_per_thousand_minor"))
    assert (w44.viewers, w44.spend_minor, w44.paid_reach, w45.viewers) == (0, 0, 0, 0)
    assert (w46.viewers, w46.paid_reach, w47.spend_minor) == (6800, 5200, 1500)
    assert covered == {date(2026, 10, 26), date(2026, 11, 2), W46, W47}


def test_weekly_series_without_markers_is_missing_where_no_fact_lies(session, data) -> None:
    """Without the synchronisation markers, a week is covered only by the facts in it: W45 has none."""
    with _scoped(session, data):
        session.delete(session.exec(select(InsightsSync)).one())
        session.flush()
        w45, w46 = metrics.weekly_series(session, since=date(2026, 11, 2), until=D(15))
    assert w45.viewers is None and w45.spend_minor is None
    assert (w46.viewers, w46.spend_minor) == (6800, 6100)


@pytest.mark.parametrize(("since", "until", "count"), [
    (D(9), D(22), 2), (D(9), D(22), 5), (D(12), D(18), 1), (D(10), D(16), 2), (D(11), D(25), 2),
    (D(12), D(12), 1), (D(12), D(12), 2), (D(19), D(22), 2), (date(2026, 10, 5), D(29), 2),
    (date(2026, 10, 28), date(2026, 12, 2), 3),
])
def test_top_and_bottom_posts_rank_as_the_post_figures(session, data, since, until, count) -> None:  # noqa: ANN001
    """Ranked in SQL, the top and bottom posts are `top_and_bottom(post_figures(...))` (on the 12th P1 has
    only ad facts: 0 viewers, the bottom one)."""
    tracks = [data.tracks["tourists"].id, data.tracks["residents"].id]
    with _scoped(session, data):
        posts = metrics.post_figures(session, since=since, until=until)
        assert metrics.top_and_bottom_posts(session, since=since, until=until, count=count) == \
            metrics.top_and_bottom(posts, count)
        assert metrics.top_and_bottom_posts(session, since=since, until=until, count=count, track_ids=tracks) == \
            metrics.top_and_bottom([p for p in posts if p.track_id in tracks], count)


@pytest.mark.parametrize(("since", "until"), [(D(9), D(22)), (D(11), D(25)), (date(2026, 10, 19), D(22)),
                                               (date(2026, 10, 28), date(2026, 12, 2))])
def test_dashboard_figures_equal_each_function_alone(session, data, since, until) -> None:  # noqa: ANN001
    """The dashboard's single pass gives what `overview`, `weekly_series`, `top_and_bottom_posts` and
    `budget_consumption` give on their own (whole weeks, cut weeks, a period before the facts)."""
    with _scoped(session, data):
        found = metrics.dashboard_figures(session, since=since, until=until, top_count=2)
        assert found.overview == metrics.overview(session, since=since, until=until)
        assert found.weeks == metrics.weekly_series(session, since=since, until=until)
        assert (found.top_posts, found.bottom_posts) == metrics.top_and_bottom_posts(session, since=since,
                                                                                     until=until, count=2)
        assert found.budget == metrics.budget_consumption(session, since=since, until=until)
        one = metrics.dashboard_figures(session, since=since, until=until, campaign_id=data.campaign.id)
        assert one.overview == metrics.overview(session, since=since, until=until, campaign_id=data.campaign.id)


def test_metrics_refuse_an_unscoped_session(session, data) -> None:
    """Queries never mix territories: a session without one territory's scope is refused."""
    with pytest.raises(ValueError):
        metrics.period_figures(session, since=D(9), until=D(22))


def test_other_territory_sees_nothing(session, data) -> None:
    """Another territory's metrics over the same days know nothing of Valrive's facts."""
    other = build_world(session, "sorne")
    with scoped(session, other.territory.id):
        f = metrics.period_figures(session, since=D(9), until=D(22))
    assert not f.covered and f.viewers is None
