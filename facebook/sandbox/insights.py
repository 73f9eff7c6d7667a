"""Insights the sandbox computes: Page and post insights, and Ads Insights rows (sync or async)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from facebook.sandbox import reference, simulation
from facebook.sandbox.simulation import ad_effective_status, adset_effective_status, campaign_effective_status
from facebook.sandbox.state import SandboxState
from facebook.sandbox.wire import (
    GraphError,
    Op,
    as_date,
    compare,
    money_string,
    p_json,
    p_list,
    parse_fields,
)


def post_insights(state: SandboxState, post: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """``GET /{post}/insights`` (and the ``insights.metric(…)`` field expansion): lifetime metrics."""
    metrics = p_list(params, "metric") or list(reference.POST_METRICS)
    for metric in metrics:
        if metric not in reference.POST_METRICS or retired(state, metric):
            raise GraphError("(#100) The value must be a valid insights metric", blame=["metric"])
    period = params.get("period") or "lifetime"
    if period != "lifetime":
        raise GraphError("(#100) Post insights are only available with period=lifetime", blame=["period"])
    breakdowns = p_list(params, "breakdown")
    for breakdown in breakdowns:
        if breakdown != "is_from_ads":
            raise GraphError(
                f"(#100) The sandbox does not simulate breakdown {breakdown}", blame=["breakdown"]
            )
    figures = simulation.post_figures(state, post)
    data = []
    for metric in metrics:
        if metric == "post_media_view" and breakdowns:
            values: list[dict[str, Any]] = [
                {"value": figures["organic_views"], "is_from_ads": "0"},
                {"value": figures["paid_views"], "is_from_ads": "1"},
            ]
        elif metric == "post_media_view":
            values = [{"value": figures["organic_views"] + figures["paid_views"]}]
        elif metric == "post_total_media_view_unique":
            values = [{"value": figures["total_unique"]}]
        elif metric == "post_clicks":
            values = [{"value": figures["clicks"]}]
        else:  # post_reactions_by_type_total
            like = int(figures["reactions"] * 0.8)
            values = [{"value": {"like": like, "love": figures["reactions"] - like}}]
        data.append(
            {
                "name": metric,
                "period": "lifetime",
                "values": values,
                "title": reference.POST_METRICS[metric],
                "description": reference.POST_METRICS[metric],
                "id": f"{post['id']}/insights/{metric}/lifetime",
            }
        )
    return {"data": data}


def retired(state: SandboxState, metric: str) -> bool:
    """Metrics removed on top of Meta's list (``removed_metrics`` in the setup payload)."""
    return metric in state.data.get("removed_metrics", ())


def page_insights(state: SandboxState, op: Op, page: dict[str, Any]) -> dict[str, Any]:
    """``GET /{page}/insights``: daily values over ``since``..``until`` (≤ 90 days)."""
    metrics = p_list(op.params, "metric")
    if not metrics:
        raise GraphError("(#100) The parameter metric is required", blame=["metric"])
    for metric in metrics:
        if metric not in reference.PAGE_METRICS or retired(state, metric):
            raise GraphError("(#100) The value must be a valid insights metric", blame=["metric"])
    period = op.params.get("period") or "day"
    if period != "day":
        raise GraphError("(#100) The sandbox simulates Page Insights with period=day only", blame=["period"])
    breakdowns = p_list(op.params, "breakdown")
    for breakdown in breakdowns:
        if breakdown != "is_from_ads":
            raise GraphError(
                f"(#100) The sandbox does not simulate breakdown {breakdown}", blame=["breakdown"]
            )
    today = date.fromisoformat(simulation.day_of(state.clock))
    until = as_date(op.params.get("until"), today)
    since = as_date(op.params.get("since"), until - timedelta(days=2))
    if until < since:
        raise GraphError("(#100) since must be before until", blame=["since"])
    if (until - since).days > 90:
        raise GraphError(
            "(#100) There cannot be more than 90 days (7776000 s) between since and until",
            blame=["since"],
        )
    days = [since + timedelta(days=n) for n in range((until - since).days)]
    figures = {d: simulation.page_day_figures(state, page, d.isoformat()) for d in days}
    data = []
    for metric in metrics:
        values: list[dict[str, Any]] = []
        for day, fig in figures.items():
            if fig is None:
                continue
            end_time = (day + timedelta(days=1)).isoformat() + "T08:00:00+0000"
            if metric == "page_media_view":
                if breakdowns:
                    values.append({"value": fig["views_organic"], "end_time": end_time, "is_from_ads": "0"})
                    values.append({"value": fig["views_paid"], "end_time": end_time, "is_from_ads": "1"})
                else:
                    values.append({"value": fig["views_organic"] + fig["views_paid"], "end_time": end_time})
            else:
                values.append({"value": fig[metric], "end_time": end_time})
        data.append(
            {
                "name": metric,
                "period": "day",
                "values": values,
                "title": reference.PAGE_METRICS[metric],
                "description": reference.PAGE_METRICS[metric],
                "id": f"{page['id']}/insights/{metric}/day",
            }
        )
    base = f"{op.base_url}/{op.version}/{page['id']}/insights?metric={','.join(metrics)}&period=day"
    span = int((until - since).days * 86400)
    start_ts = int(datetime.combine(since, datetime.min.time(), tzinfo=UTC).timestamp())
    return {
        "data": data,
        "paging": {
            "previous": f"{base}&since={start_ts - span}&until={start_ts}",
            "next": f"{base}&since={start_ts + span}&until={start_ts + 2 * span}",
        },
    }


