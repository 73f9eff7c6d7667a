"""External approval without an account: a signed, expiring, single-use link sent by e-mail.

A manager sends an elected official or the director a link to approve or reject something — a post
here, a boost in the sponsored module — with a comment, without logging in. The link's token is
signed with the application's secret key (salted for this use) and binds the territory, the kind of
object and its id; only its SHA-256 digest is stored (`ExternalApproval.token_hash`), so a leaked
database yields no usable link. A link expires after ``APPROVAL_LINK_DAYS`` (7 by default) and serves
once: the first decision claims it atomically.

The module is generic: what a decision *does* is up to the handler registered for the object type::

    approvals.register_handler("boost", decide_boost, check=..., context=..., template=..., summary=...)

* ``decide(*, session, approval, decision, comment, actor)`` applies ``"approve"`` or ``"reject"``
  (raise a `DomainError` to refuse, e.g. the object no longer waits for a decision);
* ``check(*, session, territory, object_id)`` runs before a link is created (raise to refuse);
* ``context(*, session, approval) -> dict`` and ``template`` render the object on the public page;
* ``summary(*, session, approval) -> str`` names the object in the e-mail ("la publication « … »").

Decisions land in the audit trail with the recipient's name as the actor label. The e-mail and the
public page speak the territory's language (`Territory.locale`): the recipient has no account, and a
link records no language of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update
from sqlmodel import Session, select

from accounts.models import Territory
from accounts.services import Actor, audit
from campaigns.models import ExternalApproval, ExternalApprovalCreate
from core.db import ALL, scoped, utc_now
from core.errors import DomainError, ValidationFailed
from core.forms import validate
from core.i18n import supported_locale
from core.mail import MailMessage, send_mail
from core.security import hash_token, new_token

SALT = "rayonne.external-approval"
DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class Handler:
    """What an approval link does for one object type (see the module docstring)."""

    decide: Callable[..., None]
    check: Callable[..., None] | None = None
    context: Callable[..., dict[str, Any]] | None = None
    template: str | None = None
    summary: Callable[..., str] | None = None


_handlers: dict[str, Handler] = {}


def register_handler(
    object_type: str,
    decide: Callable[..., None],
    *,
    check: Callable[..., None] | None = None,
    context: Callable[..., dict[str, Any]] | None = None,
    template: str | None = None,
    summary: Callable[..., str] | None = None,
) -> None:
    """Declare what approving or rejecting an ``object_type`` means (at import time; replaces any earlier)."""
    if not object_type or len(object_type) > 20:
        raise ValueError("object_type must be 1 to 20 characters")
    _handlers[object_type] = Handler(decide=decide, check=check, context=context, template=template,
                                     summary=summary)


def handler_for(object_type: str) -> Handler:
    """:raise DomainError: no handler for that type (a programming error shown plainly)."""
    try:
        return _handlers[object_type]
    except KeyError:
        raise DomainError(_("Ce type d'objet ne peut pas être validé par lien.")) from None


class LinkInvalid(DomainError):
    """The link is unknown, altered, already used or expired. ``reason`` says which."""

    status_code = 404

    def __init__(self, message: str, *, reason: str = "unknown") -> None:
        super().__init__(message)
        self.reason = reason
        if reason in ("used", "expired"):
            self.status_code = 410


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


# -------------------------------------------------------------------------------------- sending


def create_link(
    *,
    session: Session,
    territory: Territory,
    object_type: str,
    object_id: int,
    recipient_name: str,
    recipient_email: str,
    actor: Actor,
    days: int,
) -> tuple[ExternalApproval, str]:
    """Create a link; returns it with the clear token (to e-mail, never stored). Audited. Commits: no.

    :raise ValidationFailed: bad name or address. :raise DomainError: the handler refuses (e.g. the post
    is not in review).
    """
    handler = handler_for(object_type)
    data = validate(ExternalApprovalCreate, {"recipient_name": recipient_name, "recipient_email": recipient_email})
    if days < 1:
        raise ValueError("days must be at least 1")
    if handler.check is not None:
        handler.check(session=session, territory=territory, object_id=object_id)
    token = _serializer().dumps([territory.id, object_type, object_id, new_token(16)])
    approval = ExternalApproval(
        territory_id=territory.id, object_type=object_type, object_id=object_id,
        recipient_name=data.recipient_name, recipient_email=data.recipient_email, token_hash=hash_token(token),
        expires_at=utc_now() + timedelta(days=days), created_by_id=actor.user_id,
    )
    session.add(approval)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="approval.link_sent",
          object_type=object_type, object_id=object_id,
          after={"recipient": data.recipient_name, "email": data.recipient_email, "link_id": approval.id,
                 "expires_at": approval.expires_at.isoformat()})
    return approval, token


def send_link(
    *, session: Session, territory: Territory, approval: ExternalApproval, link: str, sender_name: str
) -> MailMessage:
    """E-mail the link to its recipient (``link`` is the full public address), in the territory's
    language. Commits: no."""
    handler = handler_for(approval.object_type)
    with force_locale(supported_locale(territory.locale)):
        what = handler.summary(session=session, approval=approval) if handler.summary else approval.object_type
        text = render_template(
            "campaigns/approval_email.txt", approval=approval, territory=territory, link=link, what=what,
            sender=sender_name, expires=format_datetime(approval.expires_at, "long"),
        )
        subject = _("%(territory)s : votre avis est demandé sur %(what)s", territory=territory.name, what=what)
    return send_mail(
        session=session, territory_id=territory.id, to=approval.recipient_email, kind="approval",
        subject=subject[:300], text=text,
    )


def link_locale(*, session: Session, token: str) -> str | None:
    """The language of the link's public page: its territory's, read from the signed token even when the
    link is used or expired (so is the page saying so); None for an altered token. Writes: no."""
    try:
        territory_id = _serializer().loads(token)[0]
    except (BadSignature, IndexError, TypeError, KeyError):
        return None
    with scoped(session, ALL):
        territory = session.get(Territory, territory_id)
    return supported_locale(territory.locale) if territory is not None else None


# ------------------------------------------------------------------------------------- deciding


def find_link(*, session: Session, token: str) -> ExternalApproval:
    """The open link for ``token``, from any territory (public page). Writes: no.

    :raise LinkInvalid: altered or unknown (404), already used or expired (410), with a plain message.
    """
    unknown = LinkInvalid(_("Ce lien de validation n'est pas valable. Vérifiez qu'il a été copié en entier, "
                            "ou demandez un nouveau lien à l'équipe communication."))
    try:
        signed = _serializer().loads(token)
    except BadSignature:
        raise unknown from None
    with scoped(session, ALL):
        approval = session.exec(
            select(ExternalApproval).where(ExternalApproval.token_hash == hash_token(token))
        ).first()
    if approval is None or list(signed)[:3] != [approval.territory_id, approval.object_type, approval.object_id]:
        raise unknown
    if approval.used_at is not None:
        raise LinkInvalid(_("Ce lien a déjà servi : votre avis (« %(decision)s ») a été enregistré le %(when)s. "
                            "Chaque lien ne sert qu'une fois.", decision=decision_label(approval.decision),
                            when=format_datetime(approval.used_at, "short")), reason="used")
    if approval.expires_at <= utc_now():
        raise LinkInvalid(_("Ce lien a expiré le %(when)s. Demandez un nouveau lien à l'équipe communication.",
                            when=format_datetime(approval.expires_at, "short")), reason="expired")
    return approval


def decision_label(decision: str | None) -> str:
    return {"approve": _("approuvé"), "reject": _("refusé")}.get(decision or "", decision or "—")


def page_context(*, session: Session, approval: ExternalApproval) -> dict[str, Any]:
    """What the public page shows of the object: the handler's template and its context. Writes: no."""
    handler = handler_for(approval.object_type)
    with scoped(session, approval.territory_id):
        context = handler.context(session=session, approval=approval) if handler.context else {}
        territory = session.get(Territory, approval.territory_id)
    return {"object_template": handler.template, "approval_territory": territory, **context}


