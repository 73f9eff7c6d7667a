"""Audiences: built-in and custom ones, a targeting preset typed in plain fields, refusals explained."""

from __future__ import annotations

from html import unescape

from sqlmodel import select

from accounts.models import AuditEvent, Role
from targets.models import Audience
from tests.conftest import connect_sandbox, make_territory, make_user

FORM = {
    "name": "Étudiants", "key": "", "description": "Futurs étudiants du campus",
    "countries": "fr, be", "regions": "2406 | Bretagne", "cities": "2420003 | Lyon | 30\n2420006 | Nantes",
    "age_min": "18", "age_max": "25", "interests": "6003100000014 | Startup company",
    "result_type": "lead", "result_value": "12,50", "value_note": "Coût d'un contact au salon étudiant",
    "special_ad_category": "NONE",
}


def _manager(session):  # noqa: ANN001, ANN202
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "manager@valrive.test", territory, Role.MANAGER)
    return territory


def test_manager_creates_a_custom_audience_from_plain_fields(client, auth, session) -> None:  # noqa: ANN001
    """The text fields become a Facebook preset; the value is typed in euros and stored in cents; audited."""
    _manager(session)
    auth.login("manager@valrive.test")
    response = auth.post("/t/valrive/audiences/new", FORM)
    assert response.status_code == 302
    audience = session.exec(select(Audience).where(Audience.key == "etudiants")).one()
    assert audience.builtin is False and audience.result_value_minor == 1250
    assert audience.targeting == {
        "countries": ["FR", "BE"], "regions": [{"key": "2406", "name": "Bretagne"}],
        "cities": [{"key": "2420003", "name": "Lyon", "radius": 30, "distance_unit": "kilometer"},
                   {"key": "2420006", "name": "Nantes", "radius": 25, "distance_unit": "kilometer"}],
        "age_min": 18, "age_max": 25, "interests": [{"id": "6003100000014", "name": "Startup company"}],
    }
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "audience.create")).one()
    assert event.actor_label == "manager@valrive.test" and event.after["key"] == "etudiants"
    page = unescape(client.get("/t/valrive/audiences/").get_data(as_text=True))
    assert "Étudiants" in page and "Lyon (30 km)" in page


def test_field_errors_are_explained_beside_each_field(client, auth, session) -> None:  # noqa: ANN001
    """A bad radius, a bad age and a bad amount are each explained in French; nothing is saved."""
    _manager(session)
    auth.login("manager@valrive.test")
    bad = {**FORM, "cities": "2420003 | Lyon | 5", "age_min": "dix-huit", "result_value": "douze euros"}
    response = auth.post("/t/valrive/audiences/new", bad)
    assert response.status_code == 422
    text = unescape(response.get_data(as_text=True))
    assert "Ligne 1 : Doit être supérieur ou égal à 17." in text
    assert "Âge en années attendu, entre 13 et 65." in text
    assert "Montant en euros attendu" in text
    assert 'id="e-cities"' in text and 'id="e-result_value"' in text
    assert session.exec(select(Audience).where(Audience.key == "etudiants")).first() is None


def test_preset_rules_are_explained(client, auth, session) -> None:  # noqa: ANN001
    """Minimum age above maximum, a malformed country and a preset without any place are refused, with why."""
    _manager(session)
    auth.login("manager@valrive.test")
    response = auth.post("/t/valrive/audiences/new", {**FORM, "age_min": "40", "age_max": "30", "countries": "FRA"})
    text = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "L'âge maximum (30) doit être supérieur ou égal à l'âge minimum (40)." in text
    assert "« FRA » n'est pas un code pays" in text
    nowhere = auth.post("/t/valrive/audiences/new", {**FORM, "countries": "", "regions": "", "cities": ""})
    assert "Indiquez au moins un pays, une région ou une ville" in unescape(nowhere.get_data(as_text=True))
    duplicate = auth.post("/t/valrive/audiences/new", {**FORM, "key": "tourists"})
    assert duplicate.status_code == 422
    assert "Un public porte déjà cet identifiant." in unescape(duplicate.get_data(as_text=True))


