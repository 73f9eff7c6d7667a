"""Budget pages, the boost form, steering a boost, the CSV export for finance, and the JSON API."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from accounts.models import Role
from core import clock as rayonne_clock
from core.db import scoped
from core.mail import MailMessage
from sponsored.models import AlertKind, Boost, BoostStatus, PacingAlert
from tests.conftest import make_user
from tests.sponsored.builders import build_world, published_post


@pytest.fixture
def web(app, session, graph_sandbox, clock):  # noqa: ANN001, ANN201
    world = build_world(app, session, graph_sandbox, users=True, threshold=20_000)
    post = published_post(app, session, world)
    return world, post


def _local(moment) -> str:  # noqa: ANN001
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%dT%H:%M")


def _form(post, budget: str = "50", **extra: str) -> dict:  # noqa: ANN001
    now = rayonne_clock.now()
    return {"track_id": str(post.track_id), "budget_kind": "lifetime", "budget": budget,
            "starts_at": _local(now), "ends_at": _local(now + timedelta(days=7)),
            "optimization_goal": "LINK_CLICKS", "countries": "FR, BE", "age_min": "25", "age_max": "60",
            "interests": "6003430696269 Voyage", **extra}


def test_editor_boosts_a_published_post_from_the_form(client, auth, session, web, graph_sandbox) -> None:
    """The form is prefilled from the audience; a boost within budget is created on Facebook; one over
    budget is refused with the figures."""
    world, post = web
    auth.login("editor@valrive.test")
    page = client.get(f"/t/valrive/budgets/posts/{post.id}/boost").get_data(as_text=True)
    assert 'value="FR, BE, NL, DE"' in page and "Restant sur la piste" in page
    response = auth.post(f"/t/valrive/budgets/posts/{post.id}/boost", _form(post, "50"))
    assert response.status_code == 302
    with scoped(session, world.territory.id):
        boost = session.exec(select(Boost)).one()
    assert boost.status == BoostStatus.ACTIVE and boost.targeting["countries"] == ["FR", "BE"]
    adset = graph_sandbox.app.state.data["adsets"][boost.fb_adset_id]
    assert adset["targeting"]["age_min"] == 25 and adset["lifetime_budget"] == 5_000
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sponsorisation créée sur Facebook" in detail and "En cours d&#39;examen" in detail
    refused = auth.post(f"/t/valrive/budgets/posts/{post.id}/boost", _form(post, "400"))
    assert refused.status_code == 422
    assert "Budget insuffisant" in refused.get_data(as_text=True)


def test_editor_over_threshold_waits_and_manager_approves(client, auth, session, web, graph_sandbox) -> None:
    """Above the threshold an editor's boost waits; the manager approves it from its page."""
    world, post = web
    auth.login("editor@valrive.test")
    response = auth.post(f"/t/valrive/budgets/posts/{post.id}/boost", _form(post, "300"))
    with scoped(session, world.territory.id):
        boost = session.exec(select(Boost)).one()
    assert boost.status == BoostStatus.PENDING_APPROVAL and graph_sandbox.app.state.data["adsets"] == {}
    assert auth.post(f"/t/valrive/budgets/boosts/{boost.id}/approve").status_code == 403
    auth.logout()
    auth.login("manager@valrive.test")
    auth.post(f"/t/valrive/budgets/boosts/{boost.id}/approval-link",
              {"recipient_name": "Claire Dumont", "recipient_email": "claire@valrive.test"})
    with scoped(session, world.territory.id):
        [mail] = session.exec(select(MailMessage).where(MailMessage.to_addr == "claire@valrive.test")).all()
    assert "sponsorisation n°" in mail.subject
    body = email.message_from_bytes(mail.raw, policy=email.policy.default).get_body().get_content()
    link = re.search(r"http://rayonne\.test(/approval/\S+)", body).group(1)
    external = client.get(link).get_data(as_text=True)
    assert "Dépense demandée" in external and "300,00" in external
    assert "en attente" in client.get("/t/valrive/budgets/").get_data(as_text=True)
    auth.post(f"/t/valrive/budgets/boosts/{boost.id}/approve")
    session.expire_all()
    with scoped(session, world.territory.id):
        boost = session.get(Boost, boost.id)
    assert boost.status == BoostStatus.ACTIVE and boost.approved_by_label == "manager@valrive.test"
    assert response.status_code == 302


def test_manager_forms_and_pages(client, auth, session, web) -> None:
    """Managers approve, allocate and set envelopes from the pages; analysts only read."""
    world, _post = web
    make_user(session, "analyst@valrive.test", world.territory, Role.ANALYST)
    auth.login("analyst@valrive.test")
    campaign_url = f"/t/valrive/budgets/campaigns/{world.campaign.id}"
    page = client.get(campaign_url).get_data(as_text=True)
    assert "Registre budgétaire" in page and "Délibération du conseil" in page and "Approuver ce budget" not in page
    assert auth.post(f"{campaign_url}/approve", {"amount": "2000", "reason": "x"}).status_code == 403
    auth.logout()
    auth.login("manager@valrive.test")
    assert auth.post(f"{campaign_url}/approve", {"amount": "1 500", "reason": "DM n°1"}).status_code == 302
    bad = auth.post(f"{campaign_url}/allocate", {"track_id": str(world.tracks["investors"].id), "amount": "2000",
                                                 "reason": "Trop"})
    assert bad.status_code == 422 and "non réparti" in bad.get_data(as_text=True)
    ok = auth.post(f"{campaign_url}/allocate", {"track_id": str(world.tracks["investors"].id), "amount": "300",
                                                "reason": "Salon"})
    assert ok.status_code == 302
    assert auth.post("/t/valrive/budgets/envelopes", {"year": str(world.campaign.starts_on.year),
                                                      "amount": "5000",
                                                      "reason": "Budget primitif"}).status_code == 302
    page = client.get(campaign_url).get_data(as_text=True)
    assert "1\u202f500,00" in page and "Salon" in page
    with scoped(session, world.territory.id):
        session.add(PacingAlert(territory_id=world.territory.id, key="k", kind=AlertKind.ALLOCATION_80,
                                campaign_id=world.campaign.id, message="Piste Touristes : 80 % dépensés"))
        session.commit()
    assert "1 alerte budgétaire à voir" in client.get("/t/valrive/campaigns/").get_data(as_text=True)
    assert "Piste Touristes : 80 % dépensés" in client.get(campaign_url).get_data(as_text=True)
    auth.post(f"{campaign_url}/alerts/acknowledge")
    assert "alerte budgétaire" not in client.get(campaign_url).get_data(as_text=True)
    assert client.get("/t/valrive/budgets/compliance").status_code == 200
    auth.post("/t/valrive/budgets/compliance", {"language": "fr", "words": "chasse\ncorrida"})
    assert "corrida" in client.get("/t/valrive/budgets/compliance").get_data(as_text=True)


