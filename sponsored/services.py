"""Rules for budgets and boosts. Functions flush, never commit (except through the ``checkpoint`` a
caller hands to :func:`launch_boost`, see there).

**The ledger.** Balances are never stored: they are sums of the append-only ledger, so that
"approved − committed − spent" can always be explained line by line:

* ``APPROVAL`` lines (signed changes) make a campaign's approved budget; ``ENVELOPE`` lines a territory's
  annual envelope; ``ALLOCATION`` lines (signed) give part of a campaign's budget to a track.
* A boost writes one ``COMMITMENT`` line when it is requested (its planned total); a budget change
  writes the difference (a ``COMMITMENT`` when it grows, a ``RELEASE`` when it shrinks).
* Actual spend arrives per boost and day as ``SPEND`` lines; each one *consumes* the same amount of
  the boost's commitment with a negative ``COMMITMENT`` line, so the commitment that remains is what
  is reserved and not yet spent. When a boost ends (stopped, rejected by Facebook, finished under
  budget) its remaining commitment is given back with a ``RELEASE`` line.

So for a campaign or a track: committed = Σ COMMITMENT + Σ RELEASE (reserved, not yet spent), spent =
Σ SPEND, remaining = approved (or allocated) − committed − spent.

**Facebook.** One Facebook campaign per Rayonne campaign × track (:class:`TrackAdCampaign`) whose
``spend_cap`` is the track's allocation, so Facebook itself refuses to spend more than was approved even
if Rayonne is down; one ad set + creative + ad per boost, each named after Rayonne's ids
(``rayonne:boost:<id>:adset``) so that a creation interrupted at any step is resumed without duplicates.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from accounts.models import Territory
from accounts.services import Actor, audit
from campaigns.models import Campaign, CampaignStatus, ContentTrack, Post, PostStatus
from core.db import utc_now
from core.errors import Conflict, DomainError, NotFound
from facebook import (
    AuthError,
    FacebookClient,
    FacebookError,
    OutcomeUnknownError,
    TransientError,
)
from sponsored import compliance
from sponsored.models import (
    LIVE_STATUSES,
    OPEN_STATUSES,
    Boost,
    BoostCreate,
    BoostStatus,
    BudgetKind,
    LedgerEntry,
    LedgerKind,
    TrackAdCampaign,
)
from targets.models import Audience, ResultType, SpecialAdCategory

logger = logging.getLogger(__name__)

DAY = timedelta(days=1)
SYSTEM_SPEND_LABEL = "Facebook Ads Insights"
#: Result types -> (Facebook objective, default optimisation goal, goals offered in the form).
GOALS: dict[ResultType, tuple[str, str, tuple[str, ...]]] = {
    ResultType.REACH: ("OUTCOME_AWARENESS", "REACH", ("REACH", "IMPRESSIONS")),
    ResultType.LINK_CLICK: ("OUTCOME_TRAFFIC", "LINK_CLICKS", ("LINK_CLICKS", "LANDING_PAGE_VIEWS", "REACH")),
    ResultType.LANDING_PAGE_VIEW: ("OUTCOME_TRAFFIC", "LANDING_PAGE_VIEWS", ("LANDING_PAGE_VIEWS", "LINK_CLICKS")),
    ResultType.ENGAGEMENT: ("OUTCOME_ENGAGEMENT", "POST_ENGAGEMENT", ("POST_ENGAGEMENT", "REACH")),
    ResultType.LEAD: ("OUTCOME_LEADS", "LEAD_GENERATION", ("LEAD_GENERATION", "LINK_CLICKS")),
}
#: The goals each objective accepts (Facebook answers 2490408 "Performance goal unavailable" otherwise).
OBJECTIVE_GOALS: dict[str, frozenset[str]] = {
    "OUTCOME_AWARENESS": frozenset({"REACH", "IMPRESSIONS"}),
    "OUTCOME_TRAFFIC": frozenset({"LINK_CLICKS", "LANDING_PAGE_VIEWS", "REACH", "IMPRESSIONS"}),
    "OUTCOME_ENGAGEMENT": frozenset({"POST_ENGAGEMENT", "REACH", "IMPRESSIONS", "LINK_CLICKS"}),
    "OUTCOME_LEADS": frozenset({"LEAD_GENERATION", "LINK_CLICKS"}),
}
SPECIAL_MIN_RADIUS_KM = 15
#: How long a creation in progress keeps other processes off (a crashed one leaves it to expire).
CREATION_LEASE = timedelta(minutes=5)


class BoostRefused(DomainError):
    """A boost cannot be requested as asked; the message says why, plainly."""

    status_code = 422


class WarningsToAcknowledge(BoostRefused):
    """The guardrails found something a person must read and accept before the boost is sent."""

    def __init__(self, warnings: list[str]) -> None:
        super().__init__(_("Lisez et acceptez les avertissements de conformité avant de sponsoriser : ")
                         + " ".join(warnings), field="acknowledge_warnings")
        self.warnings = warnings


# =========================================================================================== ledger


@dataclass(frozen=True)
class Balance:
    """A campaign's money, from the ledger."""

    approved_minor: int
    committed_minor: int
    spent_minor: int
    allocated_minor: int = 0

    @property
    def remaining_minor(self) -> int:
        return self.approved_minor - self.committed_minor - self.spent_minor

    @property
    def unallocated_minor(self) -> int:
        return self.approved_minor - self.allocated_minor


@dataclass(frozen=True)
class TrackBalance:
    """A track's money: its allocation, what its boosts reserve and spent, what remains."""

    track: ContentTrack
    audience: Audience
    allocated_minor: int
    committed_minor: int
    spent_minor: int
    spend_cap_minor: int | None  # the cap Facebook holds (None: no Facebook campaign yet)

    @property
    def remaining_minor(self) -> int:
        return self.allocated_minor - self.committed_minor - self.spent_minor

    @property
    def cap_in_sync(self) -> bool:
        return self.spend_cap_minor is None or self.spend_cap_minor == max(self.allocated_minor, 1)


@dataclass(frozen=True)
class EnvelopeBalance:
    year: int
    envelope_minor: int
    approved_minor: int  # approved budgets of the campaigns starting that year

    @property
    def remaining_minor(self) -> int:
        return self.envelope_minor - self.approved_minor


def _sums(session: Session, group: Any, *where: Any) -> dict[tuple[Any, LedgerKind], int]:
    rows = session.exec(
        select(group, LedgerEntry.kind, func.sum(LedgerEntry.amount_minor)).where(*where)
        .group_by(group, LedgerEntry.kind)
    ).all()
    return {(key, LedgerKind(kind)): int(total or 0) for key, kind, total in rows}


def _balance(sums: dict[tuple[Any, LedgerKind], int], key: Any) -> Balance:
    def get(kind: LedgerKind) -> int:
        return sums.get((key, kind), 0)

    return Balance(
        approved_minor=get(LedgerKind.APPROVAL),
        committed_minor=get(LedgerKind.COMMITMENT) + get(LedgerKind.RELEASE),
        spent_minor=get(LedgerKind.SPEND),
        allocated_minor=get(LedgerKind.ALLOCATION),
    )


def campaign_balances(*, session: Session, include_archived: bool = False) -> list[tuple[Campaign, Balance]]:
    """Each (active) campaign with its ledger balance, by start date. Calls Facebook: no."""
    return _campaign_balances(session, (Campaign,), include_archived)


def campaign_balance_rows(*, session: Session, include_archived: bool = False) -> list[tuple[Any, Balance]]:
    """`campaign_balances` with rows of what a report prints of a campaign (`id`, `name`, `starts_on`,
    `ends_on`, `currency`) instead of entities: a territory's hundreds of campaigns are read several
    times faster so (no ORM object, no identity map), for the pages that only show them."""
    return _campaign_balances(session, (Campaign.id, Campaign.name, Campaign.starts_on, Campaign.ends_on,
                                        Campaign.currency), include_archived)


def _campaign_balances(session: Session, columns: tuple[Any, ...], include_archived: bool) -> list[tuple[Any, Balance]]:
    sums = _sums(session, LedgerEntry.campaign_id, LedgerEntry.campaign_id.is_not(None))
    query = select(*columns).order_by(Campaign.starts_on, Campaign.id)
    if not include_archived:
        query = query.where(Campaign.status == CampaignStatus.ACTIVE)
    if len(columns) == 1:
        return [(campaign, _balance(sums, campaign.id)) for campaign in session.exec(query)]
    return [(row, _balance(sums, row.id)) for row in session.execute(query)]


def campaign_balance(*, session: Session, campaign_id: int) -> Balance:
    """One campaign's ledger balance."""
    return _balance(_sums(session, LedgerEntry.campaign_id, LedgerEntry.campaign_id == campaign_id), campaign_id)


