"""Rules for budgets and boosts. Functions flush, never commit.

Balances are never stored: they are sums of the append-only ledger, so that "approved −
committed − spent" can always be explained line by line.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from campaigns.models import Campaign, CampaignStatus
from sponsored.models import LedgerEntry, LedgerKind


@dataclass(frozen=True)
class Balance:
    approved_minor: int
    committed_minor: int
    spent_minor: int

    @property
    def remaining_minor(self) -> int:
        return self.approved_minor - self.committed_minor - self.spent_minor


def campaign_balances(*, session: Session) -> list[tuple[Campaign, Balance]]:
    """Each active campaign with its ledger balance (commitments net of releases)."""
    sums = dict(
        ((campaign_id, kind), total)
        for campaign_id, kind, total in session.exec(
            select(LedgerEntry.campaign_id, LedgerEntry.kind, func.sum(LedgerEntry.amount_minor))
            .where(LedgerEntry.campaign_id.is_not(None))
            .group_by(LedgerEntry.campaign_id, LedgerEntry.kind)
        ).all()
    )
    result = []
    for campaign in session.exec(
        select(Campaign).where(Campaign.status == CampaignStatus.ACTIVE).order_by(Campaign.starts_on)
    ):
        get = lambda kind, cid=campaign.id: sums.get((cid, kind), 0) or 0  # noqa: E731
        result.append((campaign, Balance(
            approved_minor=get(LedgerKind.APPROVAL),
            committed_minor=get(LedgerKind.COMMITMENT) + get(LedgerKind.RELEASE),
            spent_minor=get(LedgerKind.SPEND),
        )))
    return result
