"""The workflow in a real browser: an editor submits, a manager approves and schedules, the job publishes
to the Graph API sandbox, and the post shows as published — every page accessible."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlmodel import select

from accounts.models import Role
from campaigns import jobs
from campaigns.models import Campaign, ContentTrack, Post, PostStatus
from facebook import RetryPolicy
from targets.models import Audience
from tests.conftest import PASSWORD, connect_sandbox, make_territory, make_user
from tests.e2e.conftest import check_accessibility, login, navigate


def sandbox_now(sandbox) -> datetime:  # noqa: ANN001
    return datetime.fromisoformat(sandbox.control.clock().replace("+0000", "+00:00"))


def test_submit_approve_schedule_publish(page, app, session, graph_sandbox, clock, monkeypatch) -> None:  # noqa: ANN001
    """Editor submits, manager approves and schedules, the job publishes once; the page says "Publiée"."""
    monkeypatch.setattr(jobs, "RETRY_POLICY", RetryPolicy(max_attempts=2, base_delay=0, sleep=lambda s: None))
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "editor@valrive.test", territory, Role.EDITOR)
    make_user(session, "manager@valrive.test", territory, Role.MANAGER)
    fb = connect_sandbox(app, session, territory, graph_sandbox)
    clock.freeze(sandbox_now(graph_sandbox))
    audience = session.exec(select(Audience).where(Audience.territory_id == territory.id,
                                                   Audience.key == "tourists")).one()
    campaign = Campaign(territory_id=territory.id, name="Été au bord de la Rive", starts_on=date(2027, 6, 1),
                        ends_on=date(2027, 8, 31))
    session.add(campaign)
    session.flush()
    track = ContentTrack(territory_id=territory.id, campaign_id=campaign.id, audience_id=audience.id)
    session.add(track)
    session.flush()
    post = Post(territory_id=territory.id, track_id=track.id, link="https://valrive.example/guinguettes",
                message="Les guinguettes rouvrent sur les berges : concerts tous les vendredis soir.")
    session.add(post)
    session.commit()
    detail = f"/t/valrive/campaigns/posts/{post.id}"

    login(page, "editor@valrive.test", PASSWORD)
    page.goto(detail)
    check_accessibility(page)
    page.get_by_label("Note pour la relecture (facultatif)").fill("Horaires vérifiés avec l'office de tourisme")
    navigate(page, page.get_by_role("button", name="Soumettre à relecture"))
    expect(page.get_by_text("Publication soumise à relecture.")).to_be_visible()
    check_accessibility(page)
    navigate(page, page.get_by_role("button", name="Se déconnecter"))

    login(page, "manager@valrive.test", PASSWORD)
    page.goto("/t/valrive/campaigns/review")
    check_accessibility(page)
    navigate(page, page.get_by_role("link", name="Les guinguettes rouvrent"))
    expect(page.get_by_text("Horaires vérifiés avec l'office de tourisme").first).to_be_visible()
    check_accessibility(page)
    navigate(page, page.get_by_role("button", name="Approuver"))
    expect(page.get_by_text("Publication approuvée.")).to_be_visible()
    when = (clock.now() + timedelta(hours=1)).astimezone(ZoneInfo("Europe/Paris"))
    page.get_by_label("Date et heure de publication (heure du territoire)").fill(when.strftime("%Y-%m-%dT%H:%M"))
    navigate(page, page.get_by_role("button", name="Programmer"))
    expect(page.get_by_text("Publication programmée.")).to_be_visible()
    check_accessibility(page)

    # Two hours pass on both sides; the scheduler's job runs.
    clock.advance(timedelta(hours=2))
    graph_sandbox.control.advance(hours=2)
    with app.app_context():
        assert jobs.publish_due(session=session).startswith("1 published")

    page.reload()
    expect(page.locator("h1")).to_contain_text("Publiée")
    session.expire_all()
    published = session.get(Post, post.id)
    assert published.status == PostStatus.PUBLISHED
    expect(page.get_by_text(published.fb_post_id).first).to_be_visible()
    check_accessibility(page)
    on_page = [p for p in graph_sandbox.control.state()["objects"]["posts"] if p["id"].startswith(fb["page_id"])]
    assert [p["id"] for p in on_page] == [published.fb_post_id]
