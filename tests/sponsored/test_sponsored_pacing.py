"""Pacing over simulated weeks: spend never exceeds what was approved, alerts once per threshold, a boost
that would overspend is paused, and the reallocation advice is explained and applied in one approval."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from accounts.models import Role
from campaigns.models import Post
from core import clock as rayonne_clock
from core.db import ALL, scoped
from core.mail import MailMessage
from reports.models import AdDailyMetric
from sponsored import pacing, services
from sponsored.models import AlertKind, BoostStatus, LedgerEntry, LedgerKind, PacingAlert
from tests.conftest import make_user
from tests.sponsored.builders import MANAGER, advance, boost_data, build_world, client, published_post


def _launch(session, world, fb, post, **kw):  # noqa: ANN001, ANN202, ANN003
    boost = services.request_boost(session=session, territory=world.territory, data=boost_data(post, **kw),
                                   actor=MANAGER, can_approve=True, minimum_daily_minor=100)
    session.commit()
    return services.launch_boost(session=session, territory=world.territory, boost=boost, client=fb,
                                 checkpoint=session.commit)


@pytest.mark.parametrize("job_running", [True, False], ids=["pacing-job-running", "pacing-job-stopped"])
def test_spend_never_exceeds_the_approved_amount(app, session, graph_sandbox, clock, job_running) -> None:
    """Across four weeks of simulated delivery, Facebook's spend stays within each track's allocation and
    the approved budget, whether or not the pacing job runs (the spend caps hold)."""
    from scheduler.runner import run_job

    world = build_world(app, session, graph_sandbox, approved=60_000,
                        allocations={"tourists": 30_000, "investors": 30_000})
    make_user(session, "manager@valrive.test", world.territory, role=Role.MANAGER)
    fb = client(app, session, world.territory)
    with app.app_context(), scoped(session, world.territory.id):
        daily = _launch(session, world, fb, published_post(app, session, world), budget=1_500, kind="daily", days=20)
        lifetime = _launch(session, world, fb, published_post(app, session, world, track="investors",
                                                              message="12 hectares au parc des Saules"),
                           budget=30_000, kind="lifetime", days=14)
        assert daily.status == lifetime.status == BoostStatus.ACTIVE
        # Someone raises the daily budget in Ads Manager, behind Rayonne's back: only the cap can stop it.
        fb.update_adset_budget(daily.fb_adset_id, daily_budget_minor=4_000)
    for _day in range(28):
        advance(graph_sandbox, days=1)
        if job_running:
            with app.app_context():
                run = run_job("sponsored.check_pacing")
            assert run.outcome == "ok", run.detail
    state = graph_sandbox.control.state()
    spent_on_facebook = {c["name"]: c["spent"] for c in state["objects"]["campaigns"]}
    caps = {c["name"]: c["spend_cap"] for c in state["objects"]["campaigns"]}
    assert all(spent_on_facebook[name] <= caps[name] == 30_000 for name in caps)
    tourists = f"rayonne:track:{world.tracks['tourists'].id}:campaign"
    if not job_running:
        assert spent_on_facebook[tourists] >= 29_990  # the cap, not the budget, stopped the spending
    else:  # the pacing job saw the boost run far ahead of plan and paused it long before the cap
        assert spent_on_facebook[tourists] < 10_000
    account = next(a for a in state["ad_accounts"] if a["id"] == world.fb["ad_account_id"])
    assert 0 < account["amount_spent"] <= 60_000
    with app.app_context(), scoped(session, world.territory.id):
        session.expire_all()
        if not job_running:  # Rayonne catches up when it comes back
            pacing.check_territory(session=session, territory=world.territory, client=fb, commit=False)
        balance = services.campaign_balance(session=session, campaign_id=world.campaign.id)
        insights = fb.ad_insights_daily([daily.fb_ad_id, lifetime.fb_ad_id], since=daily.starts_at.date(),
                                        until=rayonne_clock.now().date())
        # Ads Insights report each day floored to the cent: the ledger holds exactly those figures.
        assert balance.spent_minor == sum(day.spend_minor for day in insights) <= account["amount_spent"]
        assert balance.committed_minor == 0  # both boosts ended: what they did not spend was released
        assert balance.remaining_minor == 60_000 - balance.spent_minor >= 0
        statuses = {b.status for b in services.list_boosts(session=session)}
        assert statuses <= {BoostStatus.COMPLETED, BoostStatus.PAUSED}
        paused = [a for a in session.exec(select(PacingAlert)) if a.kind == AlertKind.PAUSED]
        assert [a.boost_id for a in paused] == ([daily.id] if job_running else [])


def test_allocation_alerts_fire_once_per_threshold(app, session, world, fb, graph_sandbox, ctx) -> None:
    """80 % and 100 % of an allocation each raise one alert and one e-mail to the managers, not more."""
    make_user(session, "manager@valrive.test", world.territory, role=Role.MANAGER)
    post = published_post(app, session, world)
    boost = services.request_boost(session=session, territory=world.territory, data=boost_data(post, budget=40_000),
                                   actor=MANAGER, can_approve=True, minimum_daily_minor=100)
    day = rayonne_clock.now().date()
    for spent, expected in ((30_000, set()), (32_000, {AlertKind.ALLOCATION_80}),
                            (40_000, {AlertKind.ALLOCATION_80, AlertKind.ALLOCATION_100})):
        services.record_spend(session=session, boost=boost, day=day, spend_minor=spent)
        for _run in range(2):
            pacing.check_territory(session=session, territory=world.territory, client=None, commit=False)
        alerts = session.exec(select(PacingAlert)).all()
        assert {a.kind for a in alerts} == expected
    mails = session.exec(select(MailMessage).where(MailMessage.to_addr == "manager@valrive.test")).all()
    assert len(mails) == 2 and all("budget" in m.subject for m in mails)
    pacing.acknowledge_alert(session=session, territory=world.territory, alert=alerts[0], actor=MANAGER)
    assert len(pacing.open_alerts(session=session)) == 1


def test_boost_that_would_overspend_is_paused(app, session, graph_sandbox, clock) -> None:
    """A daily boost spending far ahead of plan, with nothing left beyond its commitment, is paused and alerted."""
    world = build_world(app, session, graph_sandbox, allocations={"tourists": 10_000})
    fb = client(app, session, world.territory)
    with app.app_context(), scoped(session, world.territory.id):
        boost = _launch(session, world, fb, published_post(app, session, world), budget=1_000, kind="daily",
                        days=10)
        rayonne_clock.advance(timedelta(hours=36))
        services.record_spend(session=session, boost=boost, day=rayonne_clock.now().date(), spend_minor=2_400)
        status = pacing.boost_pacing(session=session, boost=boost)
        assert status.status == pacing.PaceStatus.OVER and status.ratio == pytest.approx(1.6)
        run = pacing.check_territory(session=session, territory=world.territory, client=fb, commit=False)
        assert run.paused == 1
        assert boost.status == BoostStatus.PAUSED and boost.paused_by_pacing
        assert graph_sandbox.app.state.data["adsets"][boost.fb_adset_id]["status"] == "PAUSED"
        kinds = {a.kind for a in pacing.open_alerts(session=session)}
        assert {AlertKind.PAUSED, AlertKind.PACING_HIGH} <= kinds


def test_on_plan_boost_is_left_alone(app, session, world, fb, graph_sandbox, ctx) -> None:
    """A lifetime boost delivering on plan is on plan, projected within its budget, and keeps running."""
    boost = _launch(session, world, fb, published_post(app, session, world), budget=7_000, days=7)
    for _day in range(3):
        advance(graph_sandbox, days=1)
        run = pacing.check_territory(session=session, territory=world.territory, client=fb, commit=False)
    assert run.paused == 0 and boost.status == BoostStatus.ACTIVE and boost.review_status == "ACTIVE"
    status = pacing.boost_pacing(session=session, boost=boost)
    assert status.status == pacing.PaceStatus.ON_PLAN and status.projected_minor <= 7_000
    [track] = [t for t in pacing.track_pacing(session=session, campaign=world.campaign)
               if t.balance.track.id == world.tracks["tourists"].id]
    assert track.pacing.status == pacing.PaceStatus.ON_PLAN and track.balance.spent_minor == status.spent_minor


def test_reallocation_advice_explains_and_applies(app, session, world, fb, graph_sandbox, ctx) -> None:
    """Cost per result and diminishing returns recommend moving money to the better track; applying it is
    one approval that writes the allocation lines and moves both spend caps."""
    services.allocate(session=session, territory=world.territory, campaign=world.campaign,
                      track=world.tracks["investors"], amount_minor=40_000, actor=MANAGER, reason="Départ")
    tourists = _launch(session, world, fb, published_post(app, session, world), budget=7_000, days=7)
    investors = _launch(session, world, fb, published_post(app, session, world, track="investors", message="Foncier"),
                        budget=7_000, days=7)
    day = rayonne_clock.now().date()
    for n in range(7):  # tourists: 50 clicks a day worth 2 €; investors: 2 visits a day worth 15 €
        session.add(AdDailyMetric(territory_id=world.territory.id, boost_id=tourists.id, day=day - timedelta(days=n),
                                  spend_minor=1_000, results=50))
        session.add(AdDailyMetric(territory_id=world.territory.id, boost_id=investors.id,
                                  day=day - timedelta(days=n), spend_minor=1_000, results=2))
    session.flush()
    [advice] = pacing.reallocation_advice(session=session, campaign=world.campaign)
    assert advice.from_perf.track.id == world.tracks["investors"].id
    assert advice.to_perf.track.id == world.tracks["tourists"].id
    assert advice.amount_minor == 16_500 // 100 * 100  # half of the investors' 33 000 not yet reserved
    assert "hypothèse" in advice.explanation and "par résultat" in advice.explanation
    services.reallocate(session=session, territory=world.territory, campaign=world.campaign,
                        from_track=advice.from_perf.track, to_track=advice.to_perf.track,
                        amount_minor=advice.amount_minor, actor=MANAGER, reason="Conseil appliqué", client=fb)
    caps = {c["name"]: c["spend_cap"] for c in graph_sandbox.control.state()["objects"]["campaigns"]}
    assert caps[f"rayonne:track:{world.tracks['tourists'].id}:campaign"] == 40_000 + 16_500
    assert caps[f"rayonne:track:{world.tracks['investors'].id}:campaign"] == 40_000 - 16_500
    lines = session.exec(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.ALLOCATION)
                         .order_by(LedgerEntry.id)).all()
    assert [line.amount_minor for line in lines][-2:] == [-16_500, 16_500]


def test_spend_from_daily_facts_is_recorded_once(app, session, world, ctx) -> None:
    """Spend read from the reports' daily facts lands in the ledger once, however often it is read."""
    post = session.exec(select(Post)).first() or published_post(app, session, world)
    boost = services.request_boost(session=session, territory=world.territory, data=boost_data(post),
                                   actor=MANAGER, can_approve=True, minimum_daily_minor=100)
    session.add(AdDailyMetric(territory_id=world.territory.id, boost_id=boost.id, day=rayonne_clock.now().date(),
                              spend_minor=1_234))
    session.flush()
    assert services.record_spend_from_metrics(session=session) == 1_234
    assert services.record_spend_from_metrics(session=session) == 0
    with scoped(session, ALL):
        assert services.boost_spent(session=session, boost=boost) == 1_234


