"""Campaigns and their content tracks: one per audience, budget shares never above 100 %, audited."""

from __future__ import annotations

from sqlmodel import select

from accounts.models import AuditEvent, Role
from campaigns.models import Campaign, CampaignStatus, ContentTrack
from tests.campaigns.builders import audiences_of, make_campaign, make_post, text_of
from tests.conftest import make_territory, make_user


def _setup(session):  # noqa: ANN001, ANN202
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "manager@valrive.test", territory, Role.MANAGER)
    return territory, audiences_of(session, territory)


def _form(audiences, shares: dict[str, str], **fields: str) -> dict[str, str]:  # noqa: ANN001
    form = {"name": "Printemps 2030 — le nouveau tramway", "theme": "La T2 relie la gare au campus.",
            "starts_on": "2030-03-01", "ends_on": "2030-05-31", "objective": "OUTCOME_TRAFFIC",
            "approved_budget": "6 000", "dsa_beneficiary": "Valrive", "dsa_payor": "Valrive"}
    for key, share in shares.items():
        a = audiences[key]
        form.update({f"track_{a.id}": "1", f"share_{a.id}": share, f"tone_{a.id}": f"Ton {key}",
                     f"guidelines_{a.id}": "", f"posts_per_week_{a.id}": "3"})
    form.update(fields)
    return form


def test_campaign_with_three_tracks_is_created_from_the_form(client, auth, session) -> None:  # noqa: ANN001
    """Budget typed in euros is stored in cents, shares in % as basis points, a slug is set; all audited."""
    territory, audiences = _setup(session)
    auth.login("manager@valrive.test")
    form = _form(audiences, {"investors": "40", "tourists": "35,5", "residents": "24,5"})
    response = auth.post("/t/valrive/campaigns/new", form)
    assert response.status_code == 302
    campaign = session.exec(select(Campaign)).one()
    assert campaign.approved_budget_minor == 600000 and campaign.slug == "printemps-2030-le-nouveau-tramway"
    tracks = {t.audience_id: t for t in session.exec(select(ContentTrack))}
    assert tracks[audiences["tourists"].id].budget_share_bp == 3550
    assert tracks[audiences["residents"].id].posts_per_week == 3
    actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.territory_id == territory.id))]
    assert actions.count("campaign.create") == 1 and actions.count("track.create") == 3
    page = text_of(client.get(response.headers["Location"]))
    assert "35,5 %" in page and "2 130,00 €" in page and "Ton tourists" in page


def test_shares_above_the_whole_are_refused_with_a_clear_message(client, auth, session) -> None:  # noqa: ANN001
    """60 % + 50 % is refused, nothing is created, and the message gives the total."""
    _territory, audiences = _setup(session)
    auth.login("manager@valrive.test")
    response = auth.post("/t/valrive/campaigns/new", _form(audiences, {"investors": "60", "tourists": "50"}))
    assert response.status_code == 422
    text = text_of(response)
    assert "totaliseraient 110 %" in text and "ne peuvent pas dépasser 100 %" in text
    assert session.exec(select(Campaign)).first() is None


def test_bad_dates_budget_and_share_are_explained(client, auth, session) -> None:  # noqa: ANN001
    """An end before the start, a budget in words and a share with letters each get their message."""
    _territory, audiences = _setup(session)
    auth.login("manager@valrive.test")
    response = auth.post("/t/valrive/campaigns/new", _form(
        audiences, {"investors": "quarante"}, approved_budget="six mille"))
    text = text_of(response)
    assert response.status_code == 422
    assert "Montant en euros attendu" in text and "Pourcentage attendu" in text
    dates = auth.post("/t/valrive/campaigns/new", _form(audiences, {"investors": "40"}, ends_on="2030-01-01"))
    assert "ne peut pas finir avant de commencer" in text_of(dates)


def test_edit_moves_shares_and_keeps_tracks_that_have_posts(client, auth, session) -> None:  # noqa: ANN001
    """Shares can be moved between tracks in one go; a track with posts cannot be removed."""
    territory, audiences = _setup(session)
    campaign, tracks = make_campaign(session, territory, shares={"investors": 6000, "tourists": 4000})
    auth.login("manager@valrive.test")
    moved = auth.post(f"/t/valrive/campaigns/{campaign.id}/edit",
                      _form(audiences, {"investors": "30", "tourists": "70"}, name="Tramway"))
    assert moved.status_code == 302
    session.expire_all()
    assert {t.audience_id: t.budget_share_bp for t in session.exec(select(ContentTrack))} == {
        audiences["investors"].id: 3000, audiences["tourists"].id: 7000}
    assert session.get(Campaign, campaign.id).name == "Tramway"
    make_post(session, tracks["tourists"])
    refused = auth.post(f"/t/valrive/campaigns/{campaign.id}/edit", _form(audiences, {"investors": "30"}))
    assert refused.status_code == 422
    assert "a déjà des publications" in text_of(refused)
    removed = auth.post(f"/t/valrive/campaigns/{campaign.id}/edit", _form(audiences, {"tourists": "70"}))
    assert removed.status_code == 302
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "track.delete")).one()
    assert event.before["audience_id"] == audiences["investors"].id


def test_archived_campaigns_are_listed_apart_and_closed_to_writing(client, auth, session) -> None:  # noqa: ANN001
    """Archiving moves a campaign to the archived list and the composer refuses it until restored."""
    territory, _audiences = _setup(session)
    campaign, _tracks = make_campaign(session, territory, name="Été 2030")
    auth.login("manager@valrive.test")
    auth.post(f"/t/valrive/campaigns/{campaign.id}/archive")
    session.refresh(campaign)
    assert campaign.status == CampaignStatus.ARCHIVED
    assert "Été 2030" not in client.get("/t/valrive/campaigns/").get_data(as_text=True)
    assert "Été 2030" in client.get("/t/valrive/campaigns/?archived=1").get_data(as_text=True)
    closed = client.get(f"/t/valrive/campaigns/{campaign.id}/compose", follow_redirects=True)
    assert "archivée" in text_of(closed)
    auth.post(f"/t/valrive/campaigns/{campaign.id}/restore")
    session.refresh(campaign)
    assert campaign.status == CampaignStatus.ACTIVE
