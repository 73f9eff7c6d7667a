"""Pacing (actual spend against the planned curve, per boost and per track), the alerts it raises, and
the advice to move money between tracks.

**The planned curve.** A boost's plan grows linearly from its start to its end: a lifetime budget
spread evenly, or the daily budget per day. Pacing is actual spend ÷ planned spend to date; between 80 %
and 120 % is on plan. A track's plan is the sum of its boosts' plans.

**Alerts** are raised once per threshold (a stable ``key``): a track that spent 80 % and then 100 % of
its allocation (re-armed when the allocation changes), a boost or track that leaves the 80–120 % band
(once per direction), a boost the pacing job paused, an ad Facebook refused. Each one is shown on the
budgets pages until a manager acknowledges it, and e-mailed to the territory's managers once.

**Pausing.** A boost whose projected spend (its spend so far + its expected rate × the time left)
would exceed what remains for it (its own open commitment + what the track has not committed) is
paused. Facebook's spend cap (the track's allocation) remains the hard stop even if this job is down.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from accounts.models import Membership, Role, Territory, User
from accounts.services import Actor, audit
from campaigns.models import Campaign, ContentTrack
from core.db import utc_now
from core.i18n import supported_locale
from core.mail import send_mail
from facebook import AuthError, FacebookClient, FacebookError
from sponsored import services
from sponsored.models import (
    AlertKind,
    Boost,
    BoostStatus,
    BudgetKind,
    LedgerEntry,
    LedgerKind,
    PacingAlert,
)
from targets.models import Audience

logger = logging.getLogger(__name__)

LOW, HIGH = 0.8, 1.2
#: Before this much of a boost has run, pacing is "too early to tell".
MIN_ELAPSED = timedelta(hours=24)
#: Facebook may spend up to 25 % over a daily budget on a given day.
DAILY_OVERSPEND = 1.25
#: Without enough daily points to measure it, the assumed elasticity of results to spend (diminishing
#: returns: doubling the spend brings 2^0.7 ≈ 1.6 times the results).
DEFAULT_ELASTICITY = 0.7
#: Advice only when the best track's marginal value per euro beats the worst's by this factor.
ADVICE_MARGIN = 1.2
#: Share of the donor's uncommitted allocation the advice proposes to move at most.
ADVICE_SHARE = 0.5


class PaceStatus:
    TOO_EARLY = "too_early"
    ON_PLAN = "on_plan"
    UNDER = "under"
    OVER = "over"
    ENDED = "ended"


PACE_LABELS = {
    PaceStatus.TOO_EARLY: _l("Trop tôt pour juger"),
    PaceStatus.ON_PLAN: _l("Dans le plan"),
    PaceStatus.UNDER: _l("En retard sur le plan"),
    PaceStatus.OVER: _l("En avance sur le plan"),
    PaceStatus.ENDED: _l("Terminée"),
}


def pace_label(status: str) -> str:
    return str(PACE_LABELS.get(status, status))


@dataclass(frozen=True)
class Pacing:
    """Actual against planned spend to date, and where the spend is heading."""

    planned_minor: int
    spent_minor: int
    projected_minor: int  # total at the end at the current rate
    total_minor: int  # the planned total
    status: str

    @property
    def ratio(self) -> float | None:
        return self.spent_minor / self.planned_minor if self.planned_minor > 0 else None


def planned_to(boost: Boost, at: datetime) -> int:
    """What the boost should have spent by ``at`` on a linear plan."""
    if at <= boost.starts_at:
        return 0
    total = services.planned_total_minor(boost.budget_kind, boost.budget_minor, boost.starts_at, boost.ends_at)
    span = (boost.ends_at - boost.starts_at).total_seconds()
    done = min(1.0, (min(at, boost.ends_at) - boost.starts_at).total_seconds() / span) if span > 0 else 1.0
    return int(total * done)


def boost_pacing(*, session: Session, boost: Boost, at: datetime | None = None) -> Pacing:
    """A boost's pacing at ``at`` (default: now). Calls Facebook: no.

    The projection trusts Facebook's own rules while the boost is on plan (a lifetime budget is never
    exceeded; a daily budget evens out over the week, so what remains is the planned total minus the
    spend) and extrapolates the observed rate when it runs ahead of plan.
    """
    at = at or utc_now()
    spent = services.boost_spent(session=session, boost=boost)
    total = services.planned_total_minor(boost.budget_kind, boost.budget_minor, boost.starts_at, boost.ends_at)
    planned = planned_to(boost, at)
    elapsed = min(at, boost.ends_at) - boost.starts_at
    left = max(timedelta(0), boost.ends_at - max(at, boost.starts_at))
    if boost.status not in (BoostStatus.ACTIVE, BoostStatus.PAUSED):
        return Pacing(planned, spent, spent, total, PaceStatus.ENDED)
    if elapsed < MIN_ELAPSED or planned <= 0:
        status = PaceStatus.TOO_EARLY
    else:
        ratio = spent / planned
        status = PaceStatus.UNDER if ratio < LOW else PaceStatus.OVER if ratio > HIGH else PaceStatus.ON_PLAN
    more = max(total - spent, 0)
    if status == PaceStatus.OVER and boost.budget_kind == BudgetKind.DAILY:
        observed = spent / (elapsed / timedelta(days=1))
        more = max(more, int(min(observed, boost.budget_minor * DAILY_OVERSPEND) * (left / timedelta(days=1))))
    if boost.budget_kind == BudgetKind.LIFETIME:
        more = min(more, max(boost.budget_minor - spent, 0))  # Facebook never spends past a lifetime budget
    if boost.status != BoostStatus.ACTIVE or left <= timedelta(0):
        more = 0
    return Pacing(planned, spent, spent + more, total, status)


@dataclass(frozen=True)
class TrackPacing:
    """A track's money and pacing: what the weekly report and the budgets page show."""

    campaign: Campaign
    balance: services.TrackBalance
    pacing: Pacing
    boosts: list[tuple[Boost, Pacing]] = field(default_factory=list)

    @property
    def used_share(self) -> float | None:
        """Spent ÷ allocation."""
        allocated = self.balance.allocated_minor
        return self.balance.spent_minor / allocated if allocated > 0 else None


