"""The weekly report as HTML (screen preview, e-mail body) and as a tagged A4 PDF (WeasyPrint).

One template, `reports/weekly.html`, serves the three: the PDF embeds the charts as SVG with
real text and the DejaVu Sans shipped in `static/fonts/` (the family matplotlib writes in the
SVG charts, so chart labels and body text use the same file); the e-mail body replaces the
charts by the data tables behind them (mail clients do not show SVG). See
`../shared/pdf-report.md` for why WeasyPrint and how.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from flask import render_template, url_for
from flask_babel import force_locale

from reports.weekly import WeeklyReport

logger = logging.getLogger(__name__)
# WeasyPrint logs every layout step at INFO; the app logs INFO: keep its warnings, not its progress.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

STATIC = Path(__file__).resolve().parent.parent / "static"
FONT_FILES = {"normal": "fonts/DejaVuSans.ttf", "bold": "fonts/DejaVuSans-Bold.ttf"}
PANGO_COMMAND = "apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0"

Mode = Literal["pdf", "screen", "email"]

# WeasyPrint's font configuration: one per process, reused by every report (building it scans
# the system's fonts). Documents add their @font-face rules to it while they render, so renders in
# one process take turns (web threads and the report worker share it).
_font_config: Any = None
_font_lock = threading.Lock()
_render_lock = threading.Lock()


class PdfUnavailable(RuntimeError):
    """WeasyPrint cannot load Pango on this machine."""


@dataclass(frozen=True)
class Chart:
    """One chart of the report: its SVG (text kept as text), caption, alt text and data table."""

    key: str
    caption: str
    alt: str
    svg: bytes
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()

    @property
    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode()


@dataclass
class Timings:
    """Seconds spent in each step of one build (logged by callers that care, e.g. a benchmark)."""

    data: float = 0.0
    charts: float = 0.0
    pdf: float = 0.0


def font_config() -> Any:
    """The process's one `FontConfiguration`. :raise PdfUnavailable: without Pango."""
    global _font_config
    with _font_lock:
        if _font_config is None:
            try:
                from weasyprint.text.fonts import FontConfiguration
            except OSError as exc:  # the wheel loads Pango through cffi at import
                raise PdfUnavailable(
                    f"WeasyPrint cannot load Pango ({exc}). As root, run: {PANGO_COMMAND}") from exc
            _font_config = FontConfiguration()
        return _font_config


def html_to_pdf(html: str) -> bytes:
    """A4 PDF, tagged (PDF/UA-1 claimed, not validated), fonts embedded. :raise PdfUnavailable."""
    config = font_config()
    from weasyprint import HTML

    with _render_lock:
        return HTML(string=html, base_url=str(STATIC)).write_pdf(font_config=config, pdf_variant="pdf/ua-1")


def local_time(value: Any, tz: str, locale: str) -> str:
    """A UTC instant in the territory's time zone, in the report's language (jobs have no request)."""
    if value is None:
        return "—"
    return babel_datetime(value, "d MMMM y HH:mm" if locale == "fr" else "MMMM d, y HH:mm",
                          tzinfo=ZoneInfo(tz), locale=locale)


def local_day(value: Any, tz: str, locale: str) -> str:
    """The territory-time date of a UTC instant (a post published at 00:30 in Paris is that day's)."""
    if value is None:
        return "—"
    return babel_date(value.astimezone(ZoneInfo(tz)).date(), "short", locale=locale)


def font_urls(mode: Mode) -> dict[str, str] | None:
    """Where the template's `@font-face` finds the TTF: relative to `static/` for the PDF, the web
    route for the preview; none in e-mails (the reader's own sans-serif)."""
    if mode == "pdf":
        return dict(FONT_FILES)
    if mode == "screen":
        return {weight: url_for("static", filename=path) for weight, path in FONT_FILES.items()}
    return None


def render_html(report: WeeklyReport, charts: list[Chart], *, mode: Mode, locale: str | None = None,
                back_url: str | None = None) -> str:
    """The report as one HTML document. Needs an app context (and a request for `screen`)."""
    locale = locale or report.locale
    with force_locale(locale):
        return render_template(
            "reports/weekly.html", r=report, charts={c.key: c for c in charts}, mode=mode, lang=locale,
            fonts=font_urls(mode), back_url=back_url,
            generated=local_time(report.generated_at, report.timezone, locale),
            synced=local_time(report.data_synced_at, report.timezone, locale),
            local_time=lambda v: local_time(v, report.timezone, locale),
            local_day=lambda v: local_day(v, report.timezone, locale),
        )


def render_charts(report: WeeklyReport, *, locale: str | None = None, draw: bool = True) -> list[Chart]:
    """The report's charts, drawn by the dashboard's own chart functions (`reports.charts`); with
    `draw=False`, only their captions and data tables (the e-mail body)."""
    from reports import weekly_charts

    with force_locale(locale or report.locale):
        return weekly_charts.charts_for(report, draw=draw)


def build_pdf(report: WeeklyReport, *, locale: str | None = None, charts: list[Chart] | None = None,
              timings: Timings | None = None, progress: Callable[[str], None] | None = None) -> bytes:
    """Charts, then HTML, then the PDF, timing each step into `timings` when given."""
    timings = timings if timings is not None else Timings()
    if charts is None:
        if progress:
            progress("charts")
        started = time.perf_counter()
        charts = render_charts(report, locale=locale)
        timings.charts += time.perf_counter() - started
    if progress:
        progress("pdf")
    started = time.perf_counter()
    pdf = html_to_pdf(render_html(report, charts, mode="pdf", locale=locale))
    timings.pdf += time.perf_counter() - started
    return pdf

