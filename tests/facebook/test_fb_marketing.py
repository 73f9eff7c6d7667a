"""Marketing API objects through the SDK: the boost chain, its validations, status, review, reconciliation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from facebook_business.adobjects.ad import Ad
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adset import AdSet
from facebook_business.adobjects.campaign import Campaign
from facebook_business.adobjects.page import Page
from facebook_business.adobjects.pagepost import PagePost
from facebook_business.adobjects.user import User
from facebook_business.exceptions import FacebookRequestError

from facebook import (
    AccountInfo,
    AuthError,
    FacebookPermissionError,
    InvalidRequestError,
    OutcomeUnknownError,
    RetryPolicy,
    classify,
)
from facebook.sandbox import (
    DEMO_AD_ACCOUNT_ID,
    DEMO_ADS_TOKEN,
    DEMO_PAGE_ID,
    DEMO_PAGE_TOKEN,
    DEMO_USER_TOKEN,
)

TARGETING_FR = {
    "geo_locations": {"countries": ["FR"]},
    "age_min": 25,
    "age_max": 55,
    "targeting_automation": {"advantage_audience": 0},
}


def _campaign(fb_client, name="rayonne:test:campaign", **overrides):
    params = {
        "name": name,
        "objective": "OUTCOME_AWARENESS",
        "special_ad_categories": [],
        "spend_cap_minor": 50_000,
        **overrides,
    }
    return fb_client.create_campaign(**params)


def _adset(fb_client, campaign_id, sandbox_clock, name="rayonne:test:adset", **overrides):
    now = sandbox_clock.now()
    params = {
        "name": name,
        "campaign_id": campaign_id,
        "daily_budget_minor": 1000,
        "start_time": now,
        "end_time": now + timedelta(days=10),
        "optimization_goal": "REACH",
        "targeting": TARGETING_FR,
        "dsa_beneficiary": "Office de tourisme de Valrive",
        "dsa_payor": "Ville de Valrive",
        **overrides,
    }
    return fb_client.create_adset(**params)


def _raw_error(call) -> object:
    with pytest.raises(FacebookRequestError) as caught:
        call()
    return classify(caught.value)


def test_campaign_has_adset_budgets_and_a_spend_cap(fb_client):
    """A campaign is created paused, without budget, budget sharing off, with its spend cap."""
    campaign_id = _campaign(fb_client, spend_cap_minor=5000)
    node = Campaign(campaign_id, api=fb_client.ads_api).api_get(
        fields=[
            "status",
            "is_adset_budget_sharing_enabled",
            "daily_budget",
            "spend_cap",
            "special_ad_categories",
        ]
    )
    assert campaign_id.isdigit()
    assert node["status"] == "PAUSED"
    assert node["is_adset_budget_sharing_enabled"] is False
    assert "daily_budget" not in node
    assert node["spend_cap"] == "5000"  # minor units, read back as a string
    assert node["special_ad_categories"] == []


def test_campaign_without_special_ad_categories_is_refused(fb_client):
    """special_ad_categories is required on every campaign create."""
    account = AdAccount(DEMO_AD_ACCOUNT_ID, api=fb_client.ads_api)
    error = _raw_error(
        lambda: account.create_campaign(
            params={"name": "x", "objective": "OUTCOME_AWARENESS", "is_adset_budget_sharing_enabled": False}
        )
    )
    assert isinstance(error, InvalidRequestError) and error.code == 100
    assert error.blame_fields == ["special_ad_categories"]


def test_campaign_without_budget_needs_the_budget_sharing_flag(fb_client):
    """Without a campaign budget, is_adset_budget_sharing_enabled must be given."""
    account = AdAccount(DEMO_AD_ACCOUNT_ID, api=fb_client.ads_api)
    error = _raw_error(
        lambda: account.create_campaign(
            params={"name": "x", "objective": "OUTCOME_AWARENESS", "special_ad_categories": []}
        )
    )
    assert isinstance(error, InvalidRequestError)
    assert error.user_msg == "Must specify True or False in is_adset_budget_sharing_enabled field"


def test_special_category_needs_a_country(fb_client):
    """A special ad category requires special_ad_category_country."""
    with pytest.raises(InvalidRequestError):
        _campaign(fb_client, special_ad_categories=["HOUSING"])
    assert _campaign(
        fb_client, special_ad_categories=["HOUSING"], special_ad_category_country=["FR"]
    ).isdigit()


def test_legacy_objective_is_refused(fb_client):
    """Only OUTCOME_* objectives can create campaigns."""
    with pytest.raises(InvalidRequestError) as caught:
        _campaign(fb_client, objective="REACH")
    assert caught.value.subcode == 2490487 and caught.value.user_title == "Objective invalid"


def test_budget_on_campaign_and_adset_is_refused(fb_client, sandbox_clock):
    """A budget on both the campaign and the ad set is refused (subcode 1885621)."""
    account = AdAccount(DEMO_AD_ACCOUNT_ID, api=fb_client.ads_api)
    campaign = account.create_campaign(
        params={
            "name": "cbo",
            "objective": "OUTCOME_AWARENESS",
            "special_ad_categories": [],
            "daily_budget": 2000,
        }
    )
    with pytest.raises(InvalidRequestError) as caught:
        _adset(fb_client, campaign["id"], sandbox_clock)
    assert caught.value.subcode == 1885621


def test_budget_under_the_minimum_is_too_low(fb_client, sandbox_clock):
    """A daily budget under GET /act_x/minimum_budgets fails with 'Budget Is Too Low'."""
    assert fb_client.minimum_daily_budget_minor() == 100
    campaign_id = _campaign(fb_client)
    with pytest.raises(InvalidRequestError) as caught:
        _adset(fb_client, campaign_id, sandbox_clock, daily_budget_minor=50)
    assert caught.value.user_title == "Budget Is Too Low"
    assert "1.00 EUR" in caught.value.user_message


def test_advantage_audience_flag_is_required(fb_client, sandbox_clock):
    """Ad set targeting must set targeting_automation.advantage_audience (the client checks it first)."""
    campaign_id = _campaign(fb_client)
    targeting = {"geo_locations": {"countries": ["FR"]}}
    with pytest.raises(ValueError):
        _adset(fb_client, campaign_id, sandbox_clock, targeting=targeting)
    account = AdAccount(DEMO_AD_ACCOUNT_ID, api=fb_client.ads_api)
    error = _raw_error(
        lambda: account.create_ad_set(
            params={
                "name": "raw",
                "campaign_id": campaign_id,
                "daily_budget": 1000,
                "billing_event": "IMPRESSIONS",
                "optimization_goal": "REACH",
                "targeting": targeting,
                "dsa_beneficiary": "a",
                "dsa_payor": "b",
            }
        )
    )
    assert isinstance(error, InvalidRequestError) and error.user_title == "Advantage Audience Flag Required"


def test_eu_targeting_requires_dsa_beneficiary_and_payor(fb_client, sandbox_clock):
    """An EU-targeted ad set needs dsa_beneficiary and dsa_payor; a US-only one does not."""
    campaign_id = _campaign(fb_client)
    with pytest.raises(InvalidRequestError) as caught:
        _adset(fb_client, campaign_id, sandbox_clock, dsa_beneficiary=None, dsa_payor=None)
    assert caught.value.user_title == "No beneficiary or payer provided"
    us = {"geo_locations": {"countries": ["US"]}, "targeting_automation": {"advantage_audience": 1}}
    assert _adset(
        fb_client, campaign_id, sandbox_clock, name="us", targeting=us, dsa_beneficiary=None, dsa_payor=None
    )


def test_performance_goal_must_suit_the_objective(fb_client, sandbox_clock):
    """An optimization goal the objective does not offer fails with 2490408."""
    campaign_id = _campaign(fb_client)
    with pytest.raises(InvalidRequestError) as caught:
        _adset(fb_client, campaign_id, sandbox_clock, optimization_goal="LEAD_GENERATION")
    assert caught.value.subcode == 2490408 and caught.value.user_title == "Performance goal unavailable"


def test_budgets_are_checked_locally(fb_client, sandbox_clock):
    """Exactly one budget, and a lifetime budget needs an end time: checked before any HTTP request."""
    before = sandbox_clock.requests()
    with pytest.raises(ValueError):
        _adset(fb_client, "1", sandbox_clock, daily_budget_minor=1000, lifetime_budget_minor=5000)
    with pytest.raises(ValueError):
        _adset(
            fb_client, "1", sandbox_clock, daily_budget_minor=None, lifetime_budget_minor=5000, end_time=None
        )
    assert sandbox_clock.requests() == before


def test_neutral_ad_goes_through_review_then_runs(fb_client, boost, control):
    """An activated ad waits in PENDING_REVIEW, then turns ACTIVE with no rejection reason."""
    boosted = boost()
    assert fb_client.ad_review(boosted.ad_id).effective_status == "PENDING_REVIEW"
    control.advance(hours=2)
    review = fb_client.ad_review(boosted.ad_id)
    assert review.effective_status == "ACTIVE" and review.rejection_reasons == []


@pytest.mark.parametrize(
    "message",
    [
        "Votez pour le référendum sur le nouveau port",
        "Élections municipales : rencontrez les candidats",
        "Débat public sur l'immigration à Valrive",
        "Referendum local le 12 mars",
    ],
)
def test_electoral_or_social_issue_wording_is_disapproved(fb_client, boost, control, sandbox_clock, message):
    """Electoral or social-issue wording gets the ad DISAPPROVED with reasons; no spend; the post stays."""
    boosted = boost(message)
    control.advance(days=2)
    review = fb_client.ad_review(boosted.ad_id)
    assert review.effective_status == "DISAPPROVED"
    assert review.rejection_reasons and "Political or social issue ads" in review.rejection_reasons[0]
    today = sandbox_clock.today()
    assert fb_client.ad_insights_daily([boosted.ad_id], since=today - timedelta(days=3), until=today) == []
    assert boosted.post_id in [p["id"] for p in fb_client.list_posts()]


def test_pausing_the_adset_stops_spending(fb_client, boost, control, sandbox_clock):
    """Once the ad set is paused, the ad spends nothing more."""
    boosted = boost()
    control.advance(days=2)
    fb_client.set_status(boosted.adset_id, "PAUSED")
    assert fb_client.ad_review(boosted.ad_id).effective_status == "ADSET_PAUSED"
    spent = fb_client.account_info().amount_spent
    control.advance(days=3)
    assert spent > 0 and fb_client.account_info().amount_spent == spent


def test_budget_and_spend_cap_updates_read_back_as_strings(fb_client, boost):
    """Budget and spend-cap changes are stored in minor units and read back as strings."""
    boosted = boost(activate=False)
    fb_client.update_adset_budget(boosted.adset_id, daily_budget_minor=2500)
    fb_client.update_spend_cap(boosted.campaign_id, 7000)
    assert (
        AdSet(boosted.adset_id, api=fb_client.ads_api).api_get(fields=["daily_budget"])["daily_budget"]
        == "2500"
    )
    assert (
        Campaign(boosted.campaign_id, api=fb_client.ads_api).api_get(fields=["spend_cap"])["spend_cap"]
        == "7000"
    )
    with pytest.raises(InvalidRequestError):
        fb_client.update_adset_budget(boosted.adset_id, daily_budget_minor=10)


def test_spend_cap_cannot_go_below_what_was_spent(fb_client, boost, control):
    """Lowering a campaign's spend cap under its spend is refused."""
    boosted = boost()
    control.advance(days=3)
    with pytest.raises(InvalidRequestError) as caught:
        fb_client.update_spend_cap(boosted.campaign_id, 100)
    assert caught.value.user_title == "Spend cap too low"


