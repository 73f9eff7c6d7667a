"""The publishing job against the Graph API sandbox, with injected faults: nothing lost, nothing twice.

Rayonne's clock is frozen on the sandbox's clock and both move together (`World.advance`), so that
"since the intent" means the same moment on both sides, as it does with the real Facebook.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlmodel import Session, select

from accounts import connection as connection_module
from accounts.models import ConnectionStatus, FacebookConnection, Role, Territory
from campaigns import composer, jobs
from campaigns.models import Campaign, ContentTrack, ElectedOfficial, Post, PostStatus
from core.db import ALL, new_session, scoped
from core.mail import MailMessage
from facebook import FacebookClient, RetryPolicy, throttle_registry
from scheduler.registry import get_job
from targets.models import Audience
from tests.campaigns.builders import text_of
from tests.conftest import connect_sandbox, make_territory, make_user


def sandbox_now(sandbox: Any) -> datetime:
    return datetime.fromisoformat(sandbox.control.clock().replace("+0000", "+00:00"))


@dataclass
class World:
    app: Flask
    session: Session
    territory: Territory
    sandbox: Any
    fb: dict[str, str]
    clock: Any
    track_id: int = 0

    def now(self) -> datetime:
        return self.clock.now()

    def run(self) -> str:
        with self.app.app_context():
            return jobs.publish_due(session=self.session)

    def advance(self, **delta: float) -> None:
        """Time passes for both Rayonne and Facebook."""
        step = timedelta(**delta)
        self.clock.advance(step)
        self.sandbox.control.advance(seconds=step.total_seconds())

    def page_posts(self) -> list[dict[str, Any]]:
        prefix = self.fb["page_id"] + "_"
        return [p for p in self.sandbox.control.state()["objects"]["posts"] if p["id"].startswith(prefix)]

    def post(self, post_id: int) -> Post:
        self.session.expire_all()
        return self.session.get(Post, post_id)

    def make_post(self, message: str, *, status: PostStatus = PostStatus.SCHEDULED, due_in: timedelta | None = None,
                  link: str | None = "https://valrive.example/agenda", **fields: Any) -> Post:
        planned = self.now() + (due_in if due_in is not None else timedelta(minutes=-1))
        post = Post(territory_id=self.territory.id, track_id=self.track_id, message=message, link=link,
                    status=status, planned_at=planned, approved_by_label="manager@valrive.test", **fields)
        self.session.add(post)
        self.session.commit()
        return post

    def client(self) -> FacebookClient:
        with self.app.app_context(), scoped(self.session, self.territory.id):
            return connection_module.client_for(session=self.session)


def add_track(session: Session, territory: Territory) -> int:
    audience = session.exec(select(Audience).where(Audience.territory_id == territory.id,
                                                   Audience.key == "tourists")).one()
    campaign = Campaign(territory_id=territory.id, name="Été 2027", starts_on=date(2027, 6, 1),
                        ends_on=date(2027, 8, 31))
    session.add(campaign)
    session.flush()
    track = ContentTrack(territory_id=territory.id, campaign_id=campaign.id, audience_id=audience.id)
    session.add(track)
    session.commit()
    return track.id


@pytest.fixture
def world(app, session, graph_sandbox, clock, monkeypatch) -> World:  # noqa: ANN001
    """Valrive connected to a fresh sandbox Page, clocks aligned, retries instant."""
    monkeypatch.setattr(jobs, "RETRY_POLICY", RetryPolicy(max_attempts=2, base_delay=0, max_delay=5,
                                                          sleep=lambda seconds: None))
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    fb = connect_sandbox(app, session, territory, graph_sandbox)
    clock.freeze(sandbox_now(graph_sandbox))
    return World(app, session, territory, graph_sandbox, fb, clock, add_track(session, territory))


# ------------------------------------------------------------------------------------- the path


def test_due_post_is_published_once(world) -> None:  # noqa: ANN001
    """A due post goes to the Page with its link; a later one waits; running again publishes nothing more."""
    due = world.make_post("Fête de la musique sur les quais")
    later = world.make_post("Marché nocturne", due_in=timedelta(hours=2))
    summary = world.run()
    assert summary.startswith("1 published")
    post = world.post(due.id)
    assert post.status == PostStatus.PUBLISHED and post.published_at == world.now()
    [on_page] = world.page_posts()
    assert on_page["id"] == post.fb_post_id and on_page["link"] == "https://valrive.example/agenda"
    assert world.post(later.id).status == PostStatus.SCHEDULED
    world.run()
    assert len(world.page_posts()) == 1


def test_approved_post_with_a_time_is_published_too(world) -> None:  # noqa: ANN001
    """An approved post whose planned time has come is published like a scheduled one; a draft never is."""
    approved = world.make_post("Les guinguettes rouvrent", status=PostStatus.APPROVED)
    draft = world.make_post("Brouillon à ne pas publier", status=PostStatus.DRAFT)
    world.run()
    assert world.post(approved.id).status == PostStatus.PUBLISHED
    assert world.post(draft.id).status == PostStatus.DRAFT
    assert [p["message"] for p in world.page_posts()] == ["Les guinguettes rouvrent"]


def test_intent_is_committed_before_facebook_is_called(world, monkeypatch) -> None:  # noqa: ANN001
    """When the request leaves, the database already says `publishing` (a crash cannot lose the intent)."""
    post = world.make_post("Visite guidée du vieux port")
    seen: list[tuple[str, int]] = []
    real = FacebookClient.publish_post

    def spy(self: FacebookClient, **kwargs: Any) -> str:
        with world.app.app_context():
            other = new_session(ALL)
            row = other.get(Post, post.id)
            seen.append((row.status.value, row.publish_attempts))
            other.close()
        return real(self, **kwargs)

    monkeypatch.setattr(FacebookClient, "publish_post", spy)
    world.run()
    assert seen == [("publishing", 1)]
    assert world.post(post.id).status == PostStatus.PUBLISHED


# ------------------------------------------------------------------------------- faults


@pytest.mark.parametrize("kind", ["crash_after_create", "bad_gateway", "timeout"])
def test_lost_answer_is_reconciled_never_published_twice(world, monkeypatch, kind) -> None:  # noqa: ANN001
    """Facebook created the post but the answer was lost: Rayonne finds it on the Page instead of re-posting."""
    if kind == "timeout":  # the client must give up before the sandbox answers
        real = connection_module.connection_of
        monkeypatch.setattr(connection_module, "connection_of", lambda record: replace(real(record), timeout=0.5))
    post = world.make_post(f"Concert au kiosque ({kind})")
    world.sandbox.control.add_fault(kind, target=world.fb["page_id"], count=1, methods=["POST"], when="after",
                                    delay=1.5)
    world.run()
    post = world.post(post.id)
    assert post.status == PostStatus.PUBLISHED
    assert [p["id"] for p in world.page_posts()] == [post.fb_post_id]
    world.advance(minutes=10)
    world.run()
    assert len(world.page_posts()) == 1


def test_error_before_create_is_retried_after_checking_the_page(world) -> None:  # noqa: ANN001
    """A 500 on the create: the outcome is unknown, so the Page is searched first; not there → published once."""
    post = world.make_post("Ouverture de la piscine d'été")
    world.sandbox.control.add_fault("error_500", target=world.fb["page_id"], count=1, methods=["POST"])
    world.run()
    post = world.post(post.id)
    assert post.status == PostStatus.PUBLISHING and "vérifiera la Page" in post.failure_reason
    world.run()  # too soon: another run might still be calling Facebook
    assert world.post(post.id).publish_attempts == 1
    world.advance(minutes=6)
    world.run()
    post = world.post(post.id)
    assert post.status == PostStatus.PUBLISHED and post.publish_attempts == 2 and post.failure_reason is None
    assert [p["id"] for p in world.page_posts()] == [post.fb_post_id]


def test_throttle_is_retried_by_a_later_run(world) -> None:  # noqa: ANN001
    """A rate limit puts the post back with a pause; once the pause is over it is published, once."""
    post = world.make_post("Balade nature du dimanche")
    world.sandbox.control.add_fault("throttle", target=world.fb["page_id"], count=1, methods=["POST"])
    world.run()
    post = world.post(post.id)
    assert post.status == PostStatus.SCHEDULED and post.publish_retry_at >= world.now() + timedelta(minutes=5)
    assert "nouvel essai automatique" in post.failure_reason
    world.run()
    assert world.page_posts() == []
    world.advance(minutes=6)
    throttle_registry.clear()  # the process-wide block (real time) is over too
    world.run()
    post = world.post(post.id)
    assert post.status == PostStatus.PUBLISHED and len(world.page_posts()) == 1


def test_lasting_failure_ends_failed_with_a_plain_reason(world) -> None:  # noqa: ANN001
    """Facebook failing every create: after 5 attempts (each checked on the Page) the post is failed."""
    post = world.make_post("Feu d'artifice du 14 juillet")
    world.sandbox.control.add_fault("error_500", target=world.fb["page_id"], methods=["POST"])
    for _ in range(8):
        world.run()
        world.advance(minutes=6)
    post = world.post(post.id)
    assert post.status == PostStatus.FAILED and post.publish_attempts == jobs.MAX_ATTEMPTS
    assert "après 5 essais" in post.failure_reason
    assert world.page_posts() == []


def test_process_crash_after_facebook_created_the_post(world) -> None:  # noqa: ANN001
    """A run died after Facebook created the post: the next run finds it and records it, without posting."""
    post = world.make_post("Journées du patrimoine")
    fb_id = world.client().publish_post(message=post.message, link=post.link)
    post.status, post.publish_started_at, post.publish_attempts = PostStatus.PUBLISHING, world.now(), 1
    world.session.commit()
    world.advance(minutes=6)
    world.run()
    post = world.post(post.id)
    assert post.status == PostStatus.PUBLISHED and post.fb_post_id == fb_id
    assert len(world.page_posts()) == 1


def test_process_crash_before_facebook_created_the_post(world) -> None:  # noqa: ANN001
    """A run died before the create reached Facebook: the next run checks the Page, then publishes once."""
    post = world.make_post("Salon des métiers d'art")
    post.status, post.publish_started_at, post.publish_attempts = PostStatus.PUBLISHING, world.now(), 1
    world.session.commit()
    world.advance(minutes=6)
    world.run()
    post = world.post(post.id)
    assert post.status == PostStatus.PUBLISHED and post.publish_attempts == 2
    assert [p["id"] for p in world.page_posts()] == [post.fb_post_id]


def test_many_posts_many_faults_nothing_lost_nothing_twice(world) -> None:  # noqa: ANN001
    """Ten due posts under mixed faults all end on the Page exactly once."""
    messages = [f"Agenda de l'été n°{n}" for n in range(10)]
    posts = [world.make_post(m) for m in messages]
    control, page = world.sandbox.control, world.fb["page_id"]
    control.add_fault("crash_after_create", target=page, count=2)
    control.add_fault("error_500", target=page, count=2, methods=["POST"])
    control.add_fault("bad_gateway", target=page, count=2, methods=["POST"], when="before")
    for _ in range(6):
        world.run()
        world.advance(minutes=6)
    assert {world.post(p.id).status for p in posts} == {PostStatus.PUBLISHED}
    assert sorted(p["message"] for p in world.page_posts()) == sorted(messages)
    assert len({world.post(p.id).fb_post_id for p in posts}) == 10


def test_expired_token_stops_the_territory_until_reconnected(app, world) -> None:  # noqa: ANN001
    """Facebook's 190: the connection is marked to reconnect, admins are told, the post waits and goes later."""
    post = world.make_post("Nouvelle ligne de bus")
    world.sandbox.control.add_fault("expired_token", target=world.fb["page_id"], count=1)
    world.run()
    session = world.session
    session.expire_all()
    assert session.exec(select(FacebookConnection)).one().status == ConnectionStatus.TO_RECONNECT
    assert session.exec(select(MailMessage).where(MailMessage.to_addr == "admin@valrive.test")).one().kind == "alert"
    post = world.post(post.id)
    assert post.status == PostStatus.SCHEDULED and "reconnecter" in post.failure_reason
    world.advance(minutes=2)
    assert "skipped: valrive (not connected)" in world.run()
    assert world.page_posts() == []
    from accounts.connection import ConnectionForm, save_connection
    from accounts.services import SYSTEM

    with app.app_context(), scoped(session, world.territory.id):
        save_connection(session=session, territory=world.territory, actor=SYSTEM, base_url=world.sandbox.url,
                        data=ConnectionForm(mode="sandbox", page_id=world.fb["page_id"], access_token="renewed",
                                            page_token=world.fb["page_token"]))
    session.commit()
    world.advance(minutes=2)
    world.run()
    assert world.post(post.id).status == PostStatus.PUBLISHED and len(world.page_posts()) == 1


