"""Rules for territories, users, roles, invitations, logins and the audit trail.

Functions take keyword-only arguments and an explicit session; they flush, never commit: the
caller (view, CLI, job) owns the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func
from sqlmodel import Session, select

from accounts.models import (
    ApiToken,
    AuditEvent,
    Invitation,
    InvitationCreate,
    LoginAttempt,
    Membership,
    Role,
    Territory,
    TerritoryCreate,
    TerritoryUpdate,
    User,
    UserCreate,
)
from core.db import ALL, scoped, utc_now
from core.errors import Conflict, DomainError, NotFound
from core.security import hash_password, hash_token, new_token, verify_password

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who does something: a user, the system (jobs), or someone through an external link."""

    label: str
    user_id: int | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(label=user.email, user_id=user.id)

    @classmethod
    def system(cls, what: str = "system") -> Actor:
        return cls(label=what)


SYSTEM = Actor.system()


class LoginLocked(DomainError):
    """Too many failed logins: the account (or address) is locked for a while."""

    status_code = 429

    def __init__(self, minutes: int) -> None:
        super().__init__(
            _("Trop de tentatives de connexion. Réessayez dans %(n)s minutes.", n=max(1, minutes))
        )
        self.minutes = minutes


# ---------------------------------------------------------------------------------- audit trail


