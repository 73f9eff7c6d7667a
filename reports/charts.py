"""Charts: pure functions from figures to image bytes, shared by the dashboard and the weekly PDF.

Each chart uses `matplotlib.figure.Figure` (never `pyplot`, which keeps every figure alive in a server)
and is saved as SVG by default with `svg.fonttype: none` (labels stay real, extractable text) and
`metadata={"Date": None}` (same data, same bytes). Every chart has a text alternative: a caption and
the data table behind it (`*_table` functions), for screen readers and for the CSV exports.

Signatures: `reach_by_week(weeks, posts=None)`, `reach_by_track(tracks)`, `cost_per_thousand_by_track(tracks)`,
`budget_by_campaign(lines)` → bytes; each takes `fmt="svg"` (or "png", "pdf") and `locale`. `posts` (posts
published each week) adds the weekly organic ceiling, posts × 10 % of followers (`organic_ceilings`).
The estimated organic reach is drawn hatched and labelled "estimation" wherever it appears.

Bar labels (tracks, campaigns) are wrapped on two lines and the left margin is measured from the widest
line, so no label is cut at the figure's edge; the tables carry the labels in full.
"""

from __future__ import annotations

import base64
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import matplotlib
from flask_babel import gettext as _
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path
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
LABEL_LINE_CHARS = 48  # a bar label's line; longer lines end in "…" (the table gives the full text)
MAX_LEFT = 0.5  # labels never take more than half the figure's width


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


def _figure(height_cm: float = SIZE_CM[1]) -> Figure:
    # Fixed margins rather than layout="constrained": the constrained layout draws the figure twice,
    # and drawing is most of a chart's cost. The charts with long labels or a legend above the axes
    # measure what they need (`_bar_labels`, `_value_axis`, `_legend_above`) and move their margins.
    fig = Figure(figsize=(SIZE_CM[0] / 2.54, height_cm / 2.54))
    fig.subplots_adjust(left=0.09, right=0.98, top=0.96, bottom=max(0.12, 1.3 / height_cm))
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
    """A track's name in full (tables and CSV exports)."""
    return f"{track.audience_name} — {track.campaign_name}"


def _short(text: str) -> str:
    return text if len(text) <= LABEL_LINE_CHARS else text[:LABEL_LINE_CHARS - 1].rstrip() + "…"


def _track_bar_label(track: TrackFigures) -> str:
    """A track's bar label: its public on the first line, its campaign on the second."""
    return f"{_short(track.audience_name)}\n{_short(track.campaign_name)}"


def _wrapped(text: str) -> str:
    """A bar label on at most two lines of `LABEL_LINE_CHARS`, cut with "…" beyond."""
    return "\n".join(textwrap.wrap(text, LABEL_LINE_CHARS, max_lines=2, placeholder=" …")) or text


def _text_width(text: str, size: float) -> float:
    """Width in points of one line of text in the charts' font, measured without drawing; 5 % more than
    the glyphs' advance for the renderers' kerning and hinting."""
    return text_to_path.get_text_width_height_descent(text, FontProperties(family=FONT, size=size),
                                                      ismath=False)[0] * 1.05


def _ticks_pt() -> float:
    return matplotlib.rcParams["ytick.major.size"] + matplotlib.rcParams["ytick.major.pad"] + 6  # and some air


def _bar_labels(fig: Figure, ax: Any, labels: Sequence[str]) -> None:
    """Label the horizontal bars (top to bottom) and set the left margin to the widest label line; a line
    wider than `MAX_LEFT` of the figure (wide letters) is shortened with "…" until it fits."""
    size = float(matplotlib.rcParams["font.size"])
    room = MAX_LEFT * fig.get_figwidth() * 72 - _ticks_pt()
    labels = ["\n".join(_fit_line(line, size, room) for line in label.split("\n")) for label in labels]
    widest = max((_text_width(line, size) for label in labels for line in label.split("\n")), default=0.0)
    ax.set_yticks(range(len(labels)), labels, parse_math=False)  # a "$" in a name is text, not maths
    ax.invert_yaxis()
    fig.subplots_adjust(left=(widest + _ticks_pt()) / 72 / fig.get_figwidth())


def _fit_line(line: str, size: float, room: float) -> str:
    while len(line) > 1 and _text_width(line, size) > room:
        line = line[:-2].rstrip() + "…"
    return line


def _value_axis(fig: Figure, ax: Any, formatter: Callable[[float, Any], str], label: str) -> None:
    """A vertical axis of numbers and its title, with the left margin they need: the axis' top value
    formatted (figures are all the same width in DejaVu Sans) and one line for the rotated title."""
    size = float(matplotlib.rcParams["font.size"])
    ax.yaxis.set_major_formatter(FuncFormatter(formatter))
    ax.set_ylabel(label)
    widest = _text_width(formatter(ax.get_ylim()[1], None), size)
    title = size * 1.2 + matplotlib.rcParams["axes.labelpad"]
    fig.subplots_adjust(left=min(MAX_LEFT, (widest + _ticks_pt() + title) / 72 / fig.get_figwidth()))


