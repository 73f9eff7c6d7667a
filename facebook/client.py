"""The one class that talks to Facebook: a territory's client over the ``facebook-business`` SDK.

Each :class:`FacebookClient` is built from one :class:`Connection` (a territory's Page, ad account and
tokens, pointing at the real Graph API or at the local sandbox). It owns two ``FacebookAdsApi``
instances — one for the ads (system-user) token, one for the Page token — each over its own
``FacebookSession`` whose ``GRAPH`` is the connection's base URL. It never touches the SDK's global
default API and never calls ``FacebookAdsApi.init`` (whose crash reporter would call the real Graph API).
Every SDK object gets ``api=`` explicitly.

Errors are classified by :mod:`facebook.errors`; retries, throttling and the rule for creates are in
:mod:`facebook.retry`. In short: reads and updates are retried on transient errors; **creates are
retried only when Facebook certainly did nothing** (a rate-limit refusal, a connection never made);
any other failure of a create raises :class:`~facebook.errors.OutcomeUnknownError`. The ``create_*``
methods then reconcile by themselves when asked to (``reconcile=True``, the default): they look the
object up by its name — Rayonne names every object after its own id, e.g. ``rayonne:boost:42:adset``
— and return the existing id instead of creating a second object. ``publish_post`` and ``publish_photo`` do
the same with ``reconcile_since`` (the time the intent was recorded), matching on the message and link.

Side effects are named in each docstring: "Calls Facebook: read" or "Calls Facebook: write".
"""

from __future__ import annotations

import io
import logging
import mimetypes
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar

import requests
from facebook_business.adobjects.ad import Ad
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adreportrun import AdReportRun
from facebook_business.adobjects.adset import AdSet
from facebook_business.adobjects.campaign import Campaign
from facebook_business.adobjects.page import Page
from facebook_business.api import FacebookAdsApi, FacebookResponse
from facebook_business.session import FacebookSession

from facebook import GRAPH_API_VERSION
from facebook.errors import (
    AuthError,
    FacebookError,
    InvalidRequestError,
    OutcomeUnknownError,
    TransientError,
    UnexpectedResponseError,
    from_error_body,
)
from facebook.retry import RetryPolicy, ThrottleRegistry, call_with_retry, note_usage, throttle_registry

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Graph's documented maximum number of operations in one batch request.
BATCH_LIMIT = 50
#: Ads per Ads Insights request (the ``ad.id IN [...]`` filter).
ADS_PER_INSIGHTS_REQUEST = 50
#: Page Insights accept at most 90 days between ``since`` and ``until``.
PAGE_INSIGHTS_MAX_DAYS = 90
#: Above these, Ads Insights go through an asynchronous report run instead of a synchronous GET.
ASYNC_MAX_DAYS = 31
ASYNC_MAX_ROWS = 2500
INSIGHTS_PAGE_SIZE = 500

#: Post metrics that exist after Meta's 2025–2026 removals (facebook-api.md §4.2).
POST_METRICS = ("post_total_media_view_unique", "post_media_view", "post_clicks")
PAGE_METRICS = ("page_follows", "page_media_view", "page_total_media_view_unique")
#: Metrics that accept ``breakdown=is_from_ads``.
BREAKDOWN_METRICS = frozenset({"post_media_view", "page_media_view"})

#: Currencies Facebook stores without a minor unit (its "offset" is 1, not 100).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"CLP", "COP", "CRC", "HUF", "ISK", "IDR", "JPY", "KRW", "PYG", "TWD", "VND"}
)

STATUSES = frozenset({"ACTIVE", "PAUSED", "ARCHIVED", "DELETED"})
_NON_DELETED = {
    "campaign": ["ACTIVE", "PAUSED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES"],
    "adset": ["ACTIVE", "PAUSED", "ARCHIVED", "CAMPAIGN_PAUSED", "IN_PROCESS", "WITH_ISSUES"],
    "ad": [
        "ACTIVE", "PAUSED", "ARCHIVED", "ADSET_PAUSED", "CAMPAIGN_PAUSED", "DISAPPROVED", "IN_PROCESS",
        "PENDING_BILLING_INFO", "PENDING_REVIEW", "PREAPPROVED", "WITH_ISSUES",
    ],
}  # fmt: skip
_POST_FIELDS = (
    "id,message,created_time,permalink_url,is_published,scheduled_publish_time,"
    "attachments{type,url,unshimmed_url}"
)


@dataclass(frozen=True)
class Connection:
    """Where and how a territory reaches Facebook. ``repr`` never shows tokens or the app secret."""

    base_url: str
    page_id: str | None
    ad_account_id: str | None
    access_token: str = field(repr=False)
    page_token: str | None = field(default=None, repr=False)
    app_id: str | None = None
    app_secret: str | None = field(default=None, repr=False)
    timeout: float = 30
    is_sandbox: bool = False


@dataclass(frozen=True)
class PageInfo:
    id: str
    name: str
    followers_count: int | None


@dataclass(frozen=True)
class PostMetrics:
    """Lifetime metrics of one post. ``None`` means Facebook did not give the figure (never 0)."""

    total_viewers: int | None = None
    views_organic: int | None = None
    views_paid: int | None = None
    clicks: int | None = None
    reactions: int | None = None
    comments: int | None = None
    shares: int | None = None


@dataclass(frozen=True)
class PageDay:
    """One day of Page Insights. ``None`` means missing (metric refused or no value), never 0."""

    day: date
    followers: int | None = None
    views_organic: int | None = None
    views_paid: int | None = None
    viewers: int | None = None