def track_balances(*, session: Session, campaign: Campaign) -> list[TrackBalance]:
    """Each track of a campaign with its allocation, commitments, spend and Facebook spend cap."""
    sums = _sums(session, LedgerEntry.track_id, LedgerEntry.campaign_id == campaign.id,
                 LedgerEntry.track_id.is_not(None))
    caps = {t.track_id: t for t in session.exec(select(TrackAdCampaign).where(
        TrackAdCampaign.campaign_id == campaign.id))}
    result = []
    for track, audience in session.exec(
        select(ContentTrack, Audience).join(Audience, Audience.id == ContentTrack.audience_id)
        .where(ContentTrack.campaign_id == campaign.id).order_by(ContentTrack.id)
    ):
        b = _balance(sums, track.id)
        tac = caps.get(track.id)
        result.append(TrackBalance(
            track=track, audience=audience, allocated_minor=b.allocated_minor, committed_minor=b.committed_minor,
            spent_minor=b.spent_minor,
            spend_cap_minor=tac.spend_cap_minor if tac is not None and tac.fb_campaign_id else None,
        ))
    return result


def track_balance(*, session: Session, track: ContentTrack) -> TrackBalance:
    campaign = session.get(Campaign, track.campaign_id)
    for balance in track_balances(session=session, campaign=campaign):
        if balance.track.id == track.id:
            return balance
    raise NotFound(_("Piste introuvable."))


def envelope_balances(*, session: Session) -> list[EnvelopeBalance]:
    """The territory's annual envelopes, each with the approved budgets of that year's campaigns."""
    envelopes = _sums(session, LedgerEntry.year, LedgerEntry.kind == LedgerKind.ENVELOPE)
    result = []
    for (year, _kind), amount in sorted(envelopes.items()):
        result.append(EnvelopeBalance(year=year, envelope_minor=amount,
                                      approved_minor=_approved_in_year(session, year)))
    return result


def _approved_in_year(session: Session, year: int) -> int:
    total = session.exec(
        select(func.sum(LedgerEntry.amount_minor)).join(Campaign, Campaign.id == LedgerEntry.campaign_id)
        .where(LedgerEntry.kind == LedgerKind.APPROVAL, Campaign.starts_on >= date(year, 1, 1),
               Campaign.starts_on <= date(year, 12, 31))
    ).one()
    return int(total or 0)


def ledger_lines(
    *, session: Session, campaign_id: int | None = None, track_id: int | None = None, boost_id: int | None = None,
    limit: int | None = None,
) -> list[LedgerEntry]:
    """Ledger lines, oldest first (filtered by campaign, track or boost). Calls Facebook: no."""
    query = select(LedgerEntry).order_by(LedgerEntry.at, LedgerEntry.id)
    if campaign_id is not None:
        query = query.where(LedgerEntry.campaign_id == campaign_id)
    if track_id is not None:
        query = query.where(LedgerEntry.track_id == track_id)
    if boost_id is not None:
        query = query.where(LedgerEntry.boost_id == boost_id)
    lines = list(session.exec(query))
    return lines[-limit:] if limit else lines


def _line(
    session: Session, *, territory_id: int, kind: LedgerKind, amount_minor: int, reason: str, actor: Actor | str,
    campaign: Campaign | None = None, track_id: int | None = None, boost: Boost | None = None,
    year: int | None = None, day: date | None = None, source_key: str | None = None, currency: str | None = None,
) -> LedgerEntry:
    entry = LedgerEntry(
        territory_id=territory_id, kind=kind, amount_minor=int(amount_minor),
        currency=currency or (campaign.currency if campaign else boost.currency if boost else "EUR"),
        campaign_id=campaign.id if campaign else (boost.campaign_id if boost else None),
        track_id=track_id if track_id is not None else (boost.track_id if boost else None),
        boost_id=boost.id if boost else None, year=year, day=day, reason=reason[:1000],
        actor_label=actor if isinstance(actor, str) else actor.label, source_key=source_key,
    )
    session.add(entry)
    session.flush()
    return entry


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise DomainError(_("Indiquez la raison de ce changement (elle figure au registre)."), field="reason")
    return reason


def _lock_campaign(session: Session, campaign_id: int) -> Campaign:
    # Serialises concurrent budget changes and commitments of one campaign (PostgreSQL row lock;
    # SQLite serialises writers anyway).
    campaign = session.exec(select(Campaign).where(Campaign.id == campaign_id).with_for_update()).first()
    if campaign is None:
        raise NotFound(_("Campagne introuvable."))
    return campaign


# ============================================================================ budgets (managers)


def approve_budget(
    *, session: Session, territory: Territory, campaign: Campaign, amount_minor: int, actor: Actor, reason: str
) -> LedgerEntry:
    """Set a campaign's approved budget to ``amount_minor`` (an ``APPROVAL`` line with the signed change).

    Managers only (the caller checks the role). Refused below what is already allocated, or above the
    year's envelope when the territory has one. Audited. Commits: no. Calls Facebook: no.
    """
    reason = _require_reason(reason)
    if amount_minor < 0:
        raise DomainError(_("Le budget approuvé ne peut pas être négatif."), field="amount")
    campaign = _lock_campaign(session, campaign.id)
    balance = campaign_balance(session=session, campaign_id=campaign.id)
    change = amount_minor - balance.approved_minor
    if change == 0:
        raise DomainError(_("Le budget approuvé est déjà de ce montant."), field="amount")
    if amount_minor < balance.allocated_minor:
        raise DomainError(_("Impossible : %(allocated)s sont déjà répartis entre les pistes. Réduisez d'abord "
                            "les allocations.", allocated=_money(balance.allocated_minor, campaign.currency)),
                          field="amount")
    year = campaign.starts_on.year
    envelope = _envelope(session, year)
    if envelope is not None and _approved_in_year(session, year) + change > envelope:
        raise DomainError(_("Impossible : l'enveloppe annuelle %(year)s (%(envelope)s) serait dépassée.",
                            year=year, envelope=_money(envelope, campaign.currency)), field="amount")
    entry = _line(session, territory_id=territory.id, kind=LedgerKind.APPROVAL, amount_minor=change,
                  reason=reason, actor=actor, campaign=campaign)
    campaign.approved_budget_minor = amount_minor  # the campaign page's figure follows the ledger
    session.add(campaign)
    audit(session=session, territory_id=territory.id, actor=actor, action="budget.approve", obj=campaign,
          before={"approved_minor": balance.approved_minor}, after={"approved_minor": amount_minor}, reason=reason)
    return entry


def _envelope(session: Session, year: int) -> int | None:
    total = session.exec(select(func.sum(LedgerEntry.amount_minor), func.count(LedgerEntry.id)).where(
        LedgerEntry.kind == LedgerKind.ENVELOPE, LedgerEntry.year == year)).one()
    return int(total[0] or 0) if total[1] else None


def set_envelope(
    *, session: Session, territory: Territory, year: int, amount_minor: int, actor: Actor, reason: str
) -> LedgerEntry:
    """Set the territory's annual envelope for boosts (an ``ENVELOPE`` line). Managers only. Commits: no."""
    reason = _require_reason(reason)
    if not 2000 <= year <= 2100:
        raise DomainError(_("Année invalide."), field="year")
    if amount_minor < 0:
        raise DomainError(_("L'enveloppe ne peut pas être négative."), field="amount")
    current = _envelope(session, year) or 0
    approved = _approved_in_year(session, year)
    if amount_minor < approved:
        raise DomainError(_("Impossible : les campagnes de %(year)s ont déjà %(approved)s approuvés.", year=year,
                            approved=_money(approved, territory.currency)), field="amount")
    if amount_minor == current and _envelope(session, year) is not None:
        raise DomainError(_("L'enveloppe est déjà de ce montant."), field="amount")
    entry = _line(session, territory_id=territory.id, kind=LedgerKind.ENVELOPE, amount_minor=amount_minor - current,
                  reason=reason, actor=actor, year=year, currency=territory.currency)
    audit(session=session, territory_id=territory.id, actor=actor, action="budget.envelope", object_type="Envelope",
          object_id=year, before={"envelope_minor": current}, after={"envelope_minor": amount_minor}, reason=reason)
    return entry