def test_find_object_by_name_finds_live_objects_only(fb_client, boost, control):
    """find_object_by_name returns the object with that exact name, and no longer once it is deleted."""
    boosted = boost(activate=False)
    names = {c["id"]: c["name"] for c in control.state()["objects"]["campaigns"]}
    name = names[boosted.campaign_id]
    assert fb_client.find_object_by_name("campaign", name) == boosted.campaign_id
    assert fb_client.find_object_by_name("campaign", name + "x") is None
    ad_name = next(a["name"] for a in control.state()["objects"]["ads"] if a["id"] == boosted.ad_id)
    assert fb_client.find_object_by_name("ad", ad_name) == boosted.ad_id
    creative_name = ad_name.replace(":ad", ":adcreative")
    assert fb_client.find_object_by_name("adcreative", creative_name) == boosted.creative_id
    fb_client.set_status(boosted.campaign_id, "DELETED")
    assert fb_client.find_object_by_name("campaign", name) is None


def test_ad_created_then_crashed_is_reconciled_not_duplicated(fb_client, control, sandbox_clock):
    """An ad Facebook created but answered with a 500 is found by its Rayonne name: one ad only."""
    post_id = fb_client.publish_post(message="Randonnées d'automne")
    campaign_id = _campaign(fb_client)
    adset_id = _adset(fb_client, campaign_id, sandbox_clock)
    creative_id = fb_client.create_creative(name="rayonne:boost:77:adcreative", object_story_id=post_id)
    control.add_fault("crash_after_create", target=DEMO_AD_ACCOUNT_ID, count=1)
    ad_id = fb_client.create_ad(name="rayonne:boost:77:ad", adset_id=adset_id, creative_id=creative_id)
    ads = [a for a in control.state()["objects"]["ads"] if a["name"] == "rayonne:boost:77:ad"]
    assert [a["id"] for a in ads] == [ad_id]