def track_pacing(*, session: Session, campaign: Campaign, at: datetime | None = None) -> list[TrackPacing]:
    """Each track of a campaign with its balance, its pacing and its live boosts' pacing. Calls Facebook: no."""
    at = at or utc_now()
    live = defaultdict(list)
    for boost in session.exec(select(Boost).where(
            Boost.campaign_id == campaign.id, Boost.status.in_([BoostStatus.ACTIVE, BoostStatus.PAUSED]))):
        live[boost.track_id].append((boost, boost_pacing(session=session, boost=boost, at=at)))
    result = []
    for balance in services.track_balances(session=session, campaign=campaign):
        items = live.get(balance.track.id, [])
        planned = sum(p.planned_minor for _b, p in items)
        spent = sum(p.spent_minor for _b, p in items)
        statuses = {p.status for _b, p in items}
        if not items:
            status = PaceStatus.ENDED if balance.spent_minor else PaceStatus.TOO_EARLY
        elif statuses == {PaceStatus.TOO_EARLY} or planned <= 0:
            status = PaceStatus.TOO_EARLY
        else:
            ratio = spent / planned
            status = PaceStatus.UNDER if ratio < LOW else PaceStatus.OVER if ratio > HIGH else PaceStatus.ON_PLAN
        result.append(TrackPacing(
            campaign=campaign, balance=balance, boosts=items,
            pacing=Pacing(planned, spent, sum(p.projected_minor for _b, p in items),
                          sum(p.total_minor for _b, p in items), status),
        ))
    return result


def pacing_overview(*, session: Session, at: datetime | None = None) -> list[TrackPacing]:
    """Every active campaign's tracks with their pacing (weekly report, budgets page). Calls Facebook: no."""
    out: list[TrackPacing] = []
    for campaign, _balance in services.campaign_balances(session=session):
        out.extend(track_pacing(session=session, campaign=campaign, at=at))
    return out


# ------------------------------------------------------------------------------------- alerts


