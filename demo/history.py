"""A year of history for the demo territory, generated THROUGH the Graph API sandbox.

How (and why this way): the sandbox's clock only moves forward, so a past year can only be simulated
from a sandbox world whose clock starts a year ago. The history step therefore runs an **in-process**
`SandboxServer` on a free loopback port, on the same state file as the demo's sandbox
(`SANDBOX_STATE_PATH`), *before* `make run` starts the sandbox subprocess; the subprocess then loads
that state and goes on in real time. Day by day, from a year ago to now, it:

1. publishes the day's posts of each track of six successive campaigns (through the client, as the
   publishing job would) and boosts one in three with the sandbox's bulk `seed_boosts` (one request per
   boost instead of seven), recording the posts, boosts and ledger lines in Rayonne;
2. moves the sandbox clock one day (delivery, spend, organic accrual and follower growth are simulated);
3. every third day, runs the real insights synchronisation (`reports.sync.sync_territory`) at that
   simulated date (it re-reads the last three days on every run, so nothing is skipped).

Idempotent: a territory whose history exists (its campaigns named "… (historique)") is left alone.
If the state file already has a later clock (an older demo) it is moved aside to `*.before-history`
and a fresh world is built: the demo's Facebook side is disposable. Takes some tens of seconds.
"""

from __future__ import annotations

import logging
import os
import random
import time as _time
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlmodel import Session, select

from accounts.models import Territory
from campaigns.models import Campaign, ContentTrack, Objective, Post, PostStatus
from core.db import scoped
from reports import sync
from sponsored import pacing
from sponsored.models import Boost, BoostStatus, BudgetKind, LedgerEntry, LedgerKind
from targets.models import Audience

logger = logging.getLogger(__name__)

HISTORY_SUFFIX = " (historique)"
DAYS = 365
BOOST_DAYS = 7
# The synchronisation re-reads its last 3 days on every run, so syncing every third simulated day loses
# nothing and keeps the year to a few tens of seconds.
SYNC_EVERY = 3
CAMPAIGNS = (
    ("Hiver au bord de la Rive", "Marchés de Noël, patinoire, lumières sur les quais."),
    ("Le parc d'activités des Saules", "12 hectares viabilisés, la fibre et la gare TGV à 18 minutes."),
    ("Printemps des familles", "Écoles, crèches, loyers : s'installer à Valrive."),
    ("Été sur les berges", "Baignade, vélo, guinguettes : l'été sans voiture."),
    ("Rentrée étudiante", "Le campus, les logements, les transports."),
    ("Automne gourmand", "Vendanges, halles, restaurants du centre."),
)
MESSAGES = {
    "investors": "{theme} Rencontrez l'équipe de l'agglomération pour votre projet.",
    "tourists": "{theme} Idées de sortie pour le week-end à Valrive.",
    "residents": "{theme} Tout ce qui change pour les Valrivains.",
}
SHARES = {"investors": 4000, "tourists": 3500, "residents": 2500}
TARGETING = {
    "investors": {"geo_locations": {"countries": ["FR"]}, "age_min": 30, "age_max": 60,
                  "targeting_automation": {"advantage_audience": 0}},
    "tourists": {"geo_locations": {"countries": ["FR", "BE", "CH"]}, "age_min": 25, "age_max": 65,
                 "targeting_automation": {"advantage_audience": 0}},
    "residents": {"geo_locations": {"countries": ["FR"]}, "age_min": 25, "age_max": 45,
                  "targeting_automation": {"advantage_audience": 0}},
}


def has_history(session: Session) -> bool:
    """True when the (scoped) territory already has its demo history."""
    return session.exec(select(Campaign.id).where(Campaign.name.endswith(HISTORY_SUFFIX))).first() is not None


