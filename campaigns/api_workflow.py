"""JSON API for the post workflow: submit, approve, reject, schedule — the rules of `campaigns.workflow`.

`POST /api/v1/t/<territory>/posts/<post_id>/submit|approve|reject|schedule`; each answers the post as
`PostRead`. Role checks: editors submit and schedule, managers approve and reject (403 otherwise);
a step the post's status does not allow answers 409 with the reason; a post of another territory 404.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import g
from flask_babel import gettext as _

from accounts.api import api_blueprint, operation
from accounts.models import Role
from accounts.services import Actor
from campaigns import workflow
from campaigns.models import Post, PostApprove, PostComment, PostRead, PostReject, PostSchedule
from core.db import get_session
from core.errors import ValidationFailed

bp = api_blueprint("workflow_api", __name__, "/posts")


def _post(post_id: int) -> Post:
    return workflow.get_post(session=get_session(), post_id=post_id)


def _done(post: Post) -> Post:
    session = get_session()
    session.commit()
    session.refresh(post)
    return post


@operation(bp, "/<int:post_id>/submit", method="POST", role=Role.EDITOR, response=PostRead,
           summary="Submit a draft post for review (editor)")
def submit_post(post_id: int) -> Post:
    post = _post(post_id)
    workflow.submit(session=get_session(), territory=g.territory, post=post, actor=Actor.of(g.user), role=g.role)
    return _done(post)


@operation(bp, "/<int:post_id>/approve", method="POST", role=Role.MANAGER, body=PostApprove, response=PostRead,
           summary="Approve a post in review (manager); a post flagged as electoral needs confirm_electoral")
def approve_post(post_id: int, data: PostApprove) -> Post:
    post = _post(post_id)
    workflow.approve(session=get_session(), territory=g.territory, post=post, actor=Actor.of(g.user), role=g.role,
                     comment=data.comment, confirm_electoral=data.confirm_electoral)
    return _done(post)


@operation(bp, "/<int:post_id>/reject", method="POST", role=Role.MANAGER, body=PostReject, response=PostRead,
           summary="Reject a post in review with a comment (manager): it goes back to draft")
def reject_post(post_id: int, data: PostReject) -> Post:
    post = _post(post_id)
    workflow.reject(session=get_session(), territory=g.territory, post=post, actor=Actor.of(g.user), role=g.role,
                    comment=data.comment)
    return _done(post)


@operation(bp, "/<int:post_id>/schedule", method="POST", role=Role.EDITOR, body=PostSchedule, response=PostRead,
           summary="Schedule an approved post (editor); a time without offset is read in the territory's zone")
def schedule_post(post_id: int, data: PostSchedule) -> Post:
    post = _post(post_id)
    planned_at = data.planned_at
    if planned_at is None:
        raise ValidationFailed({"planned_at": _("Ce champ est obligatoire.")})
    if planned_at.tzinfo is None:
        planned_at = planned_at.replace(tzinfo=ZoneInfo(g.territory.timezone))
    workflow.schedule(session=get_session(), territory=g.territory, post=post, actor=Actor.of(g.user),
                      role=g.role, planned_at=planned_at)
    return _done(post)


@operation(bp, "/<int:post_id>/comments", method="POST", role=Role.EDITOR, body=PostComment, response=PostRead,
           summary="Add a review comment to a post (editor)")
def comment_post(post_id: int, data: PostComment) -> Post:
    post = _post(post_id)
    workflow.add_comment(session=get_session(), post=post, actor=Actor.of(g.user), role=g.role,
                         comment=data.comment)
    return _done(post)
