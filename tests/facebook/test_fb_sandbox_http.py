"""The sandbox's wire format and control API, over raw HTTP where the SDK does not reach."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from facebook import FacebookClient, RetryPolicy
from facebook.sandbox import (
    DEMO_AD_ACCOUNT_ID,
    DEMO_ADS_TOKEN,
    DEMO_PAGE_ID,
    DEMO_PAGE_TOKEN,
    DEMO_USER_TOKEN,
    SandboxControlError,
    SandboxServer,
    default_demo_setup,
    demo_connection,
    run_sandbox,
)


def get(sandbox, path, token=DEMO_PAGE_TOKEN, **params):
    return requests.get(f"{sandbox.url}{path}", params={"access_token": token, **params}, timeout=10)


def post(sandbox, path, token=DEMO_ADS_TOKEN, **data):
    return requests.post(f"{sandbox.url}{path}", params={"access_token": token}, data=data, timeout=10)


def test_version_prefix_and_trailing_slash_are_optional(sandbox):
    """/v26.0/<id>/, /v26.0/<id> and /<id> all read the same node."""
    answers = [
        get(sandbox, p, fields="id,name").json()
        for p in (f"/v26.0/{DEMO_PAGE_ID}/", f"/v26.0/{DEMO_PAGE_ID}", f"/{DEMO_PAGE_ID}")
    ]
    assert answers == [{"id": DEMO_PAGE_ID, "name": "Ville de Valrive"}] * 3


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/v26.0/424242", 100),
        ("GET", f"/v26.0/{DEMO_PAGE_ID}/nonsense", 100),
        ("GET", f"/v26.0/{DEMO_PAGE_ID}/insights/extra/parts", 100),
        ("PUT", f"/v26.0/{DEMO_PAGE_ID}", 100),
        ("GET", "/v26.0/", 100),
        ("GET", f"/v26.0/{DEMO_PAGE_ID}?fields=name{{", 2500),
    ],
)
def test_anything_not_understood_gets_a_graph_error(sandbox, method, path, code):
    """Unknown nodes, edges, methods or syntax get Graph-format JSON errors, never HTML or a crash."""
    response = requests.request(
        method, f"{sandbox.url}{path}", params={"access_token": DEMO_PAGE_TOKEN}, timeout=10
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["fbtrace_id"] and error["is_transient"] is False


def test_unknown_object_is_graph_method_exception(sandbox):
    """An id that does not exist answers 100/33 GraphMethodException."""
    error = get(sandbox, "/v26.0/424242").json()["error"]
    assert (error["type"], error["code"], error["error_subcode"]) == ("GraphMethodException", 100, 33)


def test_tokens_are_checked(sandbox):
    """No token → 104; an unknown token → 190 OAuthException."""
    assert requests.get(f"{sandbox.url}/v26.0/{DEMO_PAGE_ID}", timeout=10).json()["error"]["code"] == 104
    error = get(sandbox, f"/v26.0/{DEMO_PAGE_ID}", token="made-up").json()["error"]
    assert (error["type"], error["code"]) == ("OAuthException", 190)


def test_usage_headers_on_every_answer(sandbox):
    """Every answer, errors included, carries X-App-Usage; object calls also X-Business-Use-Case-Usage."""
    ok = get(sandbox, f"/v26.0/{DEMO_PAGE_ID}")
    app_usage = json.loads(ok.headers["X-App-Usage"])
    assert set(app_usage) == {"call_count", "total_cputime", "total_time"}
    [entry] = json.loads(ok.headers["X-Business-Use-Case-Usage"])[DEMO_PAGE_ID]
    assert entry["type"] == "pages" and entry["estimated_time_to_regain_access"] == 0
    ads = get(sandbox, f"/v26.0/{DEMO_AD_ACCOUNT_ID}", token=DEMO_ADS_TOKEN)
    assert (
        json.loads(ads.headers["X-Business-Use-Case-Usage"])[DEMO_AD_ACCOUNT_ID[4:]][0]["type"]
        == "ads_management"
    )
    assert "X-App-Usage" in get(sandbox, "/v26.0/424242").headers


def test_throttle_fault_answers_like_facebook(sandbox, control):
    """A throttle is HTTP 400, code 80004/2446079, is_transient, with a BUC regain estimate in minutes."""
    control.add_fault("throttle", target=DEMO_AD_ACCOUNT_ID, count=1, minutes=3)
    response = get(sandbox, f"/v26.0/{DEMO_AD_ACCOUNT_ID}/campaigns", token=DEMO_ADS_TOKEN)
    error = response.json()["error"]
    assert response.status_code == 400
    assert (error["code"], error["error_subcode"], error["is_transient"]) == (80004, 2446079, True)
    [entry] = json.loads(response.headers["X-Business-Use-Case-Usage"])[DEMO_AD_ACCOUNT_ID[4:]]
    assert entry["estimated_time_to_regain_access"] == 3 and entry["call_count"] == 100
    assert get(sandbox, f"/v26.0/{DEMO_AD_ACCOUNT_ID}/campaigns", token=DEMO_ADS_TOKEN).status_code == 200


def test_faulty_gateway_answers_html(sandbox, control):
    """The bad_gateway fault answers 502 with an HTML body, as a proxy would."""
    control.add_fault("bad_gateway", count=1)
    response = get(sandbox, f"/v26.0/{DEMO_PAGE_ID}")
    assert response.status_code == 502 and response.text.startswith("<html>")


def test_lists_page_with_after_and_next_only_when_more(sandbox):
    """Edges page with cursors.after; paging.next only when more remain; summary=true gives total_count."""
    for n in range(3):
        post(
            sandbox,
            f"/v26.0/{DEMO_AD_ACCOUNT_ID}/campaigns",
            name=f"c{n}",
            objective="OUTCOME_AWARENESS",
            special_ad_categories="[]",
            is_adset_budget_sharing_enabled="false",
        )
    first = get(
        sandbox,
        f"/v26.0/{DEMO_AD_ACCOUNT_ID}/campaigns",
        token=DEMO_ADS_TOKEN,
        limit=2,
        summary="true",
        fields="name",
    ).json()
    assert len(first["data"]) == 2 and first["summary"] == {"total_count": 3}
    assert "next" in first["paging"]
    after = first["paging"]["cursors"]["after"]
    second = get(
        sandbox,
        f"/v26.0/{DEMO_AD_ACCOUNT_ID}/campaigns",
        token=DEMO_ADS_TOKEN,
        limit=2,
        after=after,
        fields="name",
    ).json()
    assert len(second["data"]) == 1 and "next" not in second["paging"]
    assert {c["name"] for c in first["data"] + second["data"]} == {"c0", "c1", "c2"}
    assert all(c["id"].isdigit() for c in first["data"])


def test_json_encoded_params_and_minor_unit_budgets(sandbox, control):
    """Lists, dicts and booleans arrive JSON-encoded; budgets are minor units read back as strings."""
    campaign = post(
        sandbox,
        f"/v26.0/{DEMO_AD_ACCOUNT_ID}/campaigns",
        name="c",
        objective="OUTCOME_TRAFFIC",
        special_ad_categories="[]",
        is_adset_budget_sharing_enabled="false",
        spend_cap="12345",
    ).json()
    targeting = {
        "geo_locations": {"cities": [{"key": "2420045", "radius": 10, "distance_unit": "kilometer"}]},
        "targeting_automation": {"advantage_audience": 1},
    }
    adset = post(
        sandbox,
        f"/v26.0/{DEMO_AD_ACCOUNT_ID}/adsets",
        name="s",
        campaign_id=campaign["id"],
        daily_budget="2000",
        billing_event="IMPRESSIONS",
        optimization_goal="LINK_CLICKS",
        targeting=json.dumps(targeting),
        dsa_beneficiary="Valrive",
        dsa_payor="Valrive",
    ).json()
    node = get(
        sandbox,
        f"/v26.0/{adset['id']}/",
        token=DEMO_ADS_TOKEN,
        fields="daily_budget,targeting,campaign{spend_cap}",
    ).json()
    assert node["daily_budget"] == "2000"
    assert node["targeting"] == targeting
    assert node["campaign"] == {"spend_cap": "12345", "id": campaign["id"]}


def test_ads_insights_numbers_are_strings_and_spend_is_major_units(sandbox, control):
    """Ads Insights give numbers as strings and spend as a major-unit decimal string."""
    seeded = control.seed_boosts(page_id=DEMO_PAGE_ID, ad_account_id=DEMO_AD_ACCOUNT_ID, count=1)
    control.advance(days=2)
    [ad] = control.state()["objects"]["ads"]
    day, spend = next((d, s) for d, s in ad["spend_by_day"].items() if s)
    rows = get(
        sandbox,
        f"/v26.0/{seeded['ad_ids'][0]}/insights",
        token=DEMO_ADS_TOKEN,
        fields="spend,impressions,reach,actions",
        time_increment="1",
        time_range=json.dumps({"since": day, "until": day}),
    ).json()["data"]
    [row] = rows
    assert row["spend"] == f"{spend // 100}.{spend % 100:02d}"
    assert row["impressions"].isdigit() and row["reach"].isdigit()
    assert all(isinstance(a["value"], str) for a in row["actions"])
    assert (row["date_start"], row["date_stop"]) == (day, day)


def test_insights_refuse_ranges_beyond_37_months(sandbox):
    """A start date more than 37 months back is refused with code 3018."""
    error = get(
        sandbox,
        f"/v26.0/{DEMO_AD_ACCOUNT_ID}/insights",
        token=DEMO_ADS_TOKEN,
        time_range=json.dumps({"since": "2020-01-01", "until": "2020-01-31"}),
    ).json()["error"]
    assert error["code"] == 3018


@pytest.mark.parametrize(
    ("path", "metric"),
    [
        ("/v26.0/{post}/insights", "post_impressions_unique,post_media_view"),
        ("/v26.0/{post}/insights", "post_impressions_paid"),
        ("/v26.0/{page}/insights", "page_impressions"),
        ("/v26.0/{page}/insights", "page_fans,page_follows"),
    ],
)
def test_removed_metrics_fail_the_whole_call(sandbox, path, metric):
    """Asking for a metric Meta removed fails the whole call with (#100) ... valid insights metric."""
    post_id = post(sandbox, f"/v26.0/{DEMO_PAGE_ID}/feed", token=DEMO_PAGE_TOKEN, message="x").json()["id"]
    url = path.format(post=post_id, page=DEMO_PAGE_ID)
    error = get(sandbox, url, metric=metric).json()["error"]
    assert error["code"] == 100 and error["message"] == "(#100) The value must be a valid insights metric"


def test_page_insights_values_and_90_day_limit(sandbox):
    """Page Insights values are numbers stamped with end_time; more than 90 days is refused."""
    answer = get(
        sandbox,
        f"/v26.0/{DEMO_PAGE_ID}/insights",
        metric='["page_media_view"]',
        breakdown='["is_from_ads"]',
        period="day",
    ).json()
    [entry] = answer["data"]
    assert entry["name"] == "page_media_view" and entry["id"].endswith("/insights/page_media_view/day")
    assert {v["is_from_ads"] for v in entry["values"]} == {"0", "1"}
    assert all(
        isinstance(v["value"], int) and v["end_time"].endswith("T08:00:00+0000") for v in entry["values"]
    )
    assert "cursors" not in answer["paging"]
    too_long = get(
        sandbox,
        f"/v26.0/{DEMO_PAGE_ID}/insights",
        metric="page_follows",
        since="2026-01-01",
        until="2026-06-01",
    ).json()
    assert "90 days" in too_long["error"]["message"]


def test_page_insights_need_a_page_token(sandbox):
    """Page Insights called with another token are refused (190: must be called with a Page token)."""
    error = get(
        sandbox, f"/v26.0/{DEMO_PAGE_ID}/insights", token=DEMO_ADS_TOKEN, metric="page_follows"
    ).json()
    assert error["error"]["code"] == 190


def test_batch_wire_format(sandbox):
    """A batch is POST /vX.Y/ with a JSON array; the answer is aligned, bodies are JSON strings."""
    batch = [
        {"method": "GET", "relative_url": f"{DEMO_PAGE_ID}?fields=name"},
        {"method": "POST", "relative_url": f"{DEMO_PAGE_ID}/feed", "body": "message=Bonjour&published=true"},
        {"method": "GET", "relative_url": "424242"},
    ]
    response = requests.post(
        f"{sandbox.url}/v26.0/",
        params={"access_token": DEMO_PAGE_TOKEN},
        data={"batch": json.dumps(batch)},
        timeout=10,
    )
    first, second, third = response.json()
    assert response.status_code == 200
    assert json.loads(first["body"]) == {"name": "Ville de Valrive", "id": DEMO_PAGE_ID}
    assert (
        first["code"] == 200
        and {"name": "Content-Type", "value": "text/javascript; charset=UTF-8"} in first["headers"]
    )
    assert json.loads(second["body"])["id"].startswith(DEMO_PAGE_ID + "_")
    assert third["code"] == 400 and json.loads(third["body"])["error"]["error_subcode"] == 33


def test_batch_of_more_than_50_is_refused(sandbox):
    """A batch of 51 operations is refused as a whole."""
    batch = [{"method": "GET", "relative_url": DEMO_PAGE_ID}] * 51
    response = requests.post(
        f"{sandbox.url}/v26.0/",
        params={"access_token": DEMO_PAGE_TOKEN},
        data={"batch": json.dumps(batch)},
        timeout=10,
    )
    assert response.status_code == 400 and "Maximum batch size is 50" in response.json()["error"]["message"]


def test_async_report_run_progresses_over_polls(sandbox, control):
    """POST insights returns report_run_id; the run goes Job Running → Job Completed; results page."""
    control.seed_boosts(page_id=DEMO_PAGE_ID, ad_account_id=DEMO_AD_ACCOUNT_ID, count=3)
    control.advance(days=2)
    run_id = post(
        sandbox,
        f"/v26.0/{DEMO_AD_ACCOUNT_ID}/insights",
        level="ad",
        fields='["ad_id","spend"]',
        time_increment="1",
        date_preset="last_7d",
    ).json()["report_run_id"]
    first = get(sandbox, f"/v26.0/{run_id}/", token=DEMO_ADS_TOKEN).json()
    assert (first["async_status"], first["async_percent_completion"]) == ("Job Running", 50)
    assert get(sandbox, f"/v26.0/{run_id}/insights", token=DEMO_ADS_TOKEN).json()["error"]["code"] == 100
    second = get(sandbox, f"/v26.0/{run_id}/", token=DEMO_ADS_TOKEN).json()
    assert (second["async_status"], second["async_percent_completion"]) == ("Job Completed", 100)
    page = get(sandbox, f"/v26.0/{run_id}/insights", token=DEMO_ADS_TOKEN, limit=2).json()
    assert len(page["data"]) == 2 and "next" in page["paging"]


def test_me_accounts_and_search(sandbox):
    """/me/accounts lists a user's Pages with tokens; /search serves interests and French places."""
    pages = get(sandbox, "/v26.0/me/accounts", token=DEMO_USER_TOKEN).json()["data"]
    assert pages[0]["access_token"] == DEMO_PAGE_TOKEN
    cities = get(
        sandbox,
        "/v26.0/search",
        token=DEMO_ADS_TOKEN,
        type="adgeolocation",
        q="saint",
        location_types='["city"]',
    ).json()["data"]
    assert {c["name"] for c in cities} == {"Saint-Étienne", "Saint-Malo"}
    assert get(sandbox, "/v26.0/search", token=DEMO_ADS_TOKEN, type="adworkemployer", q="x").json()["error"]


def test_clock_only_moves_forward(control, sandbox_clock):
    """The control API moves the clock by days or hours, never backwards."""
    start = sandbox_clock.now()
    control.advance(hours=5)
    assert sandbox_clock.now() - start == timedelta(hours=5)
    control.advance(days=2)
    assert sandbox_clock.now() - start == timedelta(days=2, hours=5)
    with pytest.raises(SandboxControlError):
        control.advance(days=-1)


def test_faults_can_be_listed_and_cleared(control):
    """Faults are listed with their ids, removed one by one or all at once; bad specs are refused."""
    first = control.add_fault("throttle", target=DEMO_AD_ACCOUNT_ID, minutes=2)
    control.add_fault("error_500", count=3)
    assert [f["kind"] for f in control.faults()] == ["throttle", "error_500"]
    control._call("DELETE", f"faults/{first['id']}")
    assert [f["kind"] for f in control.faults()] == ["error_500"]
    assert control.clear_faults() == 1 and control.faults() == []
    with pytest.raises(SandboxControlError):
        control.add_fault("meteor_strike")
    with pytest.raises(SandboxControlError):
        control.add_fault("throttle", minutes=0)


def test_setup_is_idempotent_and_state_shows_tokens(control):
    """Provisioning twice changes nothing; the state lists pages and accounts with their tokens."""
    control.advance(days=5)
    followers = control.state()["pages"][0]["followers"]
    control.setup(default_demo_setup())
    state = control.state()
    assert len(state["pages"]) == 1 and state["pages"][0]["followers"] == followers > 25_000
    assert state["pages"][0]["page_token"] == DEMO_PAGE_TOKEN
    assert state["ad_accounts"][0]["access_token"] == DEMO_ADS_TOKEN
    assert state["ad_accounts"][0]["currency"] == "EUR"
    with pytest.raises(SandboxControlError):
        control.setup({"pages": [{"id": "not-numeric"}]})


def test_state_survives_a_restart(tmp_path):
    """With a state file, the clock, posts and followers survive a restart of the sandbox."""
    path = str(tmp_path / "sandbox.json")
    with SandboxServer(state_path=path) as first:
        first.control.setup(default_demo_setup())
        client = FacebookClient(demo_connection(first.url), RetryPolicy(sleep=lambda s: None))
        post_id = client.publish_post(message="Toujours là")
        first.control.advance(days=3)
        before = first.control.state(objects=False)
    with SandboxServer(state_path=path) as second:
        after = second.control.state(objects=False)
        client = FacebookClient(demo_connection(second.url), RetryPolicy(sleep=lambda s: None))
        assert [p["id"] for p in client.list_posts()] == [post_id]
    assert after["clock"] == before["clock"] and after["pages"] == before["pages"]


def test_sandbox_only_binds_loopback():
    """The sandbox refuses to listen on anything but loopback."""
    with pytest.raises(ValueError):
        run_sandbox(host="0.0.0.0", port=0)
    with pytest.raises(ValueError):
        SandboxServer(host="192.168.1.10")


def test_unknown_control_endpoint_is_json(sandbox):
    """The control API answers JSON errors too."""
    response = requests.get(f"{sandbox.url}/_sandbox/nothing-here", timeout=10)
    assert response.status_code == 404 and response.json()["error"]["type"] == "SandboxControlError"


def test_a_sandbox_bug_still_answers_graph_json(sandbox, monkeypatch):
    """Even an internal failure answers a Graph-format transient error, never an HTML page."""

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sandbox.app.graph, "_dispatch", broken)
    response = get(sandbox, f"/v26.0/{DEMO_PAGE_ID}")
    assert response.status_code == 500 and response.json()["error"]["is_transient"] is True