def test_create_without_reconciliation_raises_for_the_caller(fb_client, control):
    """With reconcile=False a lost create raises OutcomeUnknownError and is not sent again."""
    control.add_fault("crash_after_create", count=1)
    with pytest.raises(OutcomeUnknownError):
        _campaign(fb_client, name="rayonne:once:campaign", reconcile=False)
    assert [c["name"] for c in control.state()["objects"]["campaigns"]] == ["rayonne:once:campaign"]


def test_create_whose_answer_times_out_is_reconciled(make_client, control):
    """A create whose answer never arrives in time is looked up by name instead of being sent twice."""
    client = make_client(timeout=0.3)
    control.add_fault("timeout", methods=["POST"], count=1, delay=0.8)
    campaign_id = _campaign(client, name="rayonne:slow:campaign")
    campaigns = control.state()["objects"]["campaigns"]
    assert [c["id"] for c in campaigns if c["name"] == "rayonne:slow:campaign"] == [campaign_id]
    assert control.requests()["by_endpoint"]["POST /{AdAccount}/campaigns"] == 1


def test_throttled_create_is_retried_because_nothing_happened(make_client, control, sleeps):
    """A create refused by throttling is retried after the regain time: Facebook had done nothing."""
    client = make_client(policy=RetryPolicy(max_delay=120, sleep=sleeps))
    control.add_fault("throttle", target=DEMO_AD_ACCOUNT_ID, count=1, minutes=1)
    campaign_id = _campaign(client, name="rayonne:throttled:campaign")
    assert [c["id"] for c in control.state()["objects"]["campaigns"]] == [campaign_id]
    assert sleeps == [60]


