"""The sandbox's Graph API: one operation (method, path, params, token) in, one Graph answer out.

Used for plain HTTP requests and for each operation of a batch. Every failure is a Graph error body
``{"error": {message, type, code, error_subcode, is_transient, error_user_title, error_user_msg,
fbtrace_id}}``; nothing here returns HTML or lets an exception escape (:meth:`GraphAPI.execute`).
The wire format's building blocks are in :mod:`facebook.sandbox.wire`, the insights computations in
:mod:`facebook.sandbox.insights`.
"""

from __future__ import annotations

import io
import json
import logging
import math
import warnings
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

from PIL import Image

from facebook.sandbox import insights, reference, simulation
from facebook.sandbox.faults import FaultBook
from facebook.sandbox.simulation import (
    ad_effective_status,
    adset_effective_status,
    campaign_effective_status,
    iso_time,
    minor,
)
from facebook.sandbox.state import KIND_LABEL, SandboxState
from facebook.sandbox.wire import (
    MAX_LIMIT,
    Answer,
    FieldSpec,
    GraphError,
    Op,
    Upload,
    compare,
    cursor,
    money_string,
    p_bool,
    p_int,
    p_json,
    p_list,
    parse_fields,
    parse_time,
    transient_500,
    uncursor,
)

logger = logging.getLogger(__name__)


