"""Boosting a published post: refusals with reasons, the Facebook objects, approval, review, steering."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlmodel import select

from accounts.models import Territory
from campaigns.models import ElectedOfficial, Post, PostStatus
from core import clock as rayonne_clock
from core.db import ALL, scoped
from sponsored import services
from sponsored.models import Boost, BoostStatus, LedgerEntry, LedgerKind, TrackAdCampaign
from targets.models import SpecialAdCategory
from tests.sponsored.builders import EDITOR, MANAGER, advance, boost_data, published_post


def _objects(sandbox, kind: str) -> list[dict]:  # noqa: ANN001
    return [o for o in sandbox.app.state.data[kind].values() if str(o.get("name", "")).startswith("rayonne:")]


def _launch(session, world, boost, fb):  # noqa: ANN001, ANN202
    return services.launch_boost(session=session, territory=world.territory, boost=boost, client=fb,
                                 checkpoint=session.commit)


def _request(session, world, post, **kw):  # noqa: ANN001, ANN202, ANN003
    can_approve = kw.pop("can_approve", True)
    actor = kw.pop("actor", MANAGER)
    return services.request_boost(session=session, territory=world.territory, data=boost_data(post, **kw),
                                  actor=actor, can_approve=can_approve, minimum_daily_minor=100)


def test_boost_creates_one_campaign_per_track_and_one_ad_per_boost(app, session, world, fb, graph_sandbox,
                                                                    ctx) -> None:
    """A boost reserves its budget, then Facebook gets the track's campaign (spend cap = allocation) and one
    ad set + creative (the post itself) + ad; a second boost of the track reuses the campaign."""
    post = published_post(app, session, world)
    boost = _request(session, world, post, budget=5_000)
    session.commit()
    assert boost.status == BoostStatus.CREATING
    _launch(session, world, boost, fb)
    assert boost.status == BoostStatus.ACTIVE and boost.review_status == "PENDING_REVIEW"
    [campaign] = _objects(graph_sandbox, "campaigns")
    assert campaign["spend_cap"] == 40_000 and campaign["special_ad_categories"] == []
    assert campaign["objective"] == "OUTCOME_TRAFFIC"  # tourists count link clicks
    [adset] = _objects(graph_sandbox, "adsets")
    assert adset["name"] == f"rayonne:boost:{boost.id}:adset" and adset["lifetime_budget"] == 5_000
    assert adset["targeting"]["targeting_automation"] == {"advantage_audience": 0}
    assert adset["targeting"]["geo_locations"]["countries"] == ["FR", "BE", "NL", "DE"]
    assert adset["optimization_goal"] == "LINK_CLICKS"
    assert (adset["dsa_beneficiary"], adset["dsa_payor"]) == ("Ville de Valrive", "Ville de Valrive")
    [creative] = _objects(graph_sandbox, "creatives")
    assert creative["object_story_id"] == post.fb_post_id
    [commitment] = session.exec(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.COMMITMENT)).all()
    assert commitment.amount_minor == 5_000 and commitment.boost_id == boost.id
    second = _request(session, world, published_post(app, session, world, message="Le marché couvert"),
                      budget=700, kind="daily", days=10)
    session.commit()
    _launch(session, world, second, fb)
    assert len(_objects(graph_sandbox, "campaigns")) == 1 and len(_objects(graph_sandbox, "ads")) == 2
    assert services.track_balance(session=session, track=world.tracks["tourists"]).committed_minor == 12_000


def test_photo_post_is_boosted_like_any_post(app, session, world, fb, graph_sandbox, ctx) -> None:
    """A photo post is boosted through its post id (object_story_id) and its link clicks count as results."""
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 630), (30, 120, 90)).save(buffer, "PNG")
    post = published_post(app, session, world, photo=buffer.getvalue())
    boost = _request(session, world, post, budget=5_000)
    session.commit()
    _launch(session, world, boost, fb)
    assert boost.status == BoostStatus.ACTIVE
    [creative] = _objects(graph_sandbox, "creatives")
    assert creative["object_story_id"] == post.fb_post_id
    start = rayonne_clock.now().date()
    advance(graph_sandbox, days=2)
    days = fb.ad_insights_daily([boost.fb_ad_id], since=start, until=start + timedelta(days=1))
    assert sum(d.spend_minor for d in days) > 0 and sum(d.link_clicks for d in days) > 0


def test_refusals_say_why(app, session, world, ctx) -> None:
    """Over the track's remaining allocation, under Facebook's minimum, without DSA, or unpublished: refused."""
    post = published_post(app, session, world)
    with pytest.raises(services.BoostRefused) as caught:
        _request(session, world, post, budget=40_001)
    assert "Budget insuffisant" in caught.value.message and "400,00" in caught.value.message
    with pytest.raises(services.BoostRefused) as caught:
        _request(session, world, post, budget=99, kind="daily")
    assert "Budget trop bas" in caught.value.message
    with pytest.raises(services.BoostRefused) as caught:
        _request(session, world, post, budget=600, kind="lifetime", days=7)  # 1 € a day at least
    assert "7 jours" in caught.value.message
    world.campaign.dsa_payor = ""
    with pytest.raises(services.BoostRefused) as caught:
        _request(session, world, post)
    assert "DSA" in caught.value.message
    world.campaign.dsa_payor = "Ville de Valrive"
    draft = Post(territory_id=world.territory.id, track_id=world.tracks["tourists"].id, message="x",
                 status=PostStatus.APPROVED)
    session.add(draft)
    session.flush()
    with pytest.raises(services.BoostRefused):
        _request(session, world, draft)
    assert session.exec(select(Boost)).all() == []


def test_boost_above_threshold_waits_for_a_manager(app, session, world, fb, graph_sandbox, ctx) -> None:
    """An editor's boost above the threshold is pending, nothing is sent; a manager's approval creates it."""
    world.territory.boost_approval_threshold_minor = 10_000
    post = published_post(app, session, world)
    boost = _request(session, world, post, budget=20_000, can_approve=False, actor=EDITOR)
    session.commit()
    assert boost.status == BoostStatus.PENDING_APPROVAL and _objects(graph_sandbox, "adsets") == []
    assert services.track_balance(session=session, track=world.tracks["tourists"]).committed_minor == 20_000
    services.approve_boost(session=session, territory=world.territory, boost=boost, actor=MANAGER)
    session.commit()
    _launch(session, world, boost, fb)
    assert boost.status == BoostStatus.ACTIVE and boost.approved_by_label == MANAGER.label
    declined = _request(session, world, published_post(app, session, world, message="Autre"), budget=15_000,
                        can_approve=False, actor=EDITOR)
    services.decline_boost(session=session, territory=world.territory, boost=declined, actor=MANAGER,
                           reason="Pas prioritaire")
    assert declined.status == BoostStatus.DECLINED
    assert services.boost_open_commitment(session=session, boost=declined) == 0
    small = _request(session, world, published_post(app, session, world, message="Petit"), budget=1_000,
                     can_approve=False, actor=EDITOR)
    assert small.status == BoostStatus.CREATING and "seuil" in small.approved_by_label


def test_guardrails_warn_and_block(app, session, world, ctx) -> None:
    """Naming an elected official or social-issue wording needs acknowledgement; a pre-electoral period blocks."""
    session.add(ElectedOfficial(territory_id=world.territory.id, name="Paul Verdier", office="Maire"))
    session.flush()
    post = published_post(app, session, world, message="Paul Verdier inaugure le tramway ; débat sur l'immigration.")
    with pytest.raises(services.WarningsToAcknowledge) as caught:
        _request(session, world, post)
    assert any("Paul Verdier" in w for w in caught.value.warnings)
    assert any("immigration" in w for w in caught.value.warnings)
    boost = _request(session, world, post, acknowledge_warnings=True)
    assert len(boost.compliance_warnings) == 2
    world.territory.election_date = rayonne_clock.now().date() + timedelta(days=60)
    session.add(world.territory)
    session.flush()
    with pytest.raises(services.BoostRefused) as caught:
        _request(session, world, published_post(app, session, world, message="Le marché"))
    assert "préélectorale" in caught.value.message


def test_housing_offer_is_warned_and_housing_audience_restricts_targeting(app, session, world, fb,
                                                                          graph_sandbox, ctx) -> None:
    """A housing offer is warned; a HOUSING audience gets the special category and no age targeting."""
    residents = world.audiences["residents"]
    services.allocate(session=session, territory=world.territory, campaign=world.campaign,
                      track=world.tracks["residents"], amount_minor=20_000, actor=MANAGER, reason="Logement")
    post = published_post(app, session, world, track="residents", message="Appartements T3 à louer près du tram.")
    with pytest.raises(services.WarningsToAcknowledge) as caught:
        _request(session, world, post)
    assert any("logement" in w.lower() for w in caught.value.warnings)
    residents.special_ad_category = SpecialAdCategory.HOUSING
    residents.targeting = {**residents.targeting, "cities": [{"key": "2420045", "radius": 5}]}
    session.add(residents)
    boost = _request(session, world, post, acknowledge_warnings=True)
    session.commit()
    _launch(session, world, boost, fb)
    [campaign] = _objects(graph_sandbox, "campaigns")
    assert campaign["special_ad_categories"] == ["HOUSING"]
    [adset] = _objects(graph_sandbox, "adsets")
    assert "age_min" not in adset["targeting"]
    assert adset["targeting"]["geo_locations"]["cities"][0]["radius"] == 15


def test_rejected_ad_releases_its_commitment_and_keeps_the_post(app, session, world, fb, graph_sandbox,
                                                                ctx) -> None:
    """Facebook's refusal is recorded with its reason, the commitment released, the post stays published."""
    post = published_post(app, session, world, message="Votez pour le nouveau tramway aux élections !")
    boost = _request(session, world, post, acknowledge_warnings=True)
    session.commit()
    _launch(session, world, boost, fb)
    advance(graph_sandbox, hours=2)
    services.refresh_boost(session=session, territory=world.territory, boost=boost, client=fb)
    assert boost.status == BoostStatus.REJECTED
    assert "Union européenne" in boost.rejection_reason
    assert services.boost_open_commitment(session=session, boost=boost) == 0
    assert session.get(Post, post.id).status == PostStatus.PUBLISHED
    assert graph_sandbox.app.state.data["posts"][post.fb_post_id]["is_published"]


