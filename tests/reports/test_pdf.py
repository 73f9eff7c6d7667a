"""The weekly PDF: page-1 figures equal the metrics module's, every section is there, fonts are embedded,
the document is tagged with its language and title. Text is read with pypdf (it keeps U+202F/U+00A0)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from babel.numbers import format_currency, format_decimal
from flask_babel import force_locale
from pypdf import PdfReader

from core.db import scoped
from reports import delivery, metrics, pdf
from reports.models import ReportStatus
from tests.conftest import make_territory
from tests.reports.weekly_data import APPROVED_MINOR, make_sample

MONDAY = date(2026, 11, 16)  # ISO week 2026-W47
SUNDAY = date(2026, 11, 22)


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def fr_number(value: int) -> str:
    return format_decimal(value, locale="fr")


def fr_money(minor: int) -> str:
    return format_currency(Decimal(minor) / 100, "EUR", locale="fr")


@pytest.fixture(scope="module")
def built(app) -> dict:  # noqa: ANN001
    """One territory with five weeks of data and its W47 report, built once for the module."""
    from core import clock
    from core.db import ALL, new_session

    clock.freeze(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    with app.app_context():
        session = new_session(ALL)
        territory = make_territory(session, "valrive", "Valrive Agglo")
        make_sample(session, territory, last_monday=MONDAY)
        with scoped(session, territory.id):
            report, data = delivery.generate_report(session=session, territory=territory, iso_week="2026-W47")
            assert report.status == ReportStatus.READY, report.error
            with force_locale("fr"):
                html = pdf.render_html(data, pdf.render_charts(data), mode="pdf")
            figures = metrics.period_figures(session, since=MONDAY, until=SUNDAY)
            ytd = metrics.period_figures(session, since=date(2026, 1, 1), until=SUNDAY)
            tracks = metrics.track_figures(session, since=MONDAY, until=SUNDAY)
        session.commit()
        result = {"pdf": report.pdf, "html": html, "figures": figures, "ytd": ytd, "tracks": tracks}
        session.close()
    clock.reset()
    return result  # the autouse clean-up empties the tables after each test; these values stay


def test_page_one_shows_the_metrics_module_figures(built) -> None:  # noqa: ANN001
    """Page 1 prints the week's reach (organic estimate, paid, total), spend and cost per 1,000 per track,
    exactly as `reports.metrics` computes them, with French number typography."""
    page1 = pages_text(built["pdf"])[0]
    figures = built["figures"]
    assert "Valrive Agglo" in page1 and "Semaine 47 de 2026" in page1
    assert "lundi 16 novembre 2026" in page1 and "dimanche 22 novembre 2026" in page1
    for value in (figures.viewers, figures.organic_reach_estimate, figures.paid_reach):
        assert value and fr_number(value) in page1, value
    assert "\u202f" in fr_number(figures.viewers)  # the group separator survived extraction
    assert fr_money(figures.spend_minor) in page1
    assert fr_money(built["ytd"].spend_minor) in page1
    assert fr_money(APPROVED_MINOR) in page1  # the approved budget of the year
    assert len(built["tracks"]) == 2
    for track in built["tracks"]:
        assert track.audience_name in page1
        for value in (track.viewers, track.paid_reach, track.organic_reach_estimate):
            assert fr_number(value) in page1, (track.audience_name, value)
        assert fr_money(track.spend_minor) in page1
        assert fr_money(track.cost_per_thousand_minor) in page1
    assert "Dans les objectifs" in page1 or "À moins de 10" in page1 or "Hors objectif" in page1


def test_every_section_is_present(built) -> None:  # noqa: ANN001
    """The report has all its sections, in order, and page numbers "Page n / N"."""
    pages = pages_text(built["pdf"])
    text = "\n".join(pages)
    sections = ["L'essentiel de la semaine", "Portée organique et portée payante", "Détail par piste",
                "Publications qui ont le plus porté", "Argent public", "Annonces refusées par Facebook",
                "La semaine prochaine", "en attente d'approbation", "Annexe", "Portée organique (estimation)",
                "Valeur d'un résultat", "Fraîcheur des données", "Changements d'indicateurs de Meta"]
    position = 0
    for section in sections:  # each one present, after the one before it
        found = text.find(section, position)
        assert found >= 0, f"{section!r} missing after position {position}"
        position = found
    assert f"Page 1 / {len(pages)}" in pages[0] and f"Page {len(pages)} / {len(pages)}" in pages[-1]
    flat = text.replace("\n", " ")  # table cells wrap their lines
    assert "Publicité à caractère politique refusée dans l'UE" in flat  # the refusal and its reason
    assert "manager@test" in text  # who approved the boosts
    assert "Prévu la semaine prochaine" in flat


def test_fonts_are_embedded_and_are_the_shipped_dejavu(built) -> None:  # noqa: ANN001
    """Every font in the PDF (body and chart text) is embedded, and all are DejaVu Sans."""
    reader = PdfReader(io.BytesIO(built["pdf"]))
    fonts = {}

    def collect(resources) -> None:  # noqa: ANN001
        for font in (resources or {}).get("/Font", {}).values():
            font = font.get_object()
            fonts[font["/BaseFont"]] = font
        for xobject in (resources or {}).get("/XObject", {}).values():
            collect(xobject.get_object().get("/Resources"))

    for page in reader.pages:
        collect(page.get("/Resources"))
    assert fonts
    for name, font in fonts.items():
        assert "DejaVu-Sans" in name, name
        descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        descriptor = descendant["/FontDescriptor"].get_object()
        assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), name


def test_the_shipped_font_file_is_the_one_loaded(app, built, caplog) -> None:  # noqa: ANN001
    """The template's @font-face points at static/fonts/DejaVuSans*.ttf and WeasyPrint loads it without a
    warning (a missing file would fall back, silently in the PDF, to whatever the system has)."""
    assert 'src: url("fonts/DejaVuSans.ttf")' in built["html"]
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        assert (pdf.STATIC / "fonts" / name).is_file()
    with app.app_context(), caplog.at_level("WARNING", logger="weasyprint"):
        pdf.html_to_pdf(built["html"])
        assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []
        pdf.html_to_pdf(built["html"].replace("fonts/DejaVuSans.ttf", "fonts/missing.ttf"))
    assert any("cannot be loaded" in r.getMessage() for r in caplog.records)  # what a missing file would say


def test_document_is_tagged_with_language_and_title(built) -> None:  # noqa: ANN001
    """The PDF declares its language and title, is tagged (structure tree), and charts have alt text."""
    reader = PdfReader(io.BytesIO(built["pdf"]))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "fr"
    assert reader.metadata.title.startswith("Rapport hebdomadaire — Valrive Agglo")
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    figures = []

    def walk(node, depth: int = 0) -> None:  # noqa: ANN001
        node = node.get_object()
        if isinstance(node, list):
            for child in node:
                walk(child, depth + 1)
            return
        if not hasattr(node, "get") or depth > 60:
            return
        if node.get("/S") == "/Figure":
            figures.append(node)
        if "/K" in node:
            walk(node["/K"], depth + 1)

    walk(root["/StructTreeRoot"])
    assert len(figures) >= 2 and all(str(f.get("/Alt", "")).strip() for f in figures)  # charts carry alt text


def test_organic_ceiling_is_the_week_posts_times_ten_percent(built) -> None:  # noqa: ANN001
    """The reach chart's ceiling is each week's posts × 10 % of followers: named so in the chart's legend,
    given per week in its data table and defined in the annex (never 10 % of followers against a week)."""
    pages = pages_text(built["pdf"])
    flat = " ".join(pages).replace("\n", " ")
    assert "Plafond organique : publications de la semaine × 10 % des abonnés" in flat  # the legend, as text
    assert "Publications publiées" in flat
    annex = next(p for p in pages if "définitions et hypothèses" in p).replace("\n", " ")
    assert "nombre de publications publiées cette semaine-là × 10\u00a0% des abonnés" in annex
    # The table's W47 row ends with the week's posts (2 publics × 2 posts + the refused boost's post) and
    # its ceiling, from the followers at the end of the week.
    row = next(line for page in pages for line in page.split("\n") if line.startswith("2026-W47 "))
    ceiling = fr_number(round(5 * built["figures"].followers * 0.10))
    assert row.endswith(f"5 {ceiling}"), row


def test_report_pages_keep_heading_chart_and_annex_together(built) -> None:  # noqa: ANN001
    """A reader never finds a section heading alone on its page with its chart on the next, nor the
    annex's last definition alone on an extra page."""
    pages = pages_text(built["pdf"])

    def page_of(text: str) -> int:
        return next(i for i, page in enumerate(pages) if text in page.replace("\n", " "))

    assert page_of("Portée organique et portée payante") == page_of("Plafond organique : publications de la semaine")
    assert page_of("définitions et hypothèses") == page_of("Données manquantes") == len(pages) - 1
