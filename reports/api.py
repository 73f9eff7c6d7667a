"""JSON API of the figures: the same `reports.metrics` functions as the dashboard, CSV and PDF.

`GET /api/v1/t/<territory>/metrics` and `/metrics/tracks|campaigns|weeks|posts|budget`, each with the
query arguments `since` and `until` (YYYY-MM-DD, inclusive; default: the last 12 weeks), `campaign`
(tracks) and `track` (weeks, posts). Money in minor units (cents), rates as fractions; missing figures
are `null`, never 0. The estimated organic reach is `organic_reach_estimate` (an estimate).
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import date, datetime
from typing import Any

from flask import request
from pydantic import create_model
from sqlmodel import SQLModel

from accounts.api import api_blueprint, operation
from accounts.models import Role
from core.db import get_session
from core.errors import ValidationFailed
from reports import dashboard, metrics

bp = api_blueprint("reports_api", __name__, "/metrics")


def _read_model(name: str, source: type) -> type[SQLModel]:
    """A Read model (for validation and the OpenAPI document) with the fields of a metrics dataclass."""
    hints = typing.get_type_hints(source)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(source):
        kind = hints[f.name]
        if kind is Any:
            kind = datetime | None
        fields[f.name] = (kind, ...)
    return create_model(name, __base__=SQLModel, **fields)


TerritoryFiguresRead = _read_model("TerritoryFiguresRead", metrics.TerritoryFigures)
TrackFiguresRead = _read_model("TrackFiguresRead", metrics.TrackFigures)
CampaignFiguresRead = _read_model("CampaignFiguresRead", metrics.CampaignFigures)
WeekFiguresRead = _read_model("WeekFiguresRead", metrics.WeekFigures)
PostFiguresRead = _read_model("PostFiguresRead", metrics.PostFigures)
BudgetLineRead = _read_model("BudgetLineRead", metrics.BudgetLine)


def _period() -> tuple[date, date]:
    args = request.args
    if not args.get("since") and not args.get("until"):
        period = dashboard.parse_period(get_session(), {})
    else:
        period = dashboard.parse_period(get_session(), {"period": "custom", "since": args.get("since", ""),
                                                        "until": args.get("until", "")})
    return period.since, period.until


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise ValidationFailed({name: "entier attendu"}, f"{name} must be an integer")
    return int(raw)


@operation(bp, "", role=Role.ANALYST, response=TerritoryFiguresRead,
           summary="Territory figures over a period (?since=YYYY-MM-DD&until=YYYY-MM-DD)")
def territory_metrics() -> Any:
    since, until = _period()
    return metrics.period_figures(get_session(), since=since, until=until)


@operation(bp, "/tracks", role=Role.ANALYST, response=list[TrackFiguresRead],
           summary="Figures per content track (?since&until&campaign=<id>), with value per result and note")
def track_metrics() -> Any:
    since, until = _period()
    return metrics.track_figures(get_session(), since=since, until=until, campaign_id=_int_arg("campaign"))


@operation(bp, "/campaigns", role=Role.ANALYST, response=list[CampaignFiguresRead],
           summary="Figures per campaign (?since&until)")
def campaign_metrics() -> Any:
    since, until = _period()
    return metrics.campaign_figures(get_session(), since=since, until=until)


@operation(bp, "/weeks", role=Role.ANALYST, response=list[WeekFiguresRead],
           summary="ISO week series: estimated organic reach, paid reach, viewers, spend (?since&until&track)")
def weekly_metrics() -> Any:
    since, until = _period()
    return metrics.weekly_series(get_session(), since=since, until=until, track_id=_int_arg("track"))


@operation(bp, "/posts", role=Role.ANALYST, response=list[PostFiguresRead],
           summary="Figures per post with facts in the period, most viewers first (?since&until&track)")
def post_metrics() -> Any:
    since, until = _period()
    return metrics.post_figures(get_session(), since=since, until=until, track_id=_int_arg("track"))


@operation(bp, "/budget", role=Role.ANALYST, response=list[BudgetLineRead],
           summary="Budget consumption per active campaign: ledger and Ads Insights spend (?since&until)")
def budget_metrics() -> Any:
    since, until = _period()
    return metrics.budget_consumption(get_session(), since=since, until=until)