def test_pause_resume_budget_and_stop(app, session, world, fb, graph_sandbox, ctx) -> None:
    """Pause, resume, change budget and stop act on Facebook; the commitment follows and is released."""
    boost = _request(session, world, published_post(app, session, world), budget=1_000, kind="daily", days=10)
    session.commit()
    _launch(session, world, boost, fb)
    adsets = graph_sandbox.app.state.data["adsets"]
    services.pause_boost(session=session, territory=world.territory, boost=boost, client=fb, actor=EDITOR)
    assert adsets[boost.fb_adset_id]["status"] == "PAUSED" and boost.status == BoostStatus.PAUSED
    services.resume_boost(session=session, territory=world.territory, boost=boost, client=fb, actor=EDITOR)
    assert adsets[boost.fb_adset_id]["status"] == "ACTIVE"
    services.change_boost_budget(session=session, territory=world.territory, boost=boost, budget_minor=1_500,
                                 actor=EDITOR, can_approve=False, client=fb, minimum_daily_minor=100)
    assert adsets[boost.fb_adset_id]["daily_budget"] == 1_500
    assert services.boost_open_commitment(session=session, boost=boost) == 15_000
    with pytest.raises(services.BoostRefused):
        services.change_boost_budget(session=session, territory=world.territory, boost=boost, budget_minor=5_000,
                                     actor=EDITOR, can_approve=False, client=fb, minimum_daily_minor=100)
    advance(graph_sandbox, days=2)
    services.stop_boost(session=session, territory=world.territory, boost=boost, client=fb, actor=EDITOR,
                        reason="Fin anticipée")
    assert adsets[boost.fb_adset_id]["status"] == "ARCHIVED" and boost.status == BoostStatus.STOPPED
    spent = services.boost_spent(session=session, boost=boost)
    assert spent > 0
    assert services.boost_open_commitment(session=session, boost=boost) == 0
    balance = services.track_balance(session=session, track=world.tracks["tourists"])
    assert (balance.committed_minor, balance.spent_minor) == (0, spent)


