"""Boosting in a real browser: a published post sponsored for the tourists track within budget, refused
over budget, then spend and pacing shown after the sandbox clock moves — every page accessible."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from core.db import ALL, scoped
from sponsored.jobs import check_pacing
from tests.conftest import PASSWORD
from tests.e2e.conftest import check_accessibility, login, navigate
from tests.sponsored.builders import advance, build_world, published_post


def test_boost_a_post_within_budget_then_watch_spend_and_pacing(app, page, session, graph_sandbox, clock) -> None:  # noqa: ANN001
    """An editor boosts a tourists post within the track's budget, is refused over it, and sees spend and
    pacing move once the sandbox has delivered for two days."""
    world = build_world(app, session, graph_sandbox, users=True)
    post = published_post(app, session, world, message="Les berges de la Rive se visitent en tramway cet été.")
    login(page, "editor@valrive.test", PASSWORD)
    check_accessibility(page)

    page.goto(f"/t/valrive/budgets/campaigns/{world.campaign.id}")
    check_accessibility(page)
    navigate(page, page.get_by_role("link", name=re.compile(f"Sponsoriser la publication n°{post.id}")))
    assert page.get_by_label("Pays (codes, séparés par des virgules)").input_value() == "FR, BE, NL, DE"
    check_accessibility(page)
    page.get_by_label("Montant (€)").fill("50")
    navigate(page, page.get_by_role("button", name="Sponsoriser"))
    expect(page.get_by_text("Sponsorisation créée sur Facebook")).to_be_visible()
    expect(page.locator("#boost-review")).to_contain_text("examen")
    check_accessibility(page)
    boost_url = page.url

    page.goto(f"/t/valrive/budgets/posts/{post.id}/boost")
    page.get_by_label("Montant (€)").fill("400")
    navigate(page, page.get_by_role("button", name="Sponsoriser"))
    expect(page.get_by_role("alert").filter(has_text="Budget insuffisant")).to_be_visible()
    check_accessibility(page)

    advance(graph_sandbox, days=2)
    with app.app_context(), scoped(session, ALL):
        summary = check_pacing(session=session)
    assert "0 erreur" in summary
    page.goto(boost_url)
    spent = page.locator("#boost-spent").inner_text()
    assert spent.strip() not in ("0,00 €", "—")
    expect(page.locator("#boost-pacing")).to_contain_text("Dans le plan")
    expect(page.locator("#boost-review")).to_contain_text("Approuvée par Facebook")
    check_accessibility(page)
    page.goto(f"/t/valrive/budgets/campaigns/{world.campaign.id}")
    expect(page.locator("#campaign-spent")).to_have_text(spent)
    expect(page.locator("td.pacing").nth(1)).to_contain_text("Dans le plan")
    check_accessibility(page)