def test_settings_tune_the_simulation(fb_client, boost, control):
    """Setup settings change the simulation (here a 3-hour review); unknown settings are refused."""
    control.setup({"settings": {"review_hours": 3}})
    boosted = boost()
    control.advance(hours=2)
    assert fb_client.ad_review(boosted.ad_id).effective_status == "PENDING_REVIEW"
    control.advance(hours=2)
    assert fb_client.ad_review(boosted.ad_id).effective_status == "ACTIVE"
    with pytest.raises(SandboxControlError):
        control.setup({"settings": {"magic": 1}})


def test_realtime_clock_follows_the_real_time_that_passes(monkeypatch):
    """In realtime mode (the demo), the sandbox clock also moves with the real time between requests."""
    with SandboxServer(realtime=True) as server:
        start = server.control.state(objects=False)["timestamp"]
        server.app._real_anchor -= 3600  # pretend an hour went by since the last request
        assert server.control.state(objects=False)["timestamp"] >= start + 3600


def test_json_bodies_are_accepted_like_forms(sandbox):
    """A POST with a JSON body is read like the SDK's form encoding."""
    response = requests.post(
        f"{sandbox.url}/v26.0/{DEMO_PAGE_ID}/feed",
        params={"access_token": DEMO_PAGE_TOKEN},
        json={"message": "En JSON", "published": False},
        timeout=10,
    )
    post_id = response.json()["id"]
    node = get(sandbox, f"/v26.0/{post_id}", fields="message,is_published").json()
    assert node == {"message": "En JSON", "is_published": False, "id": post_id}


def test_concurrent_clients_are_served_consistently(sandbox, fb_client):
    """The threaded sandbox serves concurrent clients without losing or mixing up objects."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda n: fb_client.publish_post(message=f"Parallèle {n}"), range(80)))
    assert len(set(ids)) == 80
    assert len(fb_client.list_posts()) == 80
