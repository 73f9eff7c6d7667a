"""The weekly report's content: ISO weeks in the territory's time zone, the traffic-light rule, figures
taken from the metrics module, missing data shown as missing, the on-screen preview and the CLI."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlmodel import select

from accounts.models import Role
from campaigns.models import Post, PostStatus
from core.db import scoped
from core.errors import DomainError
from reports import delivery, metrics, weekly
from reports.models import Report, ReportStatus
from tests.conftest import make_territory, make_user
from tests.reports.weekly_data import APPROVED_MINOR, make_sample

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 11, 16)


def test_iso_weeks_parse_and_refuse_bad_text() -> None:
    """`2026-W47` is Monday 16 November 2026; malformed or non-existent weeks are refused."""
    assert weekly.parse_iso_week("2026-W47") == MONDAY
    assert weekly.parse_iso_week("2026-W53") == date(2026, 12, 28)  # 2026 has 53 ISO weeks
    for bad in ("2026-47", "2026-W7", "W47", "", "2025-W53"):
        with pytest.raises(DomainError):
            weekly.parse_iso_week(bad)


def test_last_complete_week_is_in_the_territory_time_zone() -> None:
    """At 23:30 UTC on Sunday it is already Monday in Paris: the week just ended is complete there."""
    sunday_late_utc = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert weekly.last_complete_week(sunday_late_utc, PARIS) == "2026-W47"
    assert weekly.last_complete_week(sunday_late_utc, ZoneInfo("America/New_York")) == "2026-W46"
    with pytest.raises(DomainError):
        weekly.check_week_complete("2026-W48", sunday_late_utc, PARIS)


@pytest.mark.parametrize(("posts", "planned", "spend", "plan", "status"), [
    (2, 2.0, 10_000, 10_000, "on_track"),
    (3, 2.0, 11_500, 10_000, "on_track"),   # ahead of plan, within the 120 % pacing band
    (2, 2.0, 9_500, 10_000, "close"),       # 5 % short on spend
    (1, 2.0, 10_000, 10_000, "off"),        # half the posts
    (2, 2.0, 13_000, 10_000, "off"),        # spending too fast
    (0, None, None, None, "none"),          # no target: no light
    (2, 2.0, None, 10_000, "on_track"),     # spend unknown: judged on cadence only, never as 0
])
def test_traffic_light_rule(posts, planned, spend, plan, status) -> None:  # noqa: ANN001
    """On track = no shortfall; within 10 % = shortfall up to 10 %; off = more, or spend > 120 % of plan."""
    light = weekly.traffic_light(posts_published=posts, posts_planned=planned, spend_minor=spend,
                                 spend_plan_minor=plan)
    assert light.status == status


def test_report_data_equals_the_metrics_module(app_ctx, session) -> None:  # noqa: ANN001
    """Headline and per-track figures are those of `reports.metrics` for the same week; trend covers 4 weeks."""
    territory = make_territory(session, "valrive")
    sample = make_sample(session, territory, last_monday=MONDAY)
    with scoped(session, territory.id):
        data = weekly.build_report_data(session=session, territory=territory, iso_week="2026-W47")
        figures = metrics.period_figures(session, since=MONDAY, until=date(2026, 11, 22))
        previous = metrics.period_figures(session, since=date(2026, 11, 9), until=date(2026, 11, 15))
        tracks = {t.track_id: t for t in metrics.track_figures(session, since=MONDAY, until=date(2026, 11, 22))}
    assert (data.reach.total, data.reach.paid, data.reach.organic) == (
        figures.viewers, figures.paid_reach, figures.organic_reach_estimate)
    assert data.change == pytest.approx(figures.viewers / previous.viewers - 1)
    assert data.spend_week_minor == figures.spend_minor and data.approved_year_minor == APPROVED_MINOR
    assert {t.track_id for t in data.tracks} == set(sample.track_ids.values())
    for line in data.tracks:
        expected = tracks[line.track_id]
        assert line.reach == weekly.Reach(expected.organic_reach_estimate, expected.paid_reach, expected.viewers)
        assert line.cost_per_thousand_minor == expected.cost_per_thousand_minor
        assert len(line.trend) == 4 and all(v is not None for v in line.trend) and line.trend[-1] == expected.viewers
        extra = 1 if line.audience_key == "investors" else 0  # the post whose boost Facebook refused
        assert line.light.posts_published == 2 + extra and line.light.spend_plan_minor
        assert line.top_posts and line.top_posts[0].reach >= line.top_posts[-1].reach
    assert [b.reason for b in data.refused] == ["Publicité à caractère politique refusée dans l'UE"]
    assert data.boosts and all(b.approved_by == "manager@test" for b in data.boosts)
    assert [b.budget_minor for b in data.pending_boosts] == [45_000]
    assert len(data.next_posts) == 2 and data.data_synced_at is not None


def test_series_counts_the_posts_published_each_week(app_ctx, session) -> None:  # noqa: ANN001
    """Each charted week carries the posts published in it, in the territory's time zone (the factor of
    the chart's organic ceiling); planned posts do not count."""
    territory = make_territory(session, "valrive")
    sample = make_sample(session, territory, last_monday=MONDAY)
    late_sunday = datetime(2026, 11, 15, 23, 30, tzinfo=PARIS)  # W46 in Paris, Sunday 22:30 UTC
    with scoped(session, territory.id):
        for when in (late_sunday, late_sunday + timedelta(hours=1)):  # the second one is Monday of W47
            session.add(Post(territory_id=territory.id, track_id=sample.track_ids["tourists"],
                             status=PostStatus.PUBLISHED, message="Tard", planned_at=when, published_at=when))
        session.flush()
        data = weekly.build_report_data(session=session, territory=territory, iso_week="2026-W47")
    assert [w.iso_week for w in data.series] == ["2026-W43", "2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    # 2 publics × 2 posts a week; W46 + the late Sunday post; W47 + the refused boost's post + Monday 00:30.
    assert data.series_posts == [4, 4, 4, 5, 6]


def test_missing_data_stays_missing(app_ctx, session, clock) -> None:  # noqa: ANN001
    """A week with no synchronised facts prints "—" and says so: never a 0 that was not measured."""
    clock.freeze(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    territory = make_territory(session, "vide")
    with scoped(session, territory.id):
        data = weekly.build_report_data(session=session, territory=territory, iso_week="2026-W47")
        assert data.reach == weekly.Reach(None, None, None) and data.spend_week_minor is None
        report, _ = delivery.generate_report(session=session, territory=territory, iso_week="2026-W47")
    assert report.status == ReportStatus.READY, report.error
    page1 = PdfReader(io.BytesIO(report.pdf)).pages[0].extract_text()
    assert "Aucune donnée de portée" in page1 and "La dépense de la semaine n'est pas connue" in page1
    assert "—" in page1
    assert not re.search(r"(?<![\d\u202f])0\s+personnes", page1) and "0,00\u00a0€" not in page1


def test_preview_uses_the_report_template(client, auth, session, clock) -> None:  # noqa: ANN001
    """The on-screen preview is the same document as the PDF: same sections, language, title."""
    clock.freeze(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    territory = make_territory(session, "valrive")
    make_user(session, "ana@valrive.test", territory, Role.ANALYST)
    make_sample(session, territory, last_monday=MONDAY)
    auth.login("ana@valrive.test")
    response = client.get("/t/valrive/reports/preview?week=2026-W47")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="fr">' in html and "<title>Rapport hebdomadaire — Valrive" in html
    for section in ('id="summary"', 'id="reach"', 'id="tracks"', 'id="money"', 'id="next-week"', 'id="annex"'):
        assert section in html
    assert 'src="data:image/svg+xml;base64,' in html and 'alt="' in html
    assert "/static/fonts/DejaVuSans.ttf" in html
    assert client.get("/t/valrive/reports/preview?week=2026-W99").status_code == 400
    assert client.get("/t/valrive/reports/preview?week=2026-W49").status_code == 400  # not over yet


def test_cli_writes_the_pdf_and_keeps_it(runner, session, tmp_path, clock) -> None:  # noqa: ANN001
    """`flask report weekly --territory --week --output` writes a PDF and archives the report."""
    clock.freeze(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    territory = make_territory(session, "valrive")
    make_sample(session, territory, last_monday=MONDAY, weeks=2)
    target = tmp_path / "report.pdf"
    result = runner.invoke(args=["report", "weekly", "--territory", "valrive", "--week", "2026-W47",
                                 "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF-")
    session.expire_all()
    with scoped(session, territory.id):
        report = session.exec(select(Report)).one()
    assert report.iso_week == "2026-W47" and report.status == ReportStatus.READY and report.sent_at is None


@pytest.mark.parametrize(("args", "message"), [
    (["--territory", "nowhere", "--week", "2026-W47"], "no territory 'nowhere'"),
    (["--territory", "valrive", "--week", "2026-47"], "2026-W47"),
    (["--territory", "valrive", "--week", "2026-W49"], "pas encore terminée"),
])
def test_cli_errors_are_clear(runner, session, clock, args, message) -> None:  # noqa: ANN001
    """A bad slug or week is a usage error naming the problem, not a traceback."""
    clock.freeze(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    make_territory(session, "valrive")
    result = runner.invoke(args=["report", "weekly", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