def test_account_info_and_targeting_search(fb_client, boost, control):
    """The ad account gives currency, cap and amount spent; searches use the built-in lists."""
    assert fb_client.account_info() == AccountInfo(currency="EUR", spend_cap=None, amount_spent=0)
    boost()
    control.advance(days=2)
    assert fb_client.account_info().amount_spent > 0
    interests = fb_client.search_interests("randonn") + fb_client.search_interests("Hiking")
    assert [i["name"] for i in interests] == ["Hiking"]
    [lyon] = fb_client.search_locations("Lyon")
    assert lyon["type"] == "city" and lyon["country_code"] == "FR" and lyon["key"].isdigit()
    assert {r["type"] for r in fb_client.search_locations("Bretagne", ["region"])} == {"region"}


def test_user_token_lists_its_pages_with_tasks(make_client):
    """GET /me/accounts with a user token lists each Page with its token and tasks."""
    client = make_client(access_token=DEMO_USER_TOKEN)
    [page] = client.pages_for_user()
    assert page["id"] == DEMO_PAGE_ID and page["access_token"] == DEMO_PAGE_TOKEN
    assert "CREATE_CONTENT" in page["tasks"] and "ADVERTISE" in page["tasks"]


def test_connection_check_says_what_works(fb_client, make_client):
    """The connection check reports what works, what does not in plain words, and raises on a dead token."""
    ok = fb_client.check_connection()
    assert ok.page_readable and ok.page_token_is_page and ok.ad_account_readable and ok.currency == "EUR"
    assert ok.problems == []
    wrong_page_token = make_client(page_token=DEMO_ADS_TOKEN).check_connection()
    assert wrong_page_token.page_readable and not wrong_page_token.page_token_is_page
    assert any("publication échouera" in p for p in wrong_page_token.problems)
    with pytest.raises(AuthError):  # the caller marks the connection "to reconnect"
        make_client(access_token="expired-or-wrong").check_connection()