def raise_alert(
    *, session: Session, territory: Territory, key: str, kind: AlertKind, message: str,
    campaign_id: int | None = None, track_id: int | None = None, boost_id: int | None = None,
) -> PacingAlert | None:
    """Record an alert once per ``key`` and e-mail the territory's managers; ``None`` if already raised.

    Commits: no (savepoint). Calls Facebook: no.
    """
    if session.exec(select(PacingAlert).where(PacingAlert.key == key)).first() is not None:
        return None
    alert = PacingAlert(territory_id=territory.id, key=key, kind=kind, message=message[:1000],
                        campaign_id=campaign_id, track_id=track_id, boost_id=boost_id)
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:
        return None
    for user in managers(session=session, territory=territory):
        with force_locale(supported_locale(user.locale, territory.locale)):  # each manager's own language
            subject = _("Rayonne — budget de %(name)s : %(what)s", name=territory.name, what=alert_title(kind))
            text = render_template("sponsored/email/alert.txt", territory=territory, alert=alert,
                                   title=alert_title(kind))
        send_mail(session=session, territory_id=territory.id, to=user.email, kind="alert", subject=subject, text=text)
        alert.mailed = True
    session.add(alert)
    return alert


ALERT_TITLES = {
    AlertKind.ALLOCATION_80: _l("allocation dépensée à 80 %"),  # not "80 % d'une": babel reads "% d" as a placeholder
    AlertKind.ALLOCATION_100: _l("allocation entièrement dépensée"),
    AlertKind.PACING_LOW: _l("dépense en retard sur le plan"),
    AlertKind.PACING_HIGH: _l("dépense en avance sur le plan"),
    AlertKind.PAUSED: _l("sponsorisation mise en pause"),
    AlertKind.REJECTED: _l("publicité refusée par Facebook"),
}


def alert_title(kind: AlertKind) -> str:
    return str(ALERT_TITLES.get(kind, kind))


def managers(*, session: Session, territory: Territory) -> list[User]:
    """Who receives budget alerts: the territory's managers (its admins when it has no manager)."""
    def of(role: Role) -> list[User]:
        return list(session.exec(
            select(User).join(Membership, Membership.user_id == User.id)
            .where(Membership.territory_id == territory.id, Membership.role == role, User.is_active.is_(True))
        ))

    return of(Role.MANAGER) or of(Role.ADMIN)


def open_alerts(*, session: Session, campaign_id: int | None = None) -> list[PacingAlert]:
    """Alerts not yet acknowledged, newest first."""
    query = select(PacingAlert).where(PacingAlert.acknowledged_at.is_(None)).order_by(PacingAlert.created_at.desc())
    if campaign_id is not None:
        query = query.where(PacingAlert.campaign_id == campaign_id)
    return list(session.exec(query))


def acknowledge_alert(*, session: Session, territory: Territory, alert: PacingAlert, actor: Actor) -> PacingAlert:
    """A manager has seen an alert: it leaves the banner. Audited. Commits: no."""
    alert.acknowledged_at = utc_now()
    alert.acknowledged_by_label = actor.label
    session.add(alert)
    audit(session=session, territory_id=territory.id, actor=actor, action="budget.alert_seen", obj=alert)
    return alert


# ------------------------------------------------------------------------------------- the job


@dataclass
class PacingRun:
    """What one pacing run did in one territory."""

    resumed: int = 0
    refreshed: int = 0
    spend_added_minor: int = 0
    caps_fixed: int = 0
    alerts: int = 0
    paused: int = 0
    errors: int = 0


def check_territory(
    *, session: Session, territory: Territory, client: FacebookClient | None, at: datetime | None = None,
    commit: bool = True,
) -> PacingRun:
    """One pacing run for the current territory: resume interrupted creations, refresh reviews, record
    spend, bring spend caps back to the allocations, raise alerts, pause boosts that would overspend.

    Each boost is handled on its own: a failure is logged and the run goes on. Commits: per step when
    ``commit`` (the job), else no. Calls Facebook: read and write.
    """
    at = at or utc_now()
    run = PacingRun()

    def checkpoint() -> None:
        if commit:
            session.commit()
        else:
            session.flush()

    if client is not None:
        try:
            _facebook_steps(session, territory, client, checkpoint, run)
        except AuthError as exc:  # the token expired: tell the admins once, work from the ledger alone
            session.rollback()
            services._mark_to_reconnect(session, territory, exc)
            checkpoint()
            run.errors += 1
            client = None
    for campaign, _balance in services.campaign_balances(session=session):
        try:
            _check_campaign(session, territory, campaign, client, at, run)
            checkpoint()
        except Exception:
            run.errors += 1
            logger.exception("Pacing: campaign %s not checked", campaign.id)
            session.rollback()
    return run