def test_ledger_csv_for_french_excel(client, auth, web) -> None:
    """The ledger exports as UTF-8 with a BOM, semicolons and decimal commas (or commas and points)."""
    auth.login("manager@valrive.test")
    response = client.get("/t/valrive/budgets/ledger.csv")
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode()) and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Date", "Type", "Campagne"]
    assert ["Approbation", "1000,00"] == [rows[1][1], rows[1][7]]
    comma = client.get("/t/valrive/budgets/ledger.csv?sep=comma").get_data().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(comma)))[1][7] == "1000.00"


def test_ledger_csv_headers_follow_the_readers_language(client, auth, web) -> None:  # noqa: ANN001
    """An English-speaking reader gets the ledger's column headers and kinds in English."""
    auth.login("manager@valrive.test")
    auth.post("/preferences/locale", {"locale": "en", "next": "/t/valrive/budgets/"})
    text = client.get("/t/valrive/budgets/ledger.csv?sep=comma").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Date", "Type", "Campaign", "Track", "Boost", "Year", "Day", "Amount", "Currency", "Reason",
                       "By", "Key"]
    assert rows[1][1] == "Approval"


def test_a_ledger_commitment_reads_commitment_in_english(client, auth, session, web, graph_sandbox) -> None:  # noqa: ANN001
    """Money set aside for a boost (French "Engagement") is a "Commitment" in English, never "Engagement"."""
    world, post = web
    auth.login("editor@valrive.test")
    auth.post("/preferences/locale", {"locale": "en", "next": "/t/valrive/budgets/"})
    response = auth.post(f"/t/valrive/budgets/posts/{post.id}/boost", _form(post, "50"))
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<td>Commitment</td>" in detail and "<td>Engagement</td>" not in detail
    text = client.get("/t/valrive/budgets/ledger.csv?sep=comma").get_data().decode("utf-8-sig")
    kinds = {row[1] for row in csv.reader(io.StringIO(text))}
    assert "Commitment" in kinds and "Engagement" not in kinds


def test_api_boosts_and_budgets(client, app, session, web, graph_sandbox) -> None:
    """The API creates a boost, reads it, changes its status, and reads balances and the ledger."""
    from accounts.services import create_api_token, get_user_by_email

    world, post = web
    user = get_user_by_email(session=session, email="editor@valrive.test")
    _token, clear = create_api_token(session=session, territory=world.territory, user=user, name="api")
    session.commit()
    headers = {"Authorization": f"Bearer {clear}"}
    now = rayonne_clock.now()
    created = client.post("/api/v1/t/valrive/sponsored/boosts", headers=headers, json={
        "post_id": post.id, "budget_kind": "daily", "budget_minor": 1_000, "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=5)).isoformat()})
    assert created.status_code == 201, created.get_json()
    boost = created.get_json()
    assert boost["status"] == "active" and boost["optimization_goal"] == "LINK_CLICKS"
    over = client.post("/api/v1/t/valrive/sponsored/boosts", headers=headers, json={
        "post_id": post.id, "budget_kind": "lifetime", "budget_minor": 60_000, "ends_at": (now + timedelta(days=5))
        .isoformat()})
    assert over.status_code == 422 and "Budget insuffisant" in over.get_json()["error"]["message"]
    paused = client.post(f"/api/v1/t/valrive/sponsored/boosts/{boost['id']}/status", headers=headers,
                         json={"action": "pause"})
    assert paused.get_json()["status"] == "paused"
    refused = client.post(f"/api/v1/t/valrive/sponsored/boosts/{boost['id']}/status", headers=headers,
                          json={"action": "approve"})
    assert refused.status_code == 403
    [campaign] = client.get("/api/v1/t/valrive/sponsored/budgets", headers=headers).get_json()
    tourists = next(t for t in campaign["tracks"] if t["track_id"] == world.tracks["tourists"].id)
    assert (campaign["approved_minor"], tourists["committed_minor"]) == (100_000, 5_000)
    ledger = client.get(f"/api/v1/t/valrive/sponsored/budgets/ledger?campaign_id={world.campaign.id}",
                        headers=headers).get_json()
    assert [line["kind"] for line in ledger][-1] == "commitment"
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/t/{territory}/sponsored/boosts" in spec["paths"]
    assert "post" in spec["paths"]["/api/v1/t/{territory}/sponsored/boosts/{boost_id}/status"]