@dataclass(frozen=True)
class AdReview:
    effective_status: str
    rejection_reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AdDay:
    """One ad on one day, from Ads Insights. ``spend_minor`` is in the account currency's minor unit."""

    ad_id: str
    day: date
    spend_minor: int
    impressions: int
    reach: int
    clicks: int
    link_clicks: int
    actions: dict[str, int] = field(default_factory=dict)


class AccountInfo(NamedTuple):
    """Ad account money facts, in minor units; ``spend_cap`` is ``None`` when the account has none."""

    currency: str
    spend_cap: int | None
    amount_spent: int


@dataclass(frozen=True)
class BatchRequest:
    """One operation of a batch: ``relative_url`` has no version prefix (e.g. ``"123/insights"``)."""

    method: Literal["GET", "POST", "DELETE"]
    relative_url: str
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class ConnectionCheck:
    """What works with a connection, in plain words (for the "test the connection" button)."""

    page_readable: bool
    page_name: str | None
    followers: int | None
    page_token_is_page: bool
    ad_account_readable: bool
    currency: str | None
    problems: list[str] = field(default_factory=list)


class FacebookClient:
    """A territory's access to Facebook (or to the sandbox), through the ``facebook-business`` SDK."""

    def __init__(
        self,
        connection: Connection,
        retry: RetryPolicy | None = None,
        *,
        registry: ThrottleRegistry | None = None,
    ) -> None:
        self.connection = connection
        self.retry = retry or RetryPolicy()
        self.registry = registry or throttle_registry
        self._namespace = connection.base_url.rstrip("/")
        self._ads_api = self._make_api(connection.access_token)
        self._page_api = self._make_api(connection.page_token or connection.access_token)
        self._rejected_metrics: set[str] = set()

    def __repr__(self) -> str:
        return f"FacebookClient({self.connection!r})"

    @property
    def ads_api(self) -> FacebookAdsApi:
        """This client's SDK API for the ads token (for calls the client does not wrap, and tests)."""
        return self._ads_api

    @property
    def page_api(self) -> FacebookAdsApi:
        """This client's SDK API for the Page token."""
        return self._page_api

    # ------------------------------------------------------------------ plumbing

    def _make_api(self, token: str) -> FacebookAdsApi:
        c = self.connection
        session = FacebookSession(
            app_id=c.app_id, app_secret=c.app_secret, access_token=token, timeout=c.timeout
        )
        session.GRAPH = self._namespace  # instance attribute shadows the class default
        session.requests.trust_env = False  # no proxy or .netrc surprises
        session.requests.hooks["response"].append(self._on_response)
        return FacebookAdsApi(session, api_version=GRAPH_API_VERSION)

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        """Session hook: read usage headers; refuse answers the SDK would take for a success."""
        note_usage(response.headers, namespace=self._namespace, registry=self.registry)
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        if status < 500 and ("json" in content_type or "javascript" in content_type):
            return response
        try:
            body = response.json()
        except ValueError:
            raise UnexpectedResponseError(status, response.text[:120], response=response) from None
        if status >= 500 and not (isinstance(body, dict) and "error" in body):
            raise UnexpectedResponseError(status, response.text[:120], response=response)
        return response

    @property
    def _account(self) -> str:
        if not self.connection.ad_account_id:
            raise ValueError("This connection has no ad account")
        account = self.connection.ad_account_id
        return account if account.startswith("act_") else f"act_{account}"

    @property
    def _page(self) -> str:
        if not self.connection.page_id:
            raise ValueError("This connection has no Page")
        return self.connection.page_id

    def _ads_scope(self) -> list[str]:
        account = self.connection.ad_account_id
        return [account.removeprefix("act_")] if account else []

    def _page_scope(self) -> list[str]:
        return [self.connection.page_id] if self.connection.page_id else []

    def _ads(self, fn: Callable[[], T], what: str, *, creates: bool = False) -> T:
        return call_with_retry(
            fn,
            policy=self.retry,
            registry=self.registry,
            namespace=self._namespace,
            scope=self._ads_scope(),
            creates=creates,
            what=what,
        )

    def _pages(self, fn: Callable[[], T], what: str, *, creates: bool = False) -> T:
        return call_with_retry(
            fn,
            policy=self.retry,
            registry=self.registry,
            namespace=self._namespace,
            scope=self._page_scope(),
            creates=creates,
            what=what,
        )

    # ------------------------------------------------------------------ Pages

    def page_info(self) -> PageInfo:
        """Read the Page's id, name and followers. Calls Facebook: read (Page token)."""
        node = self._pages(
            lambda: Page(self._page, api=self._page_api).api_get(fields=["id", "name", "followers_count"]),
            "page_info",
        )
        return PageInfo(
            id=str(node["id"]), name=node.get("name") or "", followers_count=_int(node.get("followers_count"))
        )

    def publish_post(
        self,
        *,
        message: str,
        link: str | None = None,
        scheduled_at: datetime | None = None,
        published: bool = True,
        reconcile_since: datetime | None = None,
    ) -> str:
        """Create a Page post and return its id ``<page>_<post>``. Calls Facebook: write (Page token).

        ``scheduled_at`` (timezone-aware, 10 min to 30 days ahead) schedules it (``published=false`` +
        ``scheduled_publish_time``); ``published=False`` alone makes an unpublished "dark" post for ads.
        If the answer is lost (:class:`OutcomeUnknownError`) and ``reconcile_since`` is given, the post
        is looked up with :meth:`find_post` and its id returned; otherwise the error is raised.
        """
        params: dict[str, Any] = {"message": message, **_publishing(scheduled_at, published)}
        if link:
            params["link"] = link
        created = self._create_or_reconcile(
            lambda: Page(self._page, api=self._page_api).create_feed(params=params),
            "publish_post",
            message=message,
            link=link,
            reconcile_since=reconcile_since,
        )
        return created if isinstance(created, str) else str(created["id"])

    def publish_photo(
        self,
        *,
        message: str,
        image: Path | bytes,
        filename: str | None = None,
        scheduled_at: datetime | None = None,
        published: bool = True,
        reconcile_since: datetime | None = None,
    ) -> str:
        """Create a Page **photo post** and return its post id ``<page>_<post>`` (not the photo's id).

        Calls Facebook: write (Page token): one multipart ``POST /{page}/photos`` carrying the image as
        ``source``. ``image`` is a file (read once, before any request) or its bytes with ``filename``.
        ``scheduled_at`` and ``published`` work as for :meth:`publish_post`, and so does the
        reconciliation after a lost answer (by message, since ``reconcile_since``).

        Why a photo post and not a link post with a custom picture: since Graph v2.11 the ``picture``
        (and ``name``, ``caption``, ``description``) of a link post can only be overridden for links to
        a domain the Page owns, and territories link to tourism offices, events and partners. A photo
        post shows the image at full size whatever the link; the link goes in ``message`` (the caller
        writes it there, UTM parameters included, and Facebook makes it clickable).
        """
        if isinstance(image, Path):
            data, name = image.read_bytes(), filename or image.name
        else:
            if not filename:
                raise ValueError("publish_photo needs a filename with image bytes")
            data, name = image, filename
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        params: dict[str, Any] = {"message": message, **_publishing(scheduled_at, published)}

        def upload() -> dict[str, Any]:
            # A fresh file object per attempt: a retried request must send the whole image again.
            files = {"source": (name, io.BytesIO(data), content_type)}
            answer = self._page_api.call("POST", (self._page, "photos"), params=params, files=files).json()
            return answer if isinstance(answer, dict) else {}

        created = self._create_or_reconcile(
            upload, "publish_photo", message=message, link=None, reconcile_since=reconcile_since
        )
        if isinstance(created, str):
            return created
        if not created.get("post_id"):
            # The photo exists but its post is not named: let the caller reconcile by message.
            raise FacebookError(f"Facebook created photo {created.get('id')} without naming its post")
        return str(created["post_id"])

    def _create_or_reconcile(
        self,
        create: Callable[[], T],
        what: str,
        *,
        message: str,
        link: str | None,
        reconcile_since: datetime | None,
    ) -> T | str:
        """Run a Page create; if its answer is lost, the id of the post found instead (or the error)."""
        try:
            return self._pages(create, what, creates=True)
        except OutcomeUnknownError:
            if reconcile_since is None:
                raise
            found = self.find_post(message=message, link=link, since=reconcile_since)
            if found is None:
                raise
            logger.info("%s: answer lost, reconciled with existing post %s", what, found)
            return found

    def list_posts(self, *, since: datetime | None = None, scheduled: bool = False) -> list[dict[str, Any]]:
        """List the Page's published (or scheduled) posts, newest first. Calls Facebook: read.

        Each dict has ``id``, ``message``, ``link`` (of a link post; ``None`` for a photo post, whose
        link is in its message), ``photo`` (a photo post), ``created_time`` (aware datetime),
        ``permalink_url``, ``is_published`` and ``scheduled_publish_time`` (aware datetime or ``None``).
        """
        edge = "scheduled_posts" if scheduled else "published_posts"
        return self._list_posts_edge(edge, since)

    def _list_posts_edge(self, edge: str, since: datetime | None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"fields": _POST_FIELDS, "limit": 100}
        if since is not None:
            params["since"] = _unix(since)
        if edge == "ads_posts":
            params["include_inline_create"] = True
        page = Page(self._page, api=self._page_api)
        getter = {
            "published_posts": page.get_published_posts,
            "scheduled_posts": page.get_scheduled_posts,
            "ads_posts": page.get_ads_posts,
        }[edge]
        raw = self._pages(lambda: [dict(p.export_all_data()) for p in getter(params=dict(params))], edge)
        return [_post_dict(p) for p in raw]

    def find_post(self, *, message: str, link: str | None, since: datetime) -> str | None:
        """Find a post created since ``since`` with this message and link (reconciliation).

        Looks at published, scheduled and unpublished (ads) posts. Calls Facebook: read.
        """
        wanted = message.strip()
        for edge in ("published_posts", "scheduled_posts", "ads_posts"):
            for post in self._list_posts_edge(edge, since):
                if (post.get("message") or "").strip() != wanted:
                    continue
                if link and post.get("link") != link:
                    continue
                return str(post["id"])
        return None

    def post_insights(self, post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        """Lifetime metrics of many posts, one batch operation per post, ≤ 50 per request.

        A metric Facebook refuses with #100 is left ``None`` (and logged), never 0; the client then
        asks one metric per operation so the other metrics still arrive. Calls Facebook: read.
        """
        ids = list(dict.fromkeys(str(p) for p in post_ids))
        metrics = [m for m in POST_METRICS if m not in self._rejected_metrics]
        results: dict[str, PostMetrics] = {}
        ops = [BatchRequest("GET", post_id, {"fields": _post_metrics_fields(metrics)}) for post_id in ids]
        answers = self.batch(ops, token="page")
        fallback: list[str] = []
        for post_id, answer in zip(ids, answers, strict=True):
            if isinstance(answer, InvalidRequestError) and answer.code == 100 and metrics:
                fallback.append(post_id)
            elif isinstance(answer, FacebookError):
                raise answer
            else:
                results[post_id] = _post_metrics_from_node(answer, metrics)
        if fallback:
            results.update(self._post_insights_one_metric_each(fallback))
        return results

    def _post_insights_one_metric_each(self, post_ids: list[str]) -> dict[str, PostMetrics]:
        metrics = [m for m in POST_METRICS if m not in self._rejected_metrics]
        ops: list[BatchRequest] = []
        for post_id in post_ids:
            ops.append(BatchRequest("GET", post_id, {"fields": _post_metrics_fields([])}))
            for metric in metrics:
                params: dict[str, Any] = {"metric": [metric], "period": "lifetime"}
                if metric in BREAKDOWN_METRICS:
                    params["breakdown"] = ["is_from_ads"]
                ops.append(BatchRequest("GET", f"{post_id}/insights", params))
        answers = iter(self.batch(ops, token="page"))
        results: dict[str, PostMetrics] = {}
        for post_id in post_ids:
            node = next(answers)
            data: list[dict[str, Any]] = []
            accepted: list[str] = []
            for metric in metrics:
                answer = next(answers)
                if isinstance(answer, InvalidRequestError) and answer.code == 100:
                    self._reject_metric(metric, answer)
                elif isinstance(answer, FacebookError):
                    raise answer
                else:
                    accepted.append(metric)
                    data.extend(answer.get("data") or [])
            if isinstance(node, InvalidRequestError):
                logger.warning("post_insights: post %s unreadable: %s", post_id, node)
                results[post_id] = PostMetrics()
                continue
            if isinstance(node, FacebookError):
                raise node
            node = dict(node)
            node["insights"] = {"data": data}
            results[post_id] = _post_metrics_from_node(node, accepted)
        return results

    def _reject_metric(self, metric: str, error: FacebookError) -> None:
        if metric not in self._rejected_metrics:
            logger.warning("Facebook refused insights metric %s (%s); reported as missing", metric, error)
        self._rejected_metrics.add(metric)

    def page_insights(self, *, since: date, until: date) -> list[PageDay]:
        """Daily Page followers, views (organic/paid) and unique viewers, ``since``..``until`` inclusive.

        One metric per operation (batched), ranges cut into ≤ 90-day chunks; a refused metric leaves
        its column ``None``. Calls Facebook: read (Page token).
        """
        if until < since:
            raise ValueError("until is before since")
        days: dict[date, dict[str, int | None]] = {}
        start = since
        while start <= until:
            stop = min(until, start + timedelta(days=PAGE_INSIGHTS_MAX_DAYS - 1))
            self._page_insights_chunk(start, stop, days)
            start = stop + timedelta(days=1)
        out = []
        day = since
        while day <= until:
            values = days.get(day, {})
            out.append(
                PageDay(
                    day=day,
                    followers=values.get("page_follows"),
                    views_organic=values.get("views_organic"),
                    views_paid=values.get("views_paid"),
                    viewers=values.get("page_total_media_view_unique"),
                )
            )
            day += timedelta(days=1)
        return out

    def _page_insights_chunk(self, start: date, stop: date, days: dict[date, dict[str, int | None]]) -> None:
        metrics = [m for m in PAGE_METRICS if m not in self._rejected_metrics]
        ops = []
        for metric in metrics:
            params: dict[str, Any] = {
                "metric": [metric],
                "period": "day",
                "since": start.isoformat(),
                "until": (stop + timedelta(days=1)).isoformat(),
            }
            if metric in BREAKDOWN_METRICS:
                params["breakdown"] = ["is_from_ads"]
            ops.append(BatchRequest("GET", f"{self._page}/insights", params))
        for metric, answer in zip(metrics, self.batch(ops, token="page"), strict=True):
            if isinstance(answer, InvalidRequestError) and answer.code == 100:
                self._reject_metric(metric, answer)
                continue
            if isinstance(answer, FacebookError):
                raise answer
            for entry in answer.get("data") or []:
                for value in entry.get("values") or []:
                    day = _insights_day(value.get("end_time"))
                    if day is None or not (start <= day <= stop):
                        continue
                    slot = days.setdefault(day, {})
                    number = _int(value.get("value"))
                    if metric == "page_media_view":
                        bucket = value.get("is_from_ads")
                        key = {"0": "views_organic", "1": "views_paid"}.get(str(bucket))
                        if key:
                            slot[key] = (slot.get(key) or 0) + (number or 0)
                    else:
                        slot[metric] = number

    def pages_for_user(self) -> list[dict[str, Any]]:
        """Pages the ads (user/system-user) token manages: ``id``, ``name``, ``tasks``, ``access_token``.

        Calls Facebook: read (``GET /me/accounts``).
        """

        def call() -> list[dict[str, Any]]:
            answer = self._ads_api.call(
                "GET", ("me", "accounts"), params={"fields": "id,name,tasks,access_token", "limit": 100}
            )
            return list(answer.json().get("data") or [])

        return self._ads(call, "me/accounts")

    def check_connection(self) -> ConnectionCheck:
        """Try the Page and the ad account and say, in plain words, what works. Calls Facebook: read.

        :raise AuthError: a token is expired or revoked (the caller marks the connection to reconnect).
        """
        problems: list[str] = []
        page_name = followers = currency = None
        page_ok = account_ok = token_is_page = False
        if self.connection.page_id:
            try:
                info = self.page_info()
                page_ok, page_name, followers = True, info.name, info.followers_count
            except AuthError:
                raise
            except FacebookError as exc:
                problems.append(f"Page illisible / Page unreadable: {exc.user_message}")
            try:
                me = self._pages(lambda: self._page_api.call("GET", ("me",), params={"fields": "id"}), "me")
                token_is_page = str(me.json().get("id")) == self.connection.page_id
                if not token_is_page:
                    problems.append(
                        "Le jeton de Page n'est pas celui de cette Page : la publication échouera. / "
                        "The Page token does not belong to this Page: publishing will fail."
                    )
            except AuthError:
                raise
            except FacebookError as exc:
                problems.append(f"Jeton de Page refusé / Page token refused: {exc.user_message}")
        if self.connection.ad_account_id:
            try:
                currency = self.account_info().currency
                account_ok = True
            except AuthError:
                raise
            except FacebookError as exc:
                problems.append(f"Compte publicitaire illisible / Ad account unreadable: {exc.user_message}")
        return ConnectionCheck(page_ok, page_name, followers, token_is_page, account_ok, currency, problems)

    # ------------------------------------------------------------------ Marketing API: objects

    def create_campaign(
        self,
        *,
        name: str,
        objective: str,
        special_ad_categories: list[str],
        spend_cap_minor: int,
        status: str = "PAUSED",
        special_ad_category_country: list[str] | None = None,
        reconcile: bool = True,
    ) -> str:
        """Create a campaign with ad-set budgets (no campaign budget) and a spend cap; return its id.

        Sends ``is_adset_budget_sharing_enabled=false``. Calls Facebook: write. See the module docstring
        for ``reconcile``.
        """
        params: dict[str, Any] = {
            "name": name,
            "objective": objective,
            "status": _status(status),
            "special_ad_categories": list(special_ad_categories),
            "spend_cap": int(spend_cap_minor),
            "is_adset_budget_sharing_enabled": False,
        }
        if special_ad_category_country:
            params["special_ad_category_country"] = list(special_ad_category_country)
        return self._create(
            "campaign",
            name,
            lambda: AdAccount(self._account, api=self._ads_api).create_campaign(params=params),
            reconcile,
        )

    def create_adset(
        self,
        *,
        name: str,
        campaign_id: str,
        start_time: datetime,
        end_time: datetime | None = None,
        optimization_goal: str,
        targeting: dict[str, Any],
        daily_budget_minor: int | None = None,
        lifetime_budget_minor: int | None = None,
        billing_event: str = "IMPRESSIONS",
        bid_strategy: str = "LOWEST_COST_WITHOUT_CAP",
        dsa_beneficiary: str | None = None,
        dsa_payor: str | None = None,
        status: str = "PAUSED",
        reconcile: bool = True,
    ) -> str:
        """Create an ad set with exactly one budget (daily or lifetime, minor units); return its id.

        ``targeting`` must set ``targeting_automation.advantage_audience`` (0 or 1); EU targeting needs
        ``dsa_beneficiary`` and ``dsa_payor``. Calls Facebook: write.
        """
        if (daily_budget_minor is None) == (lifetime_budget_minor is None):
            raise ValueError("Give exactly one of daily_budget_minor and lifetime_budget_minor")
        if lifetime_budget_minor is not None and end_time is None:
            raise ValueError("A lifetime budget needs an end_time")
        automation = targeting.get("targeting_automation")
        if not isinstance(automation, dict) or automation.get("advantage_audience") not in (0, 1):
            raise ValueError("targeting must set targeting_automation.advantage_audience to 0 or 1")
        params: dict[str, Any] = {
            "name": name,
            "campaign_id": str(campaign_id),
            "start_time": _iso(start_time),
            "optimization_goal": optimization_goal,
            "billing_event": billing_event,
            "bid_strategy": bid_strategy,
            "targeting": targeting,
            "status": _status(status),
        }
        if end_time is not None:
            params["end_time"] = _iso(end_time)
        if daily_budget_minor is not None:
            params["daily_budget"] = int(daily_budget_minor)
        if lifetime_budget_minor is not None:
            params["lifetime_budget"] = int(lifetime_budget_minor)
        if dsa_beneficiary:
            params["dsa_beneficiary"] = dsa_beneficiary
        if dsa_payor:
            params["dsa_payor"] = dsa_payor
        return self._create(
            "adset",
            name,
            lambda: AdAccount(self._account, api=self._ads_api).create_ad_set(params=params),
            reconcile,
        )

    def create_creative(self, *, name: str, object_story_id: str, reconcile: bool = True) -> str:
        """Create an ad creative that boosts an existing post (``<page>_<post>``). Calls Facebook: write."""
        params = {"name": name, "object_story_id": object_story_id}
        return self._create(
            "adcreative",
            name,
            lambda: AdAccount(self._account, api=self._ads_api).create_ad_creative(params=params),
            reconcile,
        )

    def create_ad(
        self, *, name: str, adset_id: str, creative_id: str, status: str = "PAUSED", reconcile: bool = True
    ) -> str:
        """Create an ad from a creative in an ad set; return its id. Calls Facebook: write."""
        params = {
            "name": name,
            "adset_id": str(adset_id),
            "creative": {"creative_id": str(creative_id)},
            "status": _status(status),
        }
        return self._create(
            "ad",
            name,
            lambda: AdAccount(self._account, api=self._ads_api).create_ad(params=params),
            reconcile,
        )

    def _create(self, kind: str, name: str, call: Callable[[], Any], reconcile: bool) -> str:
        try:
            created = self._ads(call, f"create {kind}", creates=True)
        except OutcomeUnknownError:
            if not reconcile:
                raise
            found = self.find_object_by_name(kind, name)  # type: ignore[arg-type]
            if found is None:
                raise
            logger.info("create %s: answer lost, reconciled with existing %s", kind, found)
            return found
        return str(created["id"])

    def set_status(self, object_id: str, status: str) -> None:
        """Set a campaign's, ad set's or ad's status (ACTIVE, PAUSED, ARCHIVED, DELETED).

        Activating an ad sends it to review. Calls Facebook: write (idempotent).
        """
        params = {"status": _status(status)}
        self._ads(lambda: self._ads_api.call("POST", (str(object_id),), params=params), "set_status")

    def update_adset_budget(
        self,
        adset_id: str,
        *,
        daily_budget_minor: int | None = None,
        lifetime_budget_minor: int | None = None,
    ) -> None:
        """Change an ad set's budget (minor units). Calls Facebook: write (idempotent)."""
        if (daily_budget_minor is None) == (lifetime_budget_minor is None):
            raise ValueError("Give exactly one of daily_budget_minor and lifetime_budget_minor")
        params = (
            {"daily_budget": int(daily_budget_minor)}
            if daily_budget_minor is not None
            else {"lifetime_budget": int(lifetime_budget_minor or 0)}
        )
        self._ads(lambda: AdSet(str(adset_id), api=self._ads_api).api_update(params=params), "update budget")

    def update_spend_cap(self, campaign_id: str, spend_cap_minor: int) -> None:
        """Change a campaign's spend cap (minor units). Calls Facebook: write (idempotent)."""
        params = {"spend_cap": int(spend_cap_minor)}
        self._ads(
            lambda: Campaign(str(campaign_id), api=self._ads_api).api_update(params=params),
            "update spend cap",
        )

    def ad_review(self, ad_id: str) -> AdReview:
        """An ad's review state and, if refused, Facebook's reasons. Calls Facebook: read."""
        node = self._ads(
            lambda: Ad(str(ad_id), api=self._ads_api).api_get(
                fields=["effective_status", "issues_info", "ad_review_feedback"]
            ),
            "ad_review",
        )
        node = node.export_all_data()  # nested SDK objects → plain dicts
        reasons: list[str] = []
        feedback = node.get("ad_review_feedback") or {}
        for scope in feedback.values() if isinstance(feedback, dict) else []:
            if isinstance(scope, dict):
                reasons.extend(f"{title}: {text}" if text else str(title) for title, text in scope.items())
        for issue in node.get("issues_info") or []:
            if isinstance(issue, dict):
                text = issue.get("error_message") or issue.get("error_summary")
                if text and text not in " ".join(reasons):
                    reasons.append(str(text))
        return AdReview(effective_status=str(node.get("effective_status") or ""), rejection_reasons=reasons)

    def find_object_by_name(
        self, kind: Literal["campaign", "adset", "ad", "adcreative"], name: str
    ) -> str | None:
        """Id of the (non-deleted) object of this kind with exactly this name, or ``None``.

        Used to reconcile before re-creating. Calls Facebook: read.
        """
        account = AdAccount(self._account, api=self._ads_api)
        params: dict[str, Any] = {"limit": 100}
        if kind == "adcreative":
            getter: Callable[..., Any] = account.get_ad_creatives
        else:
            getter = {"campaign": account.get_campaigns, "adset": account.get_ad_sets, "ad": account.get_ads}[
                kind
            ]
            params["filtering"] = [{"field": "name", "operator": "EQUAL", "value": name}]
            params["effective_status"] = _NON_DELETED[kind]
        rows = self._ads(
            lambda: [dict(o.export_all_data()) for o in getter(fields=["id", "name"], params=dict(params))],
            f"find {kind}",
        )
        matches = [r for r in rows if r.get("name") == name]
        if len(matches) > 1:
            logger.warning("find_object_by_name: %d %ss named %r", len(matches), kind, name)
        return str(matches[0]["id"]) if matches else None

    def minimum_daily_budget_minor(self) -> int:
        """Facebook's minimum daily budget for impression-billed ad sets, in minor units. Calls: read."""
        rows = self._ads(
            lambda: [dict(r.export_all_data()) for r in AdAccount(self._account, api=self._ads_api)
                     .get_minimum_budgets()],
            "minimum_budgets",
        )  # fmt: skip
        if not rows:
            raise FacebookError("Facebook returned no minimum budget for this account")
        return int(rows[0]["min_daily_budget_imp"])

    def account_info(self) -> AccountInfo:
        """The ad account's currency, spend cap and amount spent (minor units). Calls Facebook: read."""
        node = self._ads(
            lambda: AdAccount(self._account, api=self._ads_api).api_get(
                fields=["currency", "spend_cap", "amount_spent"]
            ),
            "account_info",
        )
        cap = _int(node.get("spend_cap")) or None  # "0" means no cap
        return AccountInfo(
            currency=str(node.get("currency") or ""),
            spend_cap=cap,
            amount_spent=_int(node.get("amount_spent")) or 0,
        )

    def search_interests(self, q: str, *, limit: int = 25) -> list[dict[str, Any]]:
        """Targeting interests matching ``q`` (``id``, ``name``, audience bounds). Calls Facebook: read."""
        return self._search({"type": "adinterest", "q": q, "limit": limit})

    def search_locations(
        self, q: str, location_types: Sequence[str] = ("city",), *, limit: int = 25
    ) -> list[dict[str, Any]]:
        """Targeting locations (``key``, ``name``, ``type``, ``country_code``...). Calls Facebook: read."""
        return self._search(
            {"type": "adgeolocation", "q": q, "location_types": list(location_types), "limit": limit}
        )

    def _search(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        # TargetingSearch.search() builds its URL from the *class* FacebookSession.GRAPH and would
        # ignore the sandbox; api.call with a tuple path uses this client's session.
        answer = self._ads(lambda: self._ads_api.call("GET", ("search",), params=params), "search")
        return list(answer.json().get("data") or [])

    # ------------------------------------------------------------------ Marketing API: insights

    def ad_insights_daily(self, ad_ids: Iterable[str], *, since: date, until: date) -> list[AdDay]:
        """Daily delivery of many ads: one account-level request per 50 ads (``level=ad``, filtered).

        Long ranges or many rows go through an asynchronous report run. Days without delivery are
        absent (Facebook omits them). Calls Facebook: read.
        """
        ids = list(dict.fromkeys(str(a) for a in ad_ids))
        fields = [
            "ad_id", "date_start", "date_stop", "account_currency", "spend", "impressions", "reach",
            "clicks", "inline_link_clicks", "actions",
        ]  # fmt: skip
        days = (until - since).days + 1
        out: list[AdDay] = []
        for chunk in _chunks(ids, ADS_PER_INSIGHTS_REQUEST):
            params = self._insights_params(chunk, since, until, time_increment=1)
            use_async = days > ASYNC_MAX_DAYS or len(chunk) * days > ASYNC_MAX_ROWS
            rows = self._insights(params, fields, use_async=use_async)
            out.extend(_ad_day(row) for row in rows)
        return out

    def ad_period_reach(self, ad_ids: Iterable[str], *, since: date, until: date) -> dict[str, int]:
        """De-duplicated reach of each ad over the whole period (``time_increment=all_days``).

        Ads without delivery in the period are absent. Calls Facebook: read.
        """
        ids = list(dict.fromkeys(str(a) for a in ad_ids))
        out: dict[str, int] = {}
        for chunk in _chunks(ids, ADS_PER_INSIGHTS_REQUEST):
            params = self._insights_params(chunk, since, until, time_increment="all_days")
            for row in self._insights(params, ["ad_id", "reach"], use_async=False):
                out[str(row["ad_id"])] = _int(row.get("reach")) or 0
        return out

    def _insights_params(
        self, ad_ids: list[str], since: date, until: date, *, time_increment: int | str
    ) -> dict[str, Any]:
        if until < since:
            raise ValueError("until is before since")
        return {
            "level": "ad",
            "filtering": [{"field": "ad.id", "operator": "IN", "value": ad_ids}],
            "time_range": {"since": since.isoformat(), "until": until.isoformat()},
            "time_increment": time_increment,
            "limit": INSIGHTS_PAGE_SIZE,
        }

    def _insights(
        self, params: dict[str, Any], fields: list[str], *, use_async: bool
    ) -> list[dict[str, Any]]:
        account = AdAccount(self._account, api=self._ads_api)
        if not use_async:
            return self._ads(
                lambda: [
                    dict(r.export_all_data())
                    for r in account.get_insights(fields=fields, params=dict(params))
                ],
                "insights",
            )
        # Always pass a params dict: the SDK's async path crashes on params=None (facebook-api.md §1.3).
        run = self._ads(
            lambda: account.get_insights(fields=list(fields), params=dict(params), is_async=True),
            "insights run",
        )
        run_id = str(run["id"])
        for _ in range(self.retry.max_polls):
            node = self._ads(
                lambda: AdReportRun(run_id, api=self._ads_api).api_get(
                    fields=["id", "async_status", "async_percent_completion", "error_code", "error_message"]
                ),
                "insights run status",
            )
            status = node.get("async_status")
            if status == "Job Completed" and int(node.get("async_percent_completion") or 0) >= 100:
                break
            if status in ("Job Failed", "Job Skipped"):
                body = {
                    "error": {
                        "code": node.get("error_code") or 2,
                        "message": node.get("error_message") or f"Report run {run_id}: {status}",
                        "is_transient": True,
                    }
                }
                raise from_error_body(body)
            self.retry.sleep(self.retry.poll_interval)
        else:
            raise TransientError(f"Report run {run_id} did not complete in time")
        return self._ads(
            lambda: [
                dict(r.export_all_data())
                for r in AdReportRun(run_id, api=self._ads_api).get_result(
                    params={"limit": INSIGHTS_PAGE_SIZE}
                )
            ],
            "insights run result",
        )

    # ------------------------------------------------------------------ batch

    def batch(
        self, requests: Sequence[BatchRequest], *, token: Literal["ads", "page"] = "ads"
    ) -> list[dict[str, Any] | FacebookError]:
        """Run operations in batch requests of at most 50; return one answer per operation, in order.

        An answer is the decoded JSON body, or a :class:`FacebookError` for that operation. Operations
        Facebook did not run (``null`` entries) and GETs that failed transiently are sent again in a
        retry batch, up to the retry policy's attempts. Calls Facebook: as the operations do.
        """
        api = self._page_api if token == "page" else self._ads_api
        run = self._pages if token == "page" else self._ads
        results: list[dict[str, Any] | FacebookError | None] = [None] * len(requests)
        for chunk in _chunks(list(range(len(requests))), BATCH_LIMIT):
            pending = chunk
            for attempt in range(1, self.retry.max_attempts + 1):
                answers = self._execute_batch(api, run, [(i, requests[i]) for i in pending])
                retry_next: list[int] = []
                wait = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
                for i in pending:
                    answer = answers.get(i)
                    retryable = answer is None or (
                        isinstance(answer, TransientError) and requests[i].method == "GET"
                    )
                    if isinstance(answer, TransientError) and answer.retry_after:
                        # Honour a throttled operation's regain time, or give up if it is too long.
                        retryable = retryable and answer.retry_after <= self.retry.max_delay
                        wait = max(wait, min(answer.retry_after, self.retry.max_delay))
                    if retryable and attempt < self.retry.max_attempts:
                        retry_next.append(i)
                    else:
                        results[i] = (
                            answer
                            if answer is not None
                            else TransientError("Facebook did not run this batch operation")
                        )
                if not retry_next:
                    break
                pending = retry_next
                self.retry.sleep(wait)
        return [r if r is not None else TransientError("not run") for r in results]

    def _execute_batch(
        self,
        api: FacebookAdsApi,
        run: Callable[..., Any],
        ops: list[tuple[int, BatchRequest]],
    ) -> dict[int, dict[str, Any] | FacebookError]:
        answers: dict[int, dict[str, Any] | FacebookError] = {}

        def execute() -> None:
            answers.clear()
            batch = api.new_batch()
            for index, op in ops:
                batch.add(
                    op.method,
                    op.relative_url,
                    params=dict(op.params or {}),
                    success=_store_success(answers, index),
                    failure=_store_failure(answers, index),
                )
            batch.execute()  # the retry batch it may return is handled by the caller (null entries)

        creates = any(op.method == "POST" for _, op in ops)
        run(execute, "batch", creates=creates)
        return answers


# ---------------------------------------------------------------------- helpers


def _store_success(answers: dict[int, Any], index: int) -> Callable[[FacebookResponse], None]:
    def callback(response: FacebookResponse) -> None:
        body = response.json()
        answers[index] = body if isinstance(body, dict) else {"data": body}

    return callback


def _store_failure(answers: dict[int, Any], index: int) -> Callable[[FacebookResponse], None]:
    def callback(response: FacebookResponse) -> None:
        headers = {
            h.get("name", ""): h.get("value", "") for h in response.headers() or [] if isinstance(h, dict)
        }
        answers[index] = from_error_body(response.json(), http_status=response.status(), headers=headers)

    return callback


def _chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(Decimal(str(value)))
        except ArithmeticError:
            return None


def _status(status: str) -> str:
    if status not in STATUSES:
        raise ValueError(f"Unknown status {status!r}")
    return status


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("Datetimes sent to Facebook must be timezone-aware")
    return moment


def _unix(moment: datetime) -> int:
    return int(_aware(moment).timestamp())


def _iso(moment: datetime) -> str:
    return _aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value), tz=UTC)
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def _insights_day(end_time: Any) -> date | None:
    """Page/post insights stamp a day with its end (next day 07:00/08:00 UTC): step back one day."""
    moment = _parse_time(end_time)
    return (moment - timedelta(days=1)).date() if moment else None