def audit(
    *,
    session: Session,
    territory_id: int,
    actor: Actor,
    action: str,
    obj: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append one event to the audit trail. Commits: no."""
    event = AuditEvent(
        territory_id=territory_id,
        actor_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        object_type=object_type or (type(obj).__name__ if obj is not None else "-"),
        object_id=str(object_id if object_id is not None else getattr(obj, "id", "") or "") or None,
        before=_jsonable(before),
        after=_jsonable(after),
        reason=reason,
    )
    session.add(event)
    session.flush()
    return event


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (v if isinstance(v, (int, float, bool, str)) or v is None else str(v)) for k, v in values.items()}


# ----------------------------------------------------------------------------------- territories


def create_territory(*, session: Session, data: TerritoryCreate, actor: Actor) -> Territory:
    """Create a territory. Commits: no. :raise Conflict: if the slug is taken."""
    with scoped(session, ALL):
        if session.exec(select(Territory).where(Territory.slug == data.slug)).first():
            raise Conflict(_("L'identifiant « %(slug)s » est déjà pris.", slug=data.slug), field="slug")
        territory = Territory.model_validate(data)
        session.add(territory)
        session.flush()
        audit(session=session, territory_id=territory.id, actor=actor, action="territory.create", obj=territory,
              after={"name": territory.name, "slug": territory.slug})
    return territory


def update_territory(*, session: Session, territory: Territory, data: TerritoryUpdate, actor: Actor) -> Territory:
    """Change a territory's settings, audited. Commits: no."""
    changes = data.model_dump(exclude_unset=True)
    before = {k: getattr(territory, k) for k in changes}
    territory.sqlmodel_update(changes)
    session.add(territory)
    audit(session=session, territory_id=territory.id, actor=actor, action="territory.update", obj=territory,
          before=before, after=changes)
    return territory


def territories_of(*, session: Session, user: User) -> list[tuple[Territory, Role]]:
    """The territories a user belongs to, with the role in each, by name."""
    with scoped(session, ALL):
        rows = session.exec(
            select(Territory, Membership.role)
            .join(Membership, Membership.territory_id == Territory.id)
            .where(Membership.user_id == user.id)
            .order_by(Territory.name)
        ).all()
    return [(territory, Role(role)) for territory, role in rows]


# ----------------------------------------------------------------------------------------- users


def create_user(*, session: Session, data: UserCreate) -> User:
    """Create a user with a hashed password. Commits: no. :raise Conflict: if the e-mail is taken."""
    if session.exec(select(User).where(User.email == data.email)).first():
        raise Conflict(_("Un compte existe déjà pour cette adresse."), field="email")
    user = User(email=data.email, name=data.name, locale=data.locale, password_hash=hash_password(data.password))
    session.add(user)
    session.flush()
    return user


def get_user_by_email(*, session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def set_membership(*, session: Session, territory: Territory, user: User, role: Role, actor: Actor) -> Membership:
    """Give a user a role in a territory (or change it), audited. Commits: no.

    :raise Conflict: when it would leave the territory without an admin.
    """
    membership = session.exec(
        select(Membership).where(Membership.user_id == user.id, Membership.territory_id == territory.id)
    ).first()
    before = {"role": membership.role} if membership else None
    if membership is not None and Role(membership.role) == Role.ADMIN and role != Role.ADMIN:
        _refuse_last_admin(session=session, territory=territory)
    if membership is None:
        membership = Membership(territory_id=territory.id, user_id=user.id, role=role)
    else:
        membership.role = role
    session.add(membership)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="membership.set", obj=membership,
          before=before, after={"user": user.email, "role": role.value})
    return membership


def remove_membership(*, session: Session, territory: Territory, membership_id: int, actor: Actor) -> None:
    """Remove a user from a territory, audited. Commits: no."""
    membership = session.get(Membership, membership_id)
    if membership is None:
        raise NotFound(_("Membre introuvable."))
    if Role(membership.role) == Role.ADMIN:
        _refuse_last_admin(session=session, territory=territory)
    user = session.get(User, membership.user_id)
    audit(session=session, territory_id=territory.id, actor=actor, action="membership.remove", obj=membership,
          before={"user": user.email if user else None, "role": membership.role})
    session.delete(membership)
    session.flush()


def _refuse_last_admin(*, session: Session, territory: Territory) -> None:
    admins = session.exec(
        select(func.count()).select_from(Membership).where(
            Membership.territory_id == territory.id, Membership.role == Role.ADMIN
        )
    ).one()
    if admins <= 1:
        raise Conflict(_("Un territoire garde toujours au moins un administrateur."))


def members(*, session: Session, territory: Territory) -> list[tuple[Membership, User]]:
    return list(
        session.exec(
            select(Membership, User).join(User, User.id == Membership.user_id)
            .where(Membership.territory_id == territory.id).order_by(User.name)
        ).all()
    )


# ----------------------------------------------------------------------------------- invitations


def invite(
    *, session: Session, territory: Territory, data: InvitationCreate, actor: Actor, days: int
) -> tuple[Invitation, str]:
    """Create an invitation; returns it with the clear token (to e-mail, never stored). Commits: no.

    :raise Conflict: if that person is already a member.
    """
    existing = get_user_by_email(session=session, email=data.email)
    if existing is not None:
        member = session.exec(
            select(Membership).where(Membership.user_id == existing.id, Membership.territory_id == territory.id)
        ).first()
        if member is not None:
            raise Conflict(_("Cette personne est déjà membre du territoire."), field="email")
    token = new_token()
    invitation = Invitation(
        territory_id=territory.id, email=data.email, role=data.role, token_hash=hash_token(token),
        invited_by_id=actor.user_id, expires_at=utc_now() + timedelta(days=days),
    )
    session.add(invitation)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="invitation.create", obj=invitation,
          after={"email": data.email, "role": data.role.value})
    return invitation, token


def find_invitation(*, session: Session, token: str) -> Invitation:
    """The open invitation for a token. :raise NotFound: unknown, used or expired."""
    with scoped(session, ALL):
        invitation = session.exec(select(Invitation).where(Invitation.token_hash == hash_token(token))).first()
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at < utc_now():
        raise NotFound(_("Cette invitation n'est plus valable. Demandez-en une nouvelle."))
    return invitation


