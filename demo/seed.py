"""Seed a fictional territory with one user per role and enough content to show real screens.

Idempotent: running it twice changes nothing. The demo password is public (README): outside
development, Rayonne refuses to serve while these accounts exist.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from accounts import services as accounts
from accounts.models import Membership, Role, Territory, TerritoryCreate, TerritoryKind, User, UserCreate
from accounts.services import SYSTEM
from campaigns.models import Campaign, ContentTrack, ElectedOfficial, Objective, Post, PostStatus
from core.db import scoped
from sponsored.models import LedgerEntry, LedgerKind
from targets.models import Audience
from targets.services import ensure_builtin_audiences

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "rayonne-demo-2026"
DEMO_SLUG = "demo"
DEMO_USERS = {
    Role.ADMIN: ("admin@demo.rayonne.test", "Aline Administratrice"),
    Role.MANAGER: ("manager@demo.rayonne.test", "Marc Responsable-com"),
    Role.EDITOR: ("editor@demo.rayonne.test", "Emma Rédactrice"),
    Role.ANALYST: ("analyst@demo.rayonne.test", "Ana Analyste"),
}
AGENCY_USER = ("agence@demo.rayonne.test", "Agence Horizon")


def seed_demo(session: Session) -> Territory:
    """Create (or complete) the demo territory. Commits: no."""
    territory = _territory(session, DEMO_SLUG, "Communauté d'agglomération de Valrive", "Valrive, naturellement")
    neighbour = _territory(session, "sorne", "Pays de Sorne", "Sorne, grandeur nature")
    users = {}
    for role, (email, name) in DEMO_USERS.items():
        users[role] = _user(session, email, name)
        with scoped(session, territory.id):
            if not _is_member(session, territory, users[role]):
                accounts.set_membership(session=session, territory=territory, user=users[role], role=role,
                                        actor=SYSTEM)
    agency = _user(session, *AGENCY_USER)
    for place in (territory, neighbour):
        with scoped(session, place.id):
            if not _is_member(session, place, agency):
                accounts.set_membership(session=session, territory=place, user=agency, role=Role.EDITOR, actor=SYSTEM)
    # The neighbour needs an admin of its own (a territory always keeps one).
    with scoped(session, neighbour.id):
        if not _is_member(session, neighbour, users[Role.ADMIN]):
            accounts.set_membership(session=session, territory=neighbour, user=users[Role.ADMIN], role=Role.ADMIN,
                                    actor=SYSTEM)
        ensure_builtin_audiences(session=session, territory=neighbour)
    with scoped(session, territory.id):
        ensure_builtin_audiences(session=session, territory=territory)
        _connect_sandbox(session, territory)
        _content(session, territory, users[Role.EDITOR].id)
    return territory


def _connect_sandbox(session: Session, territory: Territory) -> None:
    """Point the demo territory at the local Graph API sandbox (its demo Page and ad account)."""
    from accounts.connection import ConnectionForm, get_connection, save_connection
    from facebook.sandbox import DEMO_AD_ACCOUNT_ID, DEMO_ADS_TOKEN, DEMO_PAGE_ID, DEMO_PAGE_TOKEN

    if get_connection(session=session) is not None:
        return
    save_connection(session=session, territory=territory, actor=SYSTEM, data=ConnectionForm(
        mode="sandbox", page_id=DEMO_PAGE_ID, ad_account_id=DEMO_AD_ACCOUNT_ID,
        access_token=DEMO_ADS_TOKEN, page_token=DEMO_PAGE_TOKEN))


def _territory(session: Session, slug: str, name: str, brand: str) -> Territory:
    existing = session.exec(select(Territory).where(Territory.slug == slug)).first()
    if existing:
        return existing
    data = TerritoryCreate(slug=slug, name=name, brand_name=brand, kind=TerritoryKind.INTERCOMMUNALITE,
                           election_date=date(2032, 3, 14))
    return accounts.create_territory(session=session, data=data, actor=SYSTEM)


def _user(session: Session, email: str, name: str) -> User:
    user = accounts.get_user_by_email(session=session, email=email)
    if user is None:
        user = accounts.create_user(session=session, data=UserCreate(email=email, name=name, password=DEMO_PASSWORD))
    return user


def _is_member(session: Session, territory: Territory, user: User) -> bool:
    membership = session.exec(
        select(Membership).where(Membership.territory_id == territory.id, Membership.user_id == user.id)
    ).first()
    return membership is not None


def _content(session: Session, territory: Territory, editor_id: int) -> None:
    if session.exec(select(Campaign)).first() is not None:
        return
    audiences = {a.key: a for a in session.exec(select(Audience))}
    today = date.today()
    campaign = Campaign(
        territory_id=territory.id, name="Printemps 2027 — le nouveau tramway",
        theme="La ligne T2 relie la gare, le campus et le parc d'activités en 18 minutes.",
        starts_on=today - timedelta(days=14), ends_on=today + timedelta(days=75),
        objective=Objective.AWARENESS, approved_budget_minor=600000,
        dsa_beneficiary="Communauté d'agglomération de Valrive", dsa_payor="Communauté d'agglomération de Valrive",
        created_by_id=editor_id,
    )
    session.add(campaign)
    session.flush()
    session.add(LedgerEntry(territory_id=territory.id, kind=LedgerKind.APPROVAL, amount_minor=600000,
                            campaign_id=campaign.id, reason="Budget voté en conseil communautaire (démo)",
                            actor_label="manager@demo.rayonne.test"))
    shares = {"investors": 4000, "tourists": 3500, "residents": 2500}
    tones = {
        "investors": "Factuel, chiffré : temps de trajet, foncier disponible, emplois.",
        "tourists": "Chaleureux, visuel : balades, marchés, week-ends sans voiture.",
        "residents": "Concret et rassurant : écoles, loyers, trajets quotidiens.",
    }
    messages = {
        "investors": "La T2 met le parc d'activités des Saules à 18 minutes de la gare TGV. 12 hectares "
                     "viabilisés vous attendent.",
        "tourists": "Du marché couvert aux berges de la Rive, tout Valrive se visite désormais en tramway. "
                    "Idées de week-end sans voiture.",
        "residents": "Écoles, campus, centre-ville : avec la T2, une famille valrivaine gagne en moyenne "
                     "40 minutes par jour.",
    }
    tz = ZoneInfo(territory.timezone)
    for offset, key in enumerate(("investors", "tourists", "residents")):
        track = ContentTrack(territory_id=territory.id, campaign_id=campaign.id, audience_id=audiences[key].id,
                             budget_share_bp=shares[key], tone=tones[key], posts_per_week=2)
        session.add(track)
        session.flush()
        session.add(LedgerEntry(territory_id=territory.id, kind=LedgerKind.ALLOCATION,
                                amount_minor=600000 * shares[key] // 10000, campaign_id=campaign.id,
                                track_id=track.id, reason="Répartition initiale (démo)",
                                actor_label="manager@demo.rayonne.test"))
        planned = datetime.combine(today + timedelta(days=offset + 1), time(10, 30), tz)
        session.add(Post(territory_id=territory.id, track_id=track.id, message=messages[key],
                         link="https://www.valrive.example/tramway", planned_at=planned,
                         status=PostStatus.APPROVED if offset else PostStatus.IN_REVIEW, created_by_id=editor_id))
    for name, office in (("Claire Dumont", "Présidente de l'agglomération"), ("Paul Verdier", "Maire de Valrive")):
        session.add(ElectedOfficial(territory_id=territory.id, name=name, office=office))
    session.flush()