def _publishing(scheduled_at: datetime | None, published: bool) -> dict[str, Any]:
    """The ``published`` / ``scheduled_publish_time`` params of a Page create."""
    if scheduled_at is not None:
        return {"published": False, "scheduled_publish_time": _unix(scheduled_at)}
    return {"published": bool(published)}


def _post_dict(raw: dict[str, Any]) -> dict[str, Any]:
    link = None
    photo = False
    attachments = raw.get("attachments")
    if isinstance(attachments, dict):
        for item in attachments.get("data") or []:
            if item.get("type") == "photo":  # the photo's page on Facebook, not the post's link
                photo = True
                continue
            link = item.get("unshimmed_url") or item.get("url")
            if link:
                break
    return {
        "id": str(raw.get("id")),
        "message": raw.get("message"),
        "link": link,
        "photo": photo,
        "created_time": _parse_time(raw.get("created_time")),
        "permalink_url": raw.get("permalink_url"),
        "is_published": bool(raw.get("is_published", True)),
        "scheduled_publish_time": _parse_time(raw.get("scheduled_publish_time")),
    }


def _post_metrics_fields(metrics: list[str]) -> str:
    parts = [
        "id",
        "shares",
        "reactions.summary(total_count).limit(0)",
        "comments.summary(total_count).limit(0)",
    ]
    if metrics:
        parts.append(f"insights.metric({','.join(metrics)}).period(lifetime).breakdown(is_from_ads)")
    return ",".join(parts)


