"""The main pages in a real browser: login, navigation, admin pages, all accessible."""

from __future__ import annotations

from playwright.sync_api import expect

from demo.seed import DEMO_PASSWORD, seed_demo
from tests.e2e.conftest import check_accessibility, login, navigate

NAV = ["Tableau de bord", "Campagnes", "Calendrier", "Publics", "Budgets", "Rapports", "Réglages"]
SETTINGS_TABS = ["Membres", "Journal d'audit", "E-mails", "Tâches planifiées", "Territoire"]


def test_admin_walks_every_page(app, page, session) -> None:  # noqa: ANN001
    """An admin logs in and visits every section; each page renders and passes axe-core."""
    with app.app_context():
        seed_demo(session)
    session.commit()
    login(page, "admin@demo.rayonne.test", DEMO_PASSWORD)
    # The admin belongs to two territories: the switcher comes first.
    check_accessibility(page)
    navigate(page, page.get_by_role("link", name="Communauté d'agglomération de Valrive"))
    for label in NAV:
        navigate(page, page.get_by_role("navigation", name="Navigation du territoire").get_by_role("link", name=label))
        assert page.locator("h1").count() == 1
        check_accessibility(page)
    for label in SETTINGS_TABS:
        navigate(page, page.get_by_role("navigation", name="Réglages").get_by_role("link", name=label))
        check_accessibility(page)


def test_invite_a_colleague_from_the_members_page(app, page, session) -> None:  # noqa: ANN001
    """The invitation form explains a bad address, then sends the invitation to the outbox."""
    with app.app_context():
        seed_demo(session)
    session.commit()
    login(page, "admin@demo.rayonne.test", DEMO_PASSWORD)
    page.goto("/t/demo/admin/members")
    page.get_by_label("Adresse e-mail").fill("pas-une-adresse")
    navigate(page, page.get_by_role("button", name="Envoyer l'invitation"))
    expect(page.get_by_text("Adresse e-mail invalide.")).to_be_visible()
    check_accessibility(page)
    page.get_by_label("Adresse e-mail").fill("nouvelle.recrue@valrive.test")
    page.get_by_label("Rôle", exact=True).select_option("editor")
    navigate(page, page.get_by_role("button", name="Envoyer l'invitation"))
    expect(page.get_by_text("Invitation envoyée à nouvelle.recrue@valrive.test.")).to_be_visible()
    page.goto("/t/demo/admin/outbox")
    expect(page.get_by_text("Invitation à rejoindre").first).to_be_visible()
    check_accessibility(page)


def test_wrong_password_is_announced(app, page, session) -> None:  # noqa: ANN001
    """A failed login shows its message as an alert, and the page stays accessible."""
    with app.app_context():
        seed_demo(session)
    session.commit()
    login(page, "admin@demo.rayonne.test", "mauvais mot de passe")
    expect(page.get_by_role("alert")).to_have_text("Adresse e-mail ou mot de passe incorrect.")
    check_accessibility(page)