def build_history(session: Session, territory: Territory, *, days: int = DAYS, state_path: str | None = None,
                  now: datetime | None = None, seed: int = 2026) -> str:
    """Generate `days` of history for `territory` through an in-process sandbox. Commits: yes (per day).

    Returns a one-line summary. Does nothing if the history already exists.
    """
    from accounts.connection import get_connection
    from facebook import FacebookClient, RetryPolicy
    from facebook.sandbox import SandboxServer, create_sandbox_app, default_demo_setup, demo_connection

    with scoped(session, territory.id):
        if has_history(session):
            return "history already present"
        if get_connection(session=session) is None:
            return "no Facebook connection: history skipped"
    settings = current_app.config["RAYONNE_SETTINGS"]
    state_path = state_path if state_path is not None else settings.SANDBOX_STATE_PATH
    now = now or datetime.now(UTC)
    start = (now - timedelta(days=days)).replace(hour=6, minute=0, second=0, microsecond=0)
    if state_path and os.path.exists(state_path):
        os.replace(state_path, state_path + ".before-history")
    if state_path:
        os.makedirs(os.path.dirname(os.path.abspath(state_path)), exist_ok=True)
    began = _time.monotonic()
    app = create_sandbox_app(state_path or None, seed=7, clock=start)
    with SandboxServer(app) as server:
        control = server.control
        control.setup(default_demo_setup())
        client = FacebookClient(demo_connection(server.url), RetryPolicy(sleep=lambda s: None, poll_interval=0))
        with scoped(session, territory.id):
            summary = _simulate(session, territory, client, control, start, now, days, random.Random(seed))
            session.commit()
        remaining = (now - _sandbox_now(control)).total_seconds()
        if remaining > 0:  # end on real time: the demo's sandbox goes on from here
            control.advance(seconds=remaining)
        # The boosts still delivering: their spend, review and pacing as the hourly jobs would leave them,
        # so the demo opens on live figures rather than on an hour of zeros.
        moment = _sandbox_now(control)
        with scoped(session, territory.id):
            sync.sync_territory(session=session, territory=territory, client=client, now=moment)
            pacing.check_territory(session=session, territory=territory, client=client, at=moment)
            session.commit()
    return f"{summary} in {_time.monotonic() - began:.0f} s"


def _sandbox_now(control: Any) -> datetime:
    return datetime.fromisoformat(control.clock().replace("+0000", "+00:00"))


