"""Budgets and the append-only ledger: approvals, allocations, envelopes, balances line by line."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from accounts.models import AuditEvent
from core.db import TenantScopeError
from core.errors import DomainError
from sponsored import services
from sponsored.models import LedgerEntry, LedgerKind
from tests.sponsored.builders import MANAGER, boost_data


def _lines(session, kind=None):  # noqa: ANN001, ANN202
    query = select(LedgerEntry).order_by(LedgerEntry.id)
    if kind is not None:
        query = query.where(LedgerEntry.kind == kind)
    return list(session.exec(query))


def test_approval_change_is_a_signed_line(session, world, ctx) -> None:
    """Changing an approved budget appends the signed difference; the balance is the sum of the lines."""
    services.approve_budget(session=session, territory=world.territory, campaign=world.campaign,
                            amount_minor=80_000, actor=MANAGER, reason="Décision modificative n°2")
    amounts = [line.amount_minor for line in _lines(session, LedgerKind.APPROVAL)]
    assert amounts == [100_000, -20_000]
    assert services.campaign_balance(session=session, campaign_id=world.campaign.id).approved_minor == 80_000
    assert world.campaign.approved_budget_minor == 80_000
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "budget.approve")
                          .order_by(AuditEvent.id)).all()  # PostgreSQL returns rows in no set order otherwise
    assert events[-1].reason == "Décision modificative n°2"


def test_every_budget_change_needs_a_reason(session, world, ctx) -> None:
    """A budget change without a reason is refused (the ledger must say why)."""
    with pytest.raises(DomainError) as caught:
        services.approve_budget(session=session, territory=world.territory, campaign=world.campaign,
                                amount_minor=90_000, actor=MANAGER, reason=" ")
    assert caught.value.field == "reason"


def test_allocations_never_exceed_the_approved_budget(session, world, ctx) -> None:
    """Tracks share at most the approved budget, and the budget cannot drop under what is allocated."""
    with pytest.raises(DomainError) as caught:
        services.allocate(session=session, territory=world.territory, campaign=world.campaign,
                          track=world.tracks["investors"], amount_minor=60_001, actor=MANAGER, reason="Trop")
    assert "non réparti" in caught.value.message
    with pytest.raises(DomainError):
        services.approve_budget(session=session, territory=world.territory, campaign=world.campaign,
                                amount_minor=30_000, actor=MANAGER, reason="Coupe")
    services.allocate(session=session, territory=world.territory, campaign=world.campaign,
                      track=world.tracks["investors"], amount_minor=60_000, actor=MANAGER, reason="Le reste")
    balance = services.campaign_balance(session=session, campaign_id=world.campaign.id)
    assert balance.allocated_minor == balance.approved_minor == 100_000


def test_annual_envelope_caps_the_year_approvals(session, world, ctx) -> None:
    """With an annual envelope, the year's approved budgets cannot exceed it."""
    year = world.campaign.starts_on.year
    services.set_envelope(session=session, territory=world.territory, year=year, amount_minor=150_000,
                          actor=MANAGER, reason="Budget primitif")
    with pytest.raises(DomainError) as caught:
        services.approve_budget(session=session, territory=world.territory, campaign=world.campaign,
                                amount_minor=150_001, actor=MANAGER, reason="Hausse")
    assert "enveloppe" in caught.value.message
    with pytest.raises(DomainError):
        services.set_envelope(session=session, territory=world.territory, year=year, amount_minor=90_000,
                              actor=MANAGER, reason="Trop bas")
    [envelope] = services.envelope_balances(session=session)
    assert (envelope.year, envelope.envelope_minor, envelope.approved_minor) == (year, 150_000, 100_000)
    assert _lines(session, LedgerKind.ENVELOPE)[0].year == year


def test_allocation_cannot_drop_below_what_boosts_reserved(session, world, ctx) -> None:
    """A track's allocation never falls under its boosts' commitments and spend."""
    boost = services.request_boost(session=session, territory=world.territory,
                                   data=boost_data(_post(session, world), budget=30_000), actor=MANAGER,
                                   can_approve=True, minimum_daily_minor=100)
    assert boost.id
    with pytest.raises(DomainError) as caught:
        services.allocate(session=session, territory=world.territory, campaign=world.campaign,
                          track=world.tracks["tourists"], amount_minor=29_999, actor=MANAGER, reason="Coupe")
    assert "engagé" in caught.value.message


def test_ledger_is_append_only(session, world, ctx) -> None:
    """A ledger line can be neither changed nor deleted: corrections are new lines."""
    line = _lines(session)[0]
    line.amount_minor += 1
    with pytest.raises(TenantScopeError):
        session.flush()
    session.rollback()


def test_remaining_is_explainable_line_by_line(session, world, ctx) -> None:
    """approved − committed − spent equals the plain sum of the lines, after commitments, spend and release."""
    boost = services.request_boost(session=session, territory=world.territory,
                                   data=boost_data(_post(session, world), budget=10_000), actor=MANAGER,
                                   can_approve=True, minimum_daily_minor=100)
    day = date(2026, 1, 5)
    assert services.record_spend(session=session, boost=boost, day=day, spend_minor=1_200) == 1_200
    assert services.record_spend(session=session, boost=boost, day=day, spend_minor=1_200) == 0  # idempotent
    assert services.record_spend(session=session, boost=boost, day=day, spend_minor=1_500) == 300  # grew
    assert services.record_spend(session=session, boost=boost, day=day, spend_minor=1_400) == 0  # never down
    keys = [line.source_key for line in _lines(session, LedgerKind.SPEND)]
    assert keys == [f"spend:boost:{boost.id}:2026-01-05", f"spend:boost:{boost.id}:2026-01-05:1500"]
    assert services.boost_open_commitment(session=session, boost=boost) == 8_500
    services.release_open_commitment(session=session, boost=boost, actor=MANAGER, reason="Arrêt")
    balance = services.campaign_balance(session=session, campaign_id=world.campaign.id)
    assert (balance.approved_minor, balance.committed_minor, balance.spent_minor) == (100_000, 0, 1_500)
    lines = _lines(session)
    total = sum(line.amount_minor for line in lines if line.kind == LedgerKind.APPROVAL) - sum(
        line.amount_minor for line in lines if line.kind in (LedgerKind.COMMITMENT, LedgerKind.RELEASE,
                                                             LedgerKind.SPEND))
    assert balance.remaining_minor == total == 98_500


def _post(session, world):  # noqa: ANN001, ANN202
    from campaigns.models import Post, PostStatus

    post = Post(territory_id=world.territory.id, track_id=world.tracks["tourists"].id, message="Les berges",
                status=PostStatus.PUBLISHED, fb_post_id="104500000000001_1")
    session.add(post)
    session.flush()
    return post
