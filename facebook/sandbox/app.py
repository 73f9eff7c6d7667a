"""The sandbox as a WSGI application: Graph API paths, batch requests, faults and the control API.

Graph requests look like ``/v26.0/<id>[/<edge>][/]?access_token=…`` (the version prefix is optional);
``POST /v26.0/`` with a ``batch`` parameter is a batch. Control requests live under ``/_sandbox/`` and
speak plain JSON. See ``facebook/sandbox/README.md`` for the whole behaviour.

Files of a multipart request (``POST /{page}/photos`` with ``source``) reach the operation's params as
:class:`~facebook.sandbox.wire.Upload` values. Files attached to a batch request (Graph's
``attached_files``) are not supported: such a batch is answered with a clear ``#100`` error.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter, defaultdict, deque
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from facebook import GRAPH_API_VERSION
from facebook.sandbox import simulation
from facebook.sandbox.faults import TRANSPORT_KINDS, FaultBook
from facebook.sandbox.graph import GraphAPI
from facebook.sandbox.simulation import ad_effective_status, iso_time, minor
from facebook.sandbox.state import KIND_LABEL, SandboxState
from facebook.sandbox.wire import Answer, GraphError, Op, Upload, fbtrace_id, parse_time

logger = logging.getLogger(__name__)

VERSION = re.compile(r"v\d+\.\d+")
DEFAULT_VERSION = GRAPH_API_VERSION  # answered in facebook-api-version when a path has none
BATCH_LIMIT = 50
BAD_GATEWAY_HTML = "<html><body><h1>502 Bad Gateway</h1><p>Bad Gateway</p></body></html>"


class UsageMeter:
    """Calls per business object in the last hour, reported as Meta's usage percentages.

    The percentages follow the standard-tier hourly formulas (ads management 300 + 40 × active ads,
    ads insights 600 + 400 × active ads, Pages 4 800) but are capped at 99: the sandbox only throttles
    when a fault says so.
    """

    WINDOW = 3600.0

    def __init__(self) -> None:
        self._calls: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def record(self, key: str) -> int:
        now = time.monotonic()
        with self._lock:
            calls = self._calls[key]
            calls.append(now)
            while calls and calls[0] < now - self.WINDOW:
                calls.popleft()
            return len(calls)

    @staticmethod
    def pct(calls: int, cap: float) -> int:
        return min(99, round(100 * calls / max(cap, 1)))


class SandboxApp:
    """The WSGI application. ``state_path=None`` keeps the world in memory.

    ``realtime=True`` makes the sandbox clock also follow the real time that passes between requests
    (for the demo); tests leave it off so the world only changes when they move the clock.
    """

    def __init__(
        self,
        state_path: str | None = None,
        *,
        seed: int = 1,
        realtime: bool = False,
        clock: float | None = None,
    ) -> None:
        self.state = SandboxState(state_path, seed=seed, clock=clock)
        self.faults = FaultBook()
        self.graph = GraphAPI(self.state, self.faults)
        self.realtime = realtime
        self.sleep = time.sleep
        self.usage = UsageMeter()
        self._real_anchor = time.time()
        self._active_cache: tuple[int, dict[str, int]] | None = None
        self._count_lock = threading.Lock()
        self.reset_counters()
        self.state.save(force=True)

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            if request.path.startswith("/_sandbox"):
                response = self._control(request)
            else:
                response = self._graph_request(request)
        except Exception:  # never an HTML error page
            logger.exception("Sandbox failure on %s %s", request.method, request.path)
            response = _json(
                {
                    "error": {
                        "message": "An unknown error occurred",
                        "type": "OAuthException",
                        "code": 1,
                        "is_transient": True,
                        "fbtrace_id": fbtrace_id(),
                    }
                },
                500,
            )
        finally:
            request.close()  # uploaded files are spooled to temporary files
        return response(environ, start_response)

    # ------------------------------------------------------------------ counters

    def reset_counters(self) -> None:
        with self._count_lock:
            self.counters: dict[str, Any] = {
                "graph_requests": 0,
                "batch_requests": 0,
                "batch_ops": 0,
                "control_requests": 0,
                "by_endpoint": Counter(),
            }

    def _count(self, key: str, label: str | None = None) -> None:
        with self._count_lock:
            self.counters[key] += 1
            if label:
                self.counters["by_endpoint"][label] += 1

    def counters_snapshot(self) -> dict[str, Any]:
        with self._count_lock:
            snapshot = dict(self.counters)
            snapshot["by_endpoint"] = dict(self.counters["by_endpoint"])
        return snapshot

    def _label(self, method: str, segments: list[str]) -> str:
        parts = []
        for index, segment in enumerate(segments):
            if index == 0 and segment not in ("me", "search"):
                kind, _ = self.state.find(segment)
                parts.append("{" + KIND_LABEL.get(kind or "", "unknown") + "}")
            else:
                parts.append(segment)
        return f"{method} /" + "/".join(parts)

    # ------------------------------------------------------------------ Graph

    def _catch_up(self) -> None:
        if not self.realtime:
            return
        now = time.time()
        elapsed = now - self._real_anchor
        self._real_anchor = now
        if elapsed > 0:
            simulation.advance(self.state, self.state.clock + elapsed)

    def _graph_request(self, request: Request) -> Response:
        segments = [s for s in request.path.split("/") if s]
        version = DEFAULT_VERSION
        if segments and VERSION.fullmatch(segments[0]):
            version = segments.pop(0)
        params: dict[str, Any] = dict(request.args.items())
        if request.method not in ("GET", "HEAD"):
            params.update(request.form.items())
            body = request.get_json(silent=True) if request.is_json else None
            if isinstance(body, dict):  # Graph also takes JSON bodies; keep the form-encoding conventions
                params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
            for name, storage in request.files.items():  # multipart uploads (e.g. a photo's "source")
                content_type = storage.mimetype or "application/octet-stream"
                params[name] = Upload.of(storage.filename or name, content_type, storage.read())
        token = params.pop("access_token", None)
        method = request.method.upper()
        base_url = request.host_url.rstrip("/")
        is_batch = not segments and method == "POST" and "batch" in params
        self._count("graph_requests")
        with self.state.lock:
            self._catch_up()
            if is_batch:
                self._count("batch_requests", "POST / (batch)")
                owners = self._batch_owners(params.get("batch"))
            else:
                self._count_label(method, segments)
                owners = self.graph.owners_of(segments)
            fault = self.faults.take(
                TRANSPORT_KINDS, owners=owners, token=token, method=method, path="/" + "/".join(segments)
            )
        if fault is not None and fault.when == "before":
            if fault.kind == "timeout":
                self.sleep(fault.delay)
            else:
                return Response(BAD_GATEWAY_HTML, 502, content_type="text/html; charset=utf-8")
        with self.state.lock:
            if is_batch:
                response = self._batch(params, token, base_url, version)
            else:
                op = Op(method, segments, params, token, base_url=base_url, version=version)
                answer = self.graph.execute(op)
                response = _json(answer.body, answer.status, self._headers(answer, version))
            self.state.save(force=method != "GET")
        if fault is not None and fault.when == "after":
            if fault.kind == "timeout":
                self.sleep(fault.delay)
            else:
                return Response(BAD_GATEWAY_HTML, 502, content_type="text/html; charset=utf-8")
        return response

    def _count_label(self, method: str, segments: list[str]) -> None:
        with self._count_lock:
            self.counters["by_endpoint"][self._label(method, segments)] += 1

    def _batch_owners(self, raw: Any) -> list[str]:
        try:
            specs = json.loads(raw) if isinstance(raw, str) else []
        except ValueError:
            return []
        owners: list[str] = []
        for spec in specs if isinstance(specs, list) else []:
            if isinstance(spec, dict):
                segments, _ = _split_relative_url(str(spec.get("relative_url") or ""))
                owners.extend(self.graph.owners_of(segments))
        return owners

    def _batch(self, params: dict[str, Any], token: str | None, base_url: str, version: str) -> Response:
        if any(isinstance(value, Upload) for value in params.values()):
            return _json(_batch_files_error().body(), 400, self._app_headers(version))
        try:
            specs = json.loads(params["batch"])
            if not isinstance(specs, list):
                raise ValueError
        except ValueError:
            error = GraphError("(#100) The parameter batch must be a JSON array of requests", blame=["batch"])
            return _json(error.body(), 400, self._app_headers(version))
        if len(specs) > BATCH_LIMIT:
            error = GraphError("(#100) Too many requests in batch message. Maximum batch size is 50")
            return _json(error.body(), 400, self._app_headers(version))
        entries: list[dict[str, Any] | None] = []
        for spec in specs:
            self._count("batch_ops")
            op = _batch_op(spec, token, base_url, version)
            if isinstance(op, GraphError):
                entries.append(_entry(Answer(op.status, op.body()), {}))
                continue
            with self._count_lock:
                self.counters["by_endpoint"]["batch:" + self._label(op.method, op.segments)] += 1
            answer = self.graph.execute(op)
            entries.append(None if answer.null else _entry(answer, self._headers(answer, version)))
        return _json(entries, 200, self._app_headers(version))

    def _active_ads(self) -> dict[str, int]:
        if self._active_cache is None or self._active_cache[0] != self.state.version:
            counts: dict[str, int] = {}
            for ad in self.state.data["ads"].values():
                if ad["status"] == "ACTIVE":
                    counts[ad["account_id"]] = counts.get(ad["account_id"], 0) + 1
            self._active_cache = (self.state.version, counts)
        return self._active_cache[1]

    def _app_headers(self, version: str) -> dict[str, str]:
        calls = self.usage.record("app")
        pct = UsageMeter.pct(calls, 20_000)
        return {
            "X-App-Usage": json.dumps({"call_count": pct, "total_cputime": pct // 2, "total_time": pct // 2}),
            "facebook-api-version": version,
            "x-fb-trace-id": fbtrace_id(),
        }

    def _headers(self, answer: Answer, version: str) -> dict[str, str]:
        headers = self._app_headers(version)
        if answer.owners and answer.usage_type:
            owner = answer.owners[0]
            calls = self.usage.record(f"{owner}:{answer.usage_type}")
            active = self._active_ads().get(owner, 0)
            cap = {"ads_management": 300 + 40 * active, "ads_insights": 600 + 400 * active}.get(
                answer.usage_type, 4800
            )
            pct = UsageMeter.pct(calls, cap)
            entry: dict[str, Any] = {
                "type": answer.usage_type,
                "call_count": pct,
                "total_cputime": pct // 2,
                "total_time": pct // 2,
                "estimated_time_to_regain_access": 0,
            }
            if answer.usage_type != "pages":
                entry["ads_api_access_tier"] = "standard_access"
            headers["X-Business-Use-Case-Usage"] = json.dumps({owner.removeprefix("act_"): [entry]})
        headers.update(answer.headers)  # a throttle fault's own usage headers win
        return headers

    # ------------------------------------------------------------------ control API

    def _control(self, request: Request) -> Response:
        self._count("control_requests")
        path = request.path.rstrip("/")
        method = request.method.upper()
        try:
            payload = request.get_json(silent=True) if method in ("POST", "PUT") else None
            if method in ("POST", "PUT") and request.data and payload is None:
                raise ValueError("the body must be JSON")
            payload = payload or {}
            with self.state.lock:
                self._catch_up()
                result, status = self._control_route(method, path, payload, request)
                self.state.save(force=True)
            return _json(result, status)
        except ValueError as exc:
            return _json({"error": {"message": str(exc), "type": "SandboxControlError", "code": 100}}, 400)

    def _control_route(
        self, method: str, path: str, payload: dict[str, Any], request: Request
    ) -> tuple[Any, int]:
        if path == "/_sandbox" and method == "GET":
            return {"endpoints": CONTROL_ENDPOINTS}, 200
        if path == "/_sandbox/setup" and method == "POST":
            return {"created": self.state.setup(payload), "state": self.summary()}, 200
        if path == "/_sandbox/clock":
            if method == "POST":
                self.advance(
                    days=float(payload.get("advance_days", 0) or 0),
                    hours=float(payload.get("advance_hours", 0) or 0),
                    seconds=float(payload.get("advance_seconds", 0) or 0),
                    to=payload.get("to"),
                )
            return {"clock": iso_time(self.state.clock), "timestamp": self.state.clock}, 200
        if path == "/_sandbox/faults":
            if method == "POST":
                return self.faults.add(payload).public(), 201
            if method == "DELETE":
                return {"cleared": self.faults.clear()}, 200
            return {"faults": self.faults.list()}, 200
        if path.startswith("/_sandbox/faults/") and method == "DELETE":
            return {"cleared": self.faults.clear(path.rsplit("/", 1)[1])}, 200
        if path == "/_sandbox/state" and method == "GET":
            return self.summary(objects=request.args.get("objects", "1") != "0"), 200
        if path == "/_sandbox/requests":
            if method == "DELETE":
                self.reset_counters()
            return self.counters_snapshot(), 200
        if path == "/_sandbox/seed" and method == "POST":
            return seed_boosts(self.state, payload), 201
        if path == "/_sandbox/reset" and method == "POST":
            self.state.reset(seed=payload.get("seed"))
            self.graph.run_rows.clear()
            self.faults.clear()
            return self.summary(), 200
        message = f"Unknown control endpoint {method} {path}"
        return {"error": {"message": message, "type": "SandboxControlError", "code": 100}}, 404

    def advance(self, *, days: float = 0, hours: float = 0, seconds: float = 0, to: Any = None) -> float:
        """Move the sandbox clock forward (never back) and simulate the time skipped."""
        with self.state.lock:
            if to is not None:
                target = parse_time(to, "to")
            else:
                target = self.state.clock + days * 86400 + hours * 3600 + seconds
            if target < self.state.clock:
                raise ValueError("The sandbox clock only moves forward")
            simulation.advance(self.state, target)
            self.state.save(force=True)
            return self.state.clock

    def summary(self, *, objects: bool = True) -> dict[str, Any]:
        """What ``GET /_sandbox/state`` returns: clock, accounts, Pages with tokens, objects, counters."""
        data = self.state.data
        users = [
            {"token": token, "name": info["name"], "pages": info["pages"], "ad_accounts": info["ad_accounts"]}
            for token, info in data["tokens"].items()
            if info["kind"] == "user"
        ]
        out: dict[str, Any] = {
            "clock": iso_time(self.state.clock),
            "timestamp": self.state.clock,
            "seed": self.state.seed,
            "realtime": self.realtime,
            "pages": [
                {
                    "id": p["id"],
                    "name": p["name"],
                    "followers": int(p["followers"]),
                    "page_token": p.get("page_token"),
                }
                for p in data["pages"].values()
            ],
            "ad_accounts": [
                {
                    "id": a["id"],
                    "name": a.get("name"),
                    "currency": a.get("currency"),
                    "access_token": a.get("access_token"),
                    "spend_cap": a.get("spend_cap"),
                    "amount_spent": minor(a.get("amount_spent", 0.0)),
                }
                for a in data["accounts"].values()
            ],
            "users": users,
            "counts": {
                kind: len(data[kind]) for kind in ("posts", "campaigns", "adsets", "creatives", "ads", "runs")
            },
            "requests": self.counters_snapshot(),
            "faults": self.faults.list(),
        }
        if objects:
            out["objects"] = {
                "posts": [
                    {
                        "id": p["id"],
                        "message": p.get("message"),
                        "link": p.get("link"),
                        "photo": p.get("photo"),  # id, format, width, height, size, sha256 (photo posts)
                        "is_published": bool(p.get("is_published")),
                        "deleted": bool(p.get("deleted")),
                        "created_time": iso_time(p["created_time"]),
                        "scheduled_publish_time": iso_time(p["scheduled_publish_time"])
                        if p.get("scheduled_publish_time")
                        else None,
                    }
                    for p in data["posts"].values()
                ],
                "campaigns": [
                    {
                        "id": c["id"],
                        "name": c["name"],
                        "status": c["status"],
                        "spend_cap": c.get("spend_cap"),
                        "spent": minor(c.get("spent", 0.0)),
                    }
                    for c in data["campaigns"].values()
                ],
                "adsets": [
                    {
                        "id": s["id"],
                        "name": s["name"],
                        "status": s["status"],
                        "daily_budget": s.get("daily_budget"),
                        "lifetime_budget": s.get("lifetime_budget"),
                        "spent": minor(s.get("spent", 0.0)),
                        "start_time": iso_time(s["start_time"]),
                        "end_time": iso_time(s["end_time"]) if s.get("end_time") else None,
                    }
                    for s in data["adsets"].values()
                ],
                "creatives": [
                    {"id": c["id"], "name": c["name"], "object_story_id": c.get("object_story_id")}
                    for c in data["creatives"].values()
                ],
                "ads": [
                    {
                        "id": a["id"],
                        "name": a["name"],
                        "status": a["status"],
                        "effective_status": ad_effective_status(self.state, a),
                        "spend_by_day": {d: minor(v) for d, v in sorted((a.get("days") or {}).items())},
                    }
                    for a in data["ads"].values()
                ],
            }
        return out


CONTROL_ENDPOINTS = {
    "GET /_sandbox": "this list",
    "POST /_sandbox/setup": "provision pages, ad_accounts and users (idempotent)",
    "GET /_sandbox/clock": "the sandbox clock",
    "POST /_sandbox/clock": '{"advance_days": n} | {"advance_hours": n} | {"advance_seconds": n} '
    '| {"to": iso}',
    "GET /_sandbox/faults": "active faults",
    "POST /_sandbox/faults": "add a fault (see facebook/sandbox/faults.py)",
    "DELETE /_sandbox/faults": "clear every fault",
    "DELETE /_sandbox/faults/<id>": "clear one fault",
    "GET /_sandbox/state": "clock, accounts, pages with tokens, objects, request counts (?objects=0 to omit)",
    "GET /_sandbox/requests": "request counters",
    "DELETE /_sandbox/requests": "reset the request counters",
    "POST /_sandbox/seed": "create N boosted posts at once (benchmarks, demo data)",
    "POST /_sandbox/reset": "forget everything",
}


def seed_boosts(state: SandboxState, payload: dict[str, Any]) -> dict[str, Any]:
    """Create ``count`` published posts, each boosted by its own ACTIVE, already approved ad.

    Payload: ``page_id``, ``ad_account_id``, ``count``, optional ``daily_budget`` (minor units, default
    500), ``days`` (ad set length, default 30), ``message`` (``{n}`` is replaced), ``link``,
    ``targeting``. Objects are named ``rayonne:seed:<n>:<kind>``.
    """
    page_id = str(payload.get("page_id") or "")
    account_id = str(payload.get("ad_account_id") or "")
    account_id = account_id if account_id.startswith("act_") else f"act_{account_id}"
    data = state.data
    if page_id not in data["pages"] or account_id not in data["accounts"]:
        raise ValueError("seed needs a provisioned page_id and ad_account_id")
    count = int(payload.get("count") or 0)
    if not 0 < count <= 10_000:
        raise ValueError("count must be between 1 and 10000")
    budget = int(payload.get("daily_budget") or 500)
    days = float(payload.get("days") or 30)
    message = str(payload.get("message") or "Découvrez Valrive, étape {n}")
    targeting = payload.get("targeting") or {
        "geo_locations": {"countries": ["FR"]},
        "age_min": 25,
        "age_max": 55,
        "targeting_automation": {"advantage_audience": 0},
    }
    clock = state.clock
    out: dict[str, list[str]] = {"post_ids": [], "ad_ids": [], "campaign_ids": [], "adset_ids": []}
    start_index = len(data["campaigns"])
    for n in range(start_index, start_index + count):
        post_id = f"{page_id}_{state.new_id('post')}"
        post = {
            "id": post_id,
            "page_id": page_id,
            "message": message.replace("{n}", str(n)),
            "link": payload.get("link"),
            "created_time": clock - 3600,
            "updated_time": clock - 3600,
            "is_published": False,
            "scheduled_publish_time": None,
            "dark": False,
        }
        data["posts"][post_id] = post
        simulation.publish(state, post, clock - 3600)
        ids = {kind: state.new_id("object") for kind in ("campaign", "adset", "creative", "ad")}
        base = {"account_id": account_id, "created_time": clock, "updated_time": clock}
        data["campaigns"][ids["campaign"]] = {
            **base,
            "id": ids["campaign"],
            "name": f"rayonne:seed:{n}:campaign",
            "objective": "OUTCOME_AWARENESS",
            "status": "ACTIVE",
            "special_ad_categories": [],
            "special_ad_category_country": [],
            "spend_cap": None,
            "daily_budget": None,
            "lifetime_budget": None,
            "is_adset_budget_sharing_enabled": False,
            "bid_strategy": None,
            "stop_time": None,
            "spent": 0.0,
        }
        data["adsets"][ids["adset"]] = {
            **base,
            "id": ids["adset"],
            "campaign_id": ids["campaign"],
            "name": f"rayonne:seed:{n}:adset",
            "status": "ACTIVE",
            "daily_budget": budget,
            "lifetime_budget": None,
            "start_time": clock,
            "end_time": clock + days * 86400,
            "optimization_goal": "REACH",
            "billing_event": "IMPRESSIONS",
            "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
            "targeting": targeting,
            "dsa_beneficiary": "Seed beneficiary",
            "dsa_payor": "Seed payor",
            "spent": 0.0,
        }
        data["creatives"][ids["creative"]] = {
            "id": ids["creative"],
            "account_id": account_id,
            "name": f"rayonne:seed:{n}:adcreative",
            "object_story_id": post_id,
            "created_time": clock,
        }
        data["ads"][ids["ad"]] = {
            **base,
            "id": ids["ad"],
            "campaign_id": ids["campaign"],
            "adset_id": ids["adset"],
            "creative_id": ids["creative"],
            "name": f"rayonne:seed:{n}:ad",
            "status": "ACTIVE",
            "review": "approved",
            "days": {},
        }
        out["post_ids"].append(post_id)
        out["ad_ids"].append(ids["ad"])
        out["campaign_ids"].append(ids["campaign"])
        out["adset_ids"].append(ids["adset"])
    state.changed_ads()
    return out


def _split_relative_url(relative_url: str) -> tuple[list[str], dict[str, str]]:
    path, _, query = relative_url.partition("?")
    segments = [s for s in path.split("/") if s]
    if segments and VERSION.fullmatch(segments[0]):
        segments.pop(0)
    return segments, dict(parse_qsl(query, keep_blank_values=True))


def _batch_op(spec: Any, token: str | None, base_url: str, version: str) -> Op | GraphError:
    if not isinstance(spec, dict) or not spec.get("relative_url"):
        return GraphError("(#100) Each batch operation needs a relative_url", blame=["batch"])
    if spec.get("attached_files"):
        return _batch_files_error()
    method = str(spec.get("method") or "GET").upper()
    segments, params = _split_relative_url(str(spec["relative_url"]))
    body = spec.get("body")
    if isinstance(body, str) and body:
        params.update(parse_qsl(body, keep_blank_values=True))
    op_token = params.pop("access_token", None) or token
    return Op(method, segments, params, op_token, base_url=base_url, version=version, in_batch=True)


def _batch_files_error() -> GraphError:
    return GraphError(
        "(#100) The sandbox does not support files attached to a batch request (attached_files): "
        "send each upload as its own request",
        blame=["batch"],
    )


def _entry(answer: Answer, headers: dict[str, str]) -> dict[str, Any]:
    all_headers = {"Content-Type": "text/javascript; charset=UTF-8", **headers}
    return {
        "code": answer.status,
        "headers": [{"name": k, "value": v} for k, v in all_headers.items()],
        "body": json.dumps(answer.body),
    }


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body), status, content_type="application/json; charset=UTF-8")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def create_sandbox_app(
    state_path: str | None = None, *, seed: int = 1, realtime: bool = False, clock: datetime | None = None
) -> SandboxApp:
    """Build the sandbox WSGI app. ``state_path`` persists the world as JSON (``None``: in memory)."""
    start = clock.astimezone(UTC).timestamp() if clock is not None else None
    return SandboxApp(state_path, seed=seed, realtime=realtime, clock=start)