def _simulate(session: Session, territory: Territory, client: Any, control: Any, start: datetime, now: datetime,
              days: int, rng: random.Random) -> str:
    from facebook.sandbox import DEMO_AD_ACCOUNT_ID, DEMO_PAGE_ID

    audiences = {a.key: a for a in session.exec(select(Audience)) if a.key in MESSAGES}
    plans = []
    for index, (name, theme) in enumerate(CAMPAIGNS):
        # The campaigns share the days end to end: the last one runs to yesterday, so this week has posts
        # and boosts still delivering.
        begins = start.date() + timedelta(days=index * days // len(CAMPAIGNS))
        ends = start.date() + timedelta(days=(index + 1) * days // len(CAMPAIGNS) - 1)
        campaign = Campaign(territory_id=territory.id, name=name + HISTORY_SUFFIX, theme=theme, starts_on=begins,
                            ends_on=ends, objective=Objective.AWARENESS,
                            approved_budget_minor=150_000, dsa_beneficiary=territory.name, dsa_payor=territory.name)
        session.add(campaign)
        session.flush()
        _ledger(session, territory, LedgerKind.APPROVAL, 150_000, f"approval:{campaign.id}", campaign_id=campaign.id,
                reason="Budget voté (historique de démonstration)")
        tracks = {}
        for key, audience in audiences.items():
            track = ContentTrack(territory_id=territory.id, campaign_id=campaign.id, audience_id=audience.id,
                                 budget_share_bp=SHARES[key], posts_per_week=2)
            session.add(track)
            session.flush()
            tracks[key] = track
            _ledger(session, territory, LedgerKind.ALLOCATION, 150_000 * SHARES[key] // 10_000,
                    f"allocation:{track.id}", campaign_id=campaign.id, track_id=track.id,
                    reason="Répartition (historique de démonstration)")
        plans.append((campaign, tracks))
    session.commit()
    posts = boosts = 0
    open_boosts: list[Boost] = []
    for day_index in range(days):
        today = start.date() + timedelta(days=day_index)
        for campaign, tracks in plans:
            if not campaign.starts_on <= today <= campaign.ends_on:
                continue
            for offset, (key, track) in enumerate(tracks.items()):
                if (day_index + offset * 2) % 4 != 0:  # about two posts a week per track
                    continue
                message = MESSAGES[key].format(theme=campaign.theme) + f" ({today.strftime('%d/%m')})"
                link = f"https://www.valrive.example/{key}"
                moment = _sandbox_now(control)
                if rng.random() < 0.35:
                    daily = rng.choice((800, 1000, 1500))
                    seeded = control.seed_boosts(
                        page_id=DEMO_PAGE_ID, ad_account_id=DEMO_AD_ACCOUNT_ID, count=1, message=message, link=link,
                        daily_budget=daily, days=BOOST_DAYS, targeting=TARGETING[key])
                    post = _post(session, territory, track, message, link, seeded["post_ids"][0],
                                 moment - timedelta(hours=1))
                    boost = Boost(
                        territory_id=territory.id, post_id=post.id, track_id=track.id, campaign_id=campaign.id,
                        # What Facebook may spend over the boost's days, committed in the ledger as such.
                        budget_kind=BudgetKind.LIFETIME, budget_minor=daily * BOOST_DAYS, starts_at=moment,
                        ends_at=moment + timedelta(days=BOOST_DAYS), targeting=TARGETING[key],
                        status=BoostStatus.ACTIVE, fb_ad_id=seeded["ad_ids"][0], fb_adset_id=seeded["adset_ids"][0],
                        approved_by_label="manager@demo.rayonne.test")
                    session.add(boost)
                    session.flush()
                    _ledger(session, territory, LedgerKind.COMMITMENT, boost.budget_minor, f"commitment:{boost.id}",
                            campaign_id=campaign.id, track_id=track.id, boost_id=boost.id,
                            reason="Sponsorisation (historique de démonstration)")
                    open_boosts.append(boost)
                    boosts += 1
                else:
                    fb_id = client.publish_post(message=message, link=link)
                    _post(session, territory, track, message, link, fb_id, moment)
                posts += 1
        session.commit()
        control.advance(days=1)
        if (day_index + 1) % SYNC_EVERY and day_index != days - 1:
            continue
        moment = _sandbox_now(control)
        sync.sync_territory(session=session, territory=territory, client=client, now=moment, force_daily=True)
        for boost in [b for b in open_boosts if b.ends_at <= moment]:
            _close_boost(session, territory, boost, moment)
            open_boosts.remove(boost)
        session.commit()
    return f"{posts} posts, {boosts} boosts over {days} days"


def _post(session: Session, territory: Territory, track: ContentTrack, message: str, link: str, fb_id: str,
          moment: datetime) -> Post:
    post = Post(territory_id=territory.id, track_id=track.id, message=message, link=link,
                status=PostStatus.PUBLISHED, planned_at=moment, published_at=moment, fb_post_id=fb_id,
                approved_by_label="manager@demo.rayonne.test")
    session.add(post)
    session.flush()
    return post


def _close_boost(session: Session, territory: Territory, boost: Boost, moment: datetime) -> None:
    """A finished boost: its spend (from the synchronised facts) and the release of the rest."""
    from reports.models import BoostTotal

    total = session.exec(select(BoostTotal).where(BoostTotal.boost_id == boost.id)).first()
    spent = (total.spend_minor or 0) if total else 0
    boost.status = BoostStatus.COMPLETED
    session.add(boost)
    _ledger(session, territory, LedgerKind.SPEND, spent, f"spend:boost:{boost.id}", campaign_id=boost.campaign_id,
            track_id=boost.track_id, boost_id=boost.id, reason="Dépense constatée (Ads Insights)")
    _ledger(session, territory, LedgerKind.RELEASE, -boost.budget_minor, f"release:boost:{boost.id}",
            campaign_id=boost.campaign_id, track_id=boost.track_id, boost_id=boost.id,
            reason="Fin de la sponsorisation : engagement libéré")


def _ledger(session: Session, territory: Territory, kind: LedgerKind, amount: int, key: str, **fields: Any) -> None:
    session.add(LedgerEntry(territory_id=territory.id, kind=kind, amount_minor=amount, source_key=f"demo:{key}",
                            actor_label="demo", **fields))


def history_for_demo(session: Session, *, days: int = DAYS) -> str:
    """`build_history` for the demo territory (slug `demo`), if it exists."""
    from demo.seed import DEMO_SLUG

    territory = session.exec(select(Territory).where(Territory.slug == DEMO_SLUG)).first()
    if territory is None:
        return "no demo territory"
    return build_history(session, territory, days=days)

