"""The dashboard page, its CSV exports, the JSON API of the figures and the synchronisation page."""

from __future__ import annotations

import csv
import io

import pytest

from accounts.models import Role
from core.db import scoped
from reports import charts, dashboard, metrics
from reports.models import BackfillStatus, InsightsBackfill
from tests.conftest import make_user
from tests.reports.test_metrics import D, data  # noqa: F401  (the fixed data set)


@pytest.fixture
def analyst(client, session, data, auth):  # noqa: ANN001, F811
    make_user(session, "ana@valrive.test", data.territory, Role.ANALYST)
    auth.login("ana@valrive.test")
    return client


def test_dashboard_shows_the_metrics_module_figures(analyst, data) -> None:  # noqa: F811
    """The page shows the headline figures of `reports.metrics` for the period in the URL, and 4 charts."""
    page = analyst.get("/t/valrive/?period=custom&since=2026-11-09&until=2026-11-22")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "9\u202f000" in html or "9 000" in html  # viewers
    assert "estimation" in html
    assert html.count('src="data:image/svg+xml;base64,') == 4
    assert html.count("<figcaption>") == 4 and 'alt="' in html
    assert "Un clic vers la page foncier vaut 2" in html  # the value note beside the return


def test_filters_in_the_url_give_week_month_and_campaign_periods(analyst, session, data) -> None:  # noqa: F811
    """period=week|month|campaign parse into their dates; a malformed one falls back with a message."""
    with scoped(session, data.territory.id):
        assert dashboard.parse_period(session, {"period": "week", "week": "2026-W47"}).since == D(16)
        month = dashboard.parse_period(session, {"period": "month", "month": "2026-02"})
        assert (month.since.day, month.until.day) == (1, 28)
        campaign = dashboard.parse_period(session, {"period": "campaign", "campaign": str(data.campaign.id)})
        assert (campaign.since, campaign.campaign_id) == (data.campaign.starts_on, data.campaign.id)
    page = analyst.get("/t/valrive/?period=week&week=2026-W99")
    assert page.status_code == 200 and "Semaine invalide" in page.get_data(as_text=True)
    page = analyst.get(f"/t/valrive/?period=campaign&campaign={data.campaign.id}")
    assert page.status_code == 200 and "Tramway T2" in page.get_data(as_text=True)


def test_an_empty_period_shows_missing_not_zero(analyst, data) -> None:  # noqa: F811
    """January 2025 has no synchronised fact: the page says so and shows "—"."""
    html = analyst.get("/t/valrive/?period=month&month=2025-01").get_data(as_text=True)
    assert "ne valent pas zéro" in html and "—" in html


def test_csv_export_with_bom_and_french_excel_option(analyst, data) -> None:  # noqa: F811
    """Each table exports as UTF-8 with BOM; `sep=;` gives semicolons and decimal commas."""
    args = "period=custom&since=2026-11-09&until=2026-11-22"
    plain = analyst.get(f"/t/valrive/dashboard.csv?table=tracks&{args}")
    assert plain.status_code == 200 and plain.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(plain.data.decode("utf-8-sig"))))
    header = rows[0]
    investors = next(r for r in rows[1:] if r[1] == "Investisseurs" or "nvest" in r[1])
    assert investors[header.index("Dépense")] == "37.00"
    french = analyst.get(f"/t/valrive/dashboard.csv?table=tracks&sep=;&{args}")
    rows = list(csv.reader(io.StringIO(french.data.decode("utf-8-sig")), delimiter=";"))
    investors = next(r for r in rows[1:] if "nvest" in r[1])
    assert investors[rows[0].index("Dépense")] == "37,00"
    # The result that counts is named for people, not by Facebook's action type.
    assert investors[rows[0].index("Type de résultat")] == "Clic sur le lien"
    for name in dashboard.TABLES:
        assert analyst.get(f"/t/valrive/dashboard.csv?table={name}&{args}").status_code == 200
    assert analyst.get("/t/valrive/dashboard.csv?table=nope").status_code == 404