def allocate(
    *, session: Session, territory: Territory, campaign: Campaign, track: ContentTrack, amount_minor: int,
    actor: Actor, reason: str, client: FacebookClient | None = None,
) -> LedgerEntry:
    """Set a track's allocation to ``amount_minor`` (an ``ALLOCATION`` line with the signed change).

    The allocations of a campaign never exceed its approved budget, and a track's never falls below what
    its boosts reserve and spent. The track's Facebook spend cap follows (lowered *before* the ledger
    changes, so that a failure leaves nothing half done; raised after, and caught up by the pacing job
    if Facebook is unavailable). Managers only. Audited. Commits: no. Calls Facebook: write, if the
    track has a Facebook campaign.
    """
    reason = _require_reason(reason)
    if track.campaign_id != campaign.id:
        raise NotFound(_("Piste introuvable."))
    if amount_minor < 0:
        raise DomainError(_("Une allocation ne peut pas être négative."), field="amount")
    campaign = _lock_campaign(session, campaign.id)
    balance = campaign_balance(session=session, campaign_id=campaign.id)
    current = track_balance(session=session, track=track)
    change = amount_minor - current.allocated_minor
    if change == 0:
        raise DomainError(_("Cette piste a déjà cette allocation."), field="amount")
    if balance.allocated_minor + change > balance.approved_minor:
        raise DomainError(_("Impossible : il ne reste que %(free)s non réparti sur le budget approuvé de %(approved)s.",
                            free=_money(balance.unallocated_minor, campaign.currency),
                            approved=_money(balance.approved_minor, campaign.currency)), field="amount")
    used = current.committed_minor + current.spent_minor
    if amount_minor < used:
        raise DomainError(_("Impossible : les sponsorisations de cette piste ont déjà engagé ou dépensé %(used)s. "
                            "Arrêtez-en une d'abord.", used=_money(used, campaign.currency)), field="amount")
    if change < 0:
        if client is None and _has_fb_campaign(session, track):
            raise DomainError(_("Pour réduire cette allocation, Rayonne doit d'abord baisser le plafond de dépense "
                                "sur Facebook : la connexion Facebook est nécessaire."))
        if client is not None:
            _set_cap(session, track, amount_minor, client, strict=True)
    entry = _line(session, territory_id=territory.id, kind=LedgerKind.ALLOCATION, amount_minor=change,
                  reason=reason, actor=actor, campaign=campaign, track_id=track.id)
    audit(session=session, territory_id=territory.id, actor=actor, action="budget.allocate", obj=track,
          before={"allocated_minor": current.allocated_minor}, after={"allocated_minor": amount_minor},
          reason=reason)
    if change > 0 and client is not None:
        _set_cap(session, track, amount_minor, client, strict=False)
    return entry


def reallocate(
    *, session: Session, territory: Territory, campaign: Campaign, from_track: ContentTrack, to_track: ContentTrack,
    amount_minor: int, actor: Actor, reason: str, client: FacebookClient | None = None,
) -> list[LedgerEntry]:
    """Move money between two tracks of a campaign in one approval: two ``ALLOCATION`` lines, both spend
    caps updated (the donor's first). Managers only. Audited. Commits: no. Calls Facebook: write."""
    if from_track.id == to_track.id or amount_minor <= 0:
        raise DomainError(_("Choisissez deux pistes différentes et un montant positif."), field="amount")
    donor = track_balance(session=session, track=from_track)
    recipient = track_balance(session=session, track=to_track)
    first = allocate(session=session, territory=territory, campaign=campaign, track=from_track,
                     amount_minor=donor.allocated_minor - amount_minor, actor=actor, reason=reason, client=client)
    second = allocate(session=session, territory=territory, campaign=campaign, track=to_track,
                      amount_minor=recipient.allocated_minor + amount_minor, actor=actor, reason=reason, client=client)
    return [first, second]


def _has_fb_campaign(session: Session, track: ContentTrack) -> bool:
    tac = session.exec(select(TrackAdCampaign).where(TrackAdCampaign.track_id == track.id)).first()
    return tac is not None and bool(tac.fb_campaign_id)


def _set_cap(session: Session, track: ContentTrack, allocation_minor: int, client: FacebookClient,
             *, strict: bool) -> bool:
    """Bring the track's Facebook spend cap to its allocation. ``strict``: raise when Facebook fails."""
    tac = session.exec(select(TrackAdCampaign).where(TrackAdCampaign.track_id == track.id)).first()
    if tac is None or not tac.fb_campaign_id:
        if tac is not None:
            tac.spend_cap_minor = allocation_minor
            session.add(tac)
        return True
    # Facebook reads a spend cap of 0 as "no cap": an empty allocation keeps a 1-cent cap instead.
    cap = max(allocation_minor, 1)
    try:
        client.update_spend_cap(tac.fb_campaign_id, cap)
    except FacebookError as exc:
        logger.warning("Spend cap of track %s not updated: %s", track.id, exc)
        if strict:
            raise DomainError(_("Facebook n'a pas accepté le nouveau plafond de dépense ; rien n'a été modifié. "
                                "%(detail)s", detail=exc.user_message)) from exc
        return False
    tac.spend_cap_minor = cap
    tac.cap_synced_at = utc_now()
    session.add(tac)
    return True


def sync_spend_caps(*, session: Session, client: FacebookClient) -> int:
    """Bring every track's Facebook spend cap back to its allocation (after a failed update).

    Returns the number of caps changed. Commits: no. Calls Facebook: write when a cap differs.
    """
    allocations = {track_id: int(total or 0) for track_id, total in session.exec(
        select(LedgerEntry.track_id, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.kind == LedgerKind.ALLOCATION).group_by(LedgerEntry.track_id))}
    changed = 0
    for tac in session.exec(select(TrackAdCampaign).where(TrackAdCampaign.fb_campaign_id.is_not(None))):
        allocated = allocations.get(tac.track_id, 0)
        if tac.spend_cap_minor != max(allocated, 1):
            track = session.get(ContentTrack, tac.track_id)
            changed += _set_cap(session, track, allocated, client, strict=False)
    return changed


def _money(amount_minor: int, currency: str = "EUR") -> str:
    from core.i18n import money

    try:
        return money(amount_minor, currency)
    except Exception:  # outside a request (jobs): no locale to format with
        return f"{amount_minor / 100:.2f} {currency}"


# ========================================================================================= boosts


def goals_for(result_type: ResultType) -> tuple[str, str, tuple[str, ...]]:
    """The Facebook objective, default optimisation goal and offered goals for an audience's result."""
    return GOALS.get(result_type, GOALS[ResultType.REACH])


def targeting_spec(preset: dict[str, Any], special_category: SpecialAdCategory | None = None) -> dict[str, Any]:
    """Turn Rayonne's targeting preset into a Facebook targeting spec (facebook-api.md §5).

    Advantage audience is off (``advantage_audience: 0``): Rayonne pins the ages of each public. With a
    special ad category (housing, employment, financial), age targeting is dropped and city radii are
    at least 15 km, as Meta requires.
    """
    special = special_category not in (None, SpecialAdCategory.NONE)
    geo: dict[str, Any] = {}
    countries = [str(c).upper() for c in preset.get("countries") or [] if str(c).strip()]
    if countries:
        geo["countries"] = countries
    regions = [{"key": str(r.get("key") if isinstance(r, dict) else r)} for r in preset.get("regions") or []]
    if regions:
        geo["regions"] = regions
    cities = []
    for city in preset.get("cities") or []:
        key = str(city.get("key") if isinstance(city, dict) else city)
        radius = int((city.get("radius") if isinstance(city, dict) else None) or 0)
        if special:
            radius = max(radius, SPECIAL_MIN_RADIUS_KM)
        entry: dict[str, Any] = {"key": key}
        if radius:
            entry.update(radius=radius, distance_unit="kilometer")
        cities.append(entry)
    if cities:
        geo["cities"] = cities
    geo["location_types"] = ["home", "recent"]
    spec: dict[str, Any] = {"geo_locations": geo}
    if not special:
        spec["age_min"] = int(preset.get("age_min") or 18)
        spec["age_max"] = int(preset.get("age_max") or 65)
    interests = [{"id": str(i["id"]), "name": str(i.get("name") or "")}
                 for i in preset.get("interests") or [] if isinstance(i, dict) and i.get("id")]
    if interests:
        spec["flexible_spec"] = [{"interests": interests}]
    spec["publisher_platforms"] = ["facebook"]
    spec["facebook_positions"] = ["feed"]
    spec["targeting_automation"] = {"advantage_audience": 0}
    return spec


def planned_total_minor(kind: BudgetKind, budget_minor: int, starts_at: datetime, ends_at: datetime) -> int:
    """What a boost may spend in all: its lifetime budget, or its daily budget × its days (rounded up)."""
    if kind == BudgetKind.LIFETIME:
        return budget_minor
    return budget_minor * run_days(starts_at, ends_at)