def test_builtin_audience_is_edited_but_never_archived(client, auth, session) -> None:  # noqa: ANN001
    """Investors can be edited (audited, before and after); archiving a built-in audience is refused."""
    territory = _manager(session)
    investors = session.exec(select(Audience).where(Audience.territory_id == territory.id,
                                                    Audience.key == "investors")).one()
    auth.login("manager@valrive.test")
    page = unescape(client.get(f"/t/valrive/audiences/{investors.id}/edit").get_data(as_text=True))
    assert "FR, BE, DE, CH" in page and "15,00" in page
    response = auth.post(f"/t/valrive/audiences/{investors.id}/edit",
                         {**FORM, "name": "Investisseurs et porteurs de projet", "result_value": "20"})
    assert response.status_code == 302
    session.refresh(investors)
    assert investors.name == "Investisseurs et porteurs de projet" and investors.result_value_minor == 2000
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "audience.update")).one()
    assert event.before["result_value_minor"] == 1500 and event.after["result_value_minor"] == 2000
    refused = auth.post(f"/t/valrive/audiences/{investors.id}/archive", follow_redirects=True)
    assert "ne peuvent pas être supprimés" in unescape(refused.get_data(as_text=True))
    session.refresh(investors)
    assert investors.archived is False


def test_custom_audience_is_archived_then_restored(client, auth, session) -> None:  # noqa: ANN001
    """A custom audience leaves the active list when archived and comes back when restored."""
    _manager(session)
    auth.login("manager@valrive.test")
    auth.post("/t/valrive/audiences/new", FORM)
    audience = session.exec(select(Audience).where(Audience.key == "etudiants")).one()
    auth.post(f"/t/valrive/audiences/{audience.id}/archive")
    session.refresh(audience)
    assert audience.archived is True
    page = unescape(client.get("/t/valrive/audiences/").get_data(as_text=True))
    assert "Publics archivés" in page
    auth.post(f"/t/valrive/audiences/{audience.id}/restore")
    session.refresh(audience)
    assert audience.archived is False
    actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-2:] == ["audience.archive", "audience.restore"]


def test_search_goes_through_the_graph_api_when_connected(app, client, auth, session, graph_sandbox) -> None:  # noqa: ANN001
    """Without a connection the form says so and the search answers 409; connected, it finds interests and cities."""
    territory = _manager(session)
    auth.login("manager@valrive.test")
    form = unescape(client.get("/t/valrive/audiences/new").get_data(as_text=True))
    assert "data-search-url" not in form and "non connecté" in form
    refused = client.get("/t/valrive/audiences/search?type=interest&q=tour")
    assert refused.status_code == 409 and "pas connecté" in refused.json["error"]
    connect_sandbox(app, session, territory, graph_sandbox)
    assert "data-search-url" in unescape(client.get("/t/valrive/audiences/new").get_data(as_text=True))
    interests = client.get("/t/valrive/audiences/search?type=interest&q=tour").json["results"]
    assert {"id": "6003100000001", "name": "Tourism"} in [{"id": r["id"], "name": r["name"]} for r in interests]
    cities = client.get("/t/valrive/audiences/search?type=city&q=Lyon").json["results"]
    assert cities[0]["id"] == "2420003" and cities[0]["name"] == "Lyon"
    assert client.get("/t/valrive/audiences/search?type=planet&q=mars").status_code == 400


def test_builtin_audiences_are_written_in_the_territory_language(app, session) -> None:  # noqa: ANN001
    """A territory in English gets its three built-in publics named and described in English; French stays French."""
    with app.app_context():
        english = make_territory(session, "brightwater", "Brightwater", locale="en")
        french = make_territory(session, "valrive", "Valrive")
    audiences = session.exec(select(Audience).where(Audience.builtin)).all()
    names = {(a.territory_id, a.key): a.name for a in audiences}
    assert [names[(english.id, k)] for k in ("investors", "tourists", "residents")] == [
        "Investors", "Tourists", "New residents"]
    assert [names[(french.id, k)] for k in ("investors", "tourists", "residents")] == [
        "Investisseurs", "Touristes", "Nouveaux habitants"]
    described = {a.key: a for a in audiences if a.territory_id == english.id}
    assert described["tourists"].description.startswith("Short-break and holiday visitors")
    assert described["residents"].value_note.startswith("Starting value")
