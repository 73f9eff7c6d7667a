"""A territory's connection to Facebook or to the Graph API sandbox, and the client built from it.

Tokens and the app secret are encrypted with RAYONNE_ENCRYPTION_KEY before they are stored, are
never shown again (the form only says that a value is saved) and never logged. Every package that
talks to Facebook gets its client from `client_for`, which refuses a connection marked "to
reconnect": after Facebook answered 190 (token expired or revoked), the territory's Facebook jobs
stop and its admins are told, until an admin saves a new token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlmodel import Session, SQLModel, select

from accounts.models import (
    ConnectionMode,
    ConnectionStatus,
    FacebookConnection,
    Membership,
    Role,
    Territory,
    User,
)
from accounts.services import Actor, audit
from core.db import utc_now
from core.errors import DomainError
from core.i18n import supported_locale
from core.mail import send_mail
from core.security import decrypt, encrypt
from facebook import AuthError, Connection, ConnectionCheck, FacebookClient, FacebookError, RetryPolicy

logger = logging.getLogger(__name__)


class NotConnected(DomainError):
    """The territory has no usable Facebook connection."""

    status_code = 409


class ConnectionForm(SQLModel):
    """What an admin types; empty secret fields keep the stored value."""

    mode: ConnectionMode = ConnectionMode.SANDBOX
    page_id: str | None = None
    ad_account_id: str | None = None
    app_id: str | None = None
    app_secret: str | None = None
    access_token: str | None = None
    page_token: str | None = None


@dataclass(frozen=True)
class ConnectionView:
    """A connection as shown in the UI: which secrets are stored, never their values."""

    mode: ConnectionMode
    base_url: str
    page_id: str | None
    ad_account_id: str | None
    app_id: str | None
    has_app_secret: bool
    has_access_token: bool
    has_page_token: bool
    status: ConnectionStatus
    status_detail: str | None


def sandbox_base_url() -> str:
    settings = current_app.config["RAYONNE_SETTINGS"]
    return f"http://{settings.SANDBOX_HOST}:{settings.SANDBOX_PORT}"


def get_connection(*, session: Session) -> FacebookConnection | None:
    """The current territory's connection (the session is scoped to it)."""
    return session.exec(select(FacebookConnection)).first()


def describe(connection: FacebookConnection | None) -> ConnectionView | None:
    if connection is None:
        return None
    return ConnectionView(
        mode=connection.mode, base_url=connection.base_url, page_id=connection.page_id,
        ad_account_id=connection.ad_account_id, app_id=connection.app_id,
        has_app_secret=bool(connection.app_secret_enc), has_access_token=bool(connection.access_token_enc),
        has_page_token=bool(connection.page_token_enc), status=connection.status,
        status_detail=connection.status_detail,
    )


def save_connection(
    *, session: Session, territory: Territory, data: ConnectionForm, actor: Actor, base_url: str | None = None
) -> FacebookConnection:
    """Create or change the territory's connection, encrypting secrets, audited. Commits: no.

    :raise DomainError: when the ids are missing or malformed.
    """
    connection = get_connection(session=session)
    before = None
    if connection is None:
        connection = FacebookConnection(territory_id=territory.id, base_url="")
    else:
        before = {"mode": connection.mode.value, "page_id": connection.page_id,
                  "ad_account_id": connection.ad_account_id}
    if not data.page_id or not data.page_id.isdigit():
        raise DomainError(_("L'identifiant de la Page est un nombre (ex. 104500000000001)."), field="page_id")
    if data.ad_account_id and not (data.ad_account_id.startswith("act_") and data.ad_account_id[4:].isdigit()):
        raise DomainError(_("Le compte publicitaire s'écrit act_ suivi de chiffres."), field="ad_account_id")
    settings = current_app.config["RAYONNE_SETTINGS"]
    connection.mode = data.mode
    connection.base_url = base_url or (sandbox_base_url() if data.mode == ConnectionMode.SANDBOX
                                       else settings.GRAPH_API_BASE_URL)
    connection.page_id = data.page_id
    connection.ad_account_id = data.ad_account_id or None
    connection.app_id = data.app_id or None
    for name in ("app_secret", "access_token", "page_token"):
        value = getattr(data, name)
        if value:
            setattr(connection, f"{name}_enc", encrypt(value))
    if not connection.access_token_enc:
        raise DomainError(_("Le jeton d'accès (utilisateur système) est obligatoire."), field="access_token")
    connection.status = ConnectionStatus.UNTESTED
    connection.status_detail = None
    session.add(connection)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="connection.save", obj=connection,
          before=before, after={"mode": connection.mode.value, "page_id": connection.page_id,
                                "ad_account_id": connection.ad_account_id,
                                "secrets": "renouvelés" if any([data.app_secret, data.access_token,
                                                                 data.page_token]) else "inchangés"})
    return connection


