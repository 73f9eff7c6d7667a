"""The weekly report's charts: the dashboard's own chart functions and data tables (`reports.charts`,
one implementation, so both always show the same figure), wrapped for the report's template with a
caption, an alt text that states the week's figures, and the table behind the chart (the text
alternative, and what the e-mail body shows instead of the image).

Called inside `force_locale(...)`: captions, alt texts and the tables' numbers follow the report's language.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from core.i18n import money, number, percent
from reports import charts
from reports.pdf import Chart
from reports.weekly import WeeklyReport

THOUSANDS = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")  # the space in "1 000"


def charts_for(report: WeeklyReport, *, draw: bool = True) -> list[Chart]:
    """The report's charts; with `draw=False` only their captions and tables (e-mail bodies)."""
    locale = str(get_locale() or report.locale)
    return [_reach(report, draw, locale), _cost(report, draw, locale)]


def _reach(report: WeeklyReport, draw: bool, locale: str) -> Chart:
    weeks = report.series
    # Without the posts of each week (a report built by hand) the chart shows no ceiling rather than a wrong one.
    posts = report.series_posts if len(report.series_posts) == len(weeks) else None
    last = weeks[-1] if weeks else None
    ceiling = charts.organic_ceilings(weeks, posts)[-1] if weeks else None
    alt = _("Histogramme empilé par semaine ISO : portée organique estimée en bas, portée payante au-dessus, "
            "et en pointillés le plafond organique de chaque semaine (publications de la semaine × 10 %% des "
            "abonnés). Semaine %(week)s : %(organic)s personnes sans publicité (estimation), %(paid)s grâce à "
            "la publicité ; %(posts)s publication(s), plafond organique %(ceiling)s. "
            "Données dans le tableau qui suit.",
            week=last.iso_week if last else "—", organic=number(last.organic_reach_estimate if last else None),
            paid=number(last.paid_reach if last else None), posts=number(posts[-1] if posts else None),
            ceiling=number(ceiling))
    return _wrap("reach", _("Portée organique (estimation) et payante par semaine, %(n)s dernières semaines, "
                            "et plafond organique de chaque semaine",
                            n=len(weeks)),
                 alt, charts.reach_by_week(weeks, locale=locale, posts=posts) if draw else b"",
                 charts.reach_by_week_table(weeks, posts), report.currency)


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
    return Chart(key=key, caption=_unbreakable(caption), alt=alt, svg=svg,
                 headers=tuple(_unbreakable(h) for h in table.columns), rows=rows)


def _unbreakable(text: str) -> str:
    """No line break inside "1 000" or before "%" in the printed captions and column titles (the
    messages of `reports.charts` are written with plain spaces)."""
    return THOUSANDS.sub("\u202f", text.replace(" %", "\u00a0%"))


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