def test_refused_post_fails_with_facebooks_reason(world) -> None:  # noqa: ANN001
    """An invalid request or a policy block fails at once, with the reason, without retrying."""
    empty = world.make_post("", link=None)
    world.run()
    post = world.post(empty.id)
    assert post.status == PostStatus.FAILED and post.publish_attempts == 1
    assert "Facebook a refusé la demande" in post.failure_reason
    blocked = world.make_post("Réunion d'information")
    world.sandbox.control.add_fault("error_500", target=world.fb["page_id"], count=1, methods=["POST"], code=368)
    world.run()
    post = world.post(blocked.id)
    assert post.status == PostStatus.FAILED and "règles" in post.failure_reason
    assert world.page_posts() == []


# ------------------------------------------------------------------------------- photo posts

TAGGED = ("https://valrive.example/plages?utm_source=facebook&utm_medium=organic&utm_campaign=ete-2027"
          "&utm_content=tourists")


def stored_image(world: World, uploads: Path) -> str:
    """A real PNG saved by the composer, as a post's image_path ("<slug>/<name>.png")."""
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 630), (200, 90, 40)).save(buffer, "PNG")
    return composer.save_image(data=buffer.getvalue(), upload_dir=uploads, territory=world.territory)


def photo_uploads(world: World) -> int:
    return world.sandbox.control.requests()["by_endpoint"].get("POST /{Page}/photos", 0)


