"""Boosting in a real browser: a published post sponsored for the tourists track within budget, refused
over budget, then spend and pacing shown after the sandbox clock moves — every page accessible."""

from __future__ import annotations

import re

from core.db import ALL, scoped
from sponsored.jobs import check_pacing
from tests.conftest import PASSWORD
from tests.e2e.conftest import check_accessibility, login
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
    page.get_by_role("link", name=re.compile(f"Sponsoriser la publication n°{post.id}")).click()
    page.wait_for_load_state("load")
    assert page.get_by_label("Pays (codes, séparés par des virgules)").input_value() == "FR, BE, NL, DE"
    check_accessibility(page)
    page.get_by_label("Montant (€)").fill("50")
    page.get_by_role("button", name="Sponsoriser").click()
    page.wait_for_load_state("load")
    assert page.get_by_text("Sponsorisation créée sur Facebook").is_visible()
    assert "examen" in page.locator("#boost-review").inner_text()
    check_accessibility(page)
    boost_url = page.url

    page.goto(f"/t/valrive/budgets/posts/{post.id}/boost")
    page.get_by_label("Montant (€)").fill("400")
    page.get_by_role("button", name="Sponsoriser").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("alert").filter(has_text="Budget insuffisant").is_visible()
    check_accessibility(page)

    advance(graph_sandbox, days=2)
    with app.app_context(), scoped(session, ALL):
        summary = check_pacing(session=session)
    assert "0 erreur" in summary
    page.goto(boost_url)
    spent = page.locator("#boost-spent").inner_text()
    assert spent.strip() not in ("0,00 €", "—")
    assert "Dans le plan" in page.locator("#boost-pacing").inner_text()
    assert "Approuvée par Facebook" in page.locator("#boost-review").inner_text()
    check_accessibility(page)
    page.goto(f"/t/valrive/budgets/campaigns/{world.campaign.id}")
    assert page.locator("#campaign-spent").inner_text() == spent
    assert "Dans le plan" in page.locator("td.pacing").nth(1).inner_text()
    check_accessibility(page)
