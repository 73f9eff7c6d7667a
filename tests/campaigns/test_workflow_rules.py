"""The post workflow: allowed transitions, roles, review comments, the audit trail, pages and the JSON API.

(Named test_workflow_rules.py: tests/e2e/test_workflow.py holds the browser test, and two test modules
with one basename cannot be collected together without packages.)
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from accounts.models import AuditEvent, Role
from accounts.services import Actor, create_api_token
from campaigns import workflow
from campaigns.models import Campaign, ContentTrack, Post, PostReview, PostStatus
from core import clock as rayonne_clock
from core.db import scoped
from core.errors import Conflict, Forbidden, ValidationFailed
from targets.models import Audience
from tests.conftest import make_territory, make_user


def make_post(session, territory, *, status: PostStatus = PostStatus.DRAFT,  # noqa: ANN001
              message: str = "Le marché couvert rouvre samedi : venez goûter les produits de la vallée.",
              link: str | None = "https://valrive.example/marche", planned_at=None, **fields) -> Post:  # noqa: ANN001, ANN003
    """A post in a 'tourists' track of a new campaign (built directly with the models)."""
    audience = session.exec(select(Audience).where(Audience.territory_id == territory.id,
                                                   Audience.key == "tourists")).one()
    campaign = Campaign(territory_id=territory.id, name="Printemps 2027", starts_on=date(2027, 3, 1),
                        ends_on=date(2027, 5, 31))
    session.add(campaign)
    session.flush()
    track = ContentTrack(territory_id=territory.id, campaign_id=campaign.id, audience_id=audience.id)
    session.add(track)
    session.flush()
    post = Post(territory_id=territory.id, track_id=track.id, message=message, link=link, status=status,
                planned_at=planned_at, **fields)
    session.add(post)
    session.commit()
    return post


@pytest.fixture
def valrive(session):  # noqa: ANN001, ANN201
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "editor@valrive.test", territory, Role.EDITOR)
    make_user(session, "manager@valrive.test", territory, Role.MANAGER)
    make_user(session, "analyst@valrive.test", territory, Role.ANALYST)
    return territory


def url(post: Post, action: str = "") -> str:
    return f"/t/valrive/campaigns/posts/{post.id}" + (f"/{action}" if action else "")


def fresh(session, post: Post) -> Post:  # noqa: ANN001
    session.expire_all()
    return session.get(Post, post.id)


# ----------------------------------------------------------------------------------- pages


def test_editor_submits_and_manager_approves_with_comments(client, auth, session, valrive) -> None:  # noqa: ANN001
    """Draft → in review (editor) → approved (manager): each step is a review entry and an audit event."""
    post = make_post(session, valrive)
    auth.login("editor@valrive.test")
    assert auth.post(url(post, "submit"), {"comment": "Relis le prix du marché"}).status_code == 302
    assert fresh(session, post).status == PostStatus.IN_REVIEW
    auth.logout()
    auth.login("manager@valrive.test")
    assert auth.post(url(post, "approve"), {"comment": "Parfait"}).status_code == 302
    post = fresh(session, post)
    assert post.status == PostStatus.APPROVED and post.approved_by_label == "manager@valrive.test"
    reviews = session.exec(select(PostReview).where(PostReview.post_id == post.id).order_by(PostReview.id)).all()
    assert [(r.decision, r.author_label, r.comment) for r in reviews] == [
        ("submit", "editor@valrive.test", "Relis le prix du marché"),
        ("approve", "manager@valrive.test", "Parfait"),
    ]
    events = session.exec(select(AuditEvent).where(AuditEvent.object_type == "Post").order_by(AuditEvent.id)).all()
    assert [(e.action, e.before["status"], e.after["status"]) for e in events] == [
        ("post.submit", "draft", "in_review"), ("post.approve", "in_review", "approved")]
    page = client.get(url(post)).get_data(as_text=True)
    assert "Approuvée" in page and "Relis le prix du marché" in page and "post.approve" in page


def test_editor_cannot_approve_or_reject(client, auth, session, valrive) -> None:  # noqa: ANN001
    """Approving and rejecting are for managers: an editor gets 403 and the post does not move."""
    post = make_post(session, valrive, status=PostStatus.IN_REVIEW)
    auth.login("editor@valrive.test")
    assert auth.post(url(post, "approve")).status_code == 403
    assert auth.post(url(post, "reject"), {"comment": "non"}).status_code == 403
    assert fresh(session, post).status == PostStatus.IN_REVIEW


def test_analyst_reads_but_cannot_submit(client, auth, session, valrive) -> None:  # noqa: ANN001
    """An analyst sees the post page without any action button, and cannot submit."""
    post = make_post(session, valrive)
    auth.login("analyst@valrive.test")
    page = client.get(url(post)).get_data(as_text=True)
    assert "Brouillon" in page and "Soumettre à relecture" not in page
    assert auth.post(url(post, "submit")).status_code == 403


def test_reject_needs_a_comment_and_returns_to_draft(client, auth, session, valrive) -> None:  # noqa: ANN001
    """A refusal without a reason is refused; with one, the post goes back to draft with the comment shown."""
    post = make_post(session, valrive, status=PostStatus.IN_REVIEW)
    auth.login("manager@valrive.test")
    page = auth.post(url(post, "reject"), {"comment": "  "}, follow_redirects=True).get_data(as_text=True)
    assert "Expliquez le refus" in page
    assert fresh(session, post).status == PostStatus.IN_REVIEW
    page = auth.post(url(post, "reject"), {"comment": "Trop long pour les touristes"},
                     follow_redirects=True).get_data(as_text=True)
    assert fresh(session, post).status == PostStatus.DRAFT
    assert "Trop long pour les touristes" in page and "a refusé" in page


def test_disallowed_transition_is_explained_in_french(client, auth, session, valrive) -> None:  # noqa: ANN001
    """Approving a draft is refused with a plain message naming the status; nothing changes."""
    post = make_post(session, valrive)
    auth.login("manager@valrive.test")
    page = auth.post(url(post, "approve"), follow_redirects=True).get_data(as_text=True)
    assert "Action impossible : la publication est « Brouillon »" in page
    assert "Seule une publication en relecture peut être approuvée." in page
    assert fresh(session, post).status == PostStatus.DRAFT
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "post.approve")).first() is None


def test_every_transition_follows_the_table(app_ctx, session, valrive) -> None:  # noqa: ANN001
    """Only the listed transitions are possible, from the listed statuses, for the listed roles."""
    manager = Actor(label="m@valrive.test")
    for status in PostStatus:
        for action, (sources, target, needed) in workflow.TRANSITIONS.items():
            post = make_post(session, valrive, status=status)
            kwargs = {"comment": "motif"} if action == "reject" else {}
            if action == "schedule":
                kwargs = {"planned_at": rayonne_clock.now() + timedelta(days=1)}
            call = getattr(workflow, action)
            with scoped(session, valrive.id):
                if status in sources:
                    call(session=session, territory=valrive, post=post, actor=manager, role=Role.MANAGER, **kwargs)
                    assert post.status == target, (action, status)
                    lower = Role.ANALYST if needed == Role.EDITOR else Role.EDITOR
                    session.rollback()
                    post = session.get(Post, post.id)
                    with pytest.raises(Forbidden):
                        call(session=session, territory=valrive, post=post, actor=manager, role=lower, **kwargs)
                else:
                    with pytest.raises(Conflict):
                        call(session=session, territory=valrive, post=post, actor=manager, role=Role.ADMIN,
                             **kwargs)
                session.rollback()


def test_schedule_needs_an_approved_post_and_a_future_time(client, auth, session, valrive, clock) -> None:  # noqa: ANN001
    """Scheduling takes the time in the territory's zone, refuses a past time, and plans the post."""
    clock.freeze(rayonne_clock.now().replace(microsecond=0))
    post = make_post(session, valrive, status=PostStatus.APPROVED)
    auth.login("editor@valrive.test")
    page = auth.post(url(post, "schedule"), {"planned_at": "2001-01-01T10:00"},
                     follow_redirects=True).get_data(as_text=True)
    assert "Cette date est passée" in page and fresh(session, post).status == PostStatus.APPROVED
    auth.post(url(post, "schedule"), {"planned_at": "2099-06-01T10:30"})
    post = fresh(session, post)
    assert post.status == PostStatus.SCHEDULED
    assert post.planned_at.isoformat() == "2099-06-01T08:30:00+00:00"  # 10:30 in Paris, summer time