def test_allocation_change_moves_the_spend_cap(app, session, world, fb, graph_sandbox, ctx) -> None:
    """When a track's allocation changes, its Facebook campaign's spend cap follows."""
    boost = _request(session, world, published_post(app, session, world))
    session.commit()
    _launch(session, world, boost, fb)
    services.reallocate(session=session, territory=world.territory, campaign=world.campaign,
                        from_track=world.tracks["tourists"], to_track=world.tracks["investors"], amount_minor=10_000,
                        actor=MANAGER, reason="Réallocation", client=fb)
    [campaign] = _objects(graph_sandbox, "campaigns")
    assert campaign["spend_cap"] == 30_000
    tac = session.exec(select(TrackAdCampaign)).one()
    assert tac.spend_cap_minor == 30_000
    lines = session.exec(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.ALLOCATION)
                         .order_by(LedgerEntry.id)).all()
    assert [line.amount_minor for line in lines][-2:] == [-10_000, 10_000]


def test_external_link_approves_a_pending_boost(app, session, world, fb, graph_sandbox) -> None:
    """An approval link decides a pending boost; the resume job then creates it on Facebook."""
    from campaigns import approvals
    from sponsored.jobs import resume_boosts

    with app.test_request_context(), scoped(session, world.territory.id):
        world.territory.boost_approval_threshold_minor = 1_000
        boost = _request(session, world, published_post(app, session, world), budget=5_000, can_approve=False,
                         actor=EDITOR)
        approval, token = approvals.create_link(
            session=session, territory=world.territory, object_type="boost", object_id=boost.id,
            recipient_name="Claire Dumont", recipient_email="claire@valrive.test", actor=MANAGER, days=7)
        session.commit()
        approvals.decide(session=session, token=token, decision="approve", comment="D'accord")
        session.commit()
        assert boost.status == BoostStatus.CREATING and "Claire Dumont" in boost.approved_by_label
    with app.app_context(), scoped(session, ALL):
        summary = resume_boosts(session=session)
    assert "1 sponsorisation" in summary
    session.expire_all()
    with scoped(session, world.territory.id):
        assert session.get(Boost, boost.id).status == BoostStatus.ACTIVE
    assert session.get(Territory, world.territory.id) is not None
