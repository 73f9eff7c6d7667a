"""The post workflow: draft → in review → approved → scheduled → published (or failed / missed).

Editors write, submit, schedule and withdraw; managers approve or reject (a rejection needs a comment
and sends the post back to draft). Every step is checked here — the allowed transition and the role —
so that pages, the JSON API and the external approval link share one set of rules; every decision is a
`PostReview` (shown on the post) and an audit event. Publishing itself is `campaigns.jobs`.

A post flagged in a pre-electoral period (`campaigns.electoral`) is approved only with the manager's
explicit confirmation (``confirm_electoral``), remembered in ``Post.electoral_confirmed_by``.

Functions take keyword-only arguments and an explicit session; they flush, never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlmodel import Session, select

from accounts.models import Role, Territory
from accounts.services import Actor, audit
from campaigns import approvals, electoral
from campaigns.models import Campaign, ContentTrack, ExternalApproval, Post, PostReview, PostStatus
from core.db import utc_now
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from targets.models import Audience

S = PostStatus

#: action -> (statuses it starts from, status it leads to, least role allowed)
TRANSITIONS: dict[str, tuple[frozenset[PostStatus], PostStatus, Role]] = {
    "submit": (frozenset({S.DRAFT}), S.IN_REVIEW, Role.EDITOR),
    "approve": (frozenset({S.IN_REVIEW}), S.APPROVED, Role.MANAGER),
    "reject": (frozenset({S.IN_REVIEW}), S.DRAFT, Role.MANAGER),
    "schedule": (frozenset({S.APPROVED, S.SCHEDULED, S.FAILED, S.MISSED}), S.SCHEDULED, Role.EDITOR),
    "withdraw": (frozenset({S.IN_REVIEW, S.APPROVED, S.SCHEDULED, S.FAILED, S.MISSED}), S.DRAFT, Role.EDITOR),
}
#: A planned time this far in the past is still accepted (the form took a moment to send).
SCHEDULE_TOLERANCE = timedelta(minutes=2)


def status_label(status: PostStatus | str) -> str:
    """The status in plain French (English through the catalog)."""
    return {
        S.DRAFT: _("Brouillon"), S.IN_REVIEW: _("En relecture"), S.APPROVED: _("Approuvée"),
        S.SCHEDULED: _("Programmée"), S.PUBLISHING: _("Publication en cours"), S.PUBLISHED: _("Publiée"),
        S.FAILED: _("Échec"), S.MISSED: _("Manquée"),
    }.get(PostStatus(status), str(status))


def _hint(action: str) -> str:
    return {
        "submit": _("Seul un brouillon peut être soumis à relecture."),
        "approve": _("Seule une publication en relecture peut être approuvée."),
        "reject": _("Seule une publication en relecture peut être refusée."),
        "schedule": _("Seule une publication approuvée (ou en échec, ou manquée) peut être programmée."),
        "withdraw": _("Une publication publiée ou en cours de publication ne peut plus revenir en brouillon."),
    }[action]


def _role_message(action: str) -> str:
    if TRANSITIONS[action][2] == Role.MANAGER:
        return _("Seul un responsable peut approuver ou refuser une publication.")
    return _("Votre rôle ne permet pas de modifier les publications.")


def allowed_actions(post: Post, role: Role) -> list[str]:
    """The workflow actions ``role`` may take on ``post`` now (for buttons)."""
    return [name for name, (sources, _target, needed) in TRANSITIONS.items()
            if post.status in sources and role.allows(needed)]


def can_edit_content(post: Post) -> bool:
    """Text, link and image may change only on a draft (withdraw first: it goes back through review)."""
    return post.status == S.DRAFT


def _check(post: Post, action: str, role: Role | None) -> PostStatus:
    sources, target, needed = TRANSITIONS[action]
    if role is not None and not role.allows(needed):
        raise Forbidden(_role_message(action))
    if post.status not in sources:
        raise Conflict(_("Action impossible : la publication est « %(status)s ». %(hint)s",
                         status=status_label(post.status), hint=_hint(action)))
    return target


def _record(
    *, session: Session, post: Post, actor: Actor, action: str, before: PostStatus, comment: str = "",
    extra: dict[str, Any] | None = None,
) -> None:
    post.updated_at = utc_now()
    session.add(post)
    session.add(PostReview(territory_id=post.territory_id, post_id=post.id, author_id=actor.user_id,
                           author_label=actor.label, decision=action, comment=comment))
    session.flush()
    audit(session=session, territory_id=post.territory_id, actor=actor, action=f"post.{action}", obj=post,
          before={"status": before.value}, after={"status": post.status.value, **(extra or {})},
          reason=comment or None)


def get_post(*, session: Session, post_id: int) -> Post:
    """A post of the session's territory. :raise NotFound: elsewhere or unknown."""
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound(_("Publication introuvable."))
    return post


