"""The campaigns JSON API: campaigns, tracks, stories and posts with the rules of the pages, JSON errors."""

from __future__ import annotations

from datetime import UTC, datetime

from accounts.models import Role
from accounts.services import create_api_token
from campaigns.models import PostStatus
from tests.campaigns.builders import audiences_of, make_campaign, make_post
from tests.conftest import make_territory, make_user


def _headers(session, territory, email: str, role: Role) -> dict[str, str]:  # noqa: ANN001
    user = make_user(session, email, territory, role)
    _row, clear = create_api_token(session=session, territory=territory, user=user, name="test")
    session.commit()
    return {"Authorization": f"Bearer {clear}"}


def test_campaign_and_tracks_through_the_api(client, session) -> None:  # noqa: ANN001
    """A manager creates a campaign and its tracks; shares above the whole answer 422 naming the field."""
    territory = make_territory(session, "valrive")
    audiences = audiences_of(session, territory)
    headers = _headers(session, territory, "manager@valrive.test", Role.MANAGER)
    created = client.post("/api/v1/t/valrive/campaigns/", headers=headers, json={
        "name": "Automne 2030", "starts_on": "2030-09-01", "ends_on": "2030-11-30",
        "approved_budget_minor": 250000, "dsa_beneficiary": "Valrive", "dsa_payor": "Valrive"})
    assert created.status_code == 201 and created.json["slug"] == "automne-2030"
    cid = created.json["id"]
    track = client.post(f"/api/v1/t/valrive/campaigns/{cid}/tracks", headers=headers,
                        json={"audience_id": audiences["tourists"].id, "budget_share_bp": 7000, "tone": "Chaleureux"})
    assert track.status_code == 201
    too_much = client.post(f"/api/v1/t/valrive/campaigns/{cid}/tracks", headers=headers,
                           json={"audience_id": audiences["investors"].id, "budget_share_bp": 4000})
    assert too_much.status_code == 422 and too_much.json["error"]["field"] is None
    assert "budget_share_bp" in too_much.json["error"]["fields"]
    duplicate = client.post(f"/api/v1/t/valrive/campaigns/{cid}/tracks", headers=headers,
                            json={"audience_id": audiences["tourists"].id, "budget_share_bp": 100})
    assert duplicate.status_code == 409 and duplicate.json["error"]["field"] == "audience_id"
    patched = client.patch(f"/api/v1/t/valrive/tracks/{track.json['id']}", headers=headers,
                           json={"budget_share_bp": 9000})
    assert patched.json["budget_share_bp"] == 9000 and patched.json["tone"] == "Chaleureux"
    dates = client.patch(f"/api/v1/t/valrive/campaigns/{cid}", headers=headers, json={"ends_on": "2030-08-01"})
    assert dates.status_code == 422 and "ends_on" in dates.json["error"]["fields"]
    listed = client.get(f"/api/v1/t/valrive/campaigns/{cid}/tracks", headers=headers).json
    assert [t["audience_id"] for t in listed] == [audiences["tourists"].id]
    archived = client.post(f"/api/v1/t/valrive/campaigns/{cid}/archive", headers=headers)
    assert archived.json["status"] == "archived"
    assert client.get("/api/v1/t/valrive/campaigns/?archived=1", headers=headers).json[0]["id"] == cid


def test_posts_through_the_api(client, session, clock) -> None:  # noqa: ANN001
    """An editor writes a draft (link tagged, local time read in the territory's zone), lists, edits it."""
    clock.freeze(datetime(2030, 2, 1, tzinfo=UTC))
    territory = make_territory(session, "valrive")
    campaign, tracks = make_campaign(session, territory, slug="tram")
    published = make_post(session, tracks["tourists"], status=PostStatus.PUBLISHED,
                          published_at=datetime(2030, 1, 20, tzinfo=UTC))
    headers = _headers(session, territory, "editor@valrive.test", Role.EDITOR)
    created = client.post("/api/v1/t/valrive/posts/", headers=headers, json={
        "track_id": tracks["investors"].id, "message": "Foncier disponible", "link": "https://valrive.fr/eco",
        "planned_at": "2030-03-02T10:30:00"})
    assert created.status_code == 201, created.json
    post = created.json
    assert post["status"] == "draft" and post["planned_at"].startswith("2030-03-02T09:30:00")
    assert post["link"].endswith("utm_campaign=tram&utm_content=investors")
    bad = client.post("/api/v1/t/valrive/posts/", headers=headers, json={"track_id": 999999, "message": "x"})
    assert bad.status_code == 422 and "track_id" in bad.json["error"]["fields"]
    empty = client.post("/api/v1/t/valrive/posts/", headers=headers, json={"track_id": tracks["investors"].id})
    assert empty.json["error"]["fields"]["message"] == "Ce champ est obligatoire."
    listed = client.get(f"/api/v1/t/valrive/posts/?campaign_id={campaign.id}&status=draft", headers=headers).json
    assert [p["id"] for p in listed] == [post["id"]]
    audience = tracks["tourists"].audience_id
    assert [p["id"] for p in client.get(f"/api/v1/t/valrive/posts/?audience_id={audience}",
                                        headers=headers).json] == [published.id]
    assert client.get("/api/v1/t/valrive/posts/?status=lost", headers=headers).status_code == 422
    edited = client.patch(f"/api/v1/t/valrive/posts/{post['id']}", headers=headers,
                          json={"message": "12 hectares disponibles"})
    assert edited.json["message"] == "12 hectares disponibles"
    locked = client.patch(f"/api/v1/t/valrive/posts/{published.id}", headers=headers, json={"message": "Changé"})
    assert locked.status_code == 409 and "brouillon" in locked.json["error"]["message"]
    assert client.get(f"/api/v1/t/valrive/posts/{post['id']}", headers=headers).json["id"] == post["id"]


def test_roles_and_openapi(client, session) -> None:  # noqa: ANN001
    """An editor cannot create campaigns (403); the OpenAPI document describes the new operations."""
    territory = make_territory(session, "valrive")
    headers = _headers(session, territory, "editor@valrive.test", Role.EDITOR)
    assert client.post("/api/v1/t/valrive/campaigns/", headers=headers, json={}).status_code == 403
    doc = client.get("/api/v1/openapi.json").json
    create = doc["paths"]["/api/v1/t/{territory}/posts/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["title"] == "PostCreate"
    assert "patch" in doc["paths"]["/api/v1/t/{territory}/campaigns/{campaign_id}"]
    assert "patch" in doc["paths"]["/api/v1/t/{territory}/audiences/{audience_id}"]