def _scope_ads(state: SandboxState, kind: str, node: dict[str, Any]) -> list[dict[str, Any]]:
    ads = state.data["ads"].values()
    if kind == "accounts":
        return [a for a in ads if a["account_id"] == node["id"]]
    if kind == "campaigns":
        return [a for a in ads if a["campaign_id"] == node["id"]]
    if kind == "adsets":
        return [a for a in ads if a["adset_id"] == node["id"]]
    return [node]


def ads_insights_rows(
    state: SandboxState, kind: str, node: dict[str, Any], params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Ads Insights rows of a node's ads (sync GET, or an async run's result), unpaged."""
    fields = (
        [f.name for f in parse_fields(str(params["fields"]))]
        if params.get("fields")
        else ["impressions", "spend"]
    )
    for index, name in enumerate(fields):
        if name not in INSIGHTS_FIELDS:
            raise GraphError(
                f"(#100) fields[{index}] must be one of the following values: "
                + ", ".join(sorted(INSIGHTS_FIELDS)),
                blame=["fields"],
            )
    if p_list(params, "breakdowns"):
        raise GraphError("(#100) The sandbox does not simulate insights breakdowns", blame=["breakdowns"])
    default_level = {"accounts": "account", "campaigns": "campaign", "adsets": "adset", "ads": "ad"}[kind]
    level = params.get("level") or default_level
    order = ["account", "campaign", "adset", "ad"]
    if level not in order or order.index(level) < order.index(default_level):
        raise GraphError(
            f"(#100) Param level must be one of {order[order.index(default_level) :]}", blame=["level"]
        )
    today = date.fromisoformat(simulation.day_of(state.clock))
    since, until = date_range(params, today)
    if since < _months_back(today, 37):
        raise GraphError(
            "(#3018) The start date of the time range cannot be beyond 37 months from the current date",
            code=3018,
        )
    buckets = _buckets(since, until, params.get("time_increment") or "all_days")
    ads = _scope_ads(state, kind, node)
    for rule in p_json(params, "filtering", []) or []:
        ads = [a for a in ads if _insights_filter(state, a, rule)]
    data = state.data
    groups: dict[tuple[str, date], dict[str, Any]] = {}
    for ad in sorted(ads, key=lambda a: a["id"]):
        group_id = {
            "account": ad["account_id"],
            "campaign": ad["campaign_id"],
            "adset": ad["adset_id"],
            "ad": ad["id"],
        }[level]
        for bucket_start, bucket_stop in buckets:
            days = [
                (bucket_start + timedelta(days=n)).isoformat()
                for n in range((bucket_stop - bucket_start).days + 1)
            ]
            totals = simulation.ad_totals(state, ad, days)
            if totals["impressions"] == 0 and totals["spend"] == 0:
                continue
            slot = groups.setdefault(
                (group_id, bucket_start),
                {"ad": ad, "start": bucket_start, "stop": bucket_stop, "totals": {}, "reach": 0},
            )
            for key, value in totals.items():
                if key != "reach":
                    slot["totals"][key] = slot["totals"].get(key, 0) + value
            slot["reach"] += totals["reach"]
    rows = []
    for (_group_id, _start), slot in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1])):
        rows.append(_insights_row(state, slot, level, fields, data))
    return rows


def _insights_filter(state: SandboxState, ad: dict[str, Any], rule: Any) -> bool:
    if not isinstance(rule, dict) or "field" not in rule or "operator" not in rule:
        raise GraphError("(#100) Each filtering entry needs field, operator and value", blame=["filtering"])
    field_name = str(rule["field"])
    data = state.data
    values = {
        "ad.id": ad["id"],
        "adset.id": ad["adset_id"],
        "campaign.id": ad["campaign_id"],
        "ad.name": ad["name"],
        "adset.name": data["adsets"][ad["adset_id"]]["name"],
        "campaign.name": data["campaigns"][ad["campaign_id"]]["name"],
        "ad.effective_status": ad_effective_status(state, ad),
        "adset.effective_status": adset_effective_status(state, data["adsets"][ad["adset_id"]]),
        "campaign.effective_status": campaign_effective_status(data["campaigns"][ad["campaign_id"]]),
    }
    if field_name not in values:
        raise GraphError(f"(#100) Filtering field '{field_name}' is invalid", blame=["filtering"])
    return compare(values[field_name], str(rule["operator"]), rule.get("value"))


def _insights_row(
    state: SandboxState, slot: dict[str, Any], level: str, fields: list[str], data: dict[str, Any]
) -> dict[str, Any]:
    ad = slot["ad"]
    totals = slot["totals"]
    account = data["accounts"][ad["account_id"]]
    campaign = data["campaigns"][ad["campaign_id"]]
    adset = data["adsets"][ad["adset_id"]]
    currency = account.get("currency", "EUR")
    impressions, reach, spend = totals["impressions"], slot["reach"], totals["spend"]
    major = spend / simulation.offset(currency)
    engagement = totals["clicks"] + totals["reactions"] + totals["comments"] + totals["shares"]
    actions = [
        {"action_type": t, "value": str(v)}
        for t, v in (
            ("link_click", totals["link_clicks"]),
            ("landing_page_view", totals["landing_page_views"]),
            ("lead", totals["leads"]),
            ("post_engagement", engagement),
            ("page_engagement", engagement),
            ("post_reaction", totals["reactions"]),
            ("comment", totals["comments"]),
            ("post", totals["shares"]),
        )
        if v
    ]
    full: dict[str, Any] = {
        "account_id": account["account_id"],
        "account_name": account.get("name"),
        "account_currency": currency,
        "impressions": str(impressions),
        "reach": str(reach),
        "frequency": f"{impressions / reach:.6f}" if reach else "0",
        "spend": money_string(spend, currency),
        "clicks": str(totals["clicks"]),
        "inline_link_clicks": str(totals["link_clicks"]),
        "cpm": f"{major / impressions * 1000:.6f}" if impressions else "0",
        "cpp": f"{major / reach * 1000:.6f}" if reach else "0",
        "ctr": f"{totals['clicks'] / impressions * 100:.6f}" if impressions else "0",
        "cpc": f"{major / totals['clicks']:.6f}" if totals["clicks"] else "0",
        "actions": actions,
        "objective": campaign["objective"],
        "optimization_goal": adset["optimization_goal"],
        "buying_type": "AUCTION",
    }
    if level in ("campaign", "adset", "ad"):
        full.update(campaign_id=campaign["id"], campaign_name=campaign["name"])
    if level in ("adset", "ad"):
        full.update(adset_id=adset["id"], adset_name=adset["name"])
    if level == "ad":
        full.update(ad_id=ad["id"], ad_name=ad["name"])
    row = {name: full[name] for name in fields if name in full and full[name] not in (None, [])}
    row["date_start"] = slot["start"].isoformat()
    row["date_stop"] = slot["stop"].isoformat()
    return row


INSIGHTS_FIELDS = frozenset(
    {
        "account_id",
        "account_name",
        "account_currency",
        "campaign_id",
        "campaign_name",
        "adset_id",
        "adset_name",
        "ad_id",
        "ad_name",
        "objective",
        "optimization_goal",
        "buying_type",
        "impressions",
        "reach",
        "frequency",
        "spend",
        "clicks",
        "inline_link_clicks",
        "cpm",
        "cpp",
        "ctr",
        "cpc",
        "actions",
        "date_start",
        "date_stop",
    }
)


def _months_back(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, 28))


def date_range(params: dict[str, Any], today: date) -> tuple[date, date]:
    time_range = p_json(params, "time_range")
    if time_range is not None:
        if not isinstance(time_range, dict) or "since" not in time_range or "until" not in time_range:
            raise GraphError(
                '(#100) time_range must be {"since": "YYYY-MM-DD", "until": "YYYY-MM-DD"}',
                blame=["time_range"],
            )
        try:
            since, until = date.fromisoformat(time_range["since"]), date.fromisoformat(time_range["until"])
        except (TypeError, ValueError) as exc:
            raise GraphError("(#100) time_range dates must be YYYY-MM-DD", blame=["time_range"]) from exc
        if until < since:
            raise GraphError("(#100) time_range since must be on or before until", blame=["time_range"])
        return since, until
    preset = params.get("date_preset") or "last_30d"
    yesterday = today - timedelta(days=1)
    presets = {
        "today": (today, today),
        "yesterday": (yesterday, yesterday),
        "last_3d": (today - timedelta(days=3), yesterday),
        "last_7d": (today - timedelta(days=7), yesterday),
        "last_14d": (today - timedelta(days=14), yesterday),
        "last_28d": (today - timedelta(days=28), yesterday),
        "last_30d": (today - timedelta(days=30), yesterday),
        "last_90d": (today - timedelta(days=90), yesterday),
        "this_month": (today.replace(day=1), today),
        "maximum": (_months_back(today, 37), today),
    }
    if preset not in presets:
        raise GraphError(f"(#100) The sandbox does not simulate date_preset {preset}", blame=["date_preset"])
    return presets[preset]


def _buckets(since: date, until: date, increment: Any) -> list[tuple[date, date]]:
    text = str(increment)
    if text == "all_days":
        return [(since, until)]
    if text == "monthly":
        out = []
        start = since
        while start <= until:
            next_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
            stop = min(until, next_month - timedelta(days=1))
            out.append((start, stop))
            start = stop + timedelta(days=1)
        return out
    if not text.isdigit() or not 1 <= int(text) <= 90:
        raise GraphError("(#100) time_increment must be 1-90, monthly or all_days", blame=["time_increment"])
    size = int(text)
    out = []
    start = since
    while start <= until:
        stop = min(until, start + timedelta(days=size - 1))
        out.append((start, stop))
        start = stop + timedelta(days=1)
    return out
