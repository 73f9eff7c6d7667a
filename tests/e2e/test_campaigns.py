"""The main content path in a real browser: a campaign with three tracks, a story and its three variants,
seen on the calendar; every page passes axe-core."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

from PIL import Image
from playwright.sync_api import expect

from accounts.models import Role
from tests.conftest import PASSWORD, make_territory, make_user
from tests.e2e.conftest import check_accessibility, login, navigate

AUDIENCES = ("Investisseurs", "Touristes", "Nouveaux habitants")


def png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 110, 160)).save(buffer, "PNG")
    return buffer.getvalue()


TEXTS = {
    "Investisseurs": "La T2 met le parc d'activités des Saules à 18 minutes de la gare TGV.",
    "Touristes": "Du marché couvert aux berges de la Rive, tout Valrive se visite en tramway.",
    "Nouveaux habitants": "Écoles, campus, centre-ville : avec la T2, 40 minutes gagnées par jour.",
}


def test_campaign_story_variants_and_calendar(page, session) -> None:  # noqa: ANN001
    """A manager creates a campaign with three tracks, writes a story and three variants, sees them planned."""
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "manager@valrive.test", territory, Role.MANAGER)
    login(page, "manager@valrive.test", PASSWORD)
    check_accessibility(page)
    nav = page.get_by_role("navigation", name="Navigation du territoire")

    navigate(page, nav.get_by_role("link", name="Publics"))
    check_accessibility(page)
    navigate(page, page.get_by_role("link", name="Ajouter un public"))
    check_accessibility(page)

    navigate(page, nav.get_by_role("link", name="Campagnes"))
    check_accessibility(page)
    navigate(page, page.get_by_role("link", name="Nouvelle campagne"))
    check_accessibility(page)
    start = date.today() + timedelta(days=14 - date.today().weekday())  # a Monday: three days, one week
    page.get_by_label(re.compile(r"^Nom")).fill("Printemps — le nouveau tramway")
    page.get_by_label(re.compile(r"^Début")).fill(start.isoformat())
    page.get_by_label(re.compile(r"^Fin")).fill((start + timedelta(days=60)).isoformat())
    page.get_by_label("Budget demandé (euros)").fill("6 000")
    for name, share in zip(AUDIENCES, ("40", "35", "25"), strict=True):
        page.get_by_label(f"S'adresser à ce public : {name}").check()
        page.get_by_label(f"Part du budget (%) — {name}").fill(share)
    navigate(page, page.get_by_role("button", name="Enregistrer"))
    expect(page.get_by_text("créée avec 3 piste(s)")).to_be_visible()
    check_accessibility(page)

    navigate(page, page.get_by_role("link", name="Écrire un récit et ses variantes"))
    check_accessibility(page)
    page.get_by_label(re.compile(r"^Titre du récit")).fill("La T2 arrive")
    page.get_by_label("Le récit, écrit une fois").fill("La ligne T2 relie la gare, le campus et le parc d'activités.")
    # The story flows into the variants nobody has touched yet (composer.js).
    assert page.get_by_label("Texte pour Touristes").input_value().startswith("La ligne T2 relie")
    page.get_by_label("Lien de la page à faire connaître").fill("https://www.valrive.fr/tram")
    for offset, name in enumerate(AUDIENCES):
        page.get_by_label(f"Texte pour {name}").fill(TEXTS[name])
        variant = page.get_by_role("group", name=f"Variante — {name}")
        variant.get_by_label("Date prévue").fill((start + timedelta(days=offset)).isoformat())
        variant.get_by_label("Heure").fill("10:30")
    preview = page.get_by_role("figure", name="Aperçu sur Facebook — Touristes")
    assert TEXTS["Touristes"] in preview.inner_text() and "valrive.fr" in preview.inner_text().lower()
    assert page.locator("[data-counter]").first.inner_text().startswith(f"{len(TEXTS['Investisseurs'])} caractères")
    # With an image, the post goes out as a photo post whose text ends with the link: the preview says so.
    expect(preview.locator("[data-role=link]")).to_be_visible()
    expect(preview.locator("[data-role=image]")).to_be_hidden()  # no image chosen: no picture drawn
    page.get_by_label("Image pour Touristes").set_input_files(
        {"name": "berges.png", "mimeType": "image/png", "buffer": png_bytes(1200, 630)})
    expect(preview.locator("[data-role=image]")).to_be_visible()
    expect(preview.locator("[data-role=inline-link]")).to_have_text("https://www.valrive.fr/tram")
    expect(preview.locator("[data-role=link]")).to_be_hidden()
    check_accessibility(page)
    navigate(page, page.get_by_role("button", name="Enregistrer les variantes en brouillon"))
    expect(page.get_by_text("3 variante(s) enregistrée(s) en brouillon")).to_be_visible()
    check_accessibility(page)

    navigate(page, nav.get_by_role("link", name="Calendrier"))
    check_accessibility(page)
    page.goto(f"/t/valrive/campaigns/calendar?date={start.isoformat()}")
    for name in AUDIENCES:
        assert page.get_by_role("link", name=f"10:30 — {name}").count() == 1
    check_accessibility(page)
    post_url = page.get_by_role("link", name="10:30 — Touristes").get_attribute("href")
    page.get_by_label("Vue").select_option("month")
    navigate(page, page.get_by_role("button", name="Afficher"))
    assert "view=month" in page.url
    assert page.get_by_text(TEXTS["Touristes"][:40]).count() == 1
    check_accessibility(page)

    page.goto(post_url + "/edit")
    assert page.get_by_label("Texte").input_value() == TEXTS["Touristes"]
    check_accessibility(page)
    page.goto("/t/valrive/campaigns/stories")
    assert page.get_by_role("cell", name="La T2 arrive").count() == 1
    check_accessibility(page)
