"""Sample data for the weekly report (tests and `bench/report.py`): one campaign told to a few publics,
posts published every week, one boost per track and week, and the daily facts the insights sync
would store, rolled up by `reports.sync`'s own functions so that `reports.metrics` reads them as it
reads synchronised data.

Deterministic (a seeded generator); rows are inserted in bulk, so a year stays quick to build.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import Session, select

from accounts.models import Territory
from campaigns.models import Campaign, ContentTrack, Post, PostStatus
from core.db import scoped
from reports import sync
from reports.models import AdDailyMetric, AdWeekReach, InsightsSync, PageDailyMetric, PostDailyMetric
from sponsored.models import Boost, BoostStatus, LedgerEntry, LedgerKind
from targets.models import Audience

APPROVED_MINOR = 300_000  # the campaign's approved budget, shared evenly between its tracks
MESSAGES = {
    "investors": "La T2 met le parc d'activités des Saules à 18 minutes de la gare TGV : 12 hectares viabilisés "
                 "vous attendent, avec un accompagnement de l'agence de développement.",
    "tourists": "Du marché couvert aux berges de la Rive, tout Valrive se visite désormais en tramway. Idées de "
                "week-end sans voiture, adresses et horaires.",
    "residents": "Écoles, campus, centre-ville : avec la T2, une famille valrivaine gagne en moyenne 40 minutes "
                 "par jour. Les nouvelles lignes de bus en correspondance.",
}


@dataclass
class Sample:
    territory_id: int
    campaign_id: int
    track_ids: dict[str, int]
    first_monday: date
    last_monday: date
    boost_ids: list[int] = field(default_factory=list)


def make_sample(session: Session, territory: Territory, *, last_monday: date, weeks: int = 5,
                audiences: tuple[str, ...] = ("investors", "tourists"), posts_per_week: int = 2,
                followers: int = 20_000, seed: int = 7, extras: bool = True) -> Sample:
    """Build `weeks` weeks of activity ending with the week of `last_monday`. Commits: yes."""
    rng = random.Random(seed)
    tz = ZoneInfo(territory.timezone)
    first_monday = last_monday - timedelta(weeks=weeks - 1)
    last_sunday = last_monday + timedelta(days=6)
    with scoped(session, territory.id):
        found = {a.key: a for a in session.exec(select(Audience))}
        found["investors"].result_value_minor = 500
        found["investors"].value_note = ("Un clic vers l'offre foncière vaut 5 € "
                                         "(coût d'un salon professionnel ÷ contacts).")
        session.add(found["investors"])
        campaign = Campaign(territory_id=territory.id, name="Printemps — le nouveau tramway",
                            starts_on=first_monday - timedelta(days=7), ends_on=last_sunday + timedelta(days=28),
                            approved_budget_minor=APPROVED_MINOR)
        session.add(campaign)
        session.flush()
        session.add(LedgerEntry(territory_id=territory.id, kind=LedgerKind.APPROVAL, amount_minor=APPROVED_MINOR,
                                campaign_id=campaign.id, reason="Budget voté", actor_label="manager@test"))
        tracks: dict[str, ContentTrack] = {}
        share = 10_000 // len(audiences)
        for key in audiences:
            track = ContentTrack(territory_id=territory.id, campaign_id=campaign.id, audience_id=found[key].id,
                                 budget_share_bp=share, posts_per_week=posts_per_week)
            session.add(track)
            session.flush()
            tracks[key] = track
            session.add(LedgerEntry(territory_id=territory.id, kind=LedgerKind.ALLOCATION,
                                    amount_minor=APPROVED_MINOR * share // 10_000, campaign_id=campaign.id,
                                    track_id=track.id, reason="Répartition", actor_label="manager@test"))
        session.flush()

        post_rows, ad_rows, week_reach, lifetime = [], [], [], {}
        boosts: list[Boost] = []
        for w in range(weeks):  # one flush per week for the posts and one for the boosts: quick on a year
            monday = first_monday + timedelta(weeks=w)
            planned = []
            for key, track in tracks.items():
                for i in range(posts_per_week):
                    day = monday + timedelta(days=min(1 + 2 * i, 5))
                    published = datetime.combine(day, time(10, 0), tz).astimezone(UTC)
                    planned.append((i, day, track, Post(
                        territory_id=territory.id, track_id=track.id, status=PostStatus.PUBLISHED,
                        message=f"{MESSAGES.get(key, key)} (semaine {w + 1}, n° {i + 1})", planned_at=published,
                        published_at=published, fb_post_id=f"p{territory.id}_{w}_{key}_{i}")))
            session.add_all([post for *_rest, post in planned])
            session.flush()
            week_boosts = {}
            for i, _day, track, post in planned:
                if i == 0:  # the first post of each week and track is boosted for three days
                    week_boosts[post.id] = Boost(
                        territory_id=territory.id, post_id=post.id, track_id=track.id, campaign_id=campaign.id,
                        budget_minor=6_000, status=BoostStatus.COMPLETED,
                        starts_at=post.published_at + timedelta(hours=1),
                        ends_at=post.published_at + timedelta(days=3), approved_by_label="manager@test",
                        requested_by_label="editor@test")
            session.add_all(list(week_boosts.values()))
            session.flush()
            boosts.extend(week_boosts.values())
            for _i, day, _track, post in planned:
                paid_by_day: dict[date, int] = {}
                boost = week_boosts.get(post.id)
                if boost is not None:
                    total_reach = 0
                    for d in range(3):
                        reach = rng.randint(1_500, 4_000)
                        paid_by_day[day + timedelta(days=d)] = reach
                        total_reach += reach
                        ad_rows.append({"territory_id": territory.id, "boost_id": boost.id,
                                        "day": day + timedelta(days=d), "spend_minor": rng.randint(1_200, 2_000),
                                        "reach": reach, "impressions": reach * 2, "clicks": reach // 40,
                                        "link_clicks": reach // 50, "results": reach // 50})
                    lifetime[boost.id] = int(total_reach * 0.8)
                    week_reach.append({"territory_id": territory.id, "boost_id": boost.id,
                                       "week_start": monday, "reach": lifetime[boost.id]})
                for d in range(3):
                    when = day + timedelta(days=d)
                    if when > last_sunday:
                        break
                    organic = max(0, int(rng.randint(600, 1_800) / (d + 1)))
                    paid = paid_by_day.get(when, 0)
                    post_rows.append({"territory_id": territory.id, "post_id": post.id, "day": when,
                                      "viewers": organic + paid, "views_organic": organic * 2,
                                      "views_paid": paid * 2, "clicks": rng.randint(5, 60),
                                      "reactions": rng.randint(10, 120), "comments": rng.randint(0, 15),
                                      "shares": rng.randint(0, 10)})
        page_rows = [{"territory_id": territory.id, "day": first_monday + timedelta(days=n),
                      "followers": followers + 5 * n, "viewers": None, "views_organic": None, "views_paid": None}
                     for n in range(weeks * 7)]
        spent: dict[int, int] = {}
        for row in ad_rows:
            spent[row["boost_id"]] = spent.get(row["boost_id"], 0) + row["spend_minor"]
        session.execute(insert(LedgerEntry.__table__), [
            {"territory_id": territory.id, "kind": LedgerKind.SPEND.value, "amount_minor": amount, "currency": "EUR",
             "campaign_id": campaign.id, "track_id": boost.track_id, "boost_id": boost.id,
             "reason": "Dépense constatée (Ads Insights)", "actor_label": "system",
             "source_key": f"spend:boost:{boost.id}", "at": datetime.combine(last_sunday, time(23), UTC)}
            for boost in boosts if (amount := spent.get(boost.id))])
        session.execute(insert(PostDailyMetric.__table__), post_rows)
        session.execute(insert(AdDailyMetric.__table__), ad_rows)
        session.execute(insert(AdWeekReach.__table__), week_reach)
        session.execute(insert(PageDailyMetric.__table__), page_rows)
        sync.refresh_boost_totals(session=session, territory_id=territory.id, boosts=boosts, lifetime_reach=lifetime,
                                  synced_through=last_sunday)
        sync.refresh_post_totals(session=session, territory_id=territory.id)
        sync.refresh_rollups(session=session, territory_id=territory.id, since=first_monday, until=last_sunday)
        session.add(InsightsSync(territory_id=territory.id, covered_since=first_monday, synced_through=last_sunday,
                                 last_daily_at=datetime.combine(last_sunday + timedelta(days=1), time(5, 0), UTC)))
        sample = Sample(territory_id=territory.id, campaign_id=campaign.id,
                        track_ids={k: t.id for k, t in tracks.items()}, first_monday=first_monday,
                        last_monday=last_monday, boost_ids=[b.id for b in boosts])
        if extras:
            _extras(session, territory, campaign, tracks, last_monday, tz)
    session.commit()
    return sample


def _extras(session: Session, territory: Territory, campaign: Campaign, tracks: dict[str, ContentTrack],
            last_monday: date, tz: ZoneInfo) -> None:
    """A boost Facebook refused, one waiting for approval, and next week's planned posts."""
    key, track = next(iter(tracks.items()))
    published = datetime.combine(last_monday + timedelta(days=2), time(15, 0), tz).astimezone(UTC)
    post = Post(territory_id=territory.id, track_id=track.id, status=PostStatus.PUBLISHED,
                message="Conseil municipal extraordinaire : votez pour le projet de tramway !",
                planned_at=published, published_at=published)
    session.add(post)
    session.flush()
    session.add(Boost(territory_id=territory.id, post_id=post.id, track_id=track.id, campaign_id=campaign.id,
                      budget_minor=4_000, status=BoostStatus.REJECTED, starts_at=published,
                      ends_at=published + timedelta(days=2), review_checked_at=published + timedelta(hours=2),
                      rejection_reason="Publicité à caractère politique refusée dans l'UE",
                      approved_by_label="manager@test"))
    session.add(Boost(territory_id=territory.id, post_id=post.id, track_id=track.id, campaign_id=campaign.id,
                      budget_minor=45_000, status=BoostStatus.PENDING_APPROVAL,
                      starts_at=published + timedelta(days=8), ends_at=published + timedelta(days=15),
                      requested_by_label="editor@test"))
    for n, (k, t) in enumerate(tracks.items()):
        planned = datetime.combine(last_monday + timedelta(days=8 + n), time(10, 30), tz).astimezone(UTC)
        session.add(Post(territory_id=territory.id, track_id=t.id, status=PostStatus.APPROVED, planned_at=planned,
                         message=f"Prévu la semaine prochaine pour le public {k} : portes ouvertes du dépôt T2."))
    session.flush()