def _legend_above(fig: Figure, ax: Any, handles: Sequence[Any]) -> None:
    """The legend above the axes, never over the bars: on one row when it fits the axes' width, else one
    entry a line; the top margin makes room for it."""
    size, handle_em, pad_em, spacing_em = 7.0, 2.5, 0.8, 2.0
    row = sum(_text_width(h.get_label(), size) + (handle_em + pad_em) * size for h in handles)
    row += spacing_em * size * (len(handles) - 1)
    room = (fig.subplotpars.right - fig.subplotpars.left) * fig.get_figwidth() * 72
    ncols = len(handles) if row <= room else 1
    rows = math.ceil(len(handles) / ncols)
    ax.legend(handles=list(handles), loc="lower left", bbox_to_anchor=(0, 1.01), ncols=ncols, frameon=False,
              fontsize=size, borderaxespad=0, handlelength=handle_em, handletextpad=pad_em, columnspacing=spacing_em)
    fig.subplots_adjust(top=1 - (rows * 1.6 * size + 6) / 72 / fig.get_figheight())


def _with_text(render: Callable[[Figure], None], fmt: str, height_cm: float = SIZE_CM[1]) -> bytes:
    with matplotlib.rc_context({"font.family": FONT, "font.size": 8}):
        fig = _figure(height_cm)
        render(fig)
        return _save(fig, fmt)


def _empty(fig: Figure, message: str) -> None:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", color=TEXT)


# ---------------------------------------------------------------------------------------- charts


def organic_ceilings(weeks: Sequence[WeekFigures], posts: Sequence[int | None] | None) -> list[int | None]:
    """Each week's organic ceiling: posts published that week × 10 % of followers, the most the week's
    posts could reach without advertising at the ≈ 10 % organic rate. None where either is unknown
    (and everywhere without `posts`: 10 % of followers alone is a per-post figure, not a week's)."""
    if posts is None:
        return [None] * len(weeks)
    return [round(p * w.followers * ORGANIC_CEILING) if p is not None and w.followers is not None else None
            for w, p in zip(weeks, posts, strict=True)]