def test_expired_token_stops_facebook_work_but_not_alerts(app, session, world, fb, graph_sandbox, ctx) -> None:
    """When Facebook says the token expired, the connection is marked to reconnect and the run goes on
    from the ledger alone."""
    from accounts.connection import get_connection
    from accounts.models import ConnectionStatus

    boost = _launch(session, world, fb, published_post(app, session, world), budget=7_000, days=7)
    services.record_spend(session=session, boost=boost, day=rayonne_clock.now().date(), spend_minor=35_000)
    session.commit()  # as an earlier run would have: the failed Facebook step only rolls back its own work
    graph_sandbox.control.add_fault("expired_token", target=world.fb["ad_account_id"])
    run = pacing.check_territory(session=session, territory=world.territory, client=fb, commit=False)
    assert run.errors >= 1
    assert get_connection(session=session).status == ConnectionStatus.TO_RECONNECT
    assert {a.kind for a in pacing.open_alerts(session=session)} == {AlertKind.ALLOCATION_80}


def test_budget_alert_mail_is_in_each_managers_language(app, session, world, ctx) -> None:  # noqa: ANN001
    """Each manager gets the budget alert e-mail in their own language, whoever or whatever raised it."""
    import email
    from email import policy

    jane = make_user(session, "jane@valrive.test", world.territory, role=Role.MANAGER)
    jane.locale = "en"
    session.add(jane)
    make_user(session, "manager@valrive.test", world.territory, role=Role.MANAGER)
    pacing.raise_alert(session=session, territory=world.territory, key="test-80", kind=AlertKind.ALLOCATION_80,
                       message="Piste Touristes : 80 % dépensés", campaign_id=world.campaign.id)
    mails = {m.to_addr: m for m in session.exec(select(MailMessage).where(MailMessage.kind == "alert"))}

    def body(mail: MailMessage) -> str:
        return email.message_from_bytes(mail.raw, policy=policy.default).get_body(("plain",)).get_content()

    english, french = mails["jane@valrive.test"], mails["manager@valrive.test"]
    assert english.subject.endswith("budget: allocation 80% spent")
    assert "Hello," in body(english) and "The spending cap set on Facebook remains the limit" in body(english)
    assert "Bonjour" not in body(english) and "plafond de dépense" not in body(english)
    assert french.subject.endswith(": allocation dépensée à 80 %") and "Bonjour," in body(french)