# ---------------------------------------------------------------------------------- transitions


def submit(*, session: Session, territory: Territory, post: Post, actor: Actor, role: Role, comment: str = "") -> Post:
    """Send a draft to review; the pre-electoral flag is computed. Commits: no.

    :raise Forbidden: role below editor. :raise Conflict: not a draft. :raise ValidationFailed: empty text.
    """
    before = post.status
    target = _check(post, "submit", role)
    if not (post.message or "").strip():
        raise ValidationFailed({"message": _("Le texte de la publication est vide.")})
    electoral.flag_post(session=session, territory=territory, post=post)
    post.status = target
    _record(session=session, post=post, actor=actor, action="submit", before=before, comment=comment.strip(),
            extra={"electoral_flag": post.electoral_flag})
    return post


def approve(
    *, session: Session, territory: Territory, post: Post, actor: Actor, role: Role, comment: str = "",
    confirm_electoral: bool = False,
) -> Post:
    """Approve a post in review. Commits: no.

    A post flagged in a pre-electoral period needs ``confirm_electoral=True``.
    :raise Forbidden: role below manager. :raise Conflict: not in review, or flag not confirmed.
    """
    before = post.status
    target = _check(post, "approve", role)
    reasons = electoral.flag_post(session=session, territory=territory, post=post)
    if reasons and not confirm_electoral:
        raise Conflict(_("Cette publication est signalée en période pré-électorale (%(reasons)s). Cochez la "
                         "confirmation pour l'approuver quand même.", reasons="; ".join(reasons)),
                       field="confirm_electoral")
    post.status = target
    post.approved_by_label = actor.label
    post.electoral_confirmed_by = actor.label if reasons else None
    _record(session=session, post=post, actor=actor, action="approve", before=before, comment=comment.strip(),
            extra={"electoral_flag": post.electoral_flag, "electoral_confirmed": bool(reasons)})
    return post


def reject(*, session: Session, territory: Territory, post: Post, actor: Actor, role: Role, comment: str) -> Post:
    """Refuse a post in review: back to draft, with the reason. Commits: no.

    :raise ValidationFailed: no comment. :raise Forbidden: role below manager. :raise Conflict: not in review.
    """
    before = post.status
    target = _check(post, "reject", role)
    if not (comment or "").strip():
        raise ValidationFailed({"comment": _("Expliquez le refus en quelques mots : la rédaction en a besoin.")})
    post.status = target
    post.approved_by_label = None
    post.electoral_confirmed_by = None
    _record(session=session, post=post, actor=actor, action="reject", before=before, comment=comment.strip())
    return post


def schedule(
    *, session: Session, territory: Territory, post: Post, actor: Actor, role: Role, planned_at: datetime
) -> Post:
    """Plan an approved post (or plan again a failed, missed or scheduled one). Commits: no.

    :raise ValidationFailed: naive or past time. :raise Conflict: wrong status, or the new time falls in a
    pre-electoral period that makes the post flagged without a manager's confirmation.
    """
    before = post.status
    target = _check(post, "schedule", role)
    if planned_at.tzinfo is None:
        raise ValidationFailed({"planned_at": _("Date et heure attendues, avec le fuseau horaire.")})
    if planned_at < utc_now() - SCHEDULE_TOLERANCE:
        raise ValidationFailed({"planned_at": _("Cette date est passée : choisissez un moment à venir.")})
    reasons = electoral.flag_post(session=session, territory=territory, post=post, at=planned_at)
    if reasons and not post.electoral_confirmed_by:
        raise Conflict(_("À cette date, la publication tombe en période pré-électorale (%(reasons)s) : retirez-la "
                         "et soumettez-la à nouveau pour qu'un responsable la confirme.",
                         reasons="; ".join(reasons)), field="planned_at")
    previous = post.planned_at
    post.planned_at = planned_at
    post.status = target
    # A post planned again starts afresh (its earlier failure stays in the review history).
    post.failure_reason = None
    post.publish_attempts = 0
    post.publish_retry_at = None
    post.publish_started_at = None
    _record(session=session, post=post, actor=actor, action="schedule", before=before,
            extra={"planned_at": planned_at.isoformat(), "previous_planned_at": previous.isoformat() if previous
                   else None})
    return post


def withdraw(
    *, session: Session, territory: Territory, post: Post, actor: Actor, role: Role, comment: str = ""
) -> Post:
    """Take a post back to draft to change it (it must be reviewed again). Commits: no."""
    before = post.status
    target = _check(post, "withdraw", role)
    post.status = target
    post.approved_by_label = None
    post.electoral_confirmed_by = None
    post.failure_reason = None
    post.publish_retry_at = None
    _record(session=session, post=post, actor=actor, action="withdraw", before=before, comment=comment.strip())
    return post