def run_days(starts_at: datetime, ends_at: datetime) -> int:
    return max(1, math.ceil((ends_at - starts_at) / DAY))


def boost_open_commitment(*, session: Session, boost: Boost) -> int:
    """What remains reserved for a boost (committed and not yet spent nor released)."""
    total = session.exec(select(func.sum(LedgerEntry.amount_minor)).where(
        LedgerEntry.boost_id == boost.id, LedgerEntry.kind.in_([LedgerKind.COMMITMENT, LedgerKind.RELEASE]))).one()
    return int(total or 0)


def boost_spent(*, session: Session, boost: Boost) -> int:
    total = session.exec(select(func.sum(LedgerEntry.amount_minor)).where(
        LedgerEntry.boost_id == boost.id, LedgerEntry.kind == LedgerKind.SPEND)).one()
    return int(total or 0)


@dataclass(frozen=True)
class BoostContext:
    """Everything a boost of a post needs to know: where it belongs and the defaults of its form."""

    post: Post
    track: ContentTrack
    campaign: Campaign
    audience: Audience
    objective: str
    default_goal: str
    goals: tuple[str, ...]
    tracks: list[tuple[ContentTrack, Audience]]


def boost_context(*, session: Session, post: Post, track_id: int | None = None) -> BoostContext:
    """The post's campaign, the chosen track (default: the post's own) and the form's defaults.

    :raise BoostRefused: the post is not published on Facebook.
    """
    if post.status != PostStatus.PUBLISHED or not post.fb_post_id:
        raise BoostRefused(_("Seule une publication déjà publiée sur Facebook peut être sponsorisée."))
    own = session.get(ContentTrack, post.track_id)
    campaign = session.get(Campaign, own.campaign_id)
    tracks = list(session.exec(
        select(ContentTrack, Audience).join(Audience, Audience.id == ContentTrack.audience_id)
        .where(ContentTrack.campaign_id == campaign.id).order_by(ContentTrack.id)
    ).all())
    chosen = next(((t, a) for t, a in tracks if t.id == (track_id or own.id)), None)
    if chosen is None:
        raise NotFound(_("Piste introuvable."))
    track, audience = chosen
    tac = session.exec(select(TrackAdCampaign).where(TrackAdCampaign.track_id == track.id)).first()
    objective, default_goal, goals = goals_for(audience.result_type)
    if tac is not None and tac.fb_campaign_id:
        # The track's Facebook campaign exists: its objective decides which goals are possible.
        objective = tac.objective
        goals = tuple(g for g in goals if g in OBJECTIVE_GOALS.get(objective, ())) or (default_goal,)
        default_goal = default_goal if default_goal in goals else goals[0]
    return BoostContext(post=post, track=track, campaign=campaign, audience=audience, objective=objective,
                        default_goal=default_goal, goals=goals, tracks=tracks)


def check_boost(
    *, session: Session, territory: Territory, ctx: BoostContext, data: BoostCreate,
    minimum_daily_minor: int | None, at: datetime | None = None,
) -> tuple[compliance.ComplianceResult, int]:
    """Every rule a boost must satisfy before any money is reserved; returns the guardrails' findings
    and the amount to commit. :raise BoostRefused: with a plain reason."""
    at = at or utc_now()
    starts_at = max(data.starts_at or at, at)
    if data.ends_at <= starts_at + timedelta(hours=1):
        raise BoostRefused(_("La fin doit être au moins une heure après le début."), field="ends_at")
    campaign_end = datetime.combine(ctx.campaign.ends_on + DAY, datetime.min.time(), tzinfo=starts_at.tzinfo)
    if data.ends_at > campaign_end + timedelta(days=1):
        raise BoostRefused(_("La sponsorisation doit finir avec la campagne (le %(day)s).",
                             day=ctx.campaign.ends_on.strftime("%d/%m/%Y")), field="ends_at")
    goal = data.optimization_goal or ctx.default_goal
    if goal not in ctx.goals:
        raise BoostRefused(_("L'objectif d'optimisation %(goal)s ne convient pas au résultat attendu de ce public "
                             "(%(allowed)s).", goal=goal, allowed=", ".join(ctx.goals)), field="optimization_goal")
    days = run_days(starts_at, data.ends_at)
    if minimum_daily_minor is not None:
        minimum = minimum_daily_minor * (days if data.budget_kind == BudgetKind.LIFETIME else 1)
        if data.budget_minor < minimum:
            raise BoostRefused(_("Budget trop bas : Facebook demande au moins %(min)s %(per)s.",
                                 min=_money(minimum, ctx.campaign.currency),
                                 per=_("par jour") if data.budget_kind == BudgetKind.DAILY
                                 else _("pour %(n)s jours", n=days)), field="budget")
    preset = data.targeting if data.targeting is not None else ctx.audience.targeting
    if not (preset.get("countries") or preset.get("regions") or preset.get("cities")):
        raise BoostRefused(_("Le ciblage doit comporter au moins un pays, une région ou une ville."), field="countries")
    age_min, age_max = int(preset.get("age_min") or 18), int(preset.get("age_max") or 65)
    if not 13 <= age_min <= age_max <= 65:
        raise BoostRefused(_("Âges entre 13 et 65 ans, le minimum avant le maximum."), field="age_min")
    if compliance.targets_eu(preset) and not (ctx.campaign.dsa_beneficiary and ctx.campaign.dsa_payor):
        raise BoostRefused(_("Le bénéficiaire et le payeur (règlement européen sur les services numériques, DSA) "
                             "de la campagne « %(name)s » ne sont pas renseignés : Facebook refuse toute publicité "
                             "ciblant l'Union européenne sans eux.", name=ctx.campaign.name), field="dsa")
    found = compliance.check_post(session=session, territory=territory, text=ctx.post.message or "",
                                  audience=ctx.audience, at=at)
    if found.blocked:
        raise BoostRefused(found.blocked)
    amount = planned_total_minor(data.budget_kind, data.budget_minor, starts_at, data.ends_at)
    balance = track_balance(session=session, track=ctx.track)
    if amount > balance.remaining_minor:
        raise BoostRefused(_("Budget insuffisant : cette sponsorisation engagerait %(amount)s mais il ne reste que "
                             "%(left)s sur l'allocation de la piste « %(track)s » (%(allocated)s allouée, "
                             "%(committed)s engagée, %(spent)s dépensée).",
                             amount=_money(amount, ctx.campaign.currency),
                             left=_money(max(balance.remaining_minor, 0), ctx.campaign.currency),
                             track=ctx.audience.name, allocated=_money(balance.allocated_minor, ctx.campaign.currency),
                             committed=_money(balance.committed_minor, ctx.campaign.currency),
                             spent=_money(balance.spent_minor, ctx.campaign.currency)), field="budget")
    return found, amount


def request_boost(
    *, session: Session, territory: Territory, data: BoostCreate, actor: Actor, can_approve: bool,
    minimum_daily_minor: int | None,
) -> Boost:
    """Record a boost request and reserve its money (one ``COMMITMENT`` line), audited.

    Above the territory's threshold, a boost asked by someone who cannot approve spending waits for a
    manager (``PENDING_APPROVAL``); otherwise it is ready to be created (``CREATING``: the intent is
    recorded before anything is sent, see :func:`launch_boost`). ``minimum_daily_minor`` is Facebook's
    minimum daily budget (``FacebookClient.minimum_daily_budget_minor()``). Commits: no. Calls Facebook: no.

    :raise BoostRefused: over the track's remaining allocation, under Facebook's minimum, without DSA
        beneficiary/payor, in a pre-electoral period, or with warnings not acknowledged.
    """
    post = session.get(Post, data.post_id)
    if post is None:
        raise NotFound(_("Publication introuvable."))
    ctx = boost_context(session=session, post=post, track_id=data.track_id)
    _lock_campaign(session, ctx.campaign.id)
    at = utc_now()
    found, amount = check_boost(session=session, territory=territory, ctx=ctx, data=data,
                                minimum_daily_minor=minimum_daily_minor, at=at)
    if found.warnings and not data.acknowledge_warnings:
        raise WarningsToAcknowledge(found.warnings)
    needs_approval = amount > territory.boost_approval_threshold_minor and not can_approve
    boost = Boost(
        territory_id=territory.id, post_id=post.id, track_id=ctx.track.id, campaign_id=ctx.campaign.id,
        currency=ctx.campaign.currency, budget_kind=data.budget_kind, budget_minor=data.budget_minor,
        starts_at=max(data.starts_at or at, at), ends_at=data.ends_at,
        optimization_goal=data.optimization_goal or ctx.default_goal,
        targeting=dict(data.targeting if data.targeting is not None else ctx.audience.targeting),
        status=BoostStatus.PENDING_APPROVAL if needs_approval else BoostStatus.CREATING,
        compliance_warnings=found.warnings, dsa_beneficiary=ctx.campaign.dsa_beneficiary or None,
        dsa_payor=ctx.campaign.dsa_payor or None, requested_by_id=actor.user_id, requested_by_label=actor.label,
    )
    if not needs_approval:
        boost.approved_by_label = actor.label if amount > territory.boost_approval_threshold_minor else _(
            "sous le seuil (%(threshold)s)", threshold=_money(territory.boost_approval_threshold_minor, boost.currency))
        boost.approved_at = at
    session.add(boost)
    session.flush()
    _line(session, territory_id=territory.id, kind=LedgerKind.COMMITMENT, amount_minor=amount, actor=actor,
          reason=_("Sponsorisation n°%(id)s demandée : %(kind)s de %(budget)s du %(start)s au %(end)s", id=boost.id,
                   kind=_("budget quotidien") if boost.budget_kind == BudgetKind.DAILY else _("budget global"),
                   budget=_money(boost.budget_minor, boost.currency), start=boost.starts_at.strftime("%d/%m/%Y"),
                   end=boost.ends_at.strftime("%d/%m/%Y")),
          boost=boost, source_key=f"commit:boost:{boost.id}")
    audit(session=session, territory_id=territory.id, actor=actor, action="boost.request", obj=boost,
          after={"post_id": post.id, "track_id": ctx.track.id, "budget_kind": boost.budget_kind.value,
                 "budget_minor": boost.budget_minor, "committed_minor": amount, "status": boost.status.value,
                 "warnings": " | ".join(found.warnings) or None})
    return boost