def test_post_with_an_image_goes_out_as_a_photo_post_once(world, uploads, auth, client) -> None:  # noqa: ANN001
    """A post with an image is a photo post: the image uploaded, the tagged link after a blank line, once."""
    image_path = stored_image(world, uploads)
    post = world.make_post("Les plages sont surveillées tout l'été", link=TAGGED, image_path=image_path)
    world.run()
    post = world.post(post.id)
    assert post.status == PostStatus.PUBLISHED and post.publish_attempts == 1
    [on_page] = world.page_posts()
    assert on_page["id"] == post.fb_post_id and on_page["link"] is None
    assert on_page["message"] == "Les plages sont surveillées tout l'été\n\n" + TAGGED
    assert on_page["photo"]["sha256"] == hashlib.sha256((uploads / image_path).read_bytes()).hexdigest()
    world.advance(minutes=10)
    world.run()
    assert len(world.page_posts()) == 1 and photo_uploads(world) == 1
    assert "POST /{Page}/feed" not in world.sandbox.control.requests()["by_endpoint"]
    auth.login("admin@valrive.test")  # the post's page shows the published photo post as before
    page = client.get(f"/t/valrive/campaigns/posts/{post.id}")
    assert page.status_code == 200 and "Image jointe" in text_of(page)
    image = client.get(f"/t/valrive/campaigns/media/{image_path.rsplit('/', 1)[-1]}")
    image.close()
    assert image.status_code == 200