def reach_by_week(weeks: Sequence[WeekFigures], *, fmt: str = "svg", locale: str = "fr",
                  posts: Sequence[int | None] | None = None) -> bytes:
    """People reached per ISO week: estimated organic reach (hatched) under paid reach. With `posts` (posts
    published each week, aligned with `weeks`), the week's organic ceiling (`organic_ceilings`) as a
    dashed step; without it, no ceiling is drawn."""
    ceilings = organic_ceilings(weeks, posts)

    def render(fig: Figure) -> None:
        if not any(w.viewers is not None for w in weeks):
            _empty(fig, _("Aucune donnée sur cette période"))
            return
        ax = fig.add_subplot()
        labels = [w.iso_week.split("-")[1] for w in weeks]
        x = range(len(weeks))
        organic = [w.organic_reach_estimate or 0 for w in weeks]
        paid = [w.paid_reach or 0 for w in weeks]
        handles = [ax.bar(x, organic, color=ORGANIC, hatch="//", edgecolor="#ffffff", linewidth=0,
                          label=_("Portée organique (estimation)")),
                   ax.bar(x, paid, bottom=organic, color=PAID, label=_("Portée payante"))]
        if any(c is not None for c in ceilings):
            edges = [i - 0.5 for i in range(len(weeks) + 1)]  # one step per week, across its bar
            handles.append(ax.stairs([math.nan if c is None else c for c in ceilings], edges, baseline=None,
                                     color=CEILING, linestyle="--", linewidth=1.4,
                                     label=_("Plafond organique : publications de la semaine × 10 % des abonnés")))
        step = max(1, len(weeks) // 13)  # at most 13 labels: a year shows every 4th week
        ax.set_xticks(list(x)[::step], labels[::step])
        _value_axis(fig, ax, _grouped(locale), _("Personnes"))
        _style(ax)
        _legend_above(fig, ax, handles)

    # A little taller with the ceiling: its legend entry takes lines of its own.
    return _with_text(render, fmt, SIZE_CM[1] + (0.8 if posts is not None else 0))


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
        handles = [ax.barh(y, organic, color=ORGANIC, hatch="//", edgecolor="#ffffff", linewidth=0,
                           label=_("Portée organique (estimation)")),
                   ax.barh(y, paid, left=organic, color=PAID, label=_("Portée payante"))]
        _bar_labels(fig, ax, [_track_bar_label(t) for t in shown])
        ax.xaxis.set_major_formatter(FuncFormatter(_grouped(locale)))
        ax.set_xlabel(_("Personnes"))
        _style(ax)
        _legend_above(fig, ax, handles)

    return _with_text(render, fmt, _height(len(shown), legend=True))


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
        _bar_labels(fig, ax, [_track_bar_label(t) for t in priced])
        ax.xaxis.set_major_formatter(FuncFormatter(_euros(locale)))
        ax.set_xlabel(_("Coût pour 1 000 personnes atteintes"))
        _style(ax)

    return _with_text(render, fmt, _height(len(priced)))


def budget_by_campaign(lines: Sequence[BudgetLine], *, fmt: str = "svg", locale: str = "fr") -> bytes:
    """Approved budget and spend reported to date per campaign."""
    shown = _biggest(lines, lambda b: b.approved_minor)

    def render(fig: Figure) -> None:
        if not shown:
            _empty(fig, _("Aucun budget approuvé"))
            return
        ax = fig.add_subplot()
        y = range(len(shown))
        handles = [ax.barh(y, [b.approved_minor / 100 for b in shown], color=APPROVED, label=_("Budget approuvé")),
                   ax.barh(y, [(b.spent_to_date_minor or 0) / 100 for b in shown], height=0.45, color=SPENT,
                           label=_("Dépensé (Facebook)"))]
        _bar_labels(fig, ax, [_wrapped(b.campaign_name) for b in shown])
        ax.xaxis.set_major_formatter(FuncFormatter(_euros(locale)))
        _style(ax)
        _legend_above(fig, ax, handles)

    return _with_text(render, fmt, _height(len(shown), legend=True))


def _biggest(items: Sequence[Any], size: Callable[[Any], int]) -> list[Any]:
    ranked = sorted(items, key=lambda i: -size(i))[:MAX_BARS]
    return [i for i in items if i in ranked] if len(items) > MAX_BARS else list(items)


def _height(bars: int, *, legend: bool = False) -> float:
    """A horizontal bar chart's height: room for two-line labels (0.9 cm a bar), the axis and a legend."""
    return max(5.0, min(SIZE_CM[1] * 2, 2.2 + 0.9 * bars + (0.6 if legend else 0)))

# ---------------------------------------------------------------------------------------- tables


def reach_by_week_table(weeks: Sequence[WeekFigures], posts: Sequence[int | None] | None = None) -> ChartTable:
    """The data of `reach_by_week`; with `posts`, each week's posts published and organic ceiling too."""
    columns = (_("Semaine"), _("Portée organique (estimation)"), _("Portée payante"), _("Spectateurs"),
               _("Abonnés"), _("Dépense"), _("Coût pour 1 000 personnes"))
    kinds = ("text", "int", "int", "int", "int", "money", "money")
    rows = tuple((w.iso_week + (" *" if w.partial else ""), w.organic_reach_estimate, w.paid_reach, w.viewers,
                  w.followers, w.spend_minor, w.cost_per_thousand_minor) for w in weeks)
    if posts is not None:
        columns += (_("Publications publiées"), _("Plafond organique (publications × 10 % des abonnés)"))
        kinds += ("int", "int")
        rows = tuple((*row, p, c) for row, p, c in zip(rows, posts, organic_ceilings(weeks, posts), strict=True))
    return ChartTable(
        caption=_("Personnes atteintes par semaine : portée organique (estimation), payante et totale"),
        columns=columns, kinds=kinds, rows=rows,
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


def chart(key: str, data: Sequence[Any], *, fmt: str = "svg", locale: str = "fr",
          posts: Sequence[int | None] | None = None) -> Chart:
    """One of the dashboard's charts with its title, caption, alt text and table. `posts` (posts published
    each week, for "reach_by_week" only) adds the weekly organic ceiling, see `organic_ceilings`."""
    if key == "reach_by_week":
        image = reach_by_week(data, fmt=fmt, locale=locale, posts=posts)
        table = reach_by_week_table(data, posts)
        title = _("Portée organique (estimation) et payante par semaine")
        alt = (_("Histogramme empilé par semaine ISO : portée organique estimée en bas, portée payante au-dessus, "
                 "et en pointillés le plafond organique de chaque semaine (publications de la semaine × 10 % des "
                 "abonnés). Données dans le tableau qui suit.") if posts is not None else
               _("Histogramme empilé par semaine ISO : portée organique estimée en bas, portée payante au-dessus. "
                 "Données dans le tableau qui suit."))
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
        # The table under the chart is the charted campaigns' (as for the tracks); the CSV gives every campaign.
        image = budget_by_campaign(data, fmt=fmt, locale=locale)
        table = budget_table(_biggest(data, lambda b: b.approved_minor))
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
