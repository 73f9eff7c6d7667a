"""Errors: classification of Graph answers, retries, throttling, non-JSON 5xx, timeouts, tokens, batches."""

from __future__ import annotations

import json
from datetime import date

import pytest
import requests
from facebook_business.api import FacebookAdsApi
from facebook_business.exceptions import FacebookRequestError
from facebook_business.session import FacebookSession

from facebook import (
    GRAPH_API_VERSION,
    AuthError,
    BatchRequest,
    FacebookError,
    FacebookPermissionError,
    InvalidRequestError,
    OutcomeUnknownError,
    PolicyError,
    RetryPolicy,
    ThrottledError,
    ThrottleRegistry,
    TransientError,
    classify,
    throttle_registry,
)
from facebook.errors import UnexpectedResponseError, nothing_was_sent
from facebook.sandbox import DEMO_AD_ACCOUNT_ID, DEMO_ADS_TOKEN, DEMO_PAGE_ID, DEMO_PAGE_TOKEN


def sdk_error(status: int, error: dict, headers: dict | None = None) -> FacebookRequestError:
    context = {"method": "GET", "path": "/v26.0/1/", "params": {}}
    return FacebookRequestError(
        "Call was not successful", context, status, headers or {}, json.dumps({"error": error})
    )


@pytest.mark.parametrize(
    ("code", "subcode", "transient", "expected"),
    [
        (1, None, False, TransientError),
        (2, 1504043, True, TransientError),
        (4, 1504022, True, ThrottledError),
        (17, 2446079, False, ThrottledError),
        (32, None, False, ThrottledError),
        (613, 1487742, False, ThrottledError),
        (80000, 2446079, True, ThrottledError),
        (80001, 2446079, True, ThrottledError),
        (80004, 2446079, True, ThrottledError),
        (80014, None, True, ThrottledError),
        (190, 463, False, AuthError),
        (102, None, False, AuthError),
        (10, None, False, FacebookPermissionError),
        (200, None, False, FacebookPermissionError),
        (299, None, False, FacebookPermissionError),
        (100, 33, False, InvalidRequestError),
        (368, None, False, PolicyError),
        (100, None, True, TransientError),
    ],
)
def test_classify_maps_each_code_to_its_class(code, subcode, transient, expected):
    """Each Graph error code lands in one class of the family, keeping code, subcode and trace id."""
    error = {
        "message": "m",
        "type": "OAuthException",
        "code": code,
        "is_transient": transient,
        "fbtrace_id": "T",
    }
    if subcode:
        error["error_subcode"] = subcode
    classified = classify(sdk_error(400, error))
    assert type(classified) is expected
    assert (classified.code, classified.subcode, classified.fbtrace_id) == (code, subcode, "T")
    assert " / " in classified.user_message  # French / English


