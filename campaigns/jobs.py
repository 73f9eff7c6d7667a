"""Scheduled work of campaigns: publishing due posts to the Page, exactly once; refreshing electoral flags.

**Exactly once.** Facebook has no idempotency key for Page posts, so Rayonne records its intent before
calling: the post is claimed (status ``publishing``, ``publish_started_at``, one more attempt) with a
compare-and-set update and that is *committed* before the request leaves. Then:

* success → ``fb_post_id`` and ``published_at`` are stored;
* the answer is lost (`OutcomeUnknownError`: timeout, 5xx or broken answer after sending) → the Page is
  searched at once (`FacebookClient.find_post`, by message and link since the intent); found → published;
  not found → the post stays ``publishing`` and a later run searches again *before* any new attempt;
* the process dies mid-call → the post is found ``publishing`` by a later run: same reconciliation. A
  post claimed less than :data:`IN_FLIGHT_GRACE` ago is left alone (another run may still be calling);
* `TransientError` / `ThrottledError` (Facebook certainly did nothing: the client only lets those through
  for creates) → back to its status, retried by later runs with a growing pause, at most
  :data:`MAX_ATTEMPTS` attempts, then ``failed`` with a plain reason; a throttle stops the territory's run;
* `AuthError` → the connection is marked "to reconnect" (admins are e-mailed) and the territory skipped;
* `InvalidRequestError`, `PolicyError`, `FacebookPermissionError` → ``failed`` with Facebook's reason.

**Photo posts.** A post with an image goes out as a photo post (`FacebookClient.publish_photo`): the image
is uploaded with the text, and the link — which carries its UTM parameters — is written in the message
after a blank line (a photo post has no link field, and Graph no longer lets a Page put its own picture
on a link to a domain it does not own). What is sent is computed once (:func:`outgoing`) and the same
message is what reconciliation looks for. An image whose file is no longer on disk fails the post before
anything is sent.

A post due longer ago than ``PUBLISH_MISSED_AFTER_HOURS`` (the scheduler was down, the territory not
connected) is marked ``missed`` instead of going out late; a shorter delay publishes it when the
scheduler comes back. A territory without a usable connection is skipped (its due posts say why).
Organic publishing never depends on ads: nothing here touches the ad account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import and_, or_, update
from sqlmodel import Session, select

from accounts.connection import NotConnected, client_for, mark_to_reconnect
from accounts.models import Territory
from accounts.services import Actor, audit
from campaigns import composer, electoral, workflow
from campaigns.models import Post, PostStatus
from core.db import ALL, scoped, utc_now
from facebook import (
    AuthError,
    FacebookClient,
    FacebookError,
    FacebookPermissionError,
    InvalidRequestError,
    OutcomeUnknownError,
    PolicyError,
    RetryPolicy,
    ThrottledError,
    TransientError,
)

logger = logging.getLogger(__name__)

S = PostStatus
SYSTEM = Actor.system("publication automatique")

#: Attempts to publish one post before it is marked failed.
MAX_ATTEMPTS = 5
#: A post claimed this recently may still be in flight in another run: do not reconcile it yet.
IN_FLIGHT_GRACE = timedelta(minutes=5)
#: Searched before the recorded intent, for clock differences between Rayonne and Facebook.
RECONCILE_MARGIN = timedelta(minutes=2)
#: Posts handled per territory and run (the rest waits for the next minute).
BATCH = 50
#: The job does not sleep long inside a run: later runs retry (they are one minute apart).
RETRY_POLICY = RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=5)


@dataclass
class Tally:
    published: int = 0
    failed: int = 0
    missed: int = 0
    retrying: int = 0
    unknown: int = 0
    held: int = 0
    skipped: list[str] = field(default_factory=list)
    errors: int = 0

    def summary(self) -> str:
        text = (f"{self.published} published, {self.failed} failed, {self.missed} missed, "
                f"{self.retrying} to retry, {self.unknown} to reconcile, {self.held} held for review")
        if self.skipped:
            text += "; skipped: " + ", ".join(self.skipped)
        if self.errors:
            text += f"; {self.errors} error(s), see the log"
        return text


@dataclass(frozen=True)
class Outgoing:
    """What a post sends to the Page: the same for the call and for any later reconciliation."""

    message: str
    link: str | None
    image: Path | None = None  # a photo post: the file to upload
    image_missing: bool = False  # the post has an image, but its file is not on disk


def outgoing(*, post: Post, territory: Territory) -> Outgoing:
    """The message, link and image of a post as they go to Facebook.

    Without an image: the text and the link (a link post). With one: a photo post whose message is the
    text, a blank line and the link (UTM parameters included); the link field stays empty.
    """
    if not post.image_path:
        return Outgoing(message=post.message, link=post.link)
    message = "\n\n".join(part for part in (post.message.rstrip(), post.link) if part)
    name = post.image_path.rsplit("/", 1)[-1]
    image = composer.image_file(upload_dir=composer.upload_dir(), territory=territory, name=name)
    return Outgoing(message=message, link=None, image=image, image_missing=image is None)


def publish_due(*, session: Session) -> str:
    """Publish every due post of every territory (job ``campaigns.publish_due``). Calls Facebook: write.

    Commits: yes, per post (the intent before each call, then the outcome).
    """
    settings = current_app.config["RAYONNE_SETTINGS"]
    missed_after = timedelta(hours=settings.PUBLISH_MISSED_AFTER_HOURS)
    tally = Tally()
    with scoped(session, ALL):
        territories = session.exec(select(Territory).order_by(Territory.id)).all()
    for territory in territories:
        try:
            with scoped(session, territory.id):
                publish_territory(session=session, territory=territory, missed_after=missed_after, tally=tally)
                session.commit()
        except Exception:  # one territory's trouble must not stop the others
            session.rollback()
            tally.errors += 1
            logger.exception("Publishing for territory %s failed", territory.slug)
    return tally.summary()


def due_posts(*, session: Session, now: datetime) -> list[Post]:
    """Posts to handle now: approved or scheduled and due (past any retry pause), or left ``publishing``."""
    ready = and_(
        Post.status.in_([S.APPROVED, S.SCHEDULED]),
        Post.planned_at.is_not(None),
        Post.planned_at <= now,
        or_(Post.publish_retry_at.is_(None), Post.publish_retry_at <= now),
    )
    query = select(Post).where(or_(ready, Post.status == S.PUBLISHING)).order_by(Post.planned_at, Post.id)
    # populate_existing: the decisions below read the rows as they are now, not as a long-lived session cached them.
    return list(session.exec(query.limit(BATCH).execution_options(populate_existing=True)).all())


def publish_territory(*, session: Session, territory: Territory, missed_after: timedelta, tally: Tally) -> None:
    """Handle the due posts of one territory (the session is scoped to it). Commits: yes, per post."""
    now = utc_now()
    posts = due_posts(session=session, now=now)
    if not posts:
        return
    client: FacebookClient | None = None
    problem: str | None = None
    try:
        client = client_for(session=session, retry=RETRY_POLICY)
    except NotConnected as exc:
        problem = exc.message
        tally.skipped.append(f"{territory.slug} (not connected)")
    for post in posts:
        try:
            outcome = _handle(session=session, territory=territory, client=client, problem=problem, post=post,
                              now=now, missed_after=missed_after, tally=tally)
        except Exception:
            session.rollback()
            tally.errors += 1
            logger.exception("Publishing post %s of %s failed", post.id, territory.slug)
            continue
        session.commit()
        if outcome == "stop":
            tally.skipped.append(f"{territory.slug} (Facebook refused: see the posts)")
            break


def _handle(
    *, session: Session, territory: Territory, client: FacebookClient | None, problem: str | None, post: Post,
    now: datetime, missed_after: timedelta, tally: Tally,
) -> str:
    late = post.planned_at is not None and post.planned_at < now - missed_after
    if post.status != S.PUBLISHING:
        if late:
            _mark_missed(session=session, post=post, now=now, problem=problem)
            tally.missed += 1
            return "missed"
        reasons = electoral.flag_reasons(session=session, territory=territory, post=post)
        if reasons and not post.electoral_confirmed_by:
            workflow.hold_for_review(session=session, territory=territory, post=post, reasons=reasons)
            tally.held += 1
            return "held"
    if client is None:
        note = _("En attente de publication : %(problem)s", problem=problem or "")
        if post.failure_reason != note:
            post.failure_reason = note[:1000]
            session.add(post)
        return "waiting"
    previous = S.APPROVED if post.status == S.APPROVED else S.SCHEDULED
    out = outgoing(post=post, territory=territory)
    if post.status == S.PUBLISHING:
        if post.publish_started_at is not None and post.publish_started_at > now - IN_FLIGHT_GRACE:
            return "in_flight"
        try:
            found = _reconcile(session=session, client=client, post=post, out=out)
        except AuthError as exc:
            mark_to_reconnect(session=session, territory=territory, error=exc)
            return "stop"
        except FacebookError as exc:
            post.failure_reason = _("Rayonne n'a pas pu vérifier sur la Page si la publication est partie "
                                    "(%(why)s) ; nouvelle vérification au prochain passage.",
                                    why=exc.user_message)[:1000]
            session.add(post)
            tally.unknown += 1
            return "unknown"
        if found is not None:
            _mark_published(session=session, post=post, fb_post_id=found, now=now, reconciled=True)
            tally.published += 1
            return "published"
        # Not on the Page: the earlier attempt created nothing, a new one is safe.
        if late:
            _mark_missed(session=session, post=post, now=now, problem=None)
            tally.missed += 1
            return "missed"
        if post.publish_attempts >= MAX_ATTEMPTS:
            _mark_failed(session=session, post=post, reason=_(
                "Facebook n'a pas confirmé la publication après %(n)s essais ; elle n'est pas sur la Page.",
                n=post.publish_attempts))
            tally.failed += 1
            return "failed"
    if out.image_missing:
        _mark_failed(session=session, post=post, reason=_missing_image())
        tally.failed += 1
        return "failed"
    if not _claim(session=session, post=post, now=now):
        return "skipped"
    session.commit()  # the intent is durable before Facebook hears of it
    return _call(session=session, territory=territory, client=client, post=post, out=out, now=now,
                 previous=previous, tally=tally)


def _missing_image() -> str:
    return _("L'image jointe n'est plus sur le serveur : rien n'a été envoyé à Facebook. Remettez la publication "
             "en brouillon pour remplacer ou retirer l'image, puis programmez-la de nouveau.")


def _claim(*, session: Session, post: Post, now: datetime) -> bool:
    """Mark the post ``publishing`` if nobody else did meanwhile (compare-and-set)."""
    if post.status == S.PUBLISHING:
        guard = and_(Post.status == S.PUBLISHING, Post.publish_started_at == post.publish_started_at)
        if post.publish_started_at is None:
            guard = and_(Post.status == S.PUBLISHING, Post.publish_started_at.is_(None))
    else:
        guard = Post.status == post.status
    result = session.exec(  # type: ignore[call-overload]
        update(Post).where(Post.id == post.id, guard)
        .values(status=S.PUBLISHING, publish_started_at=now, publish_attempts=Post.publish_attempts + 1,
                updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(post)
    return result.rowcount == 1


def _call(
    *, session: Session, territory: Territory, client: FacebookClient, post: Post, out: Outgoing, now: datetime,
    previous: PostStatus, tally: Tally,
) -> str:
    try:
        if out.image is not None:
            fb_post_id = client.publish_photo(message=out.message, image=out.image)
        else:
            fb_post_id = client.publish_post(message=out.message, link=out.link)
    except FileNotFoundError:  # the image went away since it was checked: read before any request
        _mark_failed(session=session, post=post, reason=_missing_image())
        tally.failed += 1
        return "failed"
    except OutcomeUnknownError as exc:
        logger.warning("Post %s: answer lost (%s); reconciling", post.id, exc)
        try:
            found = _reconcile(session=session, client=client, post=post, out=out)
        except FacebookError as again:
            logger.warning("Post %s: reconciliation failed too (%s)", post.id, again)
            found = None
        if found is not None:
            _mark_published(session=session, post=post, fb_post_id=found, now=now, reconciled=True)
            tally.published += 1
            return "published"
        post.failure_reason = _("Facebook n'a pas confirmé la publication ; Rayonne vérifiera la Page avant tout "
                                "nouvel essai.")
        session.add(post)
        tally.unknown += 1
        return "unknown"
    except ThrottledError as exc:
        _back_to_retry(session=session, post=post, now=now, previous=previous, error=exc,
                       counted=not exc.from_registry)
        tally.retrying += post.status != S.FAILED
        tally.failed += post.status == S.FAILED
        return "stop"
    except TransientError as exc:
        _back_to_retry(session=session, post=post, now=now, previous=previous, error=exc, counted=True)
        tally.retrying += post.status != S.FAILED
        tally.failed += post.status == S.FAILED
        return "retry"
    except AuthError as exc:
        # Refused before anything was created: the post waits for a new token (or becomes missed).
        _back_to_retry(session=session, post=post, now=now, previous=previous, error=exc, counted=False)
        post.failure_reason = _("En attente de publication : %(why)s", why=exc.user_message)[:1000]
        mark_to_reconnect(session=session, territory=territory, error=exc)
        return "stop"
    except (InvalidRequestError, PolicyError, FacebookPermissionError) as exc:
        _mark_failed(session=session, post=post, reason=exc.user_message)
        tally.failed += 1
        return "failed"
    except FacebookError as exc:
        # Unclassified: assume the worst (maybe created) and reconcile on a later run.
        logger.warning("Post %s: unexpected Facebook answer (%s); will reconcile", post.id, exc)
        post.failure_reason = _("Réponse inattendue de Facebook ; Rayonne vérifiera la Page avant tout nouvel "
                                "essai.")
        session.add(post)
        tally.unknown += 1
        return "unknown"
    _mark_published(session=session, post=post, fb_post_id=fb_post_id, now=now, reconciled=False)
    tally.published += 1
    return "published"


def _reconcile(*, session: Session, client: FacebookClient, post: Post, out: Outgoing) -> str | None:
    """The id of this post on the Page if an earlier attempt created it, else ``None``. Calls Facebook: read."""
    since = (post.publish_started_at or post.planned_at or utc_now()) - RECONCILE_MARGIN
    found = client.find_post(message=out.message, link=out.link, since=since)
    if found is None:
        return None
    owner = session.exec(select(Post.id).where(Post.fb_post_id == found, Post.id != post.id)).first()
    if owner is not None:  # the same text published for another post: not this one's
        logger.warning("Post %s: Page post %s already belongs to post %s", post.id, found, owner)
        return None
    return found


def _mark_published(*, session: Session, post: Post, fb_post_id: str, now: datetime, reconciled: bool) -> None:
    post.status = S.PUBLISHED
    post.fb_post_id = fb_post_id
    post.published_at = now
    post.failure_reason = None
    post.publish_retry_at = None
    post.updated_at = now
    session.add(post)
    audit(session=session, territory_id=post.territory_id, actor=SYSTEM, action="post.published", obj=post,
          after={"status": post.status.value, "fb_post_id": fb_post_id, "attempts": post.publish_attempts},
          reason=_("Retrouvée sur la Page après une réponse perdue de Facebook.") if reconciled else None)


def _mark_failed(*, session: Session, post: Post, reason: str) -> None:
    before = post.status
    post.status = S.FAILED
    post.failure_reason = reason[:1000]
    post.publish_retry_at = None
    post.updated_at = utc_now()
    session.add(post)
    audit(session=session, territory_id=post.territory_id, actor=SYSTEM, action="post.failed", obj=post,
          before={"status": before.value}, after={"status": post.status.value, "attempts": post.publish_attempts},
          reason=post.failure_reason)


def _mark_missed(*, session: Session, post: Post, now: datetime, problem: str | None) -> None:
    before = post.status
    hours = current_app.config["RAYONNE_SETTINGS"].PUBLISH_MISSED_AFTER_HOURS
    reason = _("Non publiée : prévue le %(when)s, elle avait plus de %(h)s h de retard (planificateur arrêté ou "
               "connexion indisponible). Programmez-la à nouveau si elle est encore d'actualité.",
               when=format_datetime(post.planned_at, "short"), h=hours)
    if problem:
        reason += " " + problem
    post.status = S.MISSED
    post.failure_reason = reason[:1000]
    post.publish_retry_at = None
    post.updated_at = now
    session.add(post)
    audit(session=session, territory_id=post.territory_id, actor=SYSTEM, action="post.missed", obj=post,
          before={"status": before.value}, after={"status": post.status.value}, reason=post.failure_reason)


def _back_to_retry(
    *, session: Session, post: Post, now: datetime, previous: PostStatus, error: FacebookError, counted: bool
) -> None:
    """Facebook did nothing: wait and try again, or give up after MAX_ATTEMPTS."""
    if not counted:
        post.publish_attempts = max(0, post.publish_attempts - 1)
    if counted and post.publish_attempts >= MAX_ATTEMPTS:
        _mark_failed(session=session, post=post, reason=_(
            "Facebook est resté indisponible après %(n)s essais : %(why)s", n=post.publish_attempts,
            why=error.user_message))
        return
    pause = timedelta(minutes=min(2 ** max(post.publish_attempts - 1, 0), 30))
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        pause = max(pause, timedelta(seconds=retry_after))
    post.status = previous
    post.publish_started_at = None
    post.publish_retry_at = now + pause
    post.failure_reason = _("Essai %(n)s sur %(max)s non abouti (%(why)s) ; nouvel essai automatique dans "
                            "%(minutes)s min.", n=post.publish_attempts, max=MAX_ATTEMPTS, why=error.user_message,
                            minutes=max(1, round(pause.total_seconds() / 60)))[:1000]
    post.updated_at = now
    session.add(post)
    audit(session=session, territory_id=post.territory_id, actor=SYSTEM, action="post.retry", obj=post,
          after={"status": post.status.value, "attempts": post.publish_attempts,
                 "retry_at": post.publish_retry_at.isoformat()}, reason=str(error)[:1000])


def refresh_electoral_flags(*, session: Session) -> str:
    """Recompute the pre-electoral flag of open posts (job ``campaigns.refresh_electoral_flags``).

    Catches changes of election date made in the settings. Calls Facebook: no. Commits: yes, per territory.
    """
    changed = 0
    with scoped(session, ALL):
        territories = session.exec(select(Territory).order_by(Territory.id)).all()
    for territory in territories:
        try:
            with scoped(session, territory.id):
                changed += electoral.refresh_flags(session=session, territory=territory)
                session.commit()
        except Exception:
            session.rollback()
            logger.exception("Electoral flags of %s failed", territory.slug)
    return f"{changed} flag(s) changed"


def purge_unused_images(*, session: Session) -> str:
    """Delete uploaded images that no post uses, two days after their upload (job
    ``campaigns.purge_unused_images``). Calls Facebook: no. Writes: files only."""
    with scoped(session, ALL):
        removed = composer.purge_unused_images(session=session, upload_dir=composer.upload_dir(), now=utc_now())
    return f"{removed} unused image(s) deleted"
