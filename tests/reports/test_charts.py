"""The chart functions shared by the dashboard and the weekly PDF, drawn from hand-made figures: long bar
labels fit inside the figure, and the organic ceiling is a week's figure (posts × 10 % of followers)."""

from __future__ import annotations

import io
from dataclasses import fields
from datetime import date, timedelta

import numpy as np
from matplotlib.image import imread

from reports import charts
from reports.metrics import BudgetLine, TrackFigures, WeekFigures

LONG_AUDIENCE = "Investisseurs et porteurs de projets industriels"  # 48 characters: one whole line
LONG_CAMPAIGN = "Printemps — le nouveau tramway relie la gare"  # the campaign: the second line


def track(track_id: int, audience: str, campaign: str, cost_minor: int) -> TrackFigures:
    values: dict = {f.name: None for f in fields(TrackFigures)}
    values.update(track_id=track_id, campaign_id=1, campaign_name=campaign, audience_id=track_id,
                  audience_key=f"a{track_id}", audience_name=audience, result_type="link_click", value_note="",
                  currency="EUR", viewers=10_000, paid_reach=6_000, organic_reach_estimate=4_000,
                  spend_minor=cost_minor * 6, cost_per_thousand_minor=cost_minor)
    return TrackFigures(**values)


def week(n: int, followers: int | None, organic: int, paid: int) -> WeekFigures:
    monday = date(2026, 11, 2) + timedelta(weeks=n)
    return WeekFigures(iso_week=f"2026-W{45 + n}", week_start=monday, since=monday, until=monday + timedelta(days=6),
                       partial=False, followers=followers, viewers=organic + paid, paid_reach=paid,
                       organic_reach_estimate=organic, spend_minor=10_000, views_organic=None, views_paid=None,
                       engagement=None, cost_per_thousand_minor=None)


TRACKS = [track(1, LONG_AUDIENCE, LONG_CAMPAIGN, 746), track(2, "Touristes", LONG_CAMPAIGN, 914),
          track(3, "Nouveaux habitants", "Printemps — le nouveau tramway", 758)]


def fits_on_the_left(png: bytes) -> bool:
    """The leftmost ink (the widest label, or the axis title) starts just inside the image: not cut at
    its edge, nor pushed out of it altogether, nor leaving a wide blank margin."""
    pixels = imread(io.BytesIO(png))
    ink = np.flatnonzero(~np.all(pixels[:, :, :3] > 0.98, axis=(0, 2)))
    return bool(ink.size) and 2 <= ink[0] <= 0.05 * pixels.shape[1]


def test_long_track_labels_are_whole_in_the_svg() -> None:
    """A track's public and campaign are each written whole on their own line (real SVG text), not cut
    at the figure's left edge; the data table keeps the full label."""
    for draw in (charts.cost_per_thousand_by_track, charts.reach_by_track):
        svg = draw(TRACKS).decode()
        for text in (LONG_AUDIENCE, LONG_CAMPAIGN, "Nouveaux habitants", "Printemps — le nouveau tramway"):
            assert "<text" in svg and text in svg, (draw.__name__, text)
    rows = charts.cost_per_thousand_table(TRACKS).rows
    assert rows[0][0] == f"{LONG_AUDIENCE} — {LONG_CAMPAIGN}"


def test_bar_labels_stay_inside_the_figure() -> None:
    """Horizontal bar charts leave room on the left for their widest label, even a name far too long for
    two lines (shortened with "…"): nothing is drawn across the figure's left edge."""
    very_long = [track(4, "Habitants de l'agglomération, des communes voisines et des quartiers " * 2,
                       "W" * 90, 1_200), *TRACKS]
    budget = [BudgetLine(campaign_id=1, campaign_name="Plan de communication " * 6, starts_on=date(2026, 1, 1),
                         ends_on=date(2026, 12, 31), currency="EUR", approved_minor=300_000, committed_minor=0,
                         spent_minor=100_000, remaining_minor=200_000, spent_in_period_minor=10_000,
                         spent_to_date_minor=100_000, consumed_rate=1 / 3)]
    for png in (charts.cost_per_thousand_by_track(very_long, fmt="png"),
                charts.reach_by_track(very_long, fmt="png"), charts.budget_by_campaign(budget, fmt="png")):
        assert fits_on_the_left(png)
    assert "…" in charts.cost_per_thousand_by_track(very_long).decode()


def test_weekly_chart_axis_title_is_inside_the_figure() -> None:
    """The weekly reach chart's axis title and large numbers are not cut at the left edge either."""
    for reach in (2_500, 250_000, 25_000_000):
        weeks = [week(n, 200_000, reach, reach) for n in range(3)]
        assert fits_on_the_left(charts.reach_by_week(weeks, fmt="png", posts=[9, 9, 10])), reach
        assert fits_on_the_left(charts.reach_by_week(weeks, fmt="png")), reach


def test_organic_ceiling_is_posts_of_the_week_times_ten_percent_of_followers() -> None:
    """A week's ceiling is posts published that week × 10 % of followers (a week's figure, comparable to
    the week's organic reach summed over its posts); unknown where either factor is."""
    weeks = [week(0, 20_000, 15_000, 9_000), week(1, 20_400, 16_000, 8_000), week(2, None, 0, 0)]
    assert charts.organic_ceilings(weeks, [9, 10, 4]) == [18_000, 20_400, None]
    assert charts.organic_ceilings(weeks, [9, None, 4]) == [18_000, None, None]
    assert charts.organic_ceilings(weeks, None) == [None, None, None]
    table = charts.reach_by_week_table(weeks, [9, 10, 4])
    assert table.rows[1][-2:] == (10, 20_400) and len(table.columns) == len(table.kinds) == len(table.rows[0])


def test_ceiling_is_drawn_only_with_the_posts_of_each_week() -> None:
    """With the posts of each week the chart draws and names the weekly ceiling; without them (the
    dashboard's call, unchanged) it draws none rather than 10 % of followers against a week's total."""
    weeks = [week(n, 20_000, 15_000, 9_000) for n in range(3)]
    with_posts = charts.reach_by_week(weeks, posts=[9, 9, 10]).decode()
    assert "Plafond organique : publications de la semaine × 10 % des abonnés" in with_posts
    without = charts.reach_by_week(weeks).decode()
    assert "Plafond" not in without and "Portée payante" in without
    bundle = charts.chart("reach_by_week", weeks)
    assert "plafond" not in bundle.alt.lower() and len(bundle.table.columns) == 7
    assert "publications de la semaine" in charts.chart("reach_by_week", weeks, posts=[9, 9, 10]).alt