def test_throttle_retry_after_comes_from_the_buc_header():
    """A throttled answer's retry_after is estimated_time_to_regain_access (minutes) from the BUC header."""
    header = json.dumps(
        {"2026": [{"type": "ads_management", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    )
    error = classify(sdk_error(400, {"code": 80004, "message": "m"}, {"X-Business-Use-Case-Usage": header}))
    assert isinstance(error, ThrottledError)
    assert error.estimated_time_to_regain_access == 7 and error.retry_after == 420
    assert error.object_ids == ("2026",)


def test_invalid_request_keeps_facebooks_words_for_the_user():
    """An invalid request keeps error_user_title, error_user_msg and the blamed fields."""
    error = classify(
        sdk_error(
            400,
            {
                "code": 100,
                "message": "Invalid parameter",
                "error_user_title": "Budget Is Too Low",
                "error_user_msg": "At least 1.00 EUR per day.",
                "error_data": json.dumps({"blame_field_specs": [["daily_budget"]]}),
            },
        )
    )
    assert isinstance(error, InvalidRequestError)
    assert error.user_message == "Budget Is Too Low : At least 1.00 EUR per day."
    assert error.blame_fields == ["daily_budget"]


def test_transport_failures_are_transient():
    """Timeouts, broken connections and non-JSON 5xx are transient; a non-JSON 404 is not."""
    assert isinstance(classify(requests.exceptions.ReadTimeout()), TransientError)
    assert isinstance(classify(requests.exceptions.ConnectionError()), TransientError)
    assert isinstance(classify(UnexpectedResponseError(502, "<html>")), TransientError)
    not_found = classify(UnexpectedResponseError(404, "<html>"))
    assert type(not_found) is FacebookError
    assert isinstance(classify(sdk_error(503, {"message": "down"})), TransientError)


def test_only_refusals_before_execution_count_as_nothing_sent():
    """Creates may be retried only after throttling or a connection never made — not after a timeout."""
    assert nothing_was_sent(sdk_error(400, {"code": 80004, "message": "m"}))
    assert nothing_was_sent(requests.exceptions.ConnectTimeout())
    assert not nothing_was_sent(requests.exceptions.ReadTimeout())
    assert not nothing_was_sent(sdk_error(500, {"code": 2, "message": "m", "is_transient": True}))


def test_throttled_account_is_not_called_until_it_recovers(fb_client, control, sandbox_clock, monkeypatch):
    """After a long throttle, calls for that ad account fail fast without HTTP; the Page is unaffected."""
    control.add_fault("throttle", target=DEMO_AD_ACCOUNT_ID, count=1, minutes=5)
    with pytest.raises(ThrottledError) as caught:
        fb_client.account_info()
    assert caught.value.code == 80004 and caught.value.subcode == 2446079
    assert caught.value.estimated_time_to_regain_access == 5 and caught.value.retry_after == 300
    before = sandbox_clock.requests()
    with pytest.raises(ThrottledError) as again:
        fb_client.account_info()
    assert again.value.from_registry and sandbox_clock.requests() == before
    assert fb_client.page_info().followers_count == 25_000
    real_clock = throttle_registry.clock
    monkeypatch.setattr(throttle_registry, "clock", lambda: real_clock() + 301)
    assert fb_client.account_info().currency == "EUR"


def test_short_throttle_is_waited_out(make_client, control, sandbox_clock, sleeps):
    """A throttle whose regain time fits the retry policy is slept through, then the call succeeds."""
    client = make_client(policy=RetryPolicy(max_delay=120, sleep=sleeps))
    control.add_fault("throttle", target=DEMO_AD_ACCOUNT_ID, count=1, minutes=1)
    before = sandbox_clock.requests()
    assert client.account_info().currency == "EUR"
    assert sleeps == [60] and sandbox_clock.requests() - before == 2
    assert throttle_registry.blocked() == {}


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.account_info(), 80004),
        (lambda c: c.ad_period_reach(["1"], since=date(2026, 1, 1), until=date(2026, 1, 2)), 80000),
        (lambda c: c.page_info(), 80001),
    ],
)
def test_throttle_codes_follow_the_use_case(fb_client, control, call, code):
    """Throttling answers use the use case's code: 80004 ads management, 80000 insights, 80001 Pages."""
    control.add_fault("throttle", count=1, minutes=10)
    with pytest.raises(ThrottledError) as caught:
        call(fb_client)
    assert caught.value.code == code


def test_transient_500_is_retried_with_jittered_backoff(fb_client, control, sandbox_clock, sleeps):
    """A JSON 500 (code 2, is_transient) is retried with capped, jittered backoff until it succeeds."""
    control.add_fault("error_500", count=2)
    before = sandbox_clock.requests()
    assert fb_client.page_info().name == "Ville de Valrive"
    assert sandbox_clock.requests() - before == 3
    assert len(sleeps) == 2 and all(0 <= s <= 30 for s in sleeps)


def test_retries_stop_after_max_attempts(fb_client, control, sandbox_clock):
    """A lasting failure raises TransientError after the policy's attempts (4 requests)."""
    control.add_fault("error_500")
    before = sandbox_clock.requests()
    with pytest.raises(TransientError):
        fb_client.page_info()
    assert sandbox_clock.requests() - before == 4


def test_non_json_502_is_detected_and_retried(fb_client, control, sleeps):
    """An HTML 502 is not taken for a success: it is a transient error, retried."""
    control.add_fault("bad_gateway", count=1)
    assert fb_client.page_info().id == DEMO_PAGE_ID
    assert len(sleeps) == 1
    control.add_fault("bad_gateway")
    with pytest.raises(TransientError) as caught:
        fb_client.page_info()
    assert caught.value.http_status == 502


def test_bare_sdk_takes_an_html_502_for_a_success(sandbox, control):
    """Why the client hooks responses: the SDK alone returns an HTML 502 as a successful call."""
    session = FacebookSession(access_token=DEMO_PAGE_TOKEN)
    session.GRAPH = sandbox.url
    session.requests.trust_env = False
    api = FacebookAdsApi(session, api_version=GRAPH_API_VERSION)
    control.add_fault("bad_gateway", count=1)
    response = api.call("GET", (DEMO_PAGE_ID,))
    assert response.status() == 502 and "Bad Gateway" in response.body()


def test_read_timeout_is_retried(make_client, control, sleeps):
    """A read that times out is retried and succeeds when the sandbox answers in time."""
    client = make_client(timeout=0.3)
    control.add_fault("timeout", count=1, delay=0.8)
    assert client.page_info().id == DEMO_PAGE_ID
    assert len(sleeps) == 1


