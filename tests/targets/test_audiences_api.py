"""The audiences JSON API: create and update with the same rules, errors naming the field at fault."""

from __future__ import annotations

from accounts.models import Role
from accounts.services import create_api_token
from tests.conftest import make_territory, make_user


def _headers(session, role: Role = Role.MANAGER) -> dict[str, str]:  # noqa: ANN001
    territory = make_territory(session, "valrive")
    user = make_user(session, "manager@valrive.test", territory, role)
    _row, clear = create_api_token(session=session, territory=territory, user=user, name="test")
    session.commit()
    return {"Authorization": f"Bearer {clear}"}


def test_create_and_update_an_audience(client, session) -> None:  # noqa: ANN001
    """POST creates a custom audience (201); PATCH changes its preset; GET reads it back."""
    headers = _headers(session)
    body = {"key": "talents", "name": "Talents", "targeting": {"countries": ["fr"], "age_min": 25, "age_max": 40},
            "result_type": "landing_page_view", "result_value_minor": 900}
    created = client.post("/api/v1/t/valrive/audiences/", json=body, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["targeting"]["countries"] == ["FR"] and created.json["builtin"] is False
    audience_id = created.json["id"]
    patched = client.patch(f"/api/v1/t/valrive/audiences/{audience_id}", headers=headers,
                           json={"targeting": {"cities": [{"key": "2420003", "name": "Lyon", "radius": 40}]}})
    assert patched.status_code == 200
    assert patched.json["targeting"]["cities"][0]["radius"] == 40 and patched.json["name"] == "Talents"
    assert client.get(f"/api/v1/t/valrive/audiences/{audience_id}", headers=headers).json["key"] == "talents"


def test_api_errors_name_the_field(client, session) -> None:  # noqa: ANN001
    """A bad preset answers 422 with the field at fault and a French message; an analyst cannot create."""
    headers = _headers(session)
    bad = client.post("/api/v1/t/valrive/audiences/", headers=headers, json={
        "key": "talents", "name": "Talents", "targeting": {"countries": ["FR"], "age_min": 50, "age_max": 30}})
    assert bad.status_code == 422
    assert "targeting.age_max" in bad.json["error"]["fields"]
    too_young = client.post("/api/v1/t/valrive/audiences/", headers=headers, json={
        "key": "kids", "name": "Kids", "targeting": {"countries": ["FR"], "age_min": 8}})
    assert too_young.json["error"]["fields"]["targeting.age_min"] == "Doit être supérieur ou égal à 13."
    assert client.patch("/api/v1/t/valrive/audiences/999999", headers=headers, json={}).status_code == 404
