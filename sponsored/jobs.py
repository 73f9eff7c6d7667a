"""Scheduled work of the sponsored-post module."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from accounts.connection import NotConnected, client_for
from accounts.models import Territory
from core.db import scoped
from sponsored import pacing

logger = logging.getLogger(__name__)


def check_pacing(*, session: Session) -> str:
    """Hourly, per territory: resume interrupted boost creations, refresh ad reviews, record spend from
    Ads Insights, restore spend caps, alert at 80 % / 100 % of an allocation and off-plan pacing, pause
    boosts that would overspend. Commits: per step. Calls Facebook: read and write."""
    territories = list(session.exec(select(Territory).order_by(Territory.id)))
    totals = pacing.PacingRun()
    for territory in territories:
        with scoped(session, territory.id):
            try:
                client = client_for(session=session)
            except NotConnected:
                client = None  # alerts still work from the ledger; nothing is asked of Facebook
            try:
                run = pacing.check_territory(session=session, territory=territory, client=client)
            except Exception:
                logger.exception("Pacing failed for territory %s", territory.slug)
                session.rollback()
                totals.errors += 1
                continue
            session.commit()
        for name in ("resumed", "refreshed", "spend_added_minor", "caps_fixed", "alerts", "paused", "errors"):
            setattr(totals, name, getattr(totals, name) + getattr(run, name))
    return (f"{len(territories)} territoire(s) : {totals.spend_added_minor / 100:.2f} € de dépense enregistrée, "
            f"{totals.alerts} alerte(s), {totals.paused} mise(s) en pause, {totals.resumed} création(s) reprise(s), "
            f"{totals.caps_fixed} plafond(s) corrigé(s), {totals.errors} erreur(s)")


def resume_boosts(*, session: Session) -> str:
    """Every few minutes, per territory: send to Facebook the boosts approved meanwhile (by a manager or
    through an external link) and resume creations interrupted by a fault, without duplicates.
    Commits: after each step. Calls Facebook: write."""
    from sponsored import services
    from sponsored.models import Boost, BoostStatus

    done = waiting = 0
    territories = list(session.exec(select(Territory).order_by(Territory.id)))
    for territory in territories:
        with scoped(session, territory.id):
            boosts = list(session.exec(select(Boost).where(
                Boost.status.in_([BoostStatus.CREATING, BoostStatus.APPROVED])).order_by(Boost.id)))
            if not boosts:
                continue
            try:
                client = client_for(session=session)
            except NotConnected:
                waiting += len(boosts)
                continue
            for boost in boosts:
                try:
                    services.launch_boost(session=session, territory=territory, boost=boost, client=client,
                                          checkpoint=session.commit)
                    session.commit()
                except Exception:
                    logger.exception("Boost %s could not be created", boost.id)
                    session.rollback()
                if boost.status == BoostStatus.CREATING:
                    waiting += 1
                else:
                    done += 1
    return f"{done} sponsorisation(s) créée(s) ou close(s), {waiting} en attente"
