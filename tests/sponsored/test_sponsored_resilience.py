"""Boost creation survives faults and crashes at every step: exactly one of each object, commitment once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import select

from core import clock as rayonne_clock
from facebook import FacebookClient, RetryPolicy, throttle_registry
from sponsored import services
from sponsored.models import BoostStatus, LedgerEntry, LedgerKind, TrackAdCampaign
from tests.sponsored.builders import MANAGER, boost_data, published_post

STEPS = ("campaign", "adset", "adcreative", "ad")
FAULTS = ("crash_after_create", "error_500", "timeout", "throttle", "rayonne_crash")
SANDBOX_KIND = {"campaign": "campaigns", "adset": "adsets", "adcreative": "creatives", "ad": "ads"}


class SimulatedCrash(Exception):
    """Rayonne's process dies between a Facebook answer and the commit that stores it."""


def _fault_spec(kind: str, account: str) -> dict:
    spec: dict = {"kind": kind, "target": account, "count": 1, "methods": ["POST"]}
    if kind == "timeout":
        spec.update(delay=1.0, when="after")  # carried out, but the answer comes after the client gave up
    if kind == "throttle":
        spec.update(minutes=1)
    return spec


def _stored(session, boost, step: str) -> bool:  # noqa: ANN001
    if step == "campaign":
        tac = session.exec(select(TrackAdCampaign).where(TrackAdCampaign.track_id == boost.track_id)).first()
        return bool(tac and tac.fb_campaign_id)
    return bool(getattr(boost, {"adset": "fb_adset_id", "adcreative": "fb_creative_id", "ad": "fb_ad_id"}[step]))


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("step", STEPS)
def test_creation_survives_a_fault_at_each_step(app, session, world, fb, graph_sandbox, ctx, step, fault) -> None:
    """Whatever fails at whichever step, a resumed creation ends with one campaign, ad set, creative and ad
    on Facebook, and one commitment in the ledger."""
    client = FacebookClient(replace(fb.connection, timeout=0.4),
                            RetryPolicy(max_attempts=3, base_delay=0, max_delay=1, sleep=lambda s: None))
    boost = services.request_boost(session=session, territory=world.territory,
                                   data=boost_data(published_post(app, session, world), budget=5_000),
                                   actor=MANAGER, can_approve=True, minimum_daily_minor=100)
    session.commit()
    previous = STEPS[STEPS.index(step) - 1] if step != "campaign" else None
    armed = {"fault": False, "crashed": False}

    def checkpoint() -> None:
        # Arm the fault just before the step (path filters cannot tell /ads from /adsets), or crash just
        # after the step's id is known and before it is committed.
        if fault == "rayonne_crash":
            if not armed["crashed"] and _stored(session, boost, step):
                armed["crashed"] = True
                raise SimulatedCrash(step)
        elif not armed["fault"] and (previous is None or _stored(session, boost, previous)) \
                and not _stored(session, boost, step):
            armed["fault"] = True
            graph_sandbox.control.add_fault(**_fault_spec(fault, world.fb["ad_account_id"]))
        session.commit()

    for _attempt in range(3):
        try:
            services.launch_boost(session=session, territory=world.territory, boost=boost, client=client,
                                  checkpoint=checkpoint)
        except SimulatedCrash:
            session.rollback()
            rayonne_clock.advance(services.CREATION_LEASE + timedelta(seconds=1))  # the dead process's lease expires
        throttle_registry.clear()  # the throttle's wait is over (real minutes in the registry)
        if boost.status != BoostStatus.CREATING:
            break
    assert boost.status == BoostStatus.ACTIVE, boost.last_error
    assert armed["fault"] or armed["crashed"]
    data = graph_sandbox.app.state.data
    for kind, stored in (("adsets", boost.fb_adset_id), ("creatives", boost.fb_creative_id), ("ads", boost.fb_ad_id)):
        mine = [o for o in data[kind].values() if o["name"].startswith(f"rayonne:boost:{boost.id}:")]
        assert [o["id"] for o in mine] == [stored], kind
    campaigns = [c for c in data["campaigns"].values() if c["name"].startswith("rayonne:track:")]
    assert [c["id"] for c in campaigns] == [session.exec(select(TrackAdCampaign)).one().fb_campaign_id]
    assert campaigns[0]["spend_cap"] == 40_000
    commitments = session.exec(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.COMMITMENT)).all()
    assert [(c.boost_id, c.amount_minor) for c in commitments] == [(boost.id, 5_000)]


def test_a_creation_in_progress_is_not_started_twice(app, session, world, fb, graph_sandbox, ctx) -> None:
    """While one process creates a boost, another (the resume job, a second click) keeps off until the
    first finishes or its lease expires."""
    boost = services.request_boost(session=session, territory=world.territory,
                                   data=boost_data(published_post(app, session, world)), actor=MANAGER,
                                   can_approve=True, minimum_daily_minor=100)
    session.commit()
    assert services._claim_creation(session, boost)  # another process is at work
    session.commit()
    services.launch_boost(session=session, territory=world.territory, boost=boost, client=fb,
                          checkpoint=session.commit)
    assert boost.status == BoostStatus.CREATING and graph_sandbox.app.state.data["adsets"] == {}
    rayonne_clock.advance(services.CREATION_LEASE + timedelta(seconds=1))
    services.launch_boost(session=session, territory=world.territory, boost=boost, client=fb,
                          checkpoint=session.commit)
    assert boost.status == BoostStatus.ACTIVE and boost.creation_attempts == 2
