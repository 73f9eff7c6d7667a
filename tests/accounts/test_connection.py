"""Connecting a territory to Facebook or the sandbox: encrypted secrets, a real test, expiry handling."""

from __future__ import annotations

from sqlmodel import select

from accounts.connection import NotConnected, client_for
from accounts.models import ConnectionStatus, FacebookConnection, Role
from core.db import scoped
from core.mail import MailMessage
from tests.conftest import connect_sandbox, make_territory, make_user


def test_admin_saves_a_connection_with_encrypted_secrets(app, client, auth, session) -> None:  # noqa: ANN001
    """Tokens typed in the form are stored encrypted and never shown again."""
    territory = make_territory(session, "valrive")
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    auth.login("admin@valrive.test")
    response = auth.post("/t/valrive/admin/connection", {
        "mode": "facebook", "page_id": "123456789", "ad_account_id": "act_987654321",
        "access_token": "EAAB-very-secret-system-user-token", "page_token": "EAAB-page-secret"})
    assert response.status_code == 302
    row = session.exec(select(FacebookConnection)).one()
    # A Facebook connection uses the Graph API address from the settings (nothing is contacted here).
    assert row.base_url == app.config["RAYONNE_SETTINGS"].GRAPH_API_BASE_URL and row.page_id == "123456789"
    assert "very-secret" not in (row.access_token_enc or "") and row.access_token_enc
    page = client.get("/t/valrive/admin/connection").get_data(as_text=True)
    assert "EAAB" not in page and "Enregistré — laissez vide pour le garder." in page
    assert "Connecté à Facebook" in page


def test_malformed_ids_are_explained(app, client, auth, session) -> None:  # noqa: ANN001
    """A Page id that is not a number or an account without act_ is refused beside its field."""
    territory = make_territory(session, "valrive")
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    auth.login("admin@valrive.test")
    response = auth.post("/t/valrive/admin/connection", {"mode": "facebook", "page_id": "ma-page",
                                                         "access_token": "x"})
    assert response.status_code == 422
    assert "L&#39;identifiant de la Page est un nombre" in response.get_data(as_text=True)
    assert session.exec(select(FacebookConnection)).first() is None


def test_connection_test_reports_what_works(app, client, auth, session, graph_sandbox) -> None:  # noqa: ANN001
    """The test button reads the Page and the ad account through the SDK and says so plainly."""
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    connect_sandbox(app, session, territory, graph_sandbox, followers=31_000)
    auth.login("admin@valrive.test")
    page = auth.post("/t/valrive/admin/connection/test").get_data(as_text=True)
    assert "Page lisible" in page and "31\u202f000" in page and "EUR" in page
    assert "Tout fonctionne." in page
    assert session.exec(select(FacebookConnection)).one().status == ConnectionStatus.OK
    assert "Bac à sable — pas Facebook" in page


def test_expired_token_stops_the_connection_and_tells_admins(app, client, auth, session,  # noqa: ANN001
                                                             graph_sandbox) -> None:
    """Facebook's 190 marks the connection "to reconnect", e-mails the admins once, and blocks the client."""
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    ids = connect_sandbox(app, session, territory, graph_sandbox)
    graph_sandbox.control.add_fault("expired_token", target=ids["page_token"])
    graph_sandbox.control.add_fault("expired_token", target=ids["ads_token"])
    auth.login("admin@valrive.test")
    page = auth.post("/t/valrive/admin/connection/test", follow_redirects=True).get_data(as_text=True)
    assert "à reconnecter" in page
    auth.post("/t/valrive/admin/connection/test")
    mails = session.exec(select(MailMessage).where(MailMessage.kind == "alert")).all()
    assert [m.to_addr for m in mails] == ["admin@valrive.test"]
    with app.app_context(), scoped(session, territory.id):
        try:
            client_for(session=session)
        except NotConnected as exc:
            assert "renouvelée" in exc.message
        else:
            raise AssertionError("client_for must refuse a connection to reconnect")


def test_reconnect_mail_is_in_each_admins_language(app, client, auth, session, graph_sandbox) -> None:  # noqa: ANN001
    """The "renew the connection" e-mail reaches each admin in their own language, not the language of the
    admin whose click found the expired token."""
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    jane = make_user(session, "jane@valrive.test", territory, Role.ADMIN)
    jane.locale = "en"
    session.add(jane)
    session.commit()
    ids = connect_sandbox(app, session, territory, graph_sandbox)
    graph_sandbox.control.add_fault("expired_token", target=ids["page_token"])
    graph_sandbox.control.add_fault("expired_token", target=ids["ads_token"])
    auth.login("admin@valrive.test")  # French
    auth.post("/t/valrive/admin/connection/test")
    mails = {m.to_addr: m for m in session.exec(select(MailMessage).where(MailMessage.kind == "alert"))}
    assert mails["jane@valrive.test"].subject == "Rayonne: the Facebook connection of Valrive must be renewed"
    assert mails["admin@valrive.test"].subject == "Rayonne : la connexion Facebook de Valrive doit être renouvelée"
