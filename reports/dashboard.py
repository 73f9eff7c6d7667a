"""The dashboard's data: the period from the URL, the figures (all from `reports.metrics`), the tables
behind every chart and list, and their CSV export.

Filters live in the query string so a view can be shared: `period=week&week=2026-W47`,
`period=month&month=2026-11`, `period=campaign&campaign=12`, `period=custom&since=…&until=…`
(default: the last 12 weeks). Reads only.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import LazyString, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlmodel import Session, select

from campaigns.models import Campaign
from core import clock
from core.errors import ValidationFailed
from core.i18n import local_date, money, number, percent
from reports import charts, metrics
from reports.charts import ChartTable
from targets.models import result_label

PERIODS = ("week", "month", "campaign", "custom")
DEFAULT_WEEKS = 12
MAX_DAYS = 3 * 366 + 7
TOP_POSTS = 5
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """The period a dashboard shows, and the URL arguments that give it."""

    kind: str
    since: date
    until: date
    label: str
    campaign_id: int | None = None
    args: tuple[tuple[str, str], ...] = ()

    @property
    def query(self) -> dict[str, str]:
        return dict(self.args)


def _fail(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed({field_name: message}, message)


def parse_period(session: Session, args: Mapping[str, str], *, today: date | None = None) -> Period:
    """The period asked for in `args` (a request's query string).

    :raise ValidationFailed: with a French message per field for a malformed or impossible period.
    """
    today = today or clock.now().date()
    kind = (args.get("period") or "").strip() or ("custom" if args.get("since") or args.get("until") else "")
    if kind and kind not in PERIODS:
        raise _fail("period", _("Période inconnue : choisissez semaine, mois, campagne ou personnalisée."))
    if kind == "week":
        text = args.get("week") or metrics.iso_week_label(today)
        match = _WEEK.match(text.strip())
        try:
            monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1) if match else None
        except ValueError:
            monday = None
        if monday is None:
            raise _fail("week", _("Semaine invalide (format attendu : 2026-W47)."))
        return Period("week", monday, monday + timedelta(days=6), _("Semaine %(week)s", week=text.strip()),
                      args=(("period", "week"), ("week", text.strip())))
    if kind == "month":
        text = args.get("month") or today.strftime("%Y-%m")
        match = _MONTH.match(text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise _fail("month", _("Mois invalide (format attendu : 2026-11)."))
        first = date(int(match.group(1)), int(match.group(2)), 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return Period("month", first, last, _("Mois %(month)s", month=text.strip()),
                      args=(("period", "month"), ("month", text.strip())))
    if kind == "campaign":
        raw = args.get("campaign") or ""
        campaign = session.get(Campaign, int(raw)) if raw.isdigit() else None
        if campaign is None or session.exec(select(Campaign.id).where(Campaign.id == campaign.id)).first() is None:
            raise _fail("campaign", _("Campagne introuvable."))
        return Period("campaign", campaign.starts_on, campaign.ends_on, _("Campagne « %(name)s »", name=campaign.name),
                      campaign_id=campaign.id, args=(("period", "campaign"), ("campaign", str(campaign.id))))
    if kind == "custom":
        try:
            since = date.fromisoformat(args.get("since") or "")
            until = date.fromisoformat(args.get("until") or "")
        except ValueError:
            raise _fail("since", _("Dates invalides (format attendu : 2026-11-30).")) from None
        if until < since:
            raise _fail("until", _("La fin de la période précède son début."))
        if (until - since).days > MAX_DAYS:
            raise _fail("since", _("Trois ans au plus."))
        return Period("custom", since, until, _("Du %(since)s au %(until)s", since=since.isoformat(),
                                                 until=until.isoformat()),
                      args=(("period", "custom"), ("since", since.isoformat()), ("until", until.isoformat())))
    since = metrics.week_start(today) - timedelta(weeks=DEFAULT_WEEKS - 1)
    return Period("custom", since, today, _("Les %(n)s dernières semaines", n=DEFAULT_WEEKS))


@dataclass
class DashboardData:
    """Everything the dashboard shows for one period."""

    period: Period
    figures: metrics.TerritoryFigures
    tracks: list[metrics.TrackFigures]
    campaigns: list[metrics.CampaignFigures]
    weeks: list[metrics.WeekFigures]
    top_posts: list[metrics.PostFigures]
    bottom_posts: list[metrics.PostFigures]
    budget: list[metrics.BudgetLine]
    adaptation: list[Any]
    charts: list[charts.Chart] = field(default_factory=list)


def load(session: Session, period: Period, *, with_charts: bool = True, locale: str = "fr",
         tz: str = "Europe/Paris") -> DashboardData:
    """Gather the period's figures (and render the charts). `session` is scoped to the territory."""
    since, until = period.since, period.until
    found = metrics.dashboard_figures(session, since=since, until=until, campaign_id=period.campaign_id,
                                      top_count=TOP_POSTS)
    view = found.overview
    data = DashboardData(
        period=period, figures=view.figures, tracks=view.tracks,
        campaigns=[] if period.campaign_id else view.campaigns,
        weeks=found.weeks, top_posts=found.top_posts, bottom_posts=found.bottom_posts, budget=found.budget,
        adaptation=_adaptation(session, since, until),
    )
    tracks = view.tracks
    if with_charts:
        data.charts = [
            cached_chart("reach_by_week", tuple(data.weeks), locale, posts=tuple(metrics.published_by_week(
                session, mondays=[w.week_start for w in data.weeks], tz=ZoneInfo(tz)))),
            cached_chart("reach_by_track", tuple(tracks), locale),
            cached_chart("cost_per_thousand", tuple(tracks), locale),
            cached_chart("budget", tuple(data.budget), locale),
        ]
    return data


_CHART_CACHE: dict[tuple[Any, ...], charts.Chart] = {}


def cached_chart(key: str, data: tuple[Any, ...], locale: str, posts: tuple[int, ...] | None = None) -> charts.Chart:
    """A chart, rendered once per distinct data (charts are pure functions of frozen figures: the same
    figures always give the same bytes, so a repeat view costs no drawing). Bounded LRU-ish cache."""
    cache_key = (key, locale, data, posts)
    found = _CHART_CACHE.get(cache_key)
    if found is None:
        found = charts.chart(key, list(data), locale=locale, posts=list(posts) if posts is not None else None)
        if len(_CHART_CACHE) >= 64:
            _CHART_CACHE.pop(next(iter(_CHART_CACHE)))
        _CHART_CACHE[cache_key] = found
    return found


def _adaptation(session: Session, since: date, until: date) -> list[Any]:
    """Posts adapted for their public vs copied from the website, from `campaigns.services.adaptation_share`."""
    from campaigns import services as campaigns

    share = getattr(campaigns, "adaptation_share", None)
    if share is None:
        return []
    return list(share(session, since, until + timedelta(days=1)))


# ------------------------------------------------------------------------------------ tables


TABLES = ("headline", "weeks", "tracks", "campaigns", "top_posts", "bottom_posts", "budget", "adaptation")


def _track_label(t: metrics.TrackFigures) -> str:
    return f"{t.audience_name} — {t.campaign_name}"


_FIGURE_COLUMNS: tuple[tuple[str, LazyString, str], ...] = (
    ("followers", _l("Abonnés"), "int"),
    ("viewers", _l("Spectateurs (organique et payant)"), "int"),
    ("organic_reach_estimate", _l("Portée organique (estimation)"), "int"),
    ("paid_reach", _l("Portée payante"), "int"),
    ("incremental_reach", _l("Portée ajoutée par la publicité"), "int"),
    ("uplift", _l("Multiplicateur (total ÷ organique)"), "ratio"),
    ("organic_reach_rate", _l("Taux de portée organique (publications non sponsorisées)"), "rate"),
    ("views_organic", _l("Vues organiques"), "int"),
    ("views_paid", _l("Vues payantes"), "int"),
    ("engagement", _l("Interactions"), "int"),
    ("spend_minor", _l("Dépense"), "money"),
    ("cost_per_thousand_minor", _l("Coût pour 1 000 personnes atteintes"), "money"),
    ("results", _l("Résultats"), "int"),
    ("cost_per_result_minor", _l("Coût par résultat"), "money"),
    ("value_of_results_minor", _l("Valeur des résultats"), "money"),
    ("return_ratio", _l("Retour ((valeur − dépense) ÷ dépense)"), "rate"),
)


def figure_columns() -> tuple[tuple[str, str, str], ...]:
    """(attribute, translated title, kind) of every figure, in the dashboard's order."""
    return tuple((name, str(title), kind) for name, title, kind in _FIGURE_COLUMNS)


def tables(data: DashboardData) -> dict[str, ChartTable]:
    """Every table of the dashboard (the same ones the page shows and the CSV exports)."""
    cols = figure_columns()
    out = {
        "headline": ChartTable(
            caption=_("Chiffres clés — %(label)s", label=data.period.label),
            columns=(_("Du"), _("Au"), *(title for _n, title, _k in cols)),
            kinds=("date", "date", *(kind for _n, _t, kind in cols)),
            rows=((data.period.since, data.period.until, *(getattr(data.figures, n) for n, _t, _k in cols)),),
        ),
        "weeks": charts.reach_by_week_table(data.weeks),
        "tracks": ChartTable(
            caption=_("Les pistes côte à côte (valeur d'un résultat et hypothèse à côté du retour)"),
            columns=(_("Campagne"), _("Public"), _("Type de résultat"), *(title for _n, title, _k in cols),
                     _("Valeur d'un résultat"), _("Hypothèse")),
            kinds=("text", "text", "text", *(kind for _n, _t, kind in cols), "money", "text"),
            rows=tuple((t.campaign_name, t.audience_name, result_label(t.result_type),
                        *(getattr(t, n) for n, _t, _k in cols), t.value_per_result_minor, t.value_note)
                       for t in data.tracks),
        ),
        "campaigns": ChartTable(
            caption=_("Par campagne"),
            columns=(_("Campagne"), *(title for _n, title, _k in cols)),
            kinds=("text", *(kind for _n, _t, kind in cols)),
            rows=tuple((c.campaign_name, *(getattr(c, n) for n, _t, _k in cols)) for c in data.campaigns),
        ),
        "top_posts": _posts_table(data.top_posts, _("Publications les plus vues sur la période")),
        "bottom_posts": _posts_table(data.bottom_posts, _("Publications les moins vues sur la période")),
        "budget": charts.budget_table(data.budget),
        "adaptation": ChartTable(
            caption=_("Publications adaptées à leur public ou copiées du site web, par public"),
            columns=(_("Public"), _("Adaptées"), _("Copiées du site"), _("Part copiée")),
            kinds=("text", "int", "int", "rate"),
            rows=tuple((row.audience.name, row.adapted, row.copied, row.copied_share) for row in data.adaptation),
        ),
    }
    return out


def _posts_table(posts: list[metrics.PostFigures], caption: str) -> ChartTable:
    return ChartTable(
        caption=caption,
        columns=(_("Publication"), _("Public"), _("Campagne"), _("Spectateurs"), _("Portée payante"),
                 _("Portée organique (estimation)"), _("Interactions"), _("Dépense"), _("Sponsorisée"),
                 _("Copiée du site")),
        kinds=("text", "text", "text", "int", "int", "int", "int", "money", "bool", "bool"),
        rows=tuple((p.excerpt, p.audience_name, p.campaign_name, p.viewers, p.paid_reach, p.organic_reach_estimate,
                    p.engagement, p.spend_minor, p.boosted, p.copied_from_website) for p in posts),
    )


# ------------------------------------------------------------------------------------ HTML


def _missing() -> Markup:
    return Markup('<span title="{}">—</span>').format(_("donnée manquante"))


def cell_html(value: Any, kind: str) -> Markup:
    """A value as the page shows it, by its kind (the `kinds` of a `ChartTable`); missing is "—", never 0."""
    if value is None:
        return _missing()
    if kind == "money":
        return escape(money(value))
    if kind == "int":
        return escape(number(value))
    if kind == "rate":
        return escape(percent(value))
    if kind == "ratio":
        return Markup("{}&nbsp;×").format(number(value, 1))
    if kind == "bool":
        return escape(_("oui") if value else _("non"))
    if kind == "date":
        return escape(local_date(value))
    return escape(value)


class Cells:
    """Formats the values of one page by their kind (`cell_html`), each distinct value once.

    The page shows some 2,000 values but only a few hundred distinct ones (a track's figures are in its
    table and in the charts' tables; followers, zeros and values per result repeat), and formatting a
    number by the locale's rules is the costly part of rendering it. Make one per page (the locale is
    fixed while it renders); the templates call `rows` once per table rather than a macro per cell.
    """

    def __init__(self) -> None:
        self._memo: dict[tuple[str, type, Any], Markup] = {}
        self._missing = _missing()
        self._integers = _integer_formats(str(get_locale() or "fr"))

    def value(self, value: Any, kind: str) -> Markup:
        if value is None:
            return self._missing
        key = (kind, type(value), value)  # the type too: 1, 1.0 and True are equal keys
        found = self._memo.get(key)
        if found is None:
            fast = self._integers.get(kind) if type(value) is int else None
            found = self._memo[key] = fast(value) if fast else cell_html(value, kind)
        return found

    def rows(self, table: ChartTable, limit: int | None = None) -> list[list[Markup]]:
        """The first `limit` rows of `table` (all without), formatted."""
        value = self.value
        return [[value(v, kind) for v, kind in zip(row, table.kinds, strict=True)]
                for row in (table.rows[:limit] if limit else table.rows)]


_INTEGER_SAMPLES = (0, 7, -7, 42, 999, -999, 1000, -1000, 1005, 123456, -654321, 1234567, -98765432, 10**12 + 1)


@lru_cache(maxsize=16)
def _integer_formats(locale: str) -> dict[str, Callable[[int], Markup]]:
    """kind → a fast formatter of integers ("int": a number, "money": cents of euros) for `locale`, when the
    locale's patterns are the plain ones (digits grouped by three, two decimals for money).

    Babel reads the locale's pattern for every value; these are derived once per locale from what
    `cell_html` gives for sample values (the group and decimal symbols, the text around the number) and
    kept only when they give exactly its text for every sample, so a locale with other rules just goes
    on through `cell_html`. Call it in a request of that locale (the samples are formatted by Babel).
    """
    out: dict[str, Callable[[int], Markup]] = {}
    reference = str(cell_html(1234567, "int"))
    group = reference[1:reference.find("234")] if reference.startswith("1") else ""
    if group and reference == f"1{group}234{group}567":
        minus = str(cell_html(-1234567, "int"))[:-len(reference)]

        def integer(value: int) -> Markup:
            text = f"{abs(value):,}".replace(",", group)
            return Markup(minus + text if value < 0 else text)  # digits and the locale's symbols only

        out["int"] = integer
    cents = str(cell_html(123456789, "money"))  # 1 234 567,89 €
    if group and "567" in cents and "89" in cents:
        decimal = cents[cents.find("567") + 3:cents.find("89", cents.find("567"))]
        body = f"1{group}234{group}567{decimal}89"
        negative = str(cell_html(-123456789, "money"))
        if decimal and cents.count(body) == 1 and negative.count(body) == 1:
            before, after = cents.split(body)
            before_negative, after_negative = negative.split(body)

            def money_minor(value: int) -> Markup:
                major, minor = divmod(abs(value), 100)
                text = f"{major:,}".replace(",", group) + f"{decimal}{minor:02d}"
                return Markup(  # digits and the locale's symbols only
                    before_negative + text + after_negative if value < 0 else before + text + after)

            out["money"] = money_minor
    return {kind: fast for kind, fast in out.items()
            if all(str(fast(v)) == str(cell_html(v, kind)) for v in _INTEGER_SAMPLES)}


# ------------------------------------------------------------------------------------ CSV


def _cell(value: Any, kind: str, decimal_comma: bool) -> str:
    if value is None:
        return ""
    if kind == "money":
        text = str((Decimal(value) / 100).quantize(Decimal("0.01")))
    elif kind in ("rate", "ratio"):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
    elif kind == "bool":
        return _("oui") if value else _("non")
    elif kind == "date":
        return value.isoformat()
    else:
        return str(value)
    return text.replace(".", ",") if decimal_comma else text


def to_csv(table: ChartTable, *, separator: str = ",") -> bytes:
    """A table as CSV: UTF-8 with a BOM (Excel reads the accents), `;` for French Excel — then decimal
    commas too. Money in major units (12.34), rates as fractions (0.0623); missing cells are empty."""
    if separator not in (",", ";"):
        raise ValueError("separator must be ',' or ';'")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    writer.writerow(table.columns)
    comma = separator == ";"
    for row in table.rows:
        writer.writerow([_cell(v, k, comma) for v, k in zip(row, table.kinds, strict=True)])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")