def accept_invitation(*, session: Session, token: str, name: str, password: str) -> User:
    """Join the territory: create the account if needed, add the membership. Commits: no."""
    from core.forms import validate

    invitation = find_invitation(session=session, token=token)
    with scoped(session, ALL):
        territory = session.get(Territory, invitation.territory_id)
        user = get_user_by_email(session=session, email=invitation.email)
        if user is None:
            data = validate(UserCreate, {"email": invitation.email, "name": name, "password": password,
                                         "locale": territory.locale})
            user = create_user(session=session, data=data)
        invitation.accepted_at = utc_now()
        session.add(invitation)
        set_membership(session=session, territory=territory, user=user, role=Role(invitation.role),
                       actor=Actor.of(user))
    return user


# ----------------------------------------------------------------------------------------- login


def authenticate(
    *, session: Session, email: str, password: str, ip: str | None, max_failures: int, lock_minutes: int
) -> User:
    """Check a login, with throttling per address and per IP. Commits: no (records the attempt).

    :raise LoginLocked: after too many failures in the window.
    :raise DomainError: wrong e-mail or password (the same message for both).
    """
    email = email.strip().lower()
    now = utc_now()
    since = now - timedelta(minutes=lock_minutes)
    for column, value, limit in ((LoginAttempt.email, email, max_failures), (LoginAttempt.ip, ip, max_failures * 4)):
        if value is None:
            continue
        failures = session.exec(
            select(LoginAttempt.at).where(column == value, LoginAttempt.success.is_(False), LoginAttempt.at >= since)
            .order_by(LoginAttempt.at)
        ).all()
        if len(failures) >= limit:
            unlock = failures[-limit] + timedelta(minutes=lock_minutes)
            raise LoginLocked(int((unlock - now).total_seconds() // 60) + 1)
    user = get_user_by_email(session=session, email=email)
    ok = verify_password(user.password_hash if user else None, password) and user is not None and user.is_active
    session.add(LoginAttempt(email=email, ip=ip, success=ok))
    if not ok:
        session.flush()
        raise DomainError(_("Adresse e-mail ou mot de passe incorrect."))
    # A success clears the address's failures (the IP's stay: they may belong to an attack).
    session.exec(  # type: ignore[call-overload]
        LoginAttempt.__table__.delete().where(LoginAttempt.email == email, LoginAttempt.success.is_(False))
    )
    user.last_login_at = now
    session.add(user)
    session.flush()
    return user


def purge_login_attempts(*, session: Session, older_than_days: int = 30) -> int:
    """Delete old login attempts. Commits: no. Returns how many were deleted."""
    cutoff = utc_now() - timedelta(days=older_than_days)
    result = session.exec(LoginAttempt.__table__.delete().where(LoginAttempt.at < cutoff))  # type: ignore[call-overload]
    return result.rowcount or 0


DEMO_EMAIL_DOMAIN = "@demo.rayonne.test"


def demo_accounts_exist(session: Session) -> bool:
    """True while the demo's well-known accounts exist (refused outside development)."""
    return session.exec(select(User.id).where(User.email.endswith(DEMO_EMAIL_DOMAIN))).first() is not None


# ------------------------------------------------------------------------------------ API tokens


def create_api_token(*, session: Session, territory: Territory, user: User, name: str) -> tuple[ApiToken, str]:
    """A personal API token for one territory; returns it with the clear token, shown once. Commits: no."""
    clear = "ray_" + new_token()
    token = ApiToken(territory_id=territory.id, user_id=user.id, name=name, token_hash=hash_token(clear))
    session.add(token)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=Actor.of(user), action="api_token.create", obj=token,
          after={"name": name})
    return token, clear


def revoke_api_token(*, session: Session, territory: Territory, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens. Commits: no. :raise NotFound: not the user's token here."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound(_("Jeton introuvable."))
    token.revoked_at = utc_now()
    session.add(token)
    audit(session=session, territory_id=territory.id, actor=Actor.of(user), action="api_token.revoke", obj=token,
          before={"name": token.name})
    return token