def test_failed_post_can_be_planned_again_from_scratch(app_ctx, session, valrive) -> None:  # noqa: ANN001
    """Scheduling a failed post clears its failure and attempts: the job will try it afresh."""
    post = make_post(session, valrive, status=PostStatus.FAILED, failure_reason="Facebook a refusé",
                     publish_attempts=5)
    with scoped(session, valrive.id):
        workflow.schedule(session=session, territory=valrive, post=post, actor=Actor(label="e"), role=Role.EDITOR,
                          planned_at=rayonne_clock.now() + timedelta(hours=1))
    assert post.status == PostStatus.SCHEDULED and post.failure_reason is None and post.publish_attempts == 0


def test_withdraw_then_submit_again(client, auth, session, valrive) -> None:  # noqa: ANN001
    """An approved post taken back to draft loses its approval and must be reviewed again."""
    post = make_post(session, valrive, status=PostStatus.APPROVED, approved_by_label="manager@valrive.test")
    auth.login("editor@valrive.test")
    auth.post(url(post, "withdraw"))
    post = fresh(session, post)
    assert post.status == PostStatus.DRAFT and post.approved_by_label is None
    auth.post(url(post, "submit"))
    assert fresh(session, post).status == PostStatus.IN_REVIEW


def test_comments_are_kept_on_the_post(client, auth, session, valrive) -> None:  # noqa: ANN001
    """Editors and managers comment at any step; an empty comment is refused."""
    post = make_post(session, valrive, status=PostStatus.IN_REVIEW)
    auth.login("editor@valrive.test")
    auth.post(url(post, "comment"), {"comment": "Photo du marché à venir"})
    page = auth.post(url(post, "comment"), {"comment": ""}, follow_redirects=True).get_data(as_text=True)
    assert "Le commentaire est vide." in page and "Photo du marché à venir" in page