def _post_metrics_from_node(node: dict[str, Any], metrics: list[str]) -> PostMetrics:
    values: dict[str, Any] = {}
    for entry in (node.get("insights") or {}).get("data") or []:
        name = entry.get("name")
        if name == "post_media_view":
            for value in entry.get("values") or []:
                bucket = {"0": "views_organic", "1": "views_paid"}.get(str(value.get("is_from_ads")))
                if bucket:
                    values[bucket] = (values.get(bucket) or 0) + (_int(value.get("value")) or 0)
        elif name in POST_METRICS:
            total = [_int(v.get("value")) for v in entry.get("values") or []]
            values[name] = sum(v for v in total if v is not None) if total else None
    shares = node.get("shares")
    return PostMetrics(
        total_viewers=values.get("post_total_media_view_unique"),
        views_organic=values.get("views_organic"),
        views_paid=values.get("views_paid"),
        clicks=values.get("post_clicks"),
        reactions=_summary_count(node.get("reactions")),
        comments=_summary_count(node.get("comments")),
        # Graph omits "shares" on a post nobody shared: absent here means 0, not unknown.
        shares=_int(shares.get("count")) if isinstance(shares, dict) else 0,
    )


def _summary_count(edge: Any) -> int | None:
    if isinstance(edge, dict) and isinstance(edge.get("summary"), dict):
        return _int(edge["summary"].get("total_count"))
    return None


def spend_to_minor(spend: str | None, currency: str) -> int:
    """Convert an Ads Insights ``spend`` (major units, decimal string) to minor units, exactly."""
    if not spend:
        return 0
    amount = Decimal(str(spend)) * (1 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 100)
    exact = amount.to_integral_value(rounding=ROUND_HALF_UP)
    if exact != amount:
        logger.warning("Spend %s %s is finer than the currency's minor unit; rounded", spend, currency)
    return int(exact)


def _ad_day(row: dict[str, Any]) -> AdDay:
    actions: dict[str, int] = {}
    for action in row.get("actions") or []:
        if isinstance(action, dict) and action.get("action_type"):
            actions[str(action["action_type"])] = _int(action.get("value")) or 0
    return AdDay(
        ad_id=str(row["ad_id"]),
        day=date.fromisoformat(str(row["date_start"])),
        spend_minor=spend_to_minor(row.get("spend"), str(row.get("account_currency") or "EUR")),
        impressions=_int(row.get("impressions")) or 0,
        reach=_int(row.get("reach")) or 0,
        clicks=_int(row.get("clicks")) or 0,
        link_clicks=_int(row.get("inline_link_clicks")) or 0,
        actions=actions,
    )