def test_tokens_are_checked_against_their_objects(make_client):
    """A Page token cannot read the ad account (permission), and the ads token cannot post as the Page."""
    with pytest.raises(FacebookPermissionError):
        make_client(access_token=DEMO_PAGE_TOKEN).account_info()
    with pytest.raises(FacebookPermissionError) as caught:
        make_client(page_token=None).publish_post(message="Sans jeton de Page")
    assert caught.value.code == 200
    with pytest.raises(AuthError):
        make_client(access_token="nobody").account_info()


def test_every_remaining_edge_answers_through_the_sdk(fb_client, boost, control):
    """Campaign/ad set/ad edges, DSA recommendations, /me/adaccounts, post edits, edges and deletes work."""
    boosted = boost(activate=False)
    control.advance(days=1)
    campaign = Campaign(boosted.campaign_id, api=fb_client.ads_api)
    assert [a["id"] for a in campaign.get_ad_sets(fields=["name"])] == [boosted.adset_id]
    assert [a["id"] for a in campaign.get_ads(fields=["name"])] == [boosted.ad_id]
    adset = AdSet(boosted.adset_id, api=fb_client.ads_api)
    assert [a["id"] for a in adset.get_ads(fields=["name"])] == [boosted.ad_id]
    assert [c["id"] for c in adset.get_ad_creatives(fields=["name"])] == [boosted.creative_id]
    ad = Ad(boosted.ad_id, api=fb_client.ads_api)
    assert [c["id"] for c in ad.get_ad_creatives(fields=["object_story_id"])] == [boosted.creative_id]
    node = ad.api_get(params={"fields": "creative{effective_object_story_id}"}).export_all_data()
    assert node["creative"]["effective_object_story_id"] == boosted.post_id
    account = AdAccount(DEMO_AD_ACCOUNT_ID, api=fb_client.ads_api)
    assert list(account.get_dsa_recommendations())[0]["recommendations"]
    assert fb_client.find_object_by_name("adset", adset.api_get(fields=["name"])["name"]) == boosted.adset_id
    assert [a["id"] for a in User("me", api=fb_client.ads_api).get_ad_accounts()] == [DEMO_AD_ACCOUNT_ID]
    page = Page(DEMO_PAGE_ID, api=fb_client.page_api)
    assert [p["id"] for p in page.get_feed()] == [p["id"] for p in page.get_posts()] == [boosted.post_id]
    post = PagePost(boosted.post_id, api=fb_client.page_api)
    post.api_update(params={"message": "Message corrigé"})
    assert post.api_get(fields=["message"])["message"] == "Message corrigé"
    comments = post.get_comments(params={"summary": True})
    assert list(comments) == [] and comments.total() >= 0
    post.api_delete()
    assert fb_client.list_posts() == []