def hold_for_review(*, session: Session, territory: Territory, post: Post, reasons: list[str]) -> Post:
    """Send a due post back to review: it became flagged (pre-electoral) without a manager's confirmation.

    Used by the publishing job. Commits: no.
    """
    before = post.status
    post.electoral_flag = electoral.flag_text(territory, reasons)
    post.status = S.IN_REVIEW
    post.approved_by_label = None
    _record(session=session, post=post, actor=Actor.system(), action="hold", before=before,
            comment=_("Non publiée : la publication est signalée en période pré-électorale et doit être "
                      "confirmée par un responsable."))
    return post


def add_comment(*, session: Session, post: Post, actor: Actor, role: Role, comment: str) -> PostReview:
    """A review comment on the post, whatever its status (editors and above). Commits: no."""
    if not role.allows(Role.EDITOR):
        raise Forbidden(_("Votre rôle ne permet pas de commenter les publications."))
    text = (comment or "").strip()
    if not text:
        raise ValidationFailed({"comment": _("Le commentaire est vide.")})
    review = PostReview(territory_id=post.territory_id, post_id=post.id, author_id=actor.user_id,
                        author_label=actor.label, decision="comment", comment=text[:4000])
    session.add(review)
    session.flush()
    return review


# ----------------------------------------------------------------------------------- reading


def reviews_of(*, session: Session, post: Post) -> list[PostReview]:
    """The post's review history, oldest first."""
    return list(session.exec(
        select(PostReview).where(PostReview.post_id == post.id).order_by(PostReview.at, PostReview.id)
    ).all())


def posts_to_review(*, session: Session) -> list[tuple[Post, ContentTrack, Campaign]]:
    """Posts waiting for a manager, flagged ones first, then by planned time."""
    rows = session.exec(
        select(Post, ContentTrack, Campaign)
        .join(ContentTrack, ContentTrack.id == Post.track_id)
        .join(Campaign, Campaign.id == ContentTrack.campaign_id)
        .where(Post.status == S.IN_REVIEW)
        .order_by(Post.planned_at, Post.id)
    ).all()
    return sorted(rows, key=lambda row: row[0].electoral_flag is None)


# ------------------------------------------------------------------- external approval (links)


def _external_check(*, session: Session, territory: Territory, object_id: int) -> None:
    post = get_post(session=session, post_id=object_id)
    if post.status != S.IN_REVIEW:
        raise Conflict(_("Seule une publication en relecture peut être envoyée pour validation (état : %(s)s).",
                         s=status_label(post.status)))


def _external_summary(*, session: Session, approval: ExternalApproval) -> str:
    post = get_post(session=session, post_id=approval.object_id)
    text = " ".join(post.message.split())
    return _("la publication « %(text)s »", text=text if len(text) <= 80 else text[:79] + "…")


def _external_context(*, session: Session, approval: ExternalApproval) -> dict[str, Any]:
    post = get_post(session=session, post_id=approval.object_id)
    track = session.get(ContentTrack, post.track_id)
    campaign = session.get(Campaign, track.campaign_id) if track else None
    audience = session.get(Audience, track.audience_id) if track else None
    territory = session.get(Territory, post.territory_id)
    return {"post": post, "campaign": campaign, "audience": audience, "page_name": _page_name(territory)}


def _page_name(territory: Territory | None) -> str:
    if territory is None:
        return ""
    return territory.brand_name or territory.name


def _external_decide(*, session: Session, approval: ExternalApproval, decision: str, comment: str,
                     actor: Actor) -> None:
    post = get_post(session=session, post_id=approval.object_id)
    territory = session.get(Territory, post.territory_id)
    if post.status != S.IN_REVIEW:
        raise Conflict(_("Cette publication n'attend plus de validation (état : %(s)s) ; votre avis n'a pas été "
                         "enregistré. Contactez l'équipe communication.", s=status_label(post.status)))
    before = post.status
    if decision == "reject":
        post.status = S.DRAFT
        post.approved_by_label = None
        post.electoral_confirmed_by = None
        _record(session=session, post=post, actor=actor, action="reject", before=before, comment=comment,
                extra={"via": "external_link", "link_id": approval.id})
        return
    reasons = electoral.flag_post(session=session, territory=territory, post=post)
    if reasons:
        # In a pre-electoral period a manager must confirm explicitly: the approval is recorded, the post
        # stays in review until then.
        _record(session=session, post=post, actor=actor, action="approve", before=before, comment=comment,
                extra={"via": "external_link", "link_id": approval.id, "awaiting_manager": True})
        return
    post.status = S.APPROVED
    post.approved_by_label = actor.label
    _record(session=session, post=post, actor=actor, action="approve", before=before, comment=comment,
            extra={"via": "external_link", "link_id": approval.id})


approvals.register_handler(
    "post", _external_decide, check=_external_check, context=_external_context,
    template="campaigns/approval_post.html", summary=_external_summary,
)
