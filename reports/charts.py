"""Charts: pure functions from figures to image bytes, shared by the dashboard and the weekly PDF.

Each chart uses `matplotlib.figure.Figure` (never `pyplot`, which keeps every figure alive in a server)
and is saved as SVG by default with `svg.fonttype: none` (labels stay real, extractable text) and
`metadata={"Date": None}` (same data, same bytes). Every chart has a text alternative: a caption and
the data table behind it (`*_table` functions), for screen readers and for the CSV exports.

Signatures: `reach_by_week(weeks)`, `reach_by_track(tracks)`, `cost_per_thousand_by_track(tracks)`,
`budget_by_campaign(lines)` → bytes; each takes `fmt="svg"` (or "png", "pdf") and `locale`.
The estimated organic reach is drawn hatched and labelled "estimation" wherever it appears.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import matplotlib
from flask_babel import gettext as _
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from reports.metrics import BudgetLine, TrackFigures, WeekFigures

matplotlib.use("Agg")  # no display, ever (a no-op when a backend is already chosen)

SIZE_CM = (17, 8.6)
ORGANIC = "#8fb3d9"
PAID = "#1d4e89"
SPENT = "#1d4e89"
APPROVED = "#d0d5db"
CEILING = "#a4161a"
TEXT = "#1b1f24"
FONT = "DejaVu Sans"
MAX_BARS = 12
ORGANIC_CEILING = 0.10  # the ≈ 10 % of followers an unpaid post reaches at best


@dataclass(frozen=True)
class ChartTable:
    """The data behind a chart: column titles, the kind of each column (text, int, money, rate) and raw
    values (`None` = missing, shown "—")."""

    caption: str
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Chart:
    """A rendered chart with its text alternative, ready for `<figure><img alt><figcaption>`."""

    key: str
    title: str
    caption: str
    alt: str
    image: bytes
    fmt: str
    table: ChartTable

    @property
    def data_uri(self) -> str:
        mime = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}[self.fmt]
        return f"data:{mime};base64,{base64.b64encode(self.image).decode()}"


# ---------------------------------------------------------------------------------------- drawing


def _figure(height_cm: float = SIZE_CM[1], left: float = 0.09) -> Figure:
    # Fixed margins rather than layout="constrained": the constrained layout draws the figure twice,
    # and drawing is most of a chart's cost.
    fig = Figure(figsize=(SIZE_CM[0] / 2.54, height_cm / 2.54))
    fig.subplots_adjust(left=left, right=0.98, top=0.96, bottom=max(0.12, 1.3 / height_cm))
    return fig


def _save(fig: Figure, fmt: str) -> bytes:
    buffer = BytesIO()
    metadata = {"Date": None} if fmt in ("svg", "pdf") else None
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": FONT, "font.size": 8,
                                "svg.hashsalt": "rayonne", "text.color": TEXT, "axes.labelcolor": TEXT,
                                "xtick.color": TEXT, "ytick.color": TEXT}):
        fig.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


def _grouped(locale: str) -> Callable[[float, Any], str]:
    sep = "\u202f" if locale == "fr" else ","

    def fmt(value: float, _pos: Any = None) -> str:
        return f"{value:,.0f}".replace(",", sep)

    return fmt


def _euros(locale: str) -> Callable[[float, Any], str]:
    grouped = _grouped(locale)

    def fmt(value: float, _pos: Any = None) -> str:
        return f"{grouped(value)}\u00a0€" if locale == "fr" else f"€{grouped(value)}"

    return fmt


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="both", color="#e3e6ea", linewidth=0.6)
    ax.set_axisbelow(True)


def _track_label(track: TrackFigures) -> str:
    return f"{track.audience_name} — {track.campaign_name}"[:48]


def _with_text(render: Callable[[Figure], None], fmt: str, height_cm: float = SIZE_CM[1],
               left: float = 0.09) -> bytes:
    with matplotlib.rc_context({"font.family": FONT, "font.size": 8}):
        fig = _figure(height_cm, left)
        render(fig)
        return _save(fig, fmt)


def _empty(fig: Figure, message: str) -> None:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", color=TEXT)


# ---------------------------------------------------------------------------------------- charts


def reach_by_week(weeks: Sequence[WeekFigures], *, fmt: str = "svg", locale: str = "fr") -> bytes:
    """People reached per ISO week: estimated organic reach (hatched) under paid reach, with the organic
    ceiling (10 % of followers) as a dashed line."""

    def render(fig: Figure) -> None:
        if not any(w.viewers is not None for w in weeks):
            _empty(fig, _("Aucune donnée sur cette période"))
            return
        ax = fig.add_subplot()
        labels = [w.iso_week.split("-")[1] for w in weeks]
        x = range(len(weeks))
        organic = [w.organic_reach_estimate or 0 for w in weeks]
        paid = [w.paid_reach or 0 for w in weeks]
        ax.bar(x, organic, color=ORGANIC, hatch="//", edgecolor="#ffffff", linewidth=0,
               label=_("Portée organique (estimation)"))
        ax.bar(x, paid, bottom=organic, color=PAID, label=_("Portée payante"))
        ceiling = [w.followers * ORGANIC_CEILING if w.followers else None for w in weeks]
        if any(c is not None for c in ceiling):
            points = [(i, c) for i, c in zip(x, ceiling, strict=True) if c is not None]
            ax.plot([i for i, _c in points], [c for _i, c in points], color=CEILING, linestyle="--", linewidth=1.2,
                    label=_("Plafond organique (10 % des abonnés)"))
        step = max(1, len(weeks) // 13)  # at most 13 labels: a year shows every 4th week
        ax.set_xticks(list(x)[::step], labels[::step])
        ax.yaxis.set_major_formatter(FuncFormatter(_grouped(locale)))
        ax.set_ylabel(_("Personnes"))
        _style(ax)
        ax.legend(loc="upper left", frameon=False, fontsize=7)

    return _with_text(render, fmt)


def reach_by_track(tracks: Sequence[TrackFigures], *, fmt: str = "svg", locale: str = "fr") -> bytes:
    """Tracks side by side: estimated organic reach (hatched) and paid reach, the biggest first."""
    shown = _biggest(tracks, lambda t: t.viewers or 0)

    def render(fig: Figure) -> None:
        if not shown:
            _empty(fig, _("Aucune piste avec des données sur cette période"))
            return
        ax = fig.add_subplot()
        y = range(len(shown))
        organic = [t.organic_reach_estimate or 0 for t in shown]
        paid = [t.paid_reach or 0 for t in shown]
        ax.barh(y, organic, color=ORGANIC, hatch="//", edgecolor="#ffffff", linewidth=0,
                label=_("Portée organique (estimation)"))
        ax.barh(y, paid, left=organic, color=PAID, label=_("Portée payante"))
        ax.set_yticks(list(y), [_track_label(t) for t in shown])
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(FuncFormatter(_grouped(locale)))
        ax.set_xlabel(_("Personnes"))
        _style(ax)
        ax.legend(loc="lower right", frameon=False, fontsize=7)

    return _with_text(render, fmt, _height(len(shown)), left=0.36)


def cost_per_thousand_by_track(tracks: Sequence[TrackFigures], *, fmt: str = "svg", locale: str = "fr") -> bytes:
    """Cost per 1,000 people reached (paid reach) per track, the cheapest first; tracks without paid
    reach are left out (their cost is not computable)."""
    priced = sorted((t for t in tracks if t.cost_per_thousand_minor is not None),
                    key=lambda t: t.cost_per_thousand_minor or 0)[:MAX_BARS]

    def render(fig: Figure) -> None:
        if not priced:
            _empty(fig, _("Aucune portée payante sur cette période"))
            return
        ax = fig.add_subplot()
        y = range(len(priced))
        ax.barh(y, [(t.cost_per_thousand_minor or 0) / 100 for t in priced], color=PAID)
        ax.set_yticks(list(y), [_track_label(t) for t in priced])
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(FuncFormatter(_euros(locale)))
        ax.set_xlabel(_("Coût pour 1 000 personnes atteintes"))
        _style(ax)

    return _with_text(render, fmt, _height(len(priced)), left=0.36)


def budget_by_campaign(lines: Sequence[BudgetLine], *, fmt: str = "svg", locale: str = "fr") -> bytes:
    """Approved budget and spend reported to date per campaign."""
    shown = _biggest(lines, lambda b: b.approved_minor)

    def render(fig: Figure) -> None:
        if not shown:
            _empty(fig, _("Aucun budget approuvé"))
            return
        ax = fig.add_subplot()
        y = range(len(shown))
        ax.barh(y, [b.approved_minor / 100 for b in shown], color=APPROVED, label=_("Budget approuvé"))
        ax.barh(y, [(b.spent_to_date_minor or 0) / 100 for b in shown], height=0.45, color=SPENT,
                label=_("Dépensé (Facebook)"))
        ax.set_yticks(list(y), [b.campaign_name[:48] for b in shown])
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(FuncFormatter(_euros(locale)))
        _style(ax)
        ax.legend(loc="lower right", frameon=False, fontsize=7)

    return _with_text(render, fmt, _height(len(shown)), left=0.36)


def _biggest(items: Sequence[Any], size: Callable[[Any], int]) -> list[Any]:
    ranked = sorted(items, key=lambda i: -size(i))[:MAX_BARS]
    return [i for i in items if i in ranked] if len(items) > MAX_BARS else list(items)


def _height(bars: int) -> float:
    return max(5.0, min(SIZE_CM[1] * 2, 2.2 + 0.65 * bars))


# ---------------------------------------------------------------------------------------- tables


def reach_by_week_table(weeks: Sequence[WeekFigures]) -> ChartTable:
    """The data of `reach_by_week`."""
    return ChartTable(
        caption=_("Personnes atteintes par semaine : portée organique (estimation), payante et totale"),
        columns=(_("Semaine"), _("Portée organique (estimation)"), _("Portée payante"), _("Spectateurs"),
                 _("Abonnés"), _("Dépense"), _("Coût pour 1 000 personnes")),
        kinds=("text", "int", "int", "int", "int", "money", "money"),
        rows=tuple((w.iso_week + (" *" if w.partial else ""), w.organic_reach_estimate, w.paid_reach, w.viewers,
                    w.followers, w.spend_minor, w.cost_per_thousand_minor) for w in weeks),
    )


def reach_by_track_table(tracks: Sequence[TrackFigures]) -> ChartTable:
    """The data of `reach_by_track` (the charted tracks)."""
    tracks = _biggest(tracks, lambda t: t.viewers or 0)
    return ChartTable(
        caption=_("Portée par piste : organique (estimation), payante, totale"),
        columns=(_("Piste"), _("Portée organique (estimation)"), _("Portée payante"), _("Spectateurs"),
                 _("Multiplicateur")),
        kinds=("text", "int", "int", "int", "ratio"),
        rows=tuple((_track_label(t), t.organic_reach_estimate, t.paid_reach, t.viewers, t.uplift) for t in tracks),
    )


def cost_per_thousand_table(tracks: Sequence[TrackFigures]) -> ChartTable:
    """The data of `cost_per_thousand_by_track` (the charted tracks)."""
    tracks = sorted((t for t in tracks if t.cost_per_thousand_minor is not None),
                    key=lambda t: t.cost_per_thousand_minor or 0)[:MAX_BARS]
    return ChartTable(
        caption=_("Coût pour 1 000 personnes atteintes par piste (dépense ÷ portée payante × 1 000)"),
        columns=(_("Piste"), _("Dépense"), _("Portée payante"), _("Coût pour 1 000 personnes")),
        kinds=("text", "money", "int", "money"),
        rows=tuple((_track_label(t), t.spend_minor, t.paid_reach, t.cost_per_thousand_minor) for t in tracks),
    )


def budget_table(lines: Sequence[BudgetLine]) -> ChartTable:
    """The data of `budget_by_campaign` (every campaign: the dashboard's budget table and CSV)."""
    return ChartTable(
        caption=_("Consommation du budget par campagne"),
        columns=(_("Campagne"), _("Approuvé"), _("Engagé"), _("Dépensé (registre)"), _("Reste"),
                 _("Dépensé sur la période (Facebook)"), _("Dépensé à date (Facebook)"), _("Consommé")),
        kinds=("text", "money", "money", "money", "money", "money", "money", "rate"),
        rows=tuple((b.campaign_name, b.approved_minor, b.committed_minor, b.spent_minor, b.remaining_minor,
                    b.spent_in_period_minor, b.spent_to_date_minor, b.consumed_rate) for b in lines),
    )


# ---------------------------------------------------------------------------------------- bundles


def chart(key: str, data: Sequence[Any], *, fmt: str = "svg", locale: str = "fr") -> Chart:
    """One of the dashboard's charts with its title, caption, alt text and table."""
    if key == "reach_by_week":
        image, table = reach_by_week(data, fmt=fmt, locale=locale), reach_by_week_table(data)
        title = _("Portée organique (estimation) et payante par semaine")
        alt = _("Histogramme empilé par semaine ISO : portée organique estimée en bas, portée payante au-dessus, "
                "et le plafond organique de 10 % des abonnés en pointillés. Données dans le tableau qui suit.")
    elif key == "reach_by_track":
        image, table = reach_by_track(data, fmt=fmt, locale=locale), reach_by_track_table(data)
        title = _("Les pistes côte à côte")
        alt = _("Barres horizontales par piste : portée organique estimée puis portée payante. "
                "Données dans le tableau qui suit.")
    elif key == "cost_per_thousand":
        image, table = cost_per_thousand_by_track(data, fmt=fmt, locale=locale), cost_per_thousand_table(data)
        title = _("Coût pour 1 000 personnes atteintes, par piste")
        alt = _("Barres horizontales du coût pour 1 000 personnes atteintes par piste, de la moins chère à la plus "
                "chère. Données dans le tableau qui suit.")
    elif key == "budget":
        image, table = budget_by_campaign(data, fmt=fmt, locale=locale), budget_table(data)
        title = _("Consommation du budget")
        alt = _("Barres horizontales par campagne : budget approuvé et dépense déclarée par Facebook. "
                "Données dans le tableau qui suit.")
    else:
        raise KeyError(key)
    caption = table.caption + (" " + _("(les %(n)s plus grandes ; l'export CSV donne tout)", n=MAX_BARS)
                               if len(data) > MAX_BARS else "")
    return Chart(key=key, title=title, caption=caption, alt=alt, image=image, fmt=fmt, table=table)


# The names the weekly PDF calls (`reports.weekly_charts`): the same functions.
reach_chart = reach_by_week
cost_per_thousand_chart = cost_per_thousand_by_track