def _facebook_steps(session: Session, territory: Territory, client: FacebookClient, checkpoint: Any,
                    run: PacingRun) -> None:
    """The part of a pacing run that talks to Facebook. :raise AuthError: the token is no longer valid."""
    for boost in services.list_boosts(session=session, statuses=[BoostStatus.CREATING, BoostStatus.APPROVED]):
        try:
            services.launch_boost(session=session, territory=territory, boost=boost, client=client,
                                  checkpoint=checkpoint)
            run.resumed += boost.status == BoostStatus.ACTIVE
        except AuthError:
            raise
        except Exception:
            run.errors += 1
            logger.exception("Pacing: boost %s could not be resumed", boost.id)
            session.rollback()
    try:
        services.record_spend_from_metrics(session=session)
    except AuthError:
        raise
    except Exception:
        logger.exception("Pacing: spend from daily facts not recorded")
        session.rollback()
    live = services.list_boosts(session=session, statuses=[BoostStatus.ACTIVE, BoostStatus.PAUSED])
    try:
        run.spend_added_minor += services.sync_spend(session=session, boosts=live, client=client)
        checkpoint()
    except AuthError:
        raise
    except FacebookError as exc:
        run.errors += 1
        logger.warning("Pacing: spend not synchronised for %s: %s", territory.slug, exc)
        session.rollback()
    for boost in services.list_boosts(session=session, statuses=[BoostStatus.ACTIVE, BoostStatus.PAUSED]):
        try:
            before = boost.status
            services.refresh_boost(session=session, territory=territory, boost=boost, client=client)
            run.refreshed += 1
            if boost.status == BoostStatus.REJECTED and before != BoostStatus.REJECTED:
                raise_alert(session=session, territory=territory, key=f"rejected:boost:{boost.id}",
                            kind=AlertKind.REJECTED, campaign_id=boost.campaign_id, track_id=boost.track_id,
                            boost_id=boost.id, message=_(
                                "Facebook a refusé la sponsorisation n°%(id)s : %(why)s. La publication reste "
                                "en ligne (diffusion naturelle) et son engagement est rendu.", id=boost.id,
                                why=boost.rejection_reason or "—"))
            checkpoint()
        except AuthError:
            raise
        except Exception:
            run.errors += 1
            logger.exception("Pacing: boost %s not refreshed", boost.id)
            session.rollback()
    try:
        run.caps_fixed = services.sync_spend_caps(session=session, client=client)
        checkpoint()
    except AuthError:
        raise
    except Exception:
        run.errors += 1
        logger.exception("Pacing: spend caps not synchronised")
        session.rollback()