def test_json_api_serves_the_same_figures(client, session, data) -> None:  # noqa: F811
    """/api/v1/…/metrics returns period_figures; the OpenAPI document lists every metrics operation."""
    from accounts.services import create_api_token

    user = make_user(session, "api@valrive.test", data.territory, Role.ANALYST)
    _token, clear = create_api_token(session=session, territory=data.territory, user=user, name="t")
    session.commit()
    headers = {"Authorization": f"Bearer {clear}"}
    body = client.get("/api/v1/t/valrive/metrics?since=2026-11-09&until=2026-11-22", headers=headers).get_json()
    assert (body["viewers"], body["paid_reach"], body["organic_reach_estimate"], body["spend_minor"]) == \
        (9000, 6300, 2700, 7600)
    assert body["results"] is None
    tracks = client.get("/api/v1/t/valrive/metrics/tracks?since=2026-11-09&until=2026-11-22", headers=headers)
    assert {t["audience_key"]: t["value_per_result_minor"] for t in tracks.get_json()}["investors"] == 200
    weeks = client.get("/api/v1/t/valrive/metrics/weeks?since=2026-11-09&until=2026-11-22", headers=headers)
    assert [w["iso_week"] for w in weeks.get_json()] == ["2026-W46", "2026-W47"]
    for path in ("posts", "campaigns", "budget"):
        assert client.get(f"/api/v1/t/valrive/metrics/{path}", headers=headers).status_code == 200
    bad = client.get("/api/v1/t/valrive/metrics?since=2026-11-22&until=2026-11-09", headers=headers)
    assert bad.status_code == 422
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/t/{territory}/metrics/weeks" in spec["paths"]
    assert "WeekFiguresRead" in spec["components"]["schemas"]


def test_sync_page_shows_backfill_progress(client, session, data, auth) -> None:  # noqa: F811
    """The synchronisation page shows the backfill's steps; its fragment refreshes while it runs."""
    make_user(session, "admin@valrive.test", data.territory, Role.ADMIN)
    session.add(InsightsBackfill(territory_id=data.territory.id, since=D(1), until=D(22), next_day=D(1),
                                 steps_total=5, steps_done=2, status=BackfillStatus.RUNNING))
    session.commit()
    auth.login("admin@valrive.test")
    html = client.get("/t/valrive/insights").get_data(as_text=True)
    assert 'max="5" value="2"' in html and "refresh-progress.js" in html and "<script>" not in html
    fragment = client.get("/t/valrive/insights/progress").get_data(as_text=True)
    assert "data-refresh-url" in fragment


def test_charts_are_svg_with_real_text_and_reproducible(session, data) -> None:  # noqa: F811
    """Same data, same bytes; labels are text (svg.fonttype none), no date; the tables carry the data."""
    with scoped(session, data.territory.id):
        weeks = metrics.weekly_series(session, since=D(9), until=D(22))
        tracks = metrics.track_figures(session, since=D(9), until=D(22))
    svg = charts.reach_by_week(weeks)
    assert svg == charts.reach_by_week(weeks)
    text = svg.decode()
    assert "<text" in text and "W46" in text and "estimation" in text and "<dc:date>" not in text
    assert charts.reach_by_week_table(weeks).rows[0][:4] == ("2026-W46", 1600, 5200, 6800)
    assert charts.cost_per_thousand_by_track(tracks, fmt="png").startswith(b"\x89PNG")
    assert charts.reach_by_week([]).startswith(b"<?xml")  # an empty chart still renders


def test_weekly_chart_draws_the_organic_ceiling_of_the_weeks_posts(analyst, data) -> None:  # noqa: F811
    """The dashboard's weekly chart carries the same ceiling as the PDF: posts of the week × 10 % of followers."""
    import base64
    import re

    html = analyst.get("/t/valrive/?period=custom&since=2026-11-09&until=2026-11-22").get_data(as_text=True)
    first_chart = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html).group(1)
    svg = base64.b64decode(first_chart).decode()
    assert "Plafond organique : publications de la semaine × 10 % des abonnés" in svg


def test_figure_columns_are_english_for_an_english_reader(analyst, auth, data) -> None:  # noqa: ANN001, F811
    """Every figure's column title, on the page and in the CSV headers, is in the reader's language."""
    auth.post("/preferences/locale", {"locale": "en", "next": "/t/valrive/"})
    args = "period=custom&since=2026-11-09&until=2026-11-22"
    csv_text = analyst.get(f"/t/valrive/dashboard.csv?table=headline&{args}").data.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(csv_text)))
    for english in ("From", "Followers", "Viewers (organic and paid)", "Reach added by advertising", "Organic views",
                    "Paid views", "Value of results", "Return ((value − spend) ÷ spend)"):
        assert english in header, english
    assert not {"Vues organiques", "Vues payantes", "Valeur des résultats", "Abonnés"} & set(header)
    page = analyst.get(f"/t/valrive/?{args}").get_data(as_text=True)
    assert "Multiplier (total ÷ organic)" in page and "Organic reach rate (unboosted posts)" in page
    assert "Portée ajoutée par la publicité" not in page and "Spectateurs (organique et payant)" not in page