def connection_of(record: FacebookConnection) -> Connection:
    """The client-side description of a stored connection (secrets decrypted in memory only)."""
    return Connection(
        base_url=record.base_url,
        page_id=record.page_id,
        ad_account_id=record.ad_account_id,
        access_token=decrypt(record.access_token_enc) if record.access_token_enc else "",
        page_token=decrypt(record.page_token_enc) if record.page_token_enc else None,
        app_id=record.app_id,
        app_secret=decrypt(record.app_secret_enc) if record.app_secret_enc else None,
        is_sandbox=record.mode == ConnectionMode.SANDBOX,
    )


def client_for(*, session: Session, retry: RetryPolicy | None = None) -> FacebookClient:
    """The current territory's Facebook client. Calls Facebook: no.

    :raise NotConnected: no connection, or one that must be reconnected first.
    """
    record = get_connection(session=session)
    if record is None:
        raise NotConnected(_("Ce territoire n'est pas connecté à Facebook (Réglages › Connexion Facebook)."))
    if record.status == ConnectionStatus.TO_RECONNECT:
        raise NotConnected(_("La connexion Facebook doit être renouvelée : le jeton a expiré ou a été révoqué."))
    return FacebookClient(connection_of(record), retry)


def check(*, session: Session, territory: Territory, actor: Actor) -> ConnectionCheck:
    """Test the connection and record the result. Calls Facebook: yes. Commits: no."""
    record = get_connection(session=session)
    if record is None:
        raise NotConnected(_("Ce territoire n'est pas connecté à Facebook (Réglages › Connexion Facebook)."))
    client = FacebookClient(connection_of(record), RetryPolicy(max_attempts=2))
    try:
        result = client.check_connection()
    except AuthError as exc:
        mark_to_reconnect(session=session, territory=territory, error=exc)
        raise NotConnected(exc.user_message) from exc
    except FacebookError as exc:
        record.status, record.status_detail = ConnectionStatus.ERROR, exc.user_message[:1000]
        record.checked_at = utc_now()
        session.add(record)
        raise NotConnected(exc.user_message) from exc
    record.status = ConnectionStatus.OK if not result.problems else ConnectionStatus.ERROR
    record.status_detail = "; ".join(result.problems)[:1000] or None
    record.checked_at = utc_now()
    session.add(record)
    audit(session=session, territory_id=territory.id, actor=actor, action="connection.test", obj=record,
          after={"status": record.status.value, "problems": record.status_detail})
    return result


def mark_to_reconnect(*, session: Session, territory: Territory, error: Exception) -> None:
    """Facebook refused the token (190): stop using it and tell the admins once. Commits: no."""
    record = get_connection(session=session)
    if record is None or record.status == ConnectionStatus.TO_RECONNECT:
        return
    record.status = ConnectionStatus.TO_RECONNECT
    record.status_detail = str(error)[:1000]
    session.add(record)
    audit(session=session, territory_id=territory.id, actor=Actor.system(), action="connection.expired",
          obj=record, reason=str(error)[:1000])
    admins = session.exec(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.territory_id == territory.id, Membership.role == Role.ADMIN)
    ).all()
    settings = current_app.config["RAYONNE_SETTINGS"]
    for admin in admins:
        with force_locale(supported_locale(admin.locale, territory.locale)):  # each admin's own language
            subject = _("Rayonne : la connexion Facebook de %(name)s doit être renouvelée", name=territory.name)
            text = render_template("accounts/email/reconnect.txt", territory=territory, base_url=settings.BASE_URL)
        send_mail(session=session, territory_id=territory.id, to=admin.email, kind="alert", subject=subject, text=text)
    logger.warning("Facebook connection of territory %s marked to reconnect: %s", territory.slug, error)