@pytest.mark.parametrize("kind", ["crash_after_create", "timeout"])
def test_lost_photo_answer_is_reconciled_never_uploaded_twice(world, uploads, monkeypatch, kind) -> None:  # noqa: ANN001
    """The photo post was created but the answer lost: Rayonne finds it by its message instead of re-posting."""
    if kind == "timeout":  # the client must give up before the sandbox answers
        real = connection_module.connection_of
        monkeypatch.setattr(connection_module, "connection_of", lambda record: replace(real(record), timeout=0.5))
    post = world.make_post(f"Feu d'artifice sur le lac ({kind})", link=TAGGED, image_path=stored_image(world, uploads))
    world.sandbox.control.add_fault(kind, target=world.fb["page_id"], count=1, methods=["POST"], when="after",
                                    delay=1.5)
    world.run()
    post = world.post(post.id)
    assert post.status == PostStatus.PUBLISHED
    assert [p["id"] for p in world.page_posts()] == [post.fb_post_id]
    world.advance(minutes=10)
    world.run()
    assert len(world.page_posts()) == 1 and photo_uploads(world) == 1


def test_process_crash_after_the_photo_post_was_created(world, uploads) -> None:  # noqa: ANN001
    """A run died after Facebook created the photo post: the next run finds it by the composed message."""
    image_path = stored_image(world, uploads)
    post = world.make_post("Nuit des étoiles au belvédère", link=TAGGED, image_path=image_path)
    fb_id = world.client().publish_photo(message=f"{post.message}\n\n{TAGGED}", image=uploads / image_path)
    post.status, post.publish_started_at, post.publish_attempts = PostStatus.PUBLISHING, world.now(), 1
    world.session.commit()
    (uploads / image_path).unlink()  # reconciliation needs the message, not the file
    world.advance(minutes=6)
    world.run()
    post = world.post(post.id)
    assert post.status == PostStatus.PUBLISHED and post.fb_post_id == fb_id
    assert len(world.page_posts()) == 1 and photo_uploads(world) == 1