def approve_boost(*, session: Session, territory: Territory, boost: Boost, actor: Actor, comment: str = "") -> Boost:
    """A manager (or an external signed link) approves a pending boost: it becomes ready to create.

    The pre-electoral rule is checked again. Audited. Commits: no. Calls Facebook: no.
    """
    if boost.status != BoostStatus.PENDING_APPROVAL:
        raise Conflict(_("Cette sponsorisation n'attend pas d'approbation."))
    if compliance.in_pre_electoral_period(session=session, territory=territory, at=utc_now()):
        raise BoostRefused(_("Période préélectorale : aucune sponsorisation ne peut être lancée."))
    boost.status = BoostStatus.CREATING
    boost.approved_by_label = actor.label
    boost.approved_at = utc_now()
    session.add(boost)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="boost.approve", obj=boost,
          after={"status": boost.status.value}, reason=comment or None)
    return boost


def decline_boost(*, session: Session, territory: Territory, boost: Boost, actor: Actor, reason: str) -> Boost:
    """Refuse a pending boost: nothing was sent to Facebook; its commitment is released. Commits: no."""
    if boost.status != BoostStatus.PENDING_APPROVAL:
        raise Conflict(_("Cette sponsorisation n'attend pas d'approbation."))
    boost.status = BoostStatus.DECLINED
    boost.status_reason = (reason or "").strip()[:2000] or None
    boost.ended_at = utc_now()
    session.add(boost)
    release_open_commitment(session=session, boost=boost, actor=actor,
                            reason=_("Sponsorisation n°%(id)s refusée : %(why)s", id=boost.id, why=reason or "—"))
    audit(session=session, territory_id=territory.id, actor=actor, action="boost.decline", obj=boost,
          after={"status": boost.status.value}, reason=reason or None)
    return boost


def release_open_commitment(*, session: Session, boost: Boost, actor: Actor | str, reason: str) -> LedgerEntry | None:
    """Give back what remains reserved for a boost (one ``RELEASE`` line, negative). Commits: no."""
    open_minor = boost_open_commitment(session=session, boost=boost)
    if open_minor <= 0:
        return None
    return _line(session, territory_id=boost.territory_id, kind=LedgerKind.RELEASE, amount_minor=-open_minor,
                 reason=reason, actor=actor, boost=boost)


# ------------------------------------------------------------------------------- Facebook: create


def _find_or_create(client: FacebookClient, kind: str, name: str, create: Callable[[], str], look_first: bool) -> str:
    if look_first:
        found = client.find_object_by_name(kind, name)  # type: ignore[arg-type]
        if found:
            logger.info("Boost creation resumed: %s %r already exists (%s)", kind, name, found)
            return found
    return create()


def ensure_track_campaign(
    *, session: Session, track: ContentTrack, audience: Audience, campaign: Campaign, client: FacebookClient,
    checkpoint: Callable[[], None], look_first: bool = True,
) -> TrackAdCampaign:
    """The track's one Facebook campaign, created (paused, spend cap = allocation) if missing.

    Calls Facebook: write when missing. Commits: through ``checkpoint`` once the id is stored.
    """
    tac = session.exec(select(TrackAdCampaign).where(TrackAdCampaign.track_id == track.id)).first()
    allocated = track_balance(session=session, track=track).allocated_minor
    # A row without a Facebook id means an earlier attempt (maybe for another boost) was interrupted.
    look_first = look_first or tac is not None
    if tac is None:
        objective, _goal, _goals = goals_for(audience.result_type)
        category = audience.special_ad_category
        tac = TrackAdCampaign(territory_id=track.territory_id, track_id=track.id, campaign_id=campaign.id,
                              objective=objective, spend_cap_minor=max(allocated, 1),
                              special_ad_categories=[] if category in (None, SpecialAdCategory.NONE)
                              else [category.value])
        session.add(tac)
        session.flush()
        checkpoint()  # the intent (and its objective) is recorded before Facebook hears of it
    if tac.fb_campaign_id:
        return tac
    countries = sorted({str(c).upper() for c in audience.targeting.get("countries") or []}) or ["FR"]
    cap = max(allocated, 1)
    tac.fb_campaign_id = _find_or_create(
        client, "campaign", tac.object_name,
        lambda: client.create_campaign(
            name=tac.object_name, objective=tac.objective, special_ad_categories=list(tac.special_ad_categories),
            special_ad_category_country=countries if tac.special_ad_categories else None, spend_cap_minor=cap,
        ),
        look_first,
    )
    tac.spend_cap_minor = cap
    tac.cap_synced_at = utc_now()
    session.add(tac)
    checkpoint()
    if not look_first:
        return tac
    # Found again after an interruption: its cap may predate an allocation change.
    client.update_spend_cap(tac.fb_campaign_id, cap)
    return tac