def _check_campaign(session: Session, territory: Territory, campaign: Campaign, client: FacebookClient | None,
                    at: datetime, run: PacingRun) -> None:
    currency = campaign.currency
    for tp in track_pacing(session=session, campaign=campaign, at=at):
        balance = tp.balance
        name = balance.audience.name
        allocated = balance.allocated_minor
        if allocated > 0:
            for share, kind in ((1.0, AlertKind.ALLOCATION_100), (0.8, AlertKind.ALLOCATION_80)):
                if balance.spent_minor >= share * allocated:
                    alert = raise_alert(
                        session=session, territory=territory, kind=kind, campaign_id=campaign.id,
                        track_id=balance.track.id, key=f"{kind.value}:track:{balance.track.id}:{allocated}",
                        message=_("Campagne « %(campaign)s », piste « %(track)s » : %(spent)s dépensés sur "
                                  "%(allocated)s alloués (%(share)s %%).", campaign=campaign.name, track=name,
                                  spent=services._money(balance.spent_minor, currency),
                                  allocated=services._money(allocated, currency),
                                  share=int(100 * balance.spent_minor / allocated)))
                    run.alerts += alert is not None
                    break
        if tp.pacing.status in (PaceStatus.UNDER, PaceStatus.OVER):
            kind = AlertKind.PACING_LOW if tp.pacing.status == PaceStatus.UNDER else AlertKind.PACING_HIGH
            alert = raise_alert(
                session=session, territory=territory, kind=kind, campaign_id=campaign.id, track_id=balance.track.id,
                key=f"{kind.value}:track:{balance.track.id}",
                message=_("Piste « %(track)s » (campagne « %(campaign)s ») : %(spent)s dépensés pour %(planned)s "
                          "prévus à ce jour (%(ratio)s %% du plan).", track=name, campaign=campaign.name,
                          spent=services._money(tp.pacing.spent_minor, currency),
                          planned=services._money(tp.pacing.planned_minor, currency),
                          ratio=int(100 * (tp.pacing.ratio or 0))))
            run.alerts += alert is not None
        pool = balance.allocated_minor - balance.committed_minor - balance.spent_minor  # not reserved by anyone
        for boost, pacing in tp.boosts:
            if pacing.status in (PaceStatus.UNDER, PaceStatus.OVER) and boost.status == BoostStatus.ACTIVE:
                kind = AlertKind.PACING_LOW if pacing.status == PaceStatus.UNDER else AlertKind.PACING_HIGH
                alert = raise_alert(
                    session=session, territory=territory, kind=kind, campaign_id=campaign.id,
                    track_id=balance.track.id, boost_id=boost.id, key=f"{kind.value}:boost:{boost.id}",
                    message=_("Sponsorisation n°%(id)s (piste « %(track)s ») : %(spent)s dépensés pour %(planned)s "
                              "prévus à ce jour (%(ratio)s %% du plan).", id=boost.id, track=name,
                              spent=services._money(pacing.spent_minor, currency),
                              planned=services._money(pacing.planned_minor, currency),
                              ratio=int(100 * (pacing.ratio or 0))))
                run.alerts += alert is not None
            if boost.status != BoostStatus.ACTIVE:
                continue
            own = max(services.boost_open_commitment(session=session, boost=boost), 0)
            more = pacing.projected_minor - pacing.spent_minor
            available = own + max(pool, 0)
            if more > available:
                _pause_for_pacing(session, territory, campaign, boost, client, pacing, available, at, run)
            else:
                pool -= max(0, more - own)  # this boost will need part of the shared, unreserved money


def _pause_for_pacing(session: Session, territory: Territory, campaign: Campaign, boost: Boost,
                      client: FacebookClient | None, pacing: Pacing, available: int, at: datetime,
                      run: PacingRun) -> None:
    if client is None:
        return
    currency = campaign.currency
    reason = _("Mise en pause par le contrôle du rythme : au rythme actuel elle dépenserait encore %(more)s, il ne "
               "reste que %(left)s pour elle.", more=services._money(pacing.projected_minor - pacing.spent_minor,
                                                                     currency),
               left=services._money(available, currency))
    services.pause_boost(session=session, territory=territory, boost=boost, client=client,
                         actor=Actor.system("Rayonne (rythme)"), reason=reason, by_pacing=True)
    run.paused += 1
    alert = raise_alert(session=session, territory=territory, kind=AlertKind.PAUSED, campaign_id=campaign.id,
                        track_id=boost.track_id, boost_id=boost.id, key=f"paused:boost:{boost.id}:{at.isoformat()}",
                        message=_("Sponsorisation n°%(id)s : %(reason)s", id=boost.id, reason=reason))
    run.alerts += alert is not None


# ------------------------------------------------------------------------------- reallocation


@dataclass(frozen=True)
class TrackPerformance:
    """The figures behind the advice, for one track."""

    track: ContentTrack
    audience: Audience
    spent_minor: int | None  # None: no daily facts yet (missing, not zero)
    results: int | None
    cost_per_result_minor: float | None
    value_per_result_minor: int
    elasticity: float
    elasticity_measured: bool
    marginal_value_per_euro: float | None  # value of the results one more euro would bring
    free_minor: int  # allocation not reserved nor spent: what could move


@dataclass(frozen=True)
class Advice:
    """Move ``amount_minor`` from one track to another, and why."""

    campaign: Campaign
    from_perf: TrackPerformance
    to_perf: TrackPerformance
    amount_minor: int
    explanation: str