def test_missing_image_fails_the_post_with_the_reason_shown(world, uploads, auth, client) -> None:  # noqa: ANN001
    """An image whose file is gone fails the post before anything is sent, and the post's page says why."""
    image_path = stored_image(world, uploads)
    (uploads / image_path).unlink()
    post = world.make_post("Le carnaval des enfants", link=TAGGED, image_path=image_path)
    world.sandbox.control.reset_requests()
    assert world.run().startswith("0 published, 1 failed")
    post = world.post(post.id)
    assert post.status == PostStatus.FAILED and post.publish_attempts == 0
    assert "L'image jointe n'est plus sur le serveur : rien n'a été envoyé à Facebook" in post.failure_reason
    assert world.page_posts() == []
    assert not [k for k in world.sandbox.control.requests()["by_endpoint"] if k.startswith("POST")]
    auth.login("admin@valrive.test")
    assert post.failure_reason in text_of(client.get(f"/t/valrive/campaigns/posts/{post.id}"))


def test_image_gone_between_check_and_upload_fails_without_sending(world, uploads, monkeypatch) -> None:  # noqa: ANN001
    """If the file disappears after the check, the upload reads nothing and the post fails; nothing is sent."""
    post = world.make_post("Rallye des vieilles voitures", link=TAGGED, image_path=stored_image(world, uploads))
    gone = jobs.Outgoing(message=post.message, link=None, image=uploads / "valrive" / "absent.png")
    monkeypatch.setattr(jobs, "outgoing", lambda **kwargs: gone)
    world.run()
    post = world.post(post.id)
    assert post.status == PostStatus.FAILED and "n'est plus sur le serveur" in post.failure_reason
    assert world.page_posts() == []


# ------------------------------------------------------------------------ scheduler down, missed