def test_review_list_is_for_managers(client, auth, session, valrive) -> None:  # noqa: ANN001
    """Managers see the posts in review, linked to their page; an editor may not open the list."""
    waiting = make_post(session, valrive, status=PostStatus.IN_REVIEW, message="À relire absolument")
    make_post(session, valrive, status=PostStatus.DRAFT, message="Pas encore prêt")
    auth.login("editor@valrive.test")
    assert client.get("/t/valrive/campaigns/review").status_code == 403
    auth.logout()
    auth.login("manager@valrive.test")
    page = client.get("/t/valrive/campaigns/review").get_data(as_text=True)
    assert "À relire absolument" in page and "Pas encore prêt" not in page
    assert url(waiting) in page and "À valider" in page


def test_submit_refuses_an_empty_text(app_ctx, session, valrive) -> None:  # noqa: ANN001
    """A post without text cannot go to review."""
    post = make_post(session, valrive, message="  ")
    with scoped(session, valrive.id), pytest.raises(ValidationFailed):
        workflow.submit(session=session, territory=valrive, post=post, actor=Actor(label="e"), role=Role.EDITOR)


# ------------------------------------------------------------------------------------ JSON API


def api_headers(session, territory, email: str) -> dict[str, str]:  # noqa: ANN001
    from accounts.services import get_user_by_email

    user = get_user_by_email(session=session, email=email)
    _token, clear = create_api_token(session=session, territory=territory, user=user, name="test")
    session.commit()
    return {"Authorization": f"Bearer {clear}"}


def test_api_runs_the_same_workflow(client, session, valrive) -> None:  # noqa: ANN001
    """Submit, approve and schedule through the API; the answers are the post with its new status."""
    post = make_post(session, valrive)
    editor = api_headers(session, valrive, "editor@valrive.test")
    manager = api_headers(session, valrive, "manager@valrive.test")
    base = f"/api/v1/t/valrive/posts/{post.id}"
    answer = client.post(f"{base}/submit", headers=editor)
    assert answer.status_code == 200 and answer.json["status"] == "in_review"
    answer = client.post(f"{base}/approve", headers=manager, json={"comment": "OK"})
    assert answer.status_code == 200 and answer.json["status"] == "approved"
    answer = client.post(f"{base}/schedule", headers=editor, json={"planned_at": "2099-01-15T09:00:00"})
    assert answer.status_code == 200 and answer.json["status"] == "scheduled"
    assert answer.json["planned_at"].startswith("2099-01-15T08:00:00")  # Paris winter time
    assert fresh(session, post).status == PostStatus.SCHEDULED


def test_api_refuses_with_clear_json_errors(client, session, valrive) -> None:  # noqa: ANN001
    """Role too low: 403; wrong step: 409 with the reason; rejection without comment: 422 on the field."""
    post = make_post(session, valrive, status=PostStatus.IN_REVIEW)
    editor = api_headers(session, valrive, "editor@valrive.test")
    manager = api_headers(session, valrive, "manager@valrive.test")
    base = f"/api/v1/t/valrive/posts/{post.id}"
    assert client.post(f"{base}/approve", headers=editor, json={}).status_code == 403
    answer = client.post(f"{base}/submit", headers=editor)
    assert answer.status_code == 409 and "Seul un brouillon" in answer.json["error"]["message"]
    answer = client.post(f"{base}/reject", headers=manager, json={"comment": ""})
    assert answer.status_code == 422 and "comment" in answer.json["error"]["fields"]
    answer = client.post(f"{base}/reject", headers=manager, json={"comment": "Hors sujet"})
    assert answer.status_code == 200 and answer.json["status"] == "draft"
    assert client.post("/api/v1/t/valrive/posts/999999/submit", headers=editor).status_code == 404


def test_api_operations_are_in_the_openapi_document(client) -> None:  # noqa: ANN001
    """The workflow actions are described in /api/v1/openapi.json with their bodies."""
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for action in ("submit", "approve", "reject", "schedule"):
        assert "post" in paths[f"/api/v1/t/{{territory}}/posts/{{post_id}}/{action}"]
    assert "requestBody" in paths["/api/v1/t/{territory}/posts/{post_id}/reject"]["post"]