def decide(*, session: Session, token: str, decision: str, comment: str) -> ExternalApproval:
    """Record the recipient's decision through the link, once. Audited. Commits: no.

    :raise LinkInvalid: see :func:`find_link`, or a second decision racing this one.
    :raise ValidationFailed: unknown decision, or a rejection without a comment.
    :raise DomainError: the handler refuses (the object no longer waits for a decision).
    """
    approval = find_link(session=session, token=token)
    if decision not in DECISIONS:
        raise ValidationFailed({"decision": _("Choisissez « Approuver » ou « Refuser ».")})
    comment = (comment or "").strip()
    if decision == "reject" and not comment:
        raise ValidationFailed({"comment": _("Expliquez votre refus en quelques mots.")})
    if len(comment) > 4000:
        raise ValidationFailed({"comment": _("Au plus %(n)s caractères.", n=4000)})
    handler = handler_for(approval.object_type)
    actor = Actor(label=approval.recipient_name)
    with scoped(session, approval.territory_id):
        # Claim the link first: a second click (or a second tab) racing this one finds it used.
        claimed = session.exec(  # type: ignore[call-overload]
            update(ExternalApproval)
            .where(ExternalApproval.id == approval.id, ExternalApproval.used_at.is_(None))
            .values(used_at=utc_now(), decision=decision, comment=comment or None)
        )
        if claimed.rowcount != 1:
            raise LinkInvalid(_("Ce lien vient de servir : une seule décision est enregistrée."), reason="used")
        session.refresh(approval)
        handler.decide(session=session, approval=approval, decision=decision, comment=comment, actor=actor)
        audit(session=session, territory_id=approval.territory_id, actor=actor, action="approval.decision",
              object_type=approval.object_type, object_id=approval.object_id,
              after={"decision": decision, "email": approval.recipient_email, "link_id": approval.id,
                     "via": "lien externe"}, reason=comment or None)
        session.flush()
    return approval


def links_for(*, session: Session, object_type: str, object_id: int) -> list[ExternalApproval]:
    """The links sent for one object, newest first (the session's territory)."""
    return list(session.exec(
        select(ExternalApproval)
        .where(ExternalApproval.object_type == object_type, ExternalApproval.object_id == object_id)
        .order_by(ExternalApproval.created_at.desc(), ExternalApproval.id.desc())
    ).all())