def test_create_timing_out_before_facebook_acts_raises_outcome_unknown(make_client, control):
    """A create that times out is not re-sent; if nothing was created, the caller must reconcile later."""
    client = make_client(timeout=0.3)
    control.add_fault("timeout", methods=["POST"], count=1, delay=0.8, when="before")
    with pytest.raises(OutcomeUnknownError):
        client.create_campaign(
            name="rayonne:late:campaign",
            objective="OUTCOME_AWARENESS",
            special_ad_categories=[],
            spend_cap_minor=1000,
        )
    assert control.requests()["by_endpoint"]["POST /{AdAccount}/campaigns"] == 1


def test_expired_token_is_an_auth_error_without_retry(fb_client, control, sandbox_clock):
    """Code 190/463 raises AuthError at once (no retry): the connection must be renewed."""
    control.add_fault("expired_token", target=DEMO_ADS_TOKEN)
    before = sandbox_clock.requests()
    with pytest.raises(AuthError) as caught:
        fb_client.account_info()
    assert (caught.value.code, caught.value.subcode) == (190, 463)
    assert sandbox_clock.requests() - before == 1
    assert fb_client.page_info().id == DEMO_PAGE_ID  # the Page token still works


def test_unknown_token_is_an_auth_error(make_client):
    """A token the server does not know gives 190 OAuthException."""
    with pytest.raises(AuthError) as caught:
        make_client(access_token="not-a-token", page_token="not-a-token").page_info()
    assert caught.value.code == 190


def test_registry_blocks_per_base_url_and_object():
    """The throttle registry is keyed by (base URL, object id) and blocks expire."""
    now = [0.0]
    registry = ThrottleRegistry(clock=lambda: now[0])
    registry.block(("http://a", "1"), 60)
    assert registry.remaining([("http://a", "1")]) == (("http://a", "1"), 60)
    assert registry.remaining([("http://b", "1"), ("http://a", "2")]) is None
    now[0] = 61
    assert registry.remaining([("http://a", "1")]) is None


def test_batch_is_chunked_at_50_operations(fb_client, control):
    """75 operations go out as two batch requests; answers come back aligned with the operations."""
    ops = [BatchRequest("GET", DEMO_PAGE_ID, {"fields": "id,name"}) for _ in range(75)]
    before = control.requests()
    answers = fb_client.batch(ops, token="page")
    after = control.requests()
    assert [a["name"] for a in answers] == ["Ville de Valrive"] * 75
    assert after["batch_requests"] - before["batch_requests"] == 2
    assert after["batch_ops"] - before["batch_ops"] == 75


def test_batch_null_entries_go_into_a_retry_batch(fb_client, control):
    """Operations Facebook did not run (null entries) are sent again in a retry batch."""
    control.add_fault("batch_null", count=3)
    ops = [BatchRequest("GET", DEMO_PAGE_ID, {"fields": "id"}) for _ in range(10)]
    before = control.requests()
    answers = fb_client.batch(ops, token="page")
    after = control.requests()
    assert all(a["id"] == DEMO_PAGE_ID for a in answers)
    assert after["batch_requests"] - before["batch_requests"] == 2
    assert after["batch_ops"] - before["batch_ops"] == 13


def test_batch_operation_errors_are_classified_one_by_one(fb_client):
    """A failing operation gets its own classified error while the others succeed."""
    ops = [BatchRequest("GET", DEMO_PAGE_ID), BatchRequest("GET", "987654321"), BatchRequest("GET", "search")]
    page, missing, search = fb_client.batch(ops, token="page")
    assert page["id"] == DEMO_PAGE_ID
    assert isinstance(missing, InvalidRequestError) and (missing.code, missing.subcode) == (100, 33)
    assert isinstance(search, InvalidRequestError)


def test_transient_operation_errors_in_a_batch_are_retried(fb_client, control, sleeps):
    """A GET operation failing transiently inside a batch is retried in the next batch."""
    control.add_fault("error_500", target=DEMO_PAGE_ID, count=1)
    answers = fb_client.batch([BatchRequest("GET", DEMO_PAGE_ID, {"fields": "id"})] * 3, token="page")
    assert [a["id"] for a in answers] == [DEMO_PAGE_ID] * 3
    assert len(sleeps) == 1


def test_long_throttle_inside_a_batch_is_not_retried(fb_client, control, sleeps):
    """An operation throttled for longer than the policy allows comes back as ThrottledError, unretried."""
    control.add_fault("throttle", target=DEMO_PAGE_ID, count=1, minutes=10)
    first, second = fb_client.batch([BatchRequest("GET", DEMO_PAGE_ID, {"fields": "id"})] * 2, token="page")
    assert isinstance(first, ThrottledError) and first.retry_after == 600
    assert second["id"] == DEMO_PAGE_ID
    assert sleeps == []