class GraphAPI:
    """The Graph API over a :class:`SandboxState`. The caller holds ``state.lock``."""

    def __init__(self, state: SandboxState, faults: FaultBook) -> None:
        self.state = state
        self.faults = faults
        self.run_rows: dict[str, list[dict[str, Any]]] = {}  # finished report runs (not persisted)

    # .................................................................. entry point

    def execute(self, op: Op) -> Answer:
        """Answer one operation; never raises."""
        owners: list[str] = []
        usage_type = None
        try:
            kind, node = self._resolve(op.segments)
            owner = self.state.owner(kind, node) if kind else None
            owners = [owner] if owner else []
            usage_type = _usage_type(kind, op.segments)
            kinds = {"throttle", "error_500", "expired_token"}
            if op.in_batch:
                kinds.add("batch_null")
            if self._is_create(op, kind):
                kinds.add("crash_after_create")
            fault = self.faults.take(kinds, owners=owners, token=op.token, method=op.method, path=op.path)
            if fault is not None and fault.kind == "batch_null":
                return Answer(200, None, owners, usage_type, null=True)
            if fault is not None and fault.kind != "crash_after_create":
                raise self._fault_error(fault, owners, usage_type)
            token = self._auth(op)
            body = self._dispatch(op, kind, node, token)
            if fault is not None:  # crash after create: the object exists, the answer is lost
                raise transient_500()
            return Answer(200, body, owners, usage_type)
        except GraphError as exc:
            return Answer(exc.status, exc.body(), owners, usage_type, headers=exc.headers)
        except Exception:  # a sandbox bug must still look like Graph, never like a crash page
            logger.exception("Sandbox failed on %s %s", op.method, op.path)
            return Answer(500, transient_500("An unknown error occurred").body(), owners, usage_type)

    def owners_of(self, segments: list[str]) -> list[str]:
        """Owners of a path, without any check (for transport-level faults)."""
        try:
            kind, node = self._resolve(segments)
        except GraphError:
            return []
        owner = self.state.owner(kind, node) if kind else None
        return [owner] if owner else []

    def _resolve(self, segments: list[str]) -> tuple[str | None, dict[str, Any] | None]:
        if not segments or segments[0] in ("me", "search"):
            return None, None
        kind, node = self.state.find(segments[0])
        if kind is None:
            raise GraphError(
                f"Unsupported request - method type: get. Object with ID '{segments[0]}' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this operation. "
                "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
                code=100,
                subcode=33,
                type_="GraphMethodException",
            )
        return kind, node

    def _fault_error(self, fault: Any, owners: list[str], usage_type: str | None) -> GraphError:
        if fault.kind == "error_500":
            error = transient_500()
            if fault.code:
                error.code = fault.code
            return error
        if fault.kind == "expired_token":
            return GraphError(
                "Error validating access token: Session has expired on Monday, 01-Jan-24 00:00:00 PST. "
                "The current time is later.",
                code=190,
                subcode=fault.subcode or 463,
            )
        # throttle
        owner = owners[0] if owners else None
        if fault.code:
            code = fault.code
        elif owner is None:
            code = 4
        elif not owner.startswith("act_"):
            code = 80001
        elif usage_type == "ads_insights":
            code = 80000
        else:
            code = 80004
        buc_type = {80000: "ads_insights", 80001: "pages", 80004: "ads_management"}.get(code, usage_type)
        headers: dict[str, str] = {}
        if owner is not None:
            entry = {
                "type": buc_type or "ads_management",
                "call_count": 100,
                "total_cputime": 45,
                "total_time": 60,
                "estimated_time_to_regain_access": fault.minutes,
                "ads_api_access_tier": "standard_access",
            }
            headers["X-Business-Use-Case-Usage"] = json.dumps({owner.removeprefix("act_"): [entry]})
        else:
            headers["X-App-Usage"] = json.dumps({"call_count": 100, "total_cputime": 40, "total_time": 50})
        messages = {
            4: "(#4) Application request limit reached",
            80000: "(#80000) There have been too many calls to this ad-account. Wait a bit and try again.",
            80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try again.",
            80004: "(#80004) There have been too many calls to this ad-account. Wait a bit and try again.",
        }
        return GraphError(
            messages.get(code, f"(#{code}) There have been too many calls. Wait a bit and try again."),
            code=code,
            subcode=fault.subcode or (2446079 if code != 4 else None),
            transient=True,
            headers=headers,
        )

    def _auth(self, op: Op) -> dict[str, Any]:
        if not op.token:
            raise GraphError("An access token is required to request this resource.", code=104)
        token = self.state.data["tokens"].get(op.token)
        if token is None:
            raise GraphError("Invalid OAuth access token - Cannot parse access token", code=190)
        if token.get("expired"):
            raise GraphError("Error validating access token: Session has expired.", code=190, subcode=463)
        return token

    @staticmethod
    def _is_create(op: Op, kind: str | None) -> bool:
        if op.method != "POST" or len(op.segments) != 2:
            return False
        return (kind, op.segments[1]) in {
            ("pages", "feed"),
            ("pages", "photos"),
            ("accounts", "campaigns"),
            ("accounts", "adsets"),
            ("accounts", "ads"),
            ("accounts", "adcreatives"),
        }

    # .................................................................. routing

    def _dispatch(self, op: Op, kind: str | None, node: dict[str, Any] | None, token: dict[str, Any]) -> Any:
        segments = op.segments
        if not segments:
            raise GraphError("(#100) Unsupported request: a batch needs POST with a batch parameter")
        if segments[0] == "search":
            if len(segments) != 1 or op.method != "GET":
                raise GraphError("(#100) Unsupported search request")
            return self._search(op)
        if segments[0] == "me":
            return self._me(op, token)
        assert kind is not None and node is not None
        self._check_access(op, kind, node, token)
        if len(segments) == 1:
            if op.method == "GET":
                if kind == "runs":
                    self.poll_run(node)
                return self.render(kind, node, self._fields(op, kind), token)
            if op.method == "POST":
                return self._update(kind, node, op.params)
            if op.method == "DELETE":
                return self._delete(kind, node)
            raise GraphError(f"(#100) Unsupported method {op.method}")
        if len(segments) == 2:
            handler = self._edges(kind).get((op.method, segments[1]))
            if handler is None:
                raise _no_field(segments[1], kind)
            return handler(op, node, token)
        raise GraphError(f"(#100) Unknown path components: /{'/'.join(segments[2:])}")

    def _edges(self, kind: str) -> dict[tuple[str, str], Callable[[Op, dict[str, Any], dict[str, Any]], Any]]:
        posts = self._list_page_posts
        return {
            "pages": {
                ("GET", "feed"): posts,
                ("GET", "posts"): posts,
                ("GET", "published_posts"): posts,
                ("GET", "scheduled_posts"): posts,
                ("GET", "ads_posts"): posts,
                ("POST", "feed"): self._create_post,
                ("POST", "photos"): self._create_photo,
                ("GET", "insights"): lambda op, node, tok: insights.page_insights(self.state, op, node),
            },
            "posts": {
                ("GET", "insights"): lambda op, node, tok: insights.post_insights(
                    self.state, node, op.params
                ),
                ("GET", "comments"): lambda op, node, tok: self._engagement_edge(op, node, "comments"),
                ("GET", "reactions"): lambda op, node, tok: self._engagement_edge(op, node, "reactions"),
            },
            "accounts": {
                ("GET", "campaigns"): self._list_ad_objects,
                ("GET", "adsets"): self._list_ad_objects,
                ("GET", "ads"): self._list_ad_objects,
                ("GET", "adcreatives"): self._list_ad_objects,
                ("POST", "campaigns"): self._create_campaign,
                ("POST", "adsets"): self._create_adset,
                ("POST", "adcreatives"): self._create_creative,
                ("POST", "ads"): self._create_ad,
                ("GET", "insights"): self._insights_sync,
                ("POST", "insights"): self._insights_async,
                ("GET", "minimum_budgets"): self._minimum_budgets,
                ("GET", "dsa_recommendations"): lambda op, node, tok: {
                    "data": [{"recommendations": [node.get("name")]}]
                },
            },
            "campaigns": {
                ("GET", "adsets"): self._list_ad_objects,
                ("GET", "ads"): self._list_ad_objects,
                ("GET", "insights"): self._insights_sync,
                ("POST", "insights"): self._insights_async,
            },
            "adsets": {
                ("GET", "ads"): self._list_ad_objects,
                ("GET", "adcreatives"): self._list_ad_objects,
                ("GET", "insights"): self._insights_sync,
                ("POST", "insights"): self._insights_async,
            },
            "ads": {
                ("GET", "insights"): self._insights_sync,
                ("POST", "insights"): self._insights_async,
                ("GET", "adcreatives"): self._list_ad_objects,
            },
            "creatives": {},
            "runs": {("GET", "insights"): self._run_insights},
        }[kind]

    def _check_access(self, op: Op, kind: str, node: dict[str, Any], token: dict[str, Any]) -> None:
        owner = self.state.owner(kind, node)
        if owner is None:
            return
        if owner.startswith("act_"):
            if owner not in token["ad_accounts"]:
                raise GraphError(
                    "(#200) Ad account owner has NOT grant ads_management or ads_read permission", code=200
                )
            return
        if owner not in token["pages"]:
            raise GraphError(
                "(#10) This endpoint requires the 'pages_read_engagement' permission or the "
                "'Page Public Content Access' feature.",
                code=10,
            )
        publishing = op.method == "POST" and len(op.segments) == 2 and op.segments[1] in ("feed", "photos")
        wants_page_token = publishing or (
            len(op.segments) == 2 and op.segments[1] == "insights"
        )
        if wants_page_token and token["kind"] != "page":
            if op.method == "POST":
                raise GraphError(
                    "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts "
                    "as an admin with sufficient administrative permission",
                    code=200,
                )
            raise GraphError("(#190) This method must be called with a Page Access Token", code=190)

    def _fields(self, op: Op, kind: str) -> list[FieldSpec]:
        raw = op.params.get("fields")
        if raw:
            return parse_fields(str(raw))
        defaults = {
            "pages": "id,name",
            "posts": "created_time,message,id",
            "accounts": "id,account_id",
            "runs": "id,account_id,async_status,async_percent_completion,date_start,date_stop,time_ref,"
            "time_completed,is_running",
        }
        return parse_fields(defaults.get(kind, "id"))

    # .................................................................. rendering

    def render(
        self, kind: str, node: dict[str, Any], specs: list[FieldSpec], token: dict[str, Any]
    ) -> dict[str, Any]:
        view = self._view(kind, node, token)
        out: dict[str, Any] = {}
        for spec in specs:
            value = self._complex(kind, node, spec, token)
            if value is _NOT_COMPLEX:
                if spec.name not in view:
                    raise _no_field(spec.name, kind)
                value = view[spec.name]
            if value is not None:
                out[spec.name] = value
        out.setdefault("id", view["id"])
        return out

    def _view(self, kind: str, node: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        data = self.state.data
        if kind == "pages":
            return {
                "id": node["id"],
                "name": node["name"],
                "followers_count": int(node["followers"]),
                "fan_count": int(node["followers"]),
                "category": node.get("category"),
                "link": f"https://www.facebook.com/{node['id']}",
                "access_token": node.get("page_token") if node["id"] in token["pages"] else None,
                "verification_status": "blue_verified",
            }
        if kind == "posts":
            page_id, _, post_part = node["id"].partition("_")
            return {
                "id": node["id"],
                "message": node.get("message"),
                "created_time": iso_time(node["created_time"]),
                "updated_time": iso_time(node.get("updated_time", node["created_time"])),
                "permalink_url": f"https://www.facebook.com/{page_id}/posts/{post_part}",
                "is_published": bool(node.get("is_published")),
                "is_hidden": False,
                "scheduled_publish_time": int(node["scheduled_publish_time"])
                if node.get("scheduled_publish_time") and not node.get("is_published")
                else None,
                "status_type": "added_photos"
                if node.get("photo")
                else "shared_story"
                if node.get("link")
                else "mobile_status_update",
                "full_picture": _photo_src(node["photo"]) if node.get("photo") else None,
                "from": {"name": data["pages"][node["page_id"]]["name"], "id": node["page_id"]},
            }
        if kind == "accounts":
            currency = node.get("currency", "EUR")
            return {
                "id": node["id"],
                "account_id": node["account_id"],
                "name": node.get("name"),
                "currency": currency,
                "spend_cap": str(node.get("spend_cap") or 0),
                "amount_spent": str(minor(node.get("amount_spent", 0.0))),
                "balance": "0",
                "account_status": 1,
                "timezone_name": node.get("timezone_name", "Europe/Paris"),
                "timezone_offset_hours_utc": 1,
                "business_country_code": "FR",
                "min_daily_budget": self._min_budgets(currency)["min_daily_budget_imp"],
            }
        if kind == "campaigns":
            spent = minor(node.get("spent", 0.0))
            return {
                "id": node["id"],
                "account_id": node["account_id"].removeprefix("act_"),
                "name": node["name"],
                "objective": node["objective"],
                "status": node["status"],
                "configured_status": node["status"],
                "effective_status": campaign_effective_status(node),
                "special_ad_categories": node.get("special_ad_categories", []),
                "special_ad_category_country": node.get("special_ad_category_country") or None,
                "spend_cap": str(node["spend_cap"]) if node.get("spend_cap") else None,
                "daily_budget": _budget(node.get("daily_budget")),
                "lifetime_budget": _budget(node.get("lifetime_budget")),
                "budget_remaining": str(max(0, (node.get("lifetime_budget") or 0) - spent)),
                "is_adset_budget_sharing_enabled": node.get("is_adset_budget_sharing_enabled"),
                "bid_strategy": node.get("bid_strategy"),
                "buying_type": "AUCTION",
                "created_time": iso_time(node["created_time"]),
                "updated_time": iso_time(node["updated_time"]),
                "start_time": iso_time(node["created_time"]),
                "stop_time": iso_time(node["stop_time"]) if node.get("stop_time") else None,
            }
        if kind == "adsets":
            spent = minor(node.get("spent", 0.0))
            return {
                "id": node["id"],
                "account_id": node["account_id"].removeprefix("act_"),
                "campaign_id": node["campaign_id"],
                "name": node["name"],
                "status": node["status"],
                "configured_status": node["status"],
                "effective_status": adset_effective_status(self.state, node),
                "daily_budget": _budget(node.get("daily_budget")),
                "lifetime_budget": _budget(node.get("lifetime_budget")),
                "budget_remaining": str(max(0, (node.get("lifetime_budget") or 0) - spent)),
                "start_time": iso_time(node["start_time"]),
                "end_time": iso_time(node["end_time"]) if node.get("end_time") else None,
                "optimization_goal": node["optimization_goal"],
                "billing_event": node["billing_event"],
                "bid_strategy": node.get("bid_strategy"),
                "targeting": node["targeting"],
                "dsa_beneficiary": node.get("dsa_beneficiary"),
                "dsa_payor": node.get("dsa_payor"),
                "created_time": iso_time(node["created_time"]),
                "updated_time": iso_time(node["updated_time"]),
            }
        if kind == "creatives":
            post = data["posts"].get(node.get("object_story_id") or "")
            return {
                "id": node["id"],
                "account_id": node["account_id"].removeprefix("act_"),
                "name": node["name"],
                "status": "ACTIVE",
                "object_story_id": node.get("object_story_id"),
                "effective_object_story_id": node.get("object_story_id"),
                "body": (post or {}).get("message"),
                "object_type": "PHOTO"
                if (post or {}).get("photo")
                else "SHARE"
                if (post or {}).get("link")
                else "STATUS",
            }
        if kind == "ads":
            return {
                "id": node["id"],
                "account_id": node["account_id"].removeprefix("act_"),
                "adset_id": node["adset_id"],
                "campaign_id": node["campaign_id"],
                "name": node["name"],
                "status": node["status"],
                "configured_status": node["status"],
                "effective_status": ad_effective_status(self.state, node),
                "issues_info": node.get("issues_info") or None,
                "ad_review_feedback": node.get("ad_review_feedback") or None,
                "created_time": iso_time(node["created_time"]),
                "updated_time": iso_time(node["updated_time"]),
            }
        if kind == "runs":
            view = {
                "id": node["id"],
                "account_id": node["account_id"].removeprefix("act_"),
                "async_status": node["async_status"],
                "async_percent_completion": node["async_percent_completion"],
                "date_start": node["date_start"],
                "date_stop": node["date_stop"],
                "time_ref": int(node["created"]),
                "time_completed": int(node["time_completed"]) if node.get("time_completed") else None,
                "is_running": node["async_status"] in ("Job Not Started", "Job Started", "Job Running"),
            }
            for key in ("error_code", "error_message", "error_subcode", "error_user_title", "error_user_msg"):
                view[key] = node.get(key)
            return view
        raise GraphError(f"(#100) Unknown node type {kind}")

    def _complex(self, kind: str, node: dict[str, Any], spec: FieldSpec, token: dict[str, Any]) -> Any:
        data = self.state.data
        if kind == "posts":
            if spec.name in ("reactions", "comments"):
                figures = simulation.post_figures(self.state, node)
                return self._summary_edge(spec.modifiers, figures[spec.name])
            if spec.name == "shares":
                count = simulation.post_figures(self.state, node)["shares"]
                return {"count": count} if count else None  # Graph omits shares nobody made
            if spec.name == "insights":
                return insights.post_insights(self.state, node, dict(spec.modifiers))
            if spec.name == "attachments":
                if node.get("photo"):
                    return {"data": [_subset(_photo_attachment(node), spec.subfields)]}
                if not node.get("link"):
                    return None
                item = {
                    "type": "share",
                    "url": "https://l.facebook.com/l.php?u=" + node["link"],
                    "unshimmed_url": node["link"],
                    "title": node.get("message", "")[:80],
                }
                return {"data": [_subset(item, spec.subfields)]}
        if kind == "ads":
            if spec.name == "creative":
                creative = data["creatives"].get(node.get("creative_id") or "")
                if creative is None:
                    return None
                return self.render("creatives", creative, spec.subfields or [FieldSpec("id")], token)
            if spec.name in ("adset", "campaign"):
                target_kind = spec.name + "s"
                target = data[target_kind][node[f"{spec.name}_id"]]
                return self.render(target_kind, target, spec.subfields or [FieldSpec("id")], token)
        if kind == "adsets" and spec.name == "campaign":
            return self.render(
                "campaigns",
                data["campaigns"][node["campaign_id"]],
                spec.subfields or [FieldSpec("id")],
                token,
            )
        return _NOT_COMPLEX

    @staticmethod
    def _summary_edge(modifiers: dict[str, str], total: int) -> dict[str, Any]:
        edge: dict[str, Any] = {"data": []}
        if modifiers.get("summary") in ("true", "total_count", "1"):
            edge["summary"] = {"total_count": total}
        return edge

    def _engagement_edge(self, op: Op, node: dict[str, Any], edge: str) -> dict[str, Any]:
        total = simulation.post_figures(self.state, node)[edge]
        body: dict[str, Any] = {"data": []}  # individual people are not simulated
        if p_bool(op.params, "summary", False) or op.params.get("summary") == "total_count":
            body["summary"] = {"total_count": total}
        return body

    # .................................................................. lists

    def _paged(
        self,
        op: Op,
        items: list[Any],
        render: Callable[[Any], dict[str, Any]],
        *,
        summary: bool = True,
        default_limit: int = 25,
    ) -> dict[str, Any]:
        limit = p_int(op.params, "limit", default_limit)
        if limit is None or limit < 0:
            raise GraphError("(#100) Param limit must be a non-negative number", blame=["limit"])
        limit = min(limit, MAX_LIMIT)
        start = uncursor(str(op.params["after"])) if op.params.get("after") else 0
        page = items[start : start + limit]
        body: dict[str, Any] = {"data": [render(item) for item in page]}
        if page:
            paging: dict[str, Any] = {
                "cursors": {"before": cursor(start), "after": cursor(start + len(page))}
            }
            if start + len(page) < len(items):
                query = {k: v for k, v in op.params.items() if k not in ("access_token", "appsecret_proof")}
                query["after"] = cursor(start + len(page))
                paging["next"] = f"{op.base_url}/{op.version}{op.path}?{urlencode(query)}"
            if start > 0:
                paging["previous"] = f"{op.base_url}/{op.version}{op.path}?before={cursor(start)}"
            body["paging"] = paging
        if summary and p_bool(op.params, "summary", False):
            body["summary"] = {"total_count": len(items)}
        return body

    def _list_page_posts(self, op: Op, page: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        edge = op.segments[1]
        boosted = self.state.boosts_by_post()
        posts = [
            p
            for p in self.state.data["posts"].values()
            if p["page_id"] == page["id"] and not p.get("deleted")
        ]
        if edge in ("feed", "posts", "published_posts"):
            posts = [p for p in posts if p.get("is_published")]
        elif edge == "scheduled_posts":
            posts = [p for p in posts if not p.get("is_published") and p.get("scheduled_publish_time")]
        else:  # ads_posts: posts used by ads, plus unpublished "dark" posts when include_inline_create
            dark = p_bool(op.params, "include_inline_create", False)
            posts = [p for p in posts if p["id"] in boosted or (dark and p.get("dark"))]
        if op.params.get("since"):
            since = parse_time(op.params["since"], "since")
            posts = [p for p in posts if p["created_time"] >= since]
        if op.params.get("until"):
            until = parse_time(op.params["until"], "until")
            posts = [p for p in posts if p["created_time"] <= until]
        posts.sort(key=lambda p: (p["created_time"], p["id"]), reverse=True)
        specs = self._fields(op, "posts")
        return self._paged(op, posts, lambda p: self.render("posts", p, specs, token))

    def _list_ad_objects(self, op: Op, parent: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        edge = op.segments[1]
        kind = {"campaigns": "campaigns", "adsets": "adsets", "ads": "ads", "adcreatives": "creatives"}[edge]
        items = list(self.state.data[kind].values())
        parent_id = parent["id"]
        parent_kind, _ = self.state.find(parent_id)
        if parent_kind == "accounts":
            items = [i for i in items if i["account_id"] == parent_id]
        elif parent_kind == "campaigns":
            items = [i for i in items if i.get("campaign_id") == parent_id]
        elif parent_kind == "adsets" and kind == "creatives":
            used = {a["creative_id"] for a in self.state.data["ads"].values() if a["adset_id"] == parent_id}
            items = [i for i in items if i["id"] in used]
        elif parent_kind == "adsets":
            items = [i for i in items if i.get("adset_id") == parent_id]
        elif parent_kind == "ads":
            items = [i for i in items if i["id"] == parent.get("creative_id")]
        if kind == "creatives":
            items = [i for i in items if not i.get("deleted")]
        statuses = p_list(op.params, "effective_status")
        if kind != "creatives":
            if statuses:
                items = [i for i in items if self._effective(kind, i) in statuses]
            else:
                items = [i for i in items if i["status"] not in ("DELETED", "ARCHIVED")]
        for rule in p_json(op.params, "filtering", []) or []:
            items = [i for i in items if self._filter_match(kind, i, rule)]
        items.sort(key=lambda i: (i["created_time"], i["id"]), reverse=True)
        specs = self._fields(op, kind)
        return self._paged(op, items, lambda i: self.render(kind, i, specs, token))

    def _effective(self, kind: str, node: dict[str, Any]) -> str:
        if kind == "campaigns":
            return campaign_effective_status(node)
        if kind == "adsets":
            return adset_effective_status(self.state, node)
        if kind == "ads":
            return ad_effective_status(self.state, node)
        return "ACTIVE"

    def _filter_value(self, kind: str, node: dict[str, Any], field_name: str) -> Any:
        singular = {"campaigns": "campaign", "adsets": "adset", "ads": "ad", "creatives": "adcreative"}[kind]
        prefix, _, attr = field_name.rpartition(".")
        if prefix in ("", singular):
            if attr == "effective_status":
                return self._effective(kind, node)
            if attr in ("id", "name", "status", "objective"):
                return node.get(attr)
        if prefix in ("campaign", "adset") and attr == "id" and f"{prefix}_id" in node:
            return node[f"{prefix}_id"]
        if prefix in ("campaign", "adset") and attr == "name" and f"{prefix}_id" in node:
            return self.state.data[prefix + "s"][node[f"{prefix}_id"]]["name"]
        raise GraphError(f"(#100) Filtering field '{field_name}' is invalid", blame=["filtering"])

    def _filter_match(self, kind: str, node: dict[str, Any], rule: Any) -> bool:
        if not isinstance(rule, dict) or "field" not in rule or "operator" not in rule:
            raise GraphError(
                "(#100) Each filtering entry needs field, operator and value", blame=["filtering"]
            )
        value = self._filter_value(kind, node, str(rule["field"]))
        return compare(value, str(rule["operator"]), rule.get("value"))

    # .................................................................. me and search

    def _me(self, op: Op, token: dict[str, Any]) -> dict[str, Any]:
        if len(op.segments) == 1 and op.method == "GET":
            if token["kind"] == "page":
                page = self.state.data["pages"][token["owner"]]
                return {"id": page["id"], "name": page["name"]}
            return {"id": token["user_id"], "name": token["name"]}
        if op.segments[1:] == ["accounts"] and op.method == "GET":
            if token["kind"] == "page":
                raise GraphError("(#100) Tried accessing nonexisting field (accounts) on node type (Page)")
            pages = [self.state.data["pages"][p] for p in token["pages"] if p in self.state.data["pages"]]
            specs = parse_fields(str(op.params.get("fields") or "id,name,access_token,category,tasks"))

            def render(page: dict[str, Any]) -> dict[str, Any]:
                full = {
                    "id": page["id"],
                    "name": page["name"],
                    "access_token": page.get("page_token"),
                    "category": page.get("category"),
                    "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"],
                }
                return {s.name: full.get(s.name) for s in specs if full.get(s.name) is not None}

            return self._paged(op, pages, render)
        if op.segments[1:] == ["adaccounts"] and op.method == "GET":
            accounts = [
                self.state.data["accounts"][a]
                for a in token["ad_accounts"]
                if a in self.state.data["accounts"]
            ]
            return self._paged(
                op, accounts, lambda a: {"id": a["id"], "account_id": a["account_id"], "name": a.get("name")}
            )
        raise GraphError(f"(#100) Unsupported request on /me: {op.method} {op.path}")

    def _search(self, op: Op) -> dict[str, Any]:
        kind = op.params.get("type")
        query = reference.fold(str(op.params.get("q") or ""))
        limit = p_int(op.params, "limit", 25) or 25
        results: list[dict[str, Any]] = []
        if kind == "adinterest":
            if not query:
                raise GraphError("(#100) Missing q parameter", blame=["q"])
            for interest_id, (name, topic, size) in reference.INTERESTS.items():
                if query in reference.fold(name) or query in reference.fold(topic):
                    results.append(
                        {
                            "id": interest_id,
                            "name": name,
                            "audience_size_lower_bound": int(size * 0.9),
                            "audience_size_upper_bound": int(size * 1.1),
                            "path": ["Interests", topic, name],
                            "topic": topic,
                        }
                    )
        elif kind in ("adgeolocation", "adcountry"):
            types = p_list(op.params, "location_types") or (
                ["country"] if kind == "adcountry" else ["country", "region", "city"]
            )
            if "country" in types:
                for code, info in reference.COUNTRIES.items():
                    if query in reference.fold(info["name"]) or query == code.lower():
                        results.append(
                            {
                                "key": code,
                                "name": info["name"],
                                "type": "country",
                                "country_code": code,
                                "supports_region": True,
                                "supports_city": True,
                            }
                        )
            if "region" in types:
                for key, (name, _people) in reference.REGIONS.items():
                    if query in reference.fold(name):
                        results.append(
                            {
                                "key": key,
                                "name": name,
                                "type": "region",
                                "country_code": "FR",
                                "country_name": "France",
                                "supports_region": True,
                                "supports_city": True,
                            }
                        )
            if "city" in types:
                for key, city in reference.CITIES.items():
                    if query and reference.fold(city["name"]).startswith(query):
                        country = reference.COUNTRIES.get(city["country_code"], {}).get("name")
                        region = reference.REGIONS.get(city["region_id"], ("", 0))[0]
                        results.append(
                            {
                                "key": key,
                                "name": city["name"],
                                "type": "city",
                                "country_code": city["country_code"],
                                "country_name": country,
                                "region": region or None,
                                "region_id": int(city["region_id"]) if region else None,
                                "supports_region": True,
                                "supports_city": True,
                            }
                        )
        else:
            raise GraphError(f"(#100) The sandbox does not simulate search type {kind!r}", blame=["type"])
        return {"data": [{k: v for k, v in r.items() if v is not None} for r in results[:limit]]}

    # .................................................................. posts

    def _create_post(self, op: Op, page: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        message = op.params.get("message")
        link = op.params.get("link")
        if not message and not link:
            raise GraphError("(#100) Missing message or attachment", blame=["message"])
        published, when = self._publishing(op)
        post = self._new_post(page, message=message, link=link, published=published, when=when)
        return {"id": post["id"]}

    def _create_photo(self, op: Op, page: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        """``POST /{page}/photos``: a photo post, published, scheduled or unpublished like a feed post.

        The photo is a multipart file ``source`` (its bytes must be an image: the name and the declared
        content type do not count) or a ``url`` (recorded, not fetched: the sandbox never goes out).
        ``message``, ``published`` and ``scheduled_publish_time`` follow the feed's rules. Answers
        ``{"id": <photo id>, "post_id": <page>_<post>}``. Only single requests carry files: a batch with
        attached files is refused by the app (``#100``).
        """
        source, url = op.params.get("source"), op.params.get("url")
        if isinstance(source, Upload) and source.size:
            image = _image_info(source.data)
            if image is None:
                raise GraphError("(#324) Missing or invalid image file", code=324, blame=["source"])
            kind, width, height = image
            photo: dict[str, Any] = {
                "format": kind,
                "width": width,
                "height": height,
                "size": source.size,
                "sha256": source.sha256,
                "filename": source.filename,
            }
        elif url and not source:
            parts = urlsplit(str(url))
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise GraphError("(#100) url should represent a valid URL", blame=["url"])
            photo = {"url": str(url)}
        else:  # no file, an empty one, or "source" sent as a plain form field
            raise GraphError("(#324) Requires upload file", code=324, blame=["source"])
        published, when = self._publishing(op)
        photo["id"] = self.state.new_id("object")
        message = op.params.get("message") or ""
        post = self._new_post(page, message=message, link=None, published=published, when=when, photo=photo)
        return {"id": photo["id"], "post_id": post["id"]}

    def _publishing(self, op: Op) -> tuple[bool, float | None]:
        """``published`` and the checked ``scheduled_publish_time`` (10 min to 30 days ahead) of a create."""
        published = bool(p_bool(op.params, "published", True))
        scheduled = op.params.get("scheduled_publish_time")
        if not scheduled:
            return published, None
        if published:
            raise GraphError(
                "(#100) Published posts cannot have a scheduled publish time",
                user_title="Scheduled post",
                user_msg="Set published=false to schedule a post.",
                blame=["published"],
            )
        when = parse_time(scheduled, "scheduled_publish_time")
        clock = self.state.clock
        if not clock + 600 <= when <= clock + 30 * 86400:
            raise GraphError(
                "(#100) The specified scheduled publish time is invalid.",
                user_title="Invalid scheduled publish time",
                user_msg="The scheduled time must be between 10 minutes and 30 days from now.",
                blame=["scheduled_publish_time"],
            )
        return published, when

    def _new_post(
        self,
        page: dict[str, Any],
        *,
        message: Any,
        link: Any,
        published: bool,
        when: float | None,
        photo: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store a post (with its photo, if any) and publish it now unless unpublished or scheduled."""
        clock = self.state.clock
        post_id = f"{page['id']}_{self.state.new_id('post')}"
        post = {
            "id": post_id,
            "page_id": page["id"],
            "message": message,
            "link": link,
            "created_time": clock,
            "updated_time": clock,
            "is_published": False,
            "scheduled_publish_time": when,
            "dark": not published and not when,
        }
        if photo is not None:
            post["photo"] = photo
        self.state.data["posts"][post_id] = post
        if published:
            simulation.publish(self.state, post, clock)
        self.state.touch()
        return post

    # .................................................................. updates and deletes

    def _update(self, kind: str, node: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        clock = self.state.clock
        if kind == "posts":
            if "message" in params:
                node["message"] = params["message"]
            if p_bool(params, "is_published") and not node.get("is_published"):
                node["scheduled_publish_time"] = None
                node["dark"] = False
                simulation.publish(self.state, node, clock)
        elif kind in ("campaigns", "adsets", "ads", "creatives"):
            if "name" in params:
                node["name"] = str(params["name"])
            if "status" in params and kind != "creatives":
                self._set_status(kind, node, str(params["status"]))
            if kind == "campaigns":
                self._update_campaign(node, params)
            if kind == "adsets":
                self._update_adset(node, params)
        else:
            raise GraphError(f"(#100) The sandbox does not support updating a {KIND_LABEL[kind]}")
        node["updated_time"] = clock
        self.state.changed_ads()
        return {"success": True}

    def _delete(self, kind: str, node: dict[str, Any]) -> dict[str, Any]:
        if kind in ("posts", "creatives"):
            node["deleted"] = True
        elif kind in ("campaigns", "adsets", "ads"):
            self._set_status(kind, node, "DELETED")
        else:
            raise GraphError(f"(#100) The sandbox does not support deleting a {KIND_LABEL[kind]}")
        self.state.changed_ads()
        return {"success": True}

    def _set_status(self, kind: str, node: dict[str, Any], status: str) -> None:
        if status not in reference.STATUSES:
            raise GraphError(
                "(#100) Param status must be one of {ACTIVE, PAUSED, DELETED, ARCHIVED}", blame=["status"]
            )
        if node.get("status") == "DELETED" and status != "DELETED":
            raise GraphError("(#100) A deleted object cannot be changed", subcode=1487056)
        node["status"] = status
        if kind == "ads" and status == "ACTIVE":
            simulation.start_review(self.state, node)

    def _update_campaign(self, node: dict[str, Any], params: dict[str, Any]) -> None:
        if "spend_cap" in params:
            cap = p_int(params, "spend_cap")
            if cap and cap < minor(node.get("spent", 0.0)):
                raise GraphError(
                    "(#100) The spend cap is lower than the amount already spent",
                    user_title="Spend cap too low",
                    user_msg="Set a campaign spending limit above the amount already spent.",
                    blame=["spend_cap"],
                )
            node["spend_cap"] = cap or None
        if "special_ad_categories" in params:
            node["special_ad_categories"] = self._special_categories(params)
        for key in ("daily_budget", "lifetime_budget"):
            if key in params:
                node[key] = p_int(params, key) or None

    def _update_adset(self, node: dict[str, Any], params: dict[str, Any]) -> None:
        account = self.state.data["accounts"][node["account_id"]]
        campaign = self.state.data["campaigns"][node["campaign_id"]]
        for key in ("daily_budget", "lifetime_budget"):
            if key in params:
                amount = p_int(params, key)
                if campaign.get("daily_budget") or campaign.get("lifetime_budget"):
                    raise _both_budgets()
                self._check_budget(account, key, amount or 0, node.get("start_time"), node.get("end_time"))
                if key == "lifetime_budget" and amount and amount < minor(node.get("spent", 0.0)):
                    raise GraphError("(#100) The lifetime budget is lower than the amount spent", blame=[key])
                node[key] = amount
                other = "lifetime_budget" if key == "daily_budget" else "daily_budget"
                node[other] = None
        if "end_time" in params:
            node["end_time"] = parse_time(params["end_time"], "end_time") if params["end_time"] else None
        if "targeting" in params:
            node["targeting"] = self._targeting(p_json(params, "targeting"))
        for key in ("dsa_beneficiary", "dsa_payor"):
            if key in params:
                node[key] = params[key]

    # .................................................................. ad objects: creation

    def _special_categories(self, params: dict[str, Any]) -> list[str]:
        raw = p_json(params, "special_ad_categories")
        if raw is None:
            raise GraphError(
                "(#100) The parameter special_ad_categories is required",
                user_title="Special ad categories required",
                user_msg="Declare the campaign's special ad categories, or an empty list if none applies.",
                blame=["special_ad_categories"],
            )
        categories = [raw] if isinstance(raw, str) else list(raw)
        for category in categories:
            if category not in reference.SPECIAL_AD_CATEGORIES:
                raise GraphError(
                    f"(#100) Invalid special ad category {category}", blame=["special_ad_categories"]
                )
        return [c for c in categories if c != "NONE"]

    def _create_campaign(self, op: Op, account: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        params = op.params
        name = params.get("name")
        if not name:
            raise GraphError("(#100) The parameter name is required", blame=["name"])
        objective = params.get("objective")
        if objective in reference.LEGACY_OBJECTIVES:
            raise GraphError(
                f"(#100) Objective {objective} is invalid. "
                f"Use one of: {', '.join(sorted(reference.OBJECTIVES))}.",
                subcode=2490487,
                user_title="Objective invalid",
                user_msg="Legacy objectives can no longer create campaigns; use an OUTCOME_ objective.",
                blame=["objective"],
            )
        if objective not in reference.OBJECTIVES:
            raise GraphError("(#100) Param objective must be a valid campaign objective", blame=["objective"])
        categories = self._special_categories(params)
        countries = p_list(params, "special_ad_category_country")
        if categories and not countries:
            raise GraphError(
                "(#100) special_ad_category_country is required when special_ad_categories is set",
                blame=["special_ad_category_country"],
            )
        daily, lifetime = p_int(params, "daily_budget"), p_int(params, "lifetime_budget")
        if daily and lifetime:
            raise GraphError(
                "(#100) Set either daily_budget or lifetime_budget, not both", blame=["daily_budget"]
            )
        sharing = p_bool(params, "is_adset_budget_sharing_enabled")
        if not daily and not lifetime and sharing is None:
            raise GraphError(
                "(#100) Must specify True or False in is_adset_budget_sharing_enabled field",
                subcode=4834011,
                user_title="Ad set budget sharing",
                user_msg="Must specify True or False in is_adset_budget_sharing_enabled field",
                blame=["is_adset_budget_sharing_enabled"],
            )
        if daily or lifetime:
            stop = parse_time(params["stop_time"]) if params.get("stop_time") else None
            key = "daily_budget" if daily else "lifetime_budget"
            self._check_budget(account, key, daily or lifetime or 0, self.state.clock, stop)
        status = str(params.get("status") or "PAUSED")
        if status not in ("ACTIVE", "PAUSED"):
            raise GraphError("(#100) Only ACTIVE and PAUSED are valid during creation", blame=["status"])
        campaign_id = self.state.new_id("object")
        clock = self.state.clock
        self.state.data["campaigns"][campaign_id] = {
            "id": campaign_id,
            "account_id": account["id"],
            "name": str(name),
            "objective": objective,
            "status": status,
            "special_ad_categories": categories,
            "special_ad_category_country": countries,
            "spend_cap": p_int(params, "spend_cap") or None,
            "daily_budget": daily,
            "lifetime_budget": lifetime,
            "is_adset_budget_sharing_enabled": sharing,
            "bid_strategy": params.get("bid_strategy"),
            "stop_time": parse_time(params["stop_time"]) if params.get("stop_time") else None,
            "created_time": clock,
            "updated_time": clock,
            "spent": 0.0,
        }
        self.state.changed_ads()
        return {"id": campaign_id}

    def _min_budgets(self, currency: str) -> dict[str, int]:
        rate = reference.CURRENCY_PER_EUR.get(currency, 1.0)
        offset = simulation.offset(currency)
        return {
            key: int(math.ceil(cents / 100 * rate * offset))
            for key, cents in reference.MIN_BUDGETS_EUR_CENTS.items()
        }

    def _minimum_budgets(self, op: Op, account: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        currency = account.get("currency", "EUR")
        return {"data": [{"currency": currency, **self._min_budgets(currency)}]}

    def _check_budget(
        self, account: dict[str, Any], key: str, amount: int, start: float | None, end: float | None
    ) -> None:
        currency = account.get("currency", "EUR")
        minimum = self._min_budgets(currency)["min_daily_budget_imp"]
        if key == "lifetime_budget" and start and end:
            minimum *= max(1, math.ceil((end - start) / 86400))
        if amount < minimum:
            shown = money_string(minimum, currency)
            raise GraphError(
                f"(#100) Invalid parameter: the {key} is too low",
                subcode=1885272,
                user_title="Budget Is Too Low",
                user_msg=f"The budget for your ad set must be at least {shown} {currency}"
                + (" per day." if key == "daily_budget" else " for its schedule."),
                blame=[key],
            )

    def _targeting(self, targeting: Any) -> dict[str, Any]:
        if not isinstance(targeting, dict):
            raise GraphError("(#100) Param targeting must be a JSON object", blame=["targeting"])
        geo = targeting.get("geo_locations")
        if not isinstance(geo, dict) or not any(
            geo.get(k) for k in ("countries", "regions", "cities", "zips", "custom_locations")
        ):
            if not targeting.get("custom_audiences"):
                raise GraphError(
                    "(#100) Targeting spec must include a location",
                    subcode=1487756,
                    user_title="Location required",
                    user_msg="Select at least one location to target.",
                    blame=["targeting"],
                )
        for city in (geo or {}).get("cities") or []:
            key = str(city.get("key")) if isinstance(city, dict) else str(city)
            if key not in reference.CITIES:
                raise GraphError(f"(#100) Invalid city key {key}", subcode=1487079, blame=["targeting"])
        automation = targeting.get("targeting_automation")
        if not isinstance(automation, dict) or automation.get("advantage_audience") not in (0, 1, "0", "1"):
            raise GraphError(
                "(#100) Advantage Audience Flag Required",
                subcode=1870227,
                user_title="Advantage Audience Flag Required",
                user_msg="To create your ad set, you need to enable or disable the Advantage audience "
                "feature via targeting_automation.advantage_audience (1 or 0).",
                blame=["targeting"],
            )
        age_min = int(targeting.get("age_min") or 18)
        age_max = int(targeting.get("age_max") or 65)
        if not 13 <= age_min <= age_max <= 65:
            raise GraphError("(#100) Invalid age range (13 ≤ age_min ≤ age_max ≤ 65)", blame=["targeting"])
        return targeting

    def _create_adset(self, op: Op, account: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        params = op.params
        for required in ("name", "campaign_id", "billing_event", "optimization_goal", "targeting"):
            if not params.get(required):
                raise GraphError(f"(#100) The parameter {required} is required", blame=[required])
        campaign = self.state.data["campaigns"].get(str(params["campaign_id"]))
        if campaign is None or campaign["account_id"] != account["id"] or campaign["status"] == "DELETED":
            raise GraphError(
                "(#100) Param campaign_id must be a campaign of this ad account", blame=["campaign_id"]
            )
        goal = params["optimization_goal"]
        if goal not in reference.OPTIMIZATION_GOALS.get(campaign["objective"], set()):
            raise GraphError(
                "(#100) Invalid parameter",
                subcode=2490408,
                user_title="Performance goal unavailable",
                user_msg=f"The performance goal {goal} is not available "
                f"for objective {campaign['objective']}.",
                blame=["optimization_goal"],
            )
        if params["billing_event"] not in reference.BILLING_EVENTS:
            raise GraphError("(#100) Param billing_event is invalid", blame=["billing_event"])
        targeting = self._targeting(p_json(params, "targeting"))
        clock = self.state.clock
        start = parse_time(params["start_time"], "start_time") if params.get("start_time") else clock
        end = parse_time(params["end_time"], "end_time") if params.get("end_time") else None
        if end is not None and end <= start:
            raise GraphError("(#100) The end time must be after the start time", blame=["end_time"])
        daily, lifetime = p_int(params, "daily_budget"), p_int(params, "lifetime_budget")
        has_campaign_budget = bool(campaign.get("daily_budget") or campaign.get("lifetime_budget"))
        if (daily or lifetime) and has_campaign_budget:
            raise _both_budgets()
        if daily and lifetime:
            raise GraphError(
                "(#100) Set either daily_budget or lifetime_budget, not both", blame=["daily_budget"]
            )
        if not daily and not lifetime and not has_campaign_budget:
            raise GraphError(
                "(#100) An ad set needs a daily_budget or a lifetime_budget", blame=["daily_budget"]
            )
        if lifetime and end is None:
            raise GraphError(
                "(#100) end_time is required for an ad set with a lifetime budget", blame=["end_time"]
            )
        if daily or lifetime:
            key = "daily_budget" if daily else "lifetime_budget"
            self._check_budget(account, key, daily or lifetime or 0, start, end)
        in_eu = reference.location_countries(targeting.get("geo_locations") or {}) & reference.EU_COUNTRIES
        if in_eu and not (params.get("dsa_beneficiary") and params.get("dsa_payor")):
            raise GraphError(
                "(#100) Invalid parameter",
                subcode=3858081,
                user_title="No beneficiary or payer provided",
                user_msg="Ads targeting the European Union must say who benefits from the ad "
                "(dsa_beneficiary) and who pays for it (dsa_payor).",
                blame=["dsa_beneficiary"],
            )
        status = str(params.get("status") or "ACTIVE")
        if status not in ("ACTIVE", "PAUSED"):
            raise GraphError("(#100) Only ACTIVE and PAUSED are valid during creation", blame=["status"])
        adset_id = self.state.new_id("object")
        self.state.data["adsets"][adset_id] = {
            "id": adset_id,
            "account_id": account["id"],
            "campaign_id": campaign["id"],
            "name": str(params["name"]),
            "status": status,
            "daily_budget": daily,
            "lifetime_budget": lifetime,
            "start_time": start,
            "end_time": end,
            "optimization_goal": goal,
            "billing_event": params["billing_event"],
            "bid_strategy": params.get("bid_strategy"),
            "targeting": targeting,
            "dsa_beneficiary": params.get("dsa_beneficiary"),
            "dsa_payor": params.get("dsa_payor"),
            "created_time": clock,
            "updated_time": clock,
            "spent": 0.0,
        }
        self.state.changed_ads()
        return {"id": adset_id}

    def _create_creative(self, op: Op, account: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        params = op.params
        story = params.get("object_story_id")
        spec = p_json(params, "object_story_spec")
        if not story and not spec:
            raise GraphError(
                "(#100) Creative needs object_story_id or object_story_spec", blame=["object_story_id"]
            )
        if spec and not story:
            if not isinstance(spec, dict) or str(spec.get("page_id")) not in self.state.data["pages"]:
                raise GraphError(
                    "(#100) object_story_spec needs a known page_id", blame=["object_story_spec"]
                )
            link_data = spec.get("link_data") or {}
            page = self.state.data["pages"][str(spec["page_id"])]
            story = self._create_post(
                Op(
                    "POST",
                    [page["id"], "feed"],
                    {
                        "message": link_data.get("message") or "",
                        "link": link_data.get("link"),
                        "published": "false",
                    },
                    None,
                ),
                page,
                token,
            )["id"]
        post = self.state.data["posts"].get(str(story))
        if post is None or post.get("deleted"):
            raise GraphError(
                "(#100) Invalid parameter",
                subcode=1487390,
                user_title="Invalid post",
                user_msg="The post used for this ad does not exist or was deleted.",
                blame=["object_story_id"],
            )
        creative_id = self.state.new_id("object")
        self.state.data["creatives"][creative_id] = {
            "id": creative_id,
            "account_id": account["id"],
            "name": str(params.get("name") or f"Creative {creative_id}"),
            "object_story_id": str(story),
            "created_time": self.state.clock,
        }
        self.state.changed_ads()
        return {"id": creative_id}

    def _create_ad(self, op: Op, account: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        params = op.params
        for required in ("name", "adset_id", "creative"):
            if not params.get(required):
                raise GraphError(f"(#100) The parameter {required} is required", blame=[required])
        adset = self.state.data["adsets"].get(str(params["adset_id"]))
        if adset is None or adset["account_id"] != account["id"] or adset["status"] == "DELETED":
            raise GraphError("(#100) Param adset_id must be an ad set of this ad account", blame=["adset_id"])
        creative_spec = p_json(params, "creative")
        creative_id = str(creative_spec.get("creative_id")) if isinstance(creative_spec, dict) else None
        creative = self.state.data["creatives"].get(creative_id or "")
        if creative is None or creative["account_id"] != account["id"] or creative.get("deleted"):
            raise GraphError(
                '(#100) Param creative must be {"creative_id": <id of a creative>}', blame=["creative"]
            )
        status = str(params.get("status") or "ACTIVE")
        if status not in ("ACTIVE", "PAUSED"):
            raise GraphError("(#100) Only ACTIVE and PAUSED are valid during creation", blame=["status"])
        ad_id = self.state.new_id("object")
        clock = self.state.clock
        ad = {
            "id": ad_id,
            "account_id": account["id"],
            "campaign_id": adset["campaign_id"],
            "adset_id": adset["id"],
            "creative_id": creative["id"],
            "name": str(params["name"]),
            "status": status,
            "review": None,
            "days": {},
            "created_time": clock,
            "updated_time": clock,
        }
        self.state.data["ads"][ad_id] = ad
        if status == "ACTIVE":
            simulation.start_review(self.state, ad)
        self.state.changed_ads()
        return {"id": ad_id}

    def _insights_sync(self, op: Op, node: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        kind, _ = self.state.find(node["id"])
        rows = insights.ads_insights_rows(self.state, str(kind), node, op.params)
        return self._paged(op, rows, lambda r: r, summary=False)

    def _insights_async(self, op: Op, node: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        kind, _ = self.state.find(node["id"])
        params = {k: v for k, v in op.params.items() if k not in ("access_token", "appsecret_proof")}
        insights.ads_insights_rows(
            self.state, str(kind), node, params
        )  # validate now, as Facebook does on POST
        today = date.fromisoformat(simulation.day_of(self.state.clock))
        since, until = insights.date_range(params, today)
        run_id = self.state.new_id("run")
        self.state.data["runs"][run_id] = {
            "id": run_id,
            "account_id": self.state.owner(str(kind), node),
            "node_id": node["id"],
            "node_kind": kind,
            "params": params,
            "polls": 0,
            "created": self.state.clock,
            "async_status": "Job Not Started",
            "async_percent_completion": 0,
            "date_start": since.isoformat(),
            "date_stop": until.isoformat(),
        }
        self.state.touch()
        return {"report_run_id": run_id}

    def poll_run(self, run: dict[str, Any]) -> None:
        """A read of a report run moves it along: running on the first poll, done on the second."""
        if run["async_status"] in ("Job Completed", "Job Failed"):
            return
        run["polls"] += 1
        if run["polls"] == 1:
            run["async_status"], run["async_percent_completion"] = "Job Running", 50
            self.state.touch()
            return
        fault = self.faults.take(
            {"report_failed"}, owners=[run["account_id"]], token=None, method="GET", path=f"/{run['id']}"
        )
        run["time_completed"] = self.state.clock
        if fault is not None:
            run.update(
                async_status="Job Failed",
                async_percent_completion=0,
                error_code=fault.code or 2,
                error_subcode=fault.subcode or 1504043,
                error_message="The report run failed. Please retry with a shorter range.",
                error_user_title="Report failed",
                error_user_msg="Try again later or ask for fewer days.",
            )
        else:
            node = self.state.data[run["node_kind"]][run["node_id"]]
            self.run_rows[run["id"]] = insights.ads_insights_rows(
                self.state, run["node_kind"], node, run["params"]
            )
            run["async_status"], run["async_percent_completion"] = "Job Completed", 100
        self.state.touch()

    def _run_insights(self, op: Op, run: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        if run["async_status"] != "Job Completed":
            raise GraphError("(#100) The report run has not completed yet", subcode=1815107)
        rows = self.run_rows.get(run["id"])
        if rows is None:  # after a restart: recompute from the stored request
            node = self.state.data[run["node_kind"]][run["node_id"]]
            rows = self.run_rows[run["id"]] = insights.ads_insights_rows(
                self.state, run["node_kind"], node, run["params"]
            )
        return self._paged(op, rows, lambda r: r, summary=False)


_NOT_COMPLEX = object()


def _image_info(data: bytes) -> tuple[str, int, int] | None:
    """``(format, width, height)`` if the bytes are a readable image, else ``None``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = str(image.format), image.size
                image.verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    return kind, width, height


def _photo_src(photo: dict[str, Any]) -> str:
    """Where Facebook would serve the photo (its CDN), or the URL it was fetched from."""
    if photo.get("url"):
        return str(photo["url"])
    extension = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}.get(photo.get("format") or "", "jpg")
    return f"https://scontent.xx.fbcdn.net/v/t39.30808-6/{photo['id']}_n.{extension}"


def _photo_attachment(post: dict[str, Any]) -> dict[str, Any]:
    """A photo post's attachment: the photo's page on Facebook (never a link preview) and its image."""
    photo = post["photo"]
    page_url = f"https://www.facebook.com/photo.php?fbid={photo['id']}&set=a.{post['page_id']}&type=3"
    image: dict[str, Any] = {"src": _photo_src(photo)}
    if photo.get("width"):
        image.update(width=photo["width"], height=photo["height"])
    return {
        "type": "photo",
        "url": page_url,
        "unshimmed_url": page_url,
        "title": (post.get("message") or "")[:80],
        "media": {"image": image},
        "target": {"id": photo["id"], "url": page_url},
    }


def _no_field(name: str, kind: str) -> GraphError:
    return GraphError(f"(#100) Tried accessing nonexisting field ({name}) on node type ({KIND_LABEL[kind]})")


def _budget(value: int | None) -> str | None:
    return str(value) if value else None


def _subset(item: dict[str, Any], specs: list[FieldSpec] | None) -> dict[str, Any]:
    if not specs:
        return item
    return {s.name: item[s.name] for s in specs if s.name in item}


def _both_budgets() -> GraphError:
    return GraphError(
        "(#100) Invalid parameter",
        subcode=1885621,
        user_title="Budget on campaign and ad set",
        user_msg="A campaign with a campaign budget cannot have ad set budgets; set the budget in one place.",
        blame=["daily_budget"],
    )


def _usage_type(kind: str | None, segments: list[str]) -> str | None:
    if kind in ("pages", "posts"):
        return "pages"
    if kind is None:
        return None
    if "insights" in segments or kind == "runs":
        return "ads_insights"
    return "ads_management"
