"""The JSON API: personal tokens scoped to one territory, JSON errors, the OpenAPI document."""

from __future__ import annotations

from accounts.models import Role
from accounts.services import create_api_token
from tests.conftest import make_territory, make_user


def _token(session, territory, email: str) -> str:  # noqa: ANN001
    user = make_user(session, email, territory, Role.ANALYST)
    _row, clear = create_api_token(session=session, territory=territory, user=user, name="test")
    session.commit()
    return clear


def test_token_opens_its_territory_only(client, session) -> None:  # noqa: ANN001
    """A token lists its territory's audiences; on another territory it finds nothing (404)."""
    alpha = make_territory(session, "alpha")
    make_territory(session, "beta")
    headers = {"Authorization": f"Bearer {_token(session, alpha, 'ana@alpha.test')}"}
    response = client.get("/api/v1/t/alpha/audiences/", headers=headers)
    assert response.status_code == 200
    assert sorted(a["key"] for a in response.json) == ["investors", "residents", "tourists"]
    assert client.get("/api/v1/t/beta/audiences/", headers=headers).status_code == 404


def test_api_needs_a_token_and_answers_json(client, auth, session) -> None:  # noqa: ANN001
    """Without a token the API answers 401 in JSON, even for a user logged in by cookie."""
    alpha = make_territory(session, "alpha")
    make_user(session, "ed@alpha.test", alpha, Role.EDITOR)
    auth.login("ed@alpha.test")
    response = client.get("/api/v1/t/alpha/audiences/")
    assert response.status_code == 401
    assert response.json["error"]["status"] == 401


def test_revoked_token_no_longer_works(client, auth, session) -> None:  # noqa: ANN001
    """A token revoked from the tokens page is refused at once."""
    alpha = make_territory(session, "alpha")
    clear = _token(session, alpha, "ana@alpha.test")
    headers = {"Authorization": f"Bearer {clear}"}
    assert client.get("/api/v1/t/alpha/audiences/", headers=headers).status_code == 200
    auth.login("ana@alpha.test")
    token_id = client.get("/api/v1/t/alpha/tokens/", headers=headers).json[0]["id"]
    auth.post(f"/t/alpha/admin/tokens/{token_id}/revoke")
    assert client.get("/api/v1/t/alpha/audiences/", headers=headers).status_code == 401


def test_tokens_page_shows_a_new_token_once(client, auth, session) -> None:  # noqa: ANN001
    """A member creates a token in the UI; it is shown once and stored hashed."""
    alpha = make_territory(session, "alpha")
    make_user(session, "ana@alpha.test", alpha, Role.ANALYST)
    auth.login("ana@alpha.test")
    page = auth.post("/t/alpha/admin/tokens", {"name": "Tableur"}).get_data(as_text=True)
    assert "ray_" in page
    again = client.get("/t/alpha/admin/tokens").get_data(as_text=True)
    assert "Tableur" in again and "ray_" not in again


def test_cli_creates_a_token(runner, session) -> None:  # noqa: ANN001
    """`flask token create` prints a working token for a member."""
    alpha = make_territory(session, "alpha")
    make_user(session, "ana@alpha.test", alpha, Role.ANALYST)
    result = runner.invoke(args=["token", "create", "--user", "ana@alpha.test", "--territory", "alpha"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().startswith("ray_")
    refused = runner.invoke(args=["token", "create", "--user", "nobody@alpha.test", "--territory", "alpha"])
    assert refused.exit_code == 2 and "Unknown territory or user" in refused.output


def test_openapi_describes_operations_from_the_models(client) -> None:  # noqa: ANN001
    """The OpenAPI document lists each operation with its response schema and bearer security."""
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    op = doc["paths"]["/api/v1/t/{territory}/audiences/"]["get"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["items"]["$ref"] == "#/components/schemas/AudienceRead"
    assert "targeting" in doc["components"]["schemas"]["AudienceRead"]["properties"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
