"""Login, logout, throttling, CSRF and session cookies."""

from __future__ import annotations

from accounts.models import Role
from tests.conftest import PASSWORD, csrf_token, make_territory, make_user


def test_login_with_good_password_opens_the_territory(client, auth, session) -> None:  # noqa: ANN001
    """A member who logs in lands on their territory's dashboard."""
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "ed@valrive.test", territory, Role.EDITOR)
    response = auth.login("ed@valrive.test")
    assert response.status_code == 302
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.status_code == 200
    assert "Tableau de bord — Valrive" in page.get_data(as_text=True)


def test_wrong_password_gives_one_message_for_both_cases(client, auth, session) -> None:  # noqa: ANN001
    """Wrong password and unknown address get the same message (no account enumeration)."""
    make_user(session, "ed@valrive.test")
    wrong = auth.login("ed@valrive.test", "not the password")
    unknown = auth.login("nobody@valrive.test", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = "Adresse e-mail ou mot de passe incorrect."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_login_is_throttled_after_repeated_failures(client, auth, session) -> None:  # noqa: ANN001
    """After five failures the address is locked with a clear message, even with the right password."""
    make_user(session, "ed@valrive.test")
    for _ in range(5):
        assert auth.login("ed@valrive.test", "bad password!").status_code == 401
    locked = auth.login("ed@valrive.test", PASSWORD)
    assert locked.status_code == 429
    assert "Trop de tentatives de connexion" in locked.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client, session) -> None:  # noqa: ANN001
    """Every form needs its CSRF token: a forged POST gets a 400 with an explanation."""
    make_user(session, "ed@valrive.test")
    response = client.post("/login", data={"email": "ed@valrive.test", "password": PASSWORD})
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)


def test_session_cookie_is_http_only_and_same_site(client, auth, session) -> None:  # noqa: ANN001
    """The session cookie is not readable by scripts and not sent by other sites' forms."""
    make_user(session, "ed@valrive.test", make_territory(session), Role.EDITOR)
    response = auth.login("ed@valrive.test")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logout_ends_the_session(client, auth, session) -> None:  # noqa: ANN001
    """After logout, territory pages send the user back to the login page."""
    territory = make_territory(session, "valrive")
    make_user(session, "ed@valrive.test", territory, Role.EDITOR)
    auth.login("ed@valrive.test")
    assert client.get("/t/valrive/").status_code == 200
    auth.logout()
    response = client.get("/t/valrive/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_login_redirect_stays_on_site(client, session) -> None:  # noqa: ANN001
    """`next` can only point inside Rayonne (no open redirect)."""
    make_user(session, "ed@valrive.test", make_territory(session), Role.EDITOR)
    token = csrf_token(client)
    response = client.post("/login?next=//evil.example/x",
                           data={"email": "ed@valrive.test", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_switcher_lists_every_territory_of_an_agency_user(client, auth, session) -> None:  # noqa: ANN001
    """A user of several territories chooses among them; each link opens that territory."""
    a = make_territory(session, "alpha", "Alpha")
    b = make_territory(session, "beta", "Beta")
    make_user(session, "agency@example.test", a, Role.EDITOR)
    make_user(session, "agency@example.test", b, Role.ANALYST)
    auth.login("agency@example.test")
    page = client.get("/").get_data(as_text=True)
    assert "/t/alpha/" in page and "/t/beta/" in page
    assert client.get("/t/beta/").status_code == 200
