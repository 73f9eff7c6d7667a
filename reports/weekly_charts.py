"""The weekly report's charts: the dashboard's own chart functions and data tables (`reports.charts`,
one implementation, so both always show the same figure), wrapped for the report's template with a
caption, an alt text that states the week's figures, and the table behind the chart (the text
alternative, and what the e-mail body shows instead of the image).

Called inside `force_locale(...)`: captions, alt texts and the tables' numbers follow the report's language.
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from core.i18n import money, number, percent
from reports import charts
from reports.pdf import Chart
from reports.weekly import WeeklyReport


def charts_for(report: WeeklyReport, *, draw: bool = True) -> list[Chart]:
    """The report's charts; with `draw=False` only their captions and tables (e-mail bodies)."""
    locale = str(get_locale() or report.locale)
    return [_reach(report, draw, locale), _cost(report, draw, locale)]


def _reach(report: WeeklyReport, draw: bool, locale: str) -> Chart:
    weeks = report.series
    last = weeks[-1] if weeks else None
    ceiling = round(last.followers * charts.ORGANIC_CEILING) if last and last.followers else None
    alt = _("Histogramme empilé par semaine ISO : portée organique estimée en bas, portée payante au-dessus, "
            "plafond organique de 10 %% des abonnés en pointillés. Semaine %(week)s : %(organic)s personnes "
            "sans publicité (estimation), %(paid)s grâce à la publicité, plafond %(ceiling)s. "
            "Données dans le tableau qui suit.",
            week=last.iso_week if last else "—", organic=number(last.organic_reach_estimate if last else None),
            paid=number(last.paid_reach if last else None), ceiling=number(ceiling))
    return _wrap("reach", _("Portée organique (estimation) et payante par semaine, %(n)s dernières semaines",
                            n=len(weeks)),
                 alt, charts.reach_by_week(weeks, locale=locale) if draw else b"",
                 charts.reach_by_week_table(weeks), report.currency)


def _cost(report: WeeklyReport, draw: bool, locale: str) -> Chart:
    tracks = report.track_figures
    cheapest = report.cheapest_track
    summary = (_("La moins chère : %(track)s, %(cost)s.", track=cheapest.label,
                 cost=money(cheapest.cost_per_thousand_minor, report.currency))
               if cheapest else _("Aucune portée payante cette semaine."))
    alt = _("Barres horizontales du coût pour 1 000 personnes atteintes par piste, de la moins chère à la plus "
            "chère. %(summary)s Données dans le tableau qui suit.", summary=summary)
    return _wrap("cost", _("Coût pour 1 000 personnes atteintes par piste, semaine %(week)s", week=report.iso_week),
                 alt, charts.cost_per_thousand_by_track(tracks, locale=locale) if draw else b"",
                 charts.cost_per_thousand_table(tracks), report.currency)


def _wrap(key: str, caption: str, alt: str, svg: bytes, table: Any, currency: str) -> Chart:
    rows = tuple(tuple(_cell(value, kind, currency) for value, kind in zip(row, table.kinds, strict=True))
                 for row in table.rows)
    return Chart(key=key, caption=caption, alt=alt, svg=svg, headers=tuple(table.columns), rows=rows)


def _cell(value: Any, kind: str, currency: str) -> str:
    """One table cell in the report's language; missing stays "—"."""
    if kind == "money":
        return money(value, currency)
    if kind == "int":
        return number(value)
    if kind == "rate":
        return percent(value)
    if kind == "ratio":
        return "—" if value is None else f"× {number(value, 1)}"
    return "—" if value is None else str(value)