def launch_boost(
    *, session: Session, territory: Territory, boost: Boost, client: FacebookClient,
    checkpoint: Callable[[], None],
) -> Boost:
    """Create (or resume creating) a boost's Facebook objects, then activate them.

    Crash-safe: the boost is ``CREATING`` and its commitment written before anything is sent; each
    Facebook id is stored and committed (``checkpoint``, usually ``session.commit``) as soon as it is
    known; a later run resumes from the last stored id and, after an interruption, looks each object up
    by its Rayonne name (``rayonne:boost:<id>:adset``…) before creating it, so no object is ever created
    twice. Transient failures leave the boost ``CREATING`` with ``last_error`` (the pacing job resumes
    it); a refusal by Facebook makes it ``FAILED`` with Facebook's reason, and releases its commitment.
    Calls Facebook: write. Commits: through ``checkpoint``.
    """
    if boost.status == BoostStatus.APPROVED:
        boost.status = BoostStatus.CREATING
    if boost.status != BoostStatus.CREATING:
        raise Conflict(_("Cette sponsorisation n'est pas en cours de création."))
    post = session.get(Post, boost.post_id)
    track = session.get(ContentTrack, boost.track_id)
    campaign = session.get(Campaign, boost.campaign_id)
    audience = session.get(Audience, track.audience_id)
    if compliance.in_pre_electoral_period(session=session, territory=territory, at=utc_now()):
        return _fail(session, territory, boost, _("Période préélectorale : la sponsorisation n'a pas été lancée."),
                     checkpoint)
    if boost.ends_at <= utc_now() + timedelta(hours=1):
        return _fail(session, territory, boost, _("Sa période de diffusion est passée avant qu'elle ne soit lancée."),
                     checkpoint)
    if not _claim_creation(session, boost):
        logger.info("Boost %s is being created by another process", boost.id)
        return boost
    look_first = boost.creation_attempts > 1  # a previous attempt may have created objects unrecorded
    checkpoint()
    try:
        tac = ensure_track_campaign(session=session, track=track, audience=audience, campaign=campaign,
                                    client=client, checkpoint=checkpoint, look_first=look_first)
        if not boost.fb_adset_id:
            now = utc_now()
            budget = {"daily_budget_minor": boost.budget_minor} if boost.budget_kind == BudgetKind.DAILY else {
                "lifetime_budget_minor": boost.budget_minor}
            name = boost.object_name("adset")
            boost.fb_adset_id = _find_or_create(client, "adset", name, lambda: client.create_adset(
                name=name, campaign_id=tac.fb_campaign_id, start_time=max(boost.starts_at, now),
                end_time=boost.ends_at, optimization_goal=boost.optimization_goal,
                targeting=targeting_spec(boost.targeting, audience.special_ad_category),
                dsa_beneficiary=boost.dsa_beneficiary, dsa_payor=boost.dsa_payor, **budget,
            ), look_first)
            session.add(boost)
            checkpoint()
        if not boost.fb_creative_id:
            name = boost.object_name("adcreative")
            boost.fb_creative_id = _find_or_create(client, "adcreative", name, lambda: client.create_creative(
                name=name, object_story_id=post.fb_post_id), look_first)
            session.add(boost)
            checkpoint()
        if not boost.fb_ad_id:
            name = boost.object_name("ad")
            boost.fb_ad_id = _find_or_create(client, "ad", name, lambda: client.create_ad(
                name=name, adset_id=boost.fb_adset_id, creative_id=boost.fb_creative_id), look_first)
            session.add(boost)
            checkpoint()
        # Statuses are idempotent: activating twice is harmless.
        client.set_status(tac.fb_campaign_id, "ACTIVE")
        client.set_status(boost.fb_adset_id, "ACTIVE")
        client.set_status(boost.fb_ad_id, "ACTIVE")
    except AuthError as exc:
        _mark_to_reconnect(session, territory, exc)
        return _pending(session, boost, exc, checkpoint)
    except TransientError as exc:  # includes throttling and lost answers (OutcomeUnknownError)
        return _pending(session, boost, exc, checkpoint)
    except FacebookError as exc:  # a refusal: invalid request, permission, policy
        return _fail(session, territory, boost, exc.user_message, checkpoint)
    boost.status = BoostStatus.ACTIVE
    boost.review_status = "PENDING_REVIEW"
    boost.last_error = None
    boost.creation_started_at = None
    session.add(boost)
    audit(session=session, territory_id=territory.id, actor=Actor.system("Rayonne"), action="boost.created",
          obj=boost, after={"adset": boost.fb_adset_id, "creative": boost.fb_creative_id, "ad": boost.fb_ad_id,
                            "campaign": tac.fb_campaign_id})
    checkpoint()
    return boost