def track_performance(*, session: Session, campaign: Campaign) -> list[TrackPerformance]:
    """Per track: spend and results from the daily facts (``AdDailyMetric``), cost per result, the
    elasticity of results to spend (measured when enough days vary, else assumed) and the value one more
    euro would bring. Calls Facebook: no."""
    from reports.models import AdDailyMetric

    daily: dict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = session.exec(
        select(Boost.track_id, AdDailyMetric.spend_minor, AdDailyMetric.results)
        .join(Boost, Boost.id == AdDailyMetric.boost_id).where(Boost.campaign_id == campaign.id)
    ).all()
    for track_id, spend, results in rows:
        if spend is not None and results is not None:
            daily[track_id].append((int(spend), int(results)))
    out = []
    for balance in services.track_balances(session=session, campaign=campaign):
        points = daily.get(balance.track.id, [])
        spent = sum(s for s, _r in points) if points else None
        results = sum(r for _s, r in points) if points else None
        elasticity, measured = _elasticity(points)
        cpr = spent / results if results else None
        value = balance.audience.result_value_minor
        marginal = elasticity * results * value / spent if spent and results and value else None
        out.append(TrackPerformance(
            track=balance.track, audience=balance.audience, spent_minor=spent, results=results,
            cost_per_result_minor=cpr, value_per_result_minor=value, elasticity=elasticity,
            elasticity_measured=measured, marginal_value_per_euro=marginal,
            free_minor=max(balance.remaining_minor, 0),
        ))
    return out


def _elasticity(points: list[tuple[int, int]]) -> tuple[float, bool]:
    """Slope of log(results) on log(spend) over the days (diminishing returns: below 1), bounded."""
    usable = [(math.log(s), math.log(r)) for s, r in points if s > 0 and r > 0]
    if len(usable) < 5:
        return DEFAULT_ELASTICITY, False
    mean_x = sum(x for x, _y in usable) / len(usable)
    mean_y = sum(y for _x, y in usable) / len(usable)
    var = sum((x - mean_x) ** 2 for x, _y in usable)
    if var < 0.05:  # spend hardly varied: the slope would be noise
        return DEFAULT_ELASTICITY, False
    slope = sum((x - mean_x) * (y - mean_y) for x, y in usable) / var
    return min(1.0, max(0.1, slope)), True


def reallocation_advice(*, session: Session, campaign: Campaign) -> list[Advice]:
    """Recommend moving money from the track where one more euro brings the least value to the one where
    it brings the most (with the figures behind it). Empty when no move is clearly better."""
    perfs = [p for p in track_performance(session=session, campaign=campaign) if p.marginal_value_per_euro]
    if len(perfs) < 2:
        return []
    perfs.sort(key=lambda p: p.marginal_value_per_euro or 0)
    worst, best = perfs[0], perfs[-1]
    if (best.marginal_value_per_euro or 0) < ADVICE_MARGIN * (worst.marginal_value_per_euro or 0):
        return []
    amount = int(worst.free_minor * ADVICE_SHARE) // 100 * 100  # whole euros
    if amount <= 0:
        return []
    currency = campaign.currency

    def describe(p: TrackPerformance) -> str:
        return _("%(track)s : %(spent)s dépensés pour %(results)s résultats, soit %(cpr)s par résultat ; un résultat "
                 "vaut %(value)s ; élasticité %(el)s (%(how)s) ; un euro de plus rapporterait environ %(marginal)s.",
                 track=p.audience.name, spent=services._money(p.spent_minor, currency), results=p.results,
                 cpr=services._money(int(p.cost_per_result_minor or 0), currency),
                 value=services._money(p.value_per_result_minor, currency), el=f"{p.elasticity:.2f}",
                 how=_("mesurée sur les jours de diffusion") if p.elasticity_measured else _("hypothèse par défaut"),
                 marginal=services._money(int(round(100 * (p.marginal_value_per_euro or 0))), currency))

    explanation = " ".join([
        describe(best), describe(worst),
        _("Déplacer %(amount)s (la moitié du non-engagé de « %(from)s ») vers « %(to)s ».",
          amount=services._money(amount, currency), **{"from": worst.audience.name, "to": best.audience.name}),
    ])
    return [Advice(campaign=campaign, from_perf=worst, to_perf=best, amount_minor=amount, explanation=explanation)]


def spend_by_day(*, session: Session, boost: Boost) -> dict[date, int]:
    """A boost's recorded spend per day (from the ledger)."""
    out: dict[date, int] = defaultdict(int)
    for entry in session.exec(select(LedgerEntry).where(LedgerEntry.boost_id == boost.id,
                                                        LedgerEntry.kind == LedgerKind.SPEND)):
        if entry.day is not None:
            out[entry.day] += entry.amount_minor
    return dict(sorted(out.items()))