def test_scheduler_down_a_little_publishes_when_back(world) -> None:  # noqa: ANN001
    """Planned while the scheduler was stopped, less than the setting ago: published when it comes back."""
    post = world.make_post("Vide-greniers de la Saint-Jean", due_in=timedelta(hours=1))
    world.run()
    assert world.page_posts() == []
    world.advance(hours=4)  # the scheduler was down across the planned time
    world.run()
    assert world.post(post.id).status == PostStatus.PUBLISHED and len(world.page_posts()) == 1


def test_post_too_late_is_marked_missed(world) -> None:  # noqa: ANN001
    """More than PUBLISH_MISSED_AFTER_HOURS late, the post is marked missed with the reason, not published."""
    post = world.make_post("Course des crêpes de la Chandeleur", due_in=timedelta(hours=1))
    world.advance(hours=8)
    assert "1 missed" in world.run()
    post = world.post(post.id)
    assert post.status == PostStatus.MISSED and "plus de 6 h de retard" in post.failure_reason
    assert world.page_posts() == []


def test_missed_threshold_is_a_setting(world, monkeypatch) -> None:  # noqa: ANN001
    """With PUBLISH_MISSED_AFTER_HOURS=1, two hours late is too late."""
    settings = world.app.config["RAYONNE_SETTINGS"]
    monkeypatch.setattr(settings, "PUBLISH_MISSED_AFTER_HOURS", 1)
    post = world.make_post("Soirée jeux", due_in=timedelta(minutes=-120))
    world.run()
    assert world.post(post.id).status == PostStatus.MISSED


# --------------------------------------------------------------------------------- territories


def test_territory_without_connection_is_skipped(app, session, world) -> None:  # noqa: ANN001
    """A territory with no connection keeps its due post waiting, says why, and others still publish."""
    beta = make_territory(session, "beta", "Beta")
    beta_post = Post(territory_id=beta.id, track_id=add_track(session, beta), message="Beta", planned_at=world.now(),
                     status=PostStatus.SCHEDULED)
    session.add(beta_post)
    session.commit()
    ours = world.make_post("Valrive en fête")
    summary = world.run()
    assert "skipped: beta (not connected)" in summary
    waiting = world.post(beta_post.id)
    assert waiting.status == PostStatus.SCHEDULED and "pas connecté" in waiting.failure_reason
    assert world.post(ours.id).status == PostStatus.PUBLISHED


def test_flagged_post_is_held_for_a_managers_confirmation(world) -> None:  # noqa: ANN001
    """A due post naming an elected official in the pre-electoral period goes back to review unless confirmed."""
    session = world.session
    world.territory.election_date = (world.now() + timedelta(days=40)).date()
    session.add(world.territory)
    session.add(ElectedOfficial(territory_id=world.territory.id, name="Claire Dumont", office="Maire"))
    session.commit()
    held = world.make_post("Claire Dumont inaugure la médiathèque")
    confirmed = world.make_post("Claire Dumont ouvre le forum de l'emploi",
                                electoral_confirmed_by="manager@valrive.test")
    world.run()
    held = world.post(held.id)
    assert held.status == PostStatus.IN_REVIEW and "Claire Dumont" in held.electoral_flag
    assert world.post(confirmed.id).status == PostStatus.PUBLISHED
    assert [p["message"] for p in world.page_posts()] == ["Claire Dumont ouvre le forum de l'emploi"]


def test_job_is_registered_and_runs_from_the_cli(world, runner) -> None:  # noqa: ANN001
    """`flask jobs run campaigns.publish_due` publishes; the job is registered every minute."""
    job = get_job("campaigns.publish_due")
    assert job.trigger == "interval" and job.trigger_args == {"minutes": 1} and job.load() is jobs.publish_due
    post = world.make_post("Rando des crêtes")
    result = runner.invoke(args=["jobs", "run", "campaigns.publish_due"])
    assert result.exit_code == 0, result.output
    assert world.post(post.id).status == PostStatus.PUBLISHED