def _claim_creation(session: Session, boost: Boost) -> bool:
    """Take the boost's creation lease (atomically) and count the attempt; False if another process holds it."""
    now = utc_now()
    claimed = session.exec(  # type: ignore[call-overload]
        update(Boost)
        .where(Boost.id == boost.id, or_(Boost.creation_started_at.is_(None),
                                         Boost.creation_started_at < now - CREATION_LEASE))
        .values(creation_started_at=now, creation_attempts=Boost.creation_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False
    session.refresh(boost)
    return True


def _pending(session: Session, boost: Boost, exc: FacebookError, checkpoint: Callable[[], None]) -> Boost:
    kind = "lost answer" if isinstance(exc, OutcomeUnknownError) else type(exc).__name__
    logger.warning("Boost %s creation interrupted (%s): %s", boost.id, kind, exc)
    boost.last_error = exc.user_message[:2000]
    boost.creation_started_at = None
    session.add(boost)
    checkpoint()
    return boost


def _fail(session: Session, territory: Territory, boost: Boost, reason: str,
          checkpoint: Callable[[], None]) -> Boost:
    boost.status = BoostStatus.FAILED
    boost.status_reason = reason[:2000]
    boost.ended_at = utc_now()
    boost.creation_started_at = None
    session.add(boost)
    release_open_commitment(session=session, boost=boost, actor=Actor.system("Rayonne"),
                            reason=_("Sponsorisation n°%(id)s non créée : %(why)s", id=boost.id, why=reason))
    audit(session=session, territory_id=territory.id, actor=Actor.system("Rayonne"), action="boost.failed",
          obj=boost, reason=reason[:1000])
    checkpoint()
    return boost


def _mark_to_reconnect(session: Session, territory: Territory, exc: Exception) -> None:
    from accounts.connection import mark_to_reconnect

    mark_to_reconnect(session=session, territory=territory, error=exc)


# ------------------------------------------------------------------------ Facebook: life of a boost


def _require_live(boost: Boost, *allowed: BoostStatus) -> None:
    if boost.status not in allowed or not boost.fb_adset_id:
        raise Conflict(_("Impossible dans l'état actuel de la sponsorisation (%(status)s).",
                         status=status_label(boost.status)))


def pause_boost(
    *, session: Session, territory: Territory, boost: Boost, client: FacebookClient, actor: Actor, reason: str = "",
    by_pacing: bool = False,
) -> Boost:
    """Pause a running boost (its ad set). Its money stays reserved. Audited. Calls Facebook: write."""
    _require_live(boost, BoostStatus.ACTIVE)
    client.set_status(boost.fb_adset_id, "PAUSED")
    boost.status = BoostStatus.PAUSED
    boost.paused_by_pacing = by_pacing
    boost.status_reason = reason[:2000] or None
    session.add(boost)
    audit(session=session, territory_id=territory.id, actor=actor, action="boost.pause", obj=boost,
          reason=reason or None)
    return boost


def resume_boost(
    *, session: Session, territory: Territory, boost: Boost, client: FacebookClient, actor: Actor,
) -> Boost:
    """Resume a paused boost, unless a pre-electoral period began or it has ended. Calls Facebook: write."""
    _require_live(boost, BoostStatus.PAUSED)
    if compliance.in_pre_electoral_period(session=session, territory=territory, at=utc_now()):
        raise BoostRefused(_("Période préélectorale : la sponsorisation ne peut pas reprendre."))
    if boost.ends_at <= utc_now():
        raise Conflict(_("Cette sponsorisation est terminée."))
    client.set_status(boost.fb_adset_id, "ACTIVE")
    boost.status = BoostStatus.ACTIVE
    boost.paused_by_pacing = False
    boost.status_reason = None
    session.add(boost)
    audit(session=session, territory_id=territory.id, actor=actor, action="boost.resume", obj=boost)
    return boost


def stop_boost(
    *, session: Session, territory: Territory, boost: Boost, client: FacebookClient | None, actor: Actor,
    reason: str = "",
) -> Boost:
    """Stop a boost for good: its ad set is archived on Facebook, the spend so far recorded, and what
    remains of its commitment released. A boost still waiting (approval, creation) just ends.
    Audited. Commits: no. Calls Facebook: write (and read, for the last spend)."""
    if boost.status not in OPEN_STATUSES:
        raise Conflict(_("Cette sponsorisation est déjà terminée."))
    if boost.fb_adset_id and client is not None:
        client.set_status(boost.fb_adset_id, "ARCHIVED")
        try:
            sync_spend(session=session, boosts=[boost], client=client)
        except FacebookError as exc:  # the spend will be caught up by the next sync
            logger.warning("Spend of boost %s not synchronised at stop: %s", boost.id, exc)
    elif boost.fb_adset_id:
        raise DomainError(_("Facebook est nécessaire pour arrêter une sponsorisation en cours."))
    boost.status = BoostStatus.STOPPED
    boost.status_reason = reason[:2000] or None
    boost.ended_at = utc_now()
    session.add(boost)
    release_open_commitment(session=session, boost=boost, actor=actor,
                            reason=_("Sponsorisation n°%(id)s arrêtée : reste de l'engagement rendu", id=boost.id))
    audit(session=session, territory_id=territory.id, actor=actor, action="boost.stop", obj=boost,
          reason=reason or None)
    return boost


def change_boost_budget(
    *, session: Session, territory: Territory, boost: Boost, budget_minor: int, actor: Actor, can_approve: bool,
    client: FacebookClient | None, minimum_daily_minor: int | None = None,
) -> Boost:
    """Change a boost's budget (same kind): the commitment follows (a ``COMMITMENT`` for more, a
    ``RELEASE`` for less), within the track's remaining allocation; above the approval threshold only a
    manager may do it. Facebook's ad set follows when it exists. Audited. Calls Facebook: write."""
    if boost.status not in OPEN_STATUSES or boost.status == BoostStatus.CREATING:
        raise Conflict(_("Le budget de cette sponsorisation ne peut plus changer."))
    if budget_minor <= 0 or budget_minor == boost.budget_minor:
        raise DomainError(_("Indiquez un nouveau budget."), field="budget")
    track = session.get(ContentTrack, boost.track_id)
    _lock_campaign(session, boost.campaign_id)
    start = max(boost.starts_at, min(utc_now(), boost.ends_at))
    if minimum_daily_minor is not None:
        days = run_days(boost.starts_at, boost.ends_at)
        minimum = minimum_daily_minor * (days if boost.budget_kind == BudgetKind.LIFETIME else 1)
        if budget_minor < minimum:
            raise BoostRefused(_("Budget trop bas : Facebook demande au moins %(min)s.",
                                 min=_money(minimum, boost.currency)), field="budget")
    spent = boost_spent(session=session, boost=boost)
    if boost.budget_kind == BudgetKind.LIFETIME and budget_minor < spent:
        raise BoostRefused(_("Ce budget est inférieur à ce qui est déjà dépensé (%(spent)s).",
                             spent=_money(spent, boost.currency)), field="budget")
    old_total = planned_total_minor(boost.budget_kind, boost.budget_minor, boost.starts_at, boost.ends_at)
    new_total = planned_total_minor(boost.budget_kind, budget_minor, boost.starts_at, boost.ends_at)
    if boost.budget_kind == BudgetKind.DAILY and boost.status in LIVE_STATUSES:
        # Days already run keep their old daily budget.
        done = max(0, min(run_days(boost.starts_at, boost.ends_at), math.floor((start - boost.starts_at) / DAY)))
        new_total = boost.budget_minor * done + budget_minor * (run_days(boost.starts_at, boost.ends_at) - done)
    change = new_total - old_total
    if change > 0:
        remaining = track_balance(session=session, track=track).remaining_minor
        if change > remaining:
            raise BoostRefused(_("Budget insuffisant : il faudrait engager %(more)s de plus, il reste %(left)s sur "
                                 "la piste.", more=_money(change, boost.currency),
                                 left=_money(max(remaining, 0), boost.currency)), field="budget")
        if new_total > territory.boost_approval_threshold_minor and not can_approve:
            raise BoostRefused(_("Au-delà de %(threshold)s, seul un responsable peut augmenter ce budget.",
                                 threshold=_money(territory.boost_approval_threshold_minor, boost.currency)),
                               field="budget")
    if boost.fb_adset_id:
        if client is None:
            raise DomainError(_("Facebook est nécessaire pour changer ce budget."))
        if boost.budget_kind == BudgetKind.DAILY:
            client.update_adset_budget(boost.fb_adset_id, daily_budget_minor=budget_minor)
        else:
            client.update_adset_budget(boost.fb_adset_id, lifetime_budget_minor=budget_minor)
    before = boost.budget_minor
    boost.budget_minor = budget_minor
    session.add(boost)
    reason = _("Budget de la sponsorisation n°%(id)s : %(old)s → %(new)s", id=boost.id,
               old=_money(before, boost.currency), new=_money(budget_minor, boost.currency))
    if change > 0:
        _line(session, territory_id=territory.id, kind=LedgerKind.COMMITMENT, amount_minor=change, reason=reason,
              actor=actor, boost=boost)
    elif change < 0:
        release = min(-change, max(boost_open_commitment(session=session, boost=boost), 0))
        if release:
            _line(session, territory_id=territory.id, kind=LedgerKind.RELEASE, amount_minor=-release,
                  reason=reason, actor=actor, boost=boost)
    audit(session=session, territory_id=territory.id, actor=actor, action="boost.budget", obj=boost,
          before={"budget_minor": before}, after={"budget_minor": budget_minor})
    return boost


def refresh_boost(*, session: Session, territory: Territory, boost: Boost, client: FacebookClient) -> Boost:
    """Read the ad's review state from Facebook; a refused ad is ``REJECTED`` with Facebook's reasons and
    its commitment released (the post stays published organically: nothing touches it); a boost past its
    end is ``COMPLETED``, its last spend recorded and what it did not spend released.
    Commits: no. Calls Facebook: read."""
    if boost.status not in LIVE_STATUSES or not boost.fb_ad_id:
        return boost
    review = client.ad_review(boost.fb_ad_id)
    boost.review_status = review.effective_status or boost.review_status
    boost.review_checked_at = utc_now()
    session.add(boost)
    if review.effective_status == "DISAPPROVED":
        reasons = "; ".join(review.rejection_reasons) or _("Facebook n'a pas donné de raison.")
        boost.status = BoostStatus.REJECTED
        boost.rejection_reason = reasons[:2000]
        boost.ended_at = utc_now()
        try:
            sync_spend(session=session, boosts=[boost], client=client)
        except FacebookError as exc:
            logger.warning("Spend of rejected boost %s not synchronised: %s", boost.id, exc)
        release_open_commitment(session=session, boost=boost, actor=Actor.system("Facebook"),
                                reason=_("Sponsorisation n°%(id)s refusée par Facebook : %(why)s", id=boost.id,
                                         why=reasons))
        audit(session=session, territory_id=territory.id, actor=Actor.system("Facebook"), action="boost.rejected",
              obj=boost, reason=reasons[:1000])
        return boost
    if boost.ends_at <= utc_now():
        complete_boost(session=session, territory=territory, boost=boost, client=client)
    return boost


def complete_boost(*, session: Session, territory: Territory, boost: Boost, client: FacebookClient | None) -> Boost:
    """A boost past its end: record its last spend and release what it did not spend. Commits: no."""
    if client is not None and boost.fb_ad_id:
        try:
            sync_spend(session=session, boosts=[boost], client=client)
        except FacebookError as exc:
            logger.warning("Spend of boost %s not synchronised at completion: %s", boost.id, exc)
    boost.status = BoostStatus.COMPLETED
    boost.ended_at = utc_now()
    session.add(boost)
    release_open_commitment(session=session, boost=boost, actor=Actor.system("Rayonne"),
                            reason=_("Sponsorisation n°%(id)s terminée sous son budget : reste rendu", id=boost.id))
    audit(session=session, territory_id=territory.id, actor=Actor.system("Rayonne"), action="boost.completed",
          obj=boost)
    return boost


# ------------------------------------------------------------------------------------------ spend


def record_spend(*, session: Session, boost: Boost, day: date, spend_minor: int,
                 source: str = SYSTEM_SPEND_LABEL) -> int:
    """Record a boost's spend for one day, idempotently; returns the amount added to the ledger.

    Facebook's figure for a day only grows while the day runs: the ledger keeps the highest figure
    seen, adding the difference as a ``SPEND`` line keyed ``spend:boost:<id>:<day>`` (then
    ``…:<day>:<total>`` for each later increase), and consumes as much of the boost's commitment. A
    lower figure is logged and ignored (the ledger is append-only). Commits: no (uses savepoints).
    """
    recorded = int(session.exec(select(func.sum(LedgerEntry.amount_minor)).where(
        LedgerEntry.boost_id == boost.id, LedgerEntry.kind == LedgerKind.SPEND, LedgerEntry.day == day)).one() or 0)
    if spend_minor <= recorded:
        if spend_minor < recorded:
            logger.warning("Boost %s spend for %s went down (%s < %s recorded): ignored", boost.id, day,
                           spend_minor, recorded)
        return 0
    delta = spend_minor - recorded
    suffix = "" if recorded == 0 else f":{spend_minor}"
    open_minor = max(boost_open_commitment(session=session, boost=boost), 0)
    try:
        with session.begin_nested():
            _line(session, territory_id=boost.territory_id, kind=LedgerKind.SPEND, amount_minor=delta,
                  reason=_("Dépense du %(day)s (sponsorisation n°%(id)s)", day=day.strftime("%d/%m/%Y"), id=boost.id)
                  + (_(" — complément, total du jour %(total)s", total=_money(spend_minor, boost.currency))
                     if recorded else ""),
                  actor=source, boost=boost, day=day, source_key=f"spend:boost:{boost.id}:{day.isoformat()}{suffix}")
            consumed = min(delta, open_minor)
            if consumed:
                _line(session, territory_id=boost.territory_id, kind=LedgerKind.COMMITMENT, amount_minor=-consumed,
                      reason=_("Engagement consommé par la dépense du %(day)s", day=day.strftime("%d/%m/%Y")),
                      actor=source, boost=boost, day=day,
                      source_key=f"consume:boost:{boost.id}:{day.isoformat()}{suffix}")
    except IntegrityError:  # another run recorded the same figure meanwhile
        logger.info("Spend of boost %s for %s already recorded", boost.id, day)
        return 0
    return delta


def sync_spend(*, session: Session, boosts: Iterable[Boost], client: FacebookClient) -> int:
    """Read the boosts' daily spend from Ads Insights and record it; returns the amount added.

    Reads from two days before the last day already recorded (Facebook revises recent days), or from the
    boost's start. Calls Facebook: read (one request per 50 ads). Commits: no.
    """
    by_ad = {b.fb_ad_id: b for b in boosts if b.fb_ad_id}
    if not by_ad:
        return 0
    ids = [b.id for b in by_ad.values()]
    recorded: dict[tuple[int, date], int] = {
        (boost_id, day): int(total or 0) for boost_id, day, total in session.exec(
            select(LedgerEntry.boost_id, LedgerEntry.day, func.sum(LedgerEntry.amount_minor))
            .where(LedgerEntry.boost_id.in_(ids), LedgerEntry.kind == LedgerKind.SPEND)
            .group_by(LedgerEntry.boost_id, LedgerEntry.day))
    }
    last_day = {boost_id: day for (boost_id, day) in sorted(recorded, key=lambda k: k[1]) if day is not None}
    since = min((last_day[b.id] - timedelta(days=2)) if b.id in last_day else b.starts_at.date()
                for b in by_ad.values())
    until = utc_now().date()
    if until < since:
        return 0
    added = 0
    for row in client.ad_insights_daily(list(by_ad), since=since, until=until):
        boost = by_ad.get(row.ad_id)
        if boost is not None and row.spend_minor > recorded.get((boost.id, row.day), 0):
            added += record_spend(session=session, boost=boost, day=row.day, spend_minor=row.spend_minor)
    return added


def record_spend_from_metrics(*, session: Session, days: int = 7) -> int:
    """Record spend from the daily facts `reports` synchronises (``AdDailyMetric``) of the last ``days``,
    idempotently (same rules as :func:`record_spend`). Commits: no."""
    from reports.models import AdDailyMetric

    added = 0
    boosts: dict[int, Boost] = {}
    since = utc_now().date() - timedelta(days=days)
    for metric in session.exec(select(AdDailyMetric).where(AdDailyMetric.spend_minor.is_not(None),
                                                           AdDailyMetric.day >= since)):
        boost = boosts.get(metric.boost_id) or session.get(Boost, metric.boost_id)
        if boost is None:
            continue
        boosts[boost.id] = boost
        added += record_spend(session=session, boost=boost, day=metric.day, spend_minor=int(metric.spend_minor or 0))
    return added


# ---------------------------------------------------------------------------------------- reading


STATUS_LABELS = {
    BoostStatus.PENDING_APPROVAL: _l("En attente d'approbation"),
    BoostStatus.APPROVED: _l("Approuvée"),
    BoostStatus.CREATING: _l("Création en cours"),
    BoostStatus.ACTIVE: _l("Active"),
    BoostStatus.PAUSED: _l("En pause"),
    BoostStatus.COMPLETED: _l("Terminée"),
    BoostStatus.STOPPED: _l("Arrêtée"),
    BoostStatus.REJECTED: _l("Refusée par Facebook"),
    BoostStatus.DECLINED: _l("Refusée en interne"),
    BoostStatus.FAILED: _l("Échec de création"),
}


def status_label(status: BoostStatus) -> str:
    return str(STATUS_LABELS.get(status, status))


def get_boost(*, session: Session, boost_id: int) -> Boost:
    """:raise NotFound: no such boost in the current territory."""
    boost = session.get(Boost, boost_id)
    if boost is None:
        raise NotFound(_("Sponsorisation introuvable."))
    return boost


def list_boosts(
    *, session: Session, campaign_id: int | None = None, statuses: Iterable[BoostStatus] | None = None,
    since: datetime | None = None, until: datetime | None = None,
) -> list[Boost]:
    """Boosts, newest first, filtered by campaign, status, or creation period ``[since, until)``."""
    query = select(Boost).order_by(Boost.created_at.desc(), Boost.id.desc())
    if campaign_id is not None:
        query = query.where(Boost.campaign_id == campaign_id)
    if statuses is not None:
        query = query.where(Boost.status.in_(list(statuses)))
    if since is not None:
        query = query.where(Boost.created_at >= since)
    if until is not None:
        query = query.where(Boost.created_at < until)
    return list(session.exec(query))


@dataclass(frozen=True)
class BoostSummary:
    """A boost as the weekly report tells it: who asked, who approved, what it cost, Facebook's verdict."""

    boost: Boost
    post_message: str
    audience_name: str
    campaign_name: str
    committed_minor: int  # still reserved
    spent_minor: int
    requested_by: str | None
    approved_by: str | None
    rejection_reason: str | None


def boost_summaries(*, session: Session, since: datetime | None = None, until: datetime | None = None,
                    campaign_id: int | None = None) -> list[BoostSummary]:
    """Boosts created in ``[since, until)`` with their money and approvals (weekly report). Calls Facebook: no."""
    result = []
    for boost in list_boosts(session=session, campaign_id=campaign_id, since=since, until=until):
        post = session.get(Post, boost.post_id)
        track = session.get(ContentTrack, boost.track_id)
        audience = session.get(Audience, track.audience_id)
        campaign = session.get(Campaign, boost.campaign_id)
        result.append(BoostSummary(
            boost=boost, post_message=post.message if post else "", audience_name=audience.name,
            campaign_name=campaign.name, committed_minor=boost_open_commitment(session=session, boost=boost),
            spent_minor=boost_spent(session=session, boost=boost), requested_by=boost.requested_by_label,
            approved_by=boost.approved_by_label, rejection_reason=boost.rejection_reason,
        ))
    return result


def refused_boosts(*, session: Session, since: datetime | None = None,
                   until: datetime | None = None) -> list[BoostSummary]:
    """Boosts Facebook's review refused (ended in ``[since, until)``), with Facebook's reasons."""
    out = []
    for summary in boost_summaries(session=session):
        ended = summary.boost.ended_at
        if summary.boost.status != BoostStatus.REJECTED:
            continue
        if (since and (ended is None or ended < since)) or (until and ended is not None and ended >= until):
            continue
        out.append(summary)
    return out


def boostable_posts(*, session: Session, campaign_id: int) -> list[Post]:
    """A campaign's published posts, newest first (the ones that can be sponsored)."""
    return list(session.exec(
        select(Post).join(ContentTrack, ContentTrack.id == Post.track_id)
        .where(ContentTrack.campaign_id == campaign_id, Post.status == PostStatus.PUBLISHED,
               Post.fb_post_id.is_not(None))
        .order_by(Post.published_at.desc(), Post.id.desc())
    ))


# ------------------------------------------------------------------- approval by external link


def _link_boost(session: Session, approval: Any) -> Boost:
    boost = session.get(Boost, approval.object_id)
    if boost is None:
        raise NotFound(_("Sponsorisation introuvable."))
    return boost


def _link_check(*, session: Session, territory: Territory, object_id: int) -> None:
    boost = session.get(Boost, object_id)
    if boost is None:
        raise NotFound(_("Sponsorisation introuvable."))
    if boost.status != BoostStatus.PENDING_APPROVAL:
        raise Conflict(_("Cette sponsorisation n'attend pas d'approbation."))


def _link_decide(*, session: Session, approval: Any, decision: str, comment: str, actor: Actor) -> None:
    """Through the link, approving makes the boost ready to create (the `sponsored.resume_boosts` job
    sends it to Facebook within minutes: creating it needs the commits a public page should not make);
    rejecting releases its money."""
    boost = _link_boost(session, approval)
    territory = session.get(Territory, boost.territory_id)
    label = Actor(label=_("%(name)s (lien de validation)", name=actor.label))
    if decision == "reject":
        decline_boost(session=session, territory=territory, boost=boost, actor=label, reason=comment)
    else:
        approve_boost(session=session, territory=territory, boost=boost, actor=label, comment=comment)


def _link_context(*, session: Session, approval: Any) -> dict[str, Any]:
    boost = _link_boost(session, approval)
    track = session.get(ContentTrack, boost.track_id)
    return {"boost": boost, "post": session.get(Post, boost.post_id), "campaign": session.get(Campaign,
            boost.campaign_id), "audience": session.get(Audience, track.audience_id),
            "committed_minor": planned_total_minor(boost.budget_kind, boost.budget_minor, boost.starts_at,
                                                   boost.ends_at)}


def _link_summary(*, session: Session, approval: Any) -> str:
    boost = _link_boost(session, approval)
    total = planned_total_minor(boost.budget_kind, boost.budget_minor, boost.starts_at, boost.ends_at)
    return _("la sponsorisation n°%(id)s (%(amount)s)", id=boost.id, amount=_money(total, boost.currency))


def _register_link_handler() -> None:
    from campaigns import approvals

    approvals.register_handler("boost", _link_decide, check=_link_check, context=_link_context,
                               template="sponsored/approval_boost.html", summary=_link_summary)


_register_link_handler()
