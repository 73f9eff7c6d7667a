"""JSON API for boosts and budgets (same services as the pages; listed in /api/v1/openapi.json)."""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from sqlmodel import SQLModel

from accounts.api import api_blueprint, operation
from accounts.connection import NotConnected, client_for
from accounts.models import Role
from accounts.services import Actor
from core.db import get_session
from core.errors import Conflict, Forbidden, ValidationFailed
from facebook import FacebookClient, FacebookError
from sponsored import pacing, services
from sponsored.models import Boost, BoostAction, BoostCreate, BoostRead, BoostStatus, BoostStatusChange, LedgerEntry
from sponsored.models import LedgerRead as LedgerLineRead

bp = api_blueprint("sponsored_api", __name__, "/sponsored")


class TrackBalanceRead(SQLModel):
    track_id: int
    audience: str
    allocated_minor: int
    committed_minor: int
    spent_minor: int
    remaining_minor: int
    spend_cap_minor: int | None
    pacing_status: str
    pacing_ratio: float | None
    planned_to_date_minor: int


class CampaignBalanceRead(SQLModel):
    campaign_id: int
    name: str
    currency: str
    approved_minor: int
    allocated_minor: int
    committed_minor: int
    spent_minor: int
    remaining_minor: int
    tracks: list[TrackBalanceRead]


def _actor() -> Actor:
    return Actor.of(g.user)


def _client() -> FacebookClient:
    return client_for(session=get_session())


def _facebook(exc: FacebookError) -> Conflict:
    return Conflict(exc.user_message)


@operation(bp, "/boosts", role=Role.ANALYST, summary="List boosts (newest first)", response=list[BoostRead])
def list_boosts() -> list[Boost]:
    status = request.args.get("status")
    statuses = [BoostStatus(status)] if status in {s.value for s in BoostStatus} else None
    return services.list_boosts(session=get_session(), campaign_id=request.args.get("campaign_id", type=int),
                                statuses=statuses)


@operation(bp, "/boosts/<int:boost_id>", role=Role.ANALYST, summary="Read a boost", response=BoostRead)
def get_boost(boost_id: int) -> Boost:
    return services.get_boost(session=get_session(), boost_id=boost_id)


@operation(bp, "/boosts", role=Role.EDITOR, method="POST", body=BoostCreate, response=BoostRead, status=201,
           summary="Boost a published post (reserves the money; above the threshold, waits for a manager)")
def create_boost(data: BoostCreate) -> Boost:
    session = get_session()
    client = _client()
    try:
        minimum = client.minimum_daily_budget_minor()
    except FacebookError as exc:
        raise _facebook(exc) from exc
    boost = services.request_boost(session=session, territory=g.territory, data=data, actor=_actor(),
                                   can_approve=g.role.allows(Role.MANAGER), minimum_daily_minor=minimum)
    session.commit()
    if boost.status == BoostStatus.CREATING:
        services.launch_boost(session=session, territory=g.territory, boost=boost, client=client,
                              checkpoint=session.commit)
        session.commit()
    return boost


@operation(bp, "/boosts/<int:boost_id>/status", role=Role.EDITOR, method="POST", body=BoostStatusChange,
           response=BoostRead, summary="Pause, resume, stop, approve or decline a boost (approve/decline: manager)")
def change_status(boost_id: int, data: BoostStatusChange) -> Boost:
    session = get_session()
    boost = services.get_boost(session=session, boost_id=boost_id)
    if data.action is None:
        raise ValidationFailed({"action": _("Ce champ est obligatoire.")})
    actor = _actor()
    try:
        if data.action in (BoostAction.APPROVE, BoostAction.DECLINE):
            if not g.role.allows(Role.MANAGER):
                raise Forbidden(_("Seul un responsable approuve une dépense."))
            if data.action == BoostAction.DECLINE:
                services.decline_boost(session=session, territory=g.territory, boost=boost, actor=actor,
                                       reason=data.reason)
            else:
                services.approve_boost(session=session, territory=g.territory, boost=boost, actor=actor,
                                       comment=data.reason)
                client = _client()
                session.commit()
                services.launch_boost(session=session, territory=g.territory, boost=boost, client=client,
                                      checkpoint=session.commit)
        elif data.action == BoostAction.PAUSE:
            services.pause_boost(session=session, territory=g.territory, boost=boost, client=_client(), actor=actor,
                                 reason=data.reason)
        elif data.action == BoostAction.RESUME:
            services.resume_boost(session=session, territory=g.territory, boost=boost, client=_client(), actor=actor)
        else:
            try:
                client: FacebookClient | None = _client()
            except NotConnected:
                client = None
            services.stop_boost(session=session, territory=g.territory, boost=boost, client=client, actor=actor,
                                reason=data.reason)
    except FacebookError as exc:
        session.rollback()
        raise _facebook(exc) from exc
    session.commit()
    return boost


@operation(bp, "/budgets", role=Role.ANALYST, summary="Balances per campaign and track, with pacing",
           response=list[CampaignBalanceRead])
def balances() -> list[CampaignBalanceRead]:
    session = get_session()
    out = []
    for campaign, balance in services.campaign_balances(session=session):
        tracks = [TrackBalanceRead(
            track_id=tp.balance.track.id, audience=tp.balance.audience.name,
            allocated_minor=tp.balance.allocated_minor, committed_minor=tp.balance.committed_minor,
            spent_minor=tp.balance.spent_minor, remaining_minor=tp.balance.remaining_minor,
            spend_cap_minor=tp.balance.spend_cap_minor, pacing_status=tp.pacing.status,
            pacing_ratio=tp.pacing.ratio, planned_to_date_minor=tp.pacing.planned_minor,
        ) for tp in pacing.track_pacing(session=session, campaign=campaign)]
        out.append(CampaignBalanceRead(
            campaign_id=campaign.id, name=campaign.name, currency=campaign.currency,
            approved_minor=balance.approved_minor, allocated_minor=balance.allocated_minor,
            committed_minor=balance.committed_minor, spent_minor=balance.spent_minor,
            remaining_minor=balance.remaining_minor, tracks=tracks,
        ))
    return out


@operation(bp, "/budgets/ledger", role=Role.ANALYST, summary="The budget ledger, oldest first (?campaign_id=)",
           response=list[LedgerLineRead])
def ledger() -> list[LedgerEntry]:
    return services.ledger_lines(session=get_session(), campaign_id=request.args.get("campaign_id", type=int))
