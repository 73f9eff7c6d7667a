"""How many HTTP requests does synchronising insights take for N boosted posts?

Starts a Graph API sandbox, seeds N boosted posts (N = 10, 100, 1000) with a week of delivery, then
compares, in the same run and over the same data:

* **batched** — what Rayonne does: ``FacebookClient.ad_insights_daily`` (one account-level request per
  50 ads, ``level=ad`` filtered by ``ad.id``) plus ``FacebookClient.post_insights`` (one batch request
  per 50 posts);
* **naive** — one request per object: ``GET /<ad>/insights`` for each ad and ``GET /<post>/insights``
  for each post.

Requests are counted by the sandbox itself. Run from the repository root::

    python bench/graph_calls.py

The last line is ``RATIO <batched / naive> batched requests / naive requests`` for N = 1000.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facebook_business.adobjects.ad import Ad  # noqa: E402
from facebook_business.adobjects.pagepost import PagePost  # noqa: E402

from facebook import FacebookClient, RetryPolicy  # noqa: E402
from facebook.client import ADS_PER_INSIGHTS_REQUEST, BATCH_LIMIT  # noqa: E402
from facebook.sandbox import (  # noqa: E402
    DEMO_AD_ACCOUNT_ID,
    DEMO_PAGE_ID,
    SandboxServer,
    default_demo_setup,
    demo_connection,
)

# The SDK's type checker wrongly warns about a list of metric names in the naive baseline.
warnings.filterwarnings("ignore", message="value of metric might not be compatible")

SIZES = (10, 100, 1000)
DAYS = 7
AD_FIELDS = ["ad_id", "date_start", "spend", "impressions", "reach", "clicks", "inline_link_clicks"]
POST_METRICS = ["post_total_media_view_unique", "post_media_view", "post_clicks"]


def batched(client: FacebookClient, ad_ids: list[str], post_ids: list[str], since: date, until: date) -> int:
    rows = client.ad_insights_daily(ad_ids, since=since, until=until)
    client.post_insights(post_ids)
    return len(rows)


def naive(client: FacebookClient, ad_ids: list[str], post_ids: list[str], since: date, until: date) -> int:
    rows = 0
    params = {"time_range": {"since": since.isoformat(), "until": until.isoformat()}, "time_increment": 1}
    for ad_id in ad_ids:
        rows += len(list(Ad(ad_id, api=client.ads_api).get_insights(fields=AD_FIELDS, params=dict(params))))
    for post_id in post_ids:
        params_post = {"metric": POST_METRICS, "period": "lifetime", "breakdown": ["is_from_ads"]}
        list(PagePost(post_id, api=client.page_api).get_insights(params=params_post))
    return rows


def measure(n: int) -> dict[str, float]:
    with SandboxServer(seed=1) as server:
        control = server.control
        control.setup(default_demo_setup())
        seeded = control.seed_boosts(page_id=DEMO_PAGE_ID, ad_account_id=DEMO_AD_ACCOUNT_ID, count=n)
        control.advance(days=DAYS)
        until = date.fromisoformat(control.clock()[:10])
        since = until - timedelta(days=DAYS)
        client = FacebookClient(demo_connection(server.url), RetryPolicy(sleep=lambda s: None))
        results: dict[str, float] = {"n": n}
        for label, run in (("batched", batched), ("naive", naive)):
            control.reset_requests()
            started = time.perf_counter()
            rows = run(client, seeded["ad_ids"], seeded["post_ids"], since, until)
            results[f"{label}_seconds"] = time.perf_counter() - started
            counters = control.requests()
            results[f"{label}_requests"] = counters["graph_requests"]
            results[f"{label}_rows"] = rows
            if label == "batched":
                results["ads_requests"] = sum(
                    v for k, v in counters["by_endpoint"].items() if k.startswith("GET /{AdAccount}/insights")
                )
                results["post_batches"] = counters["batch_requests"]
        return results


def main() -> None:
    header = (
        f"{'N':>5} | {'batched req':>11} | {'ads req':>7} | {'post batches':>12} | {'batched s':>9} | "
        f"{'naive req':>9} | {'naive s':>8} | {'ratio':>7} | {'target ads ≤ ceil(N/50)+pages':>30}"
    )
    print(header)
    print("-" * len(header))
    last = None
    for n in SIZES:
        r = measure(n)
        ratio = r["batched_requests"] / r["naive_requests"]
        target = math.ceil(n / ADS_PER_INSIGHTS_REQUEST)
        target_text = f"{int(r['ads_requests'])} vs {target} (+pagination)"
        print(
            f"{n:>5} | {int(r['batched_requests']):>11} | {int(r['ads_requests']):>7} | "
            f"{int(r['post_batches']):>12} | {r['batched_seconds']:>9.2f} | {int(r['naive_requests']):>9} | "
            f"{r['naive_seconds']:>8.2f} | {ratio:>7.4f} | {target_text:>30}"
        )
        if r["batched_rows"] != r["naive_rows"]:
            print(f"      warning: batched returned {r['batched_rows']} ad rows, naive {r['naive_rows']}")
        last = ratio
    print(
        f"Post insights: one batch request per {BATCH_LIMIT} posts (one operation per post); "
        f"ads insights: one request per {ADS_PER_INSIGHTS_REQUEST} ads, {DAYS + 1} days per ad."
    )
    print(f"RATIO {last:.4f} batched requests / naive requests")


if __name__ == "__main__":
    main()
