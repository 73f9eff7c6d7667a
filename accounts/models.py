"""Territories (tenants), users, memberships with roles, invitations, the audit trail."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import AppendOnly, TerritoryOwned, UTCDateTime, created_at_field, str_enum
from core.forms import Email


class Role(enum.StrEnum):
    """Roles per territory, from least to most powerful; each role can do what those before it do."""

    ANALYST = "analyst"
    EDITOR = "editor"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class TerritoryKind(enum.StrEnum):
    COMMUNE = "commune"
    INTERCOMMUNALITE = "intercommunalite"
    DEPARTEMENT = "departement"
    REGION = "region"
    OFFICE = "office"  # tourism office, development agency


# ------------------------------------------------------------------------------------ territory


class TerritoryBase(SQLModel):
    name: str = Field(min_length=2, max_length=120)
    kind: TerritoryKind = Field(default=TerritoryKind.COMMUNE, sa_type=str_enum(TerritoryKind))
    brand_name: str | None = Field(default=None, max_length=120)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    locale: str = Field(default="fr", max_length=5)
    brand_color: str = Field(default="#1d4e89", max_length=7, schema_extra={"pattern": r"^#[0-9a-fA-F]{6}$"})
    website_feed_url: str | None = Field(default=None, max_length=500)
    election_date: date | None = None
    # Boosts above this amount need a manager's approval before anything is sent to Facebook.
    boost_approval_threshold_minor: int = Field(default=20000, ge=0)
    report_weekday: int = Field(default=0, ge=0, le=6)  # Monday
    report_hour: int = Field(default=8, ge=0, le=23)


class Territory(TerritoryBase, table=True):
    """A local authority's workspace. Every tenant row points to one."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True, index=True)
    calendar_token_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_at_field()


def _check_timezone(value: str | None) -> str | None:
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
    return value


def _check_locale(value: str | None) -> str | None:
    if value is not None and value not in ("fr", "en"):
        raise ValueError("locale must be fr or en")
    return value


class TerritoryCreate(TerritoryBase):
    _tz = field_validator("timezone")(_check_timezone)
    _locale = field_validator("locale")(_check_locale)

    slug: str = Field(min_length=2, max_length=60, schema_extra={"pattern": r"^[a-z0-9][a-z0-9-]*$"})


class TerritoryUpdate(SQLModel):
    _tz = field_validator("timezone")(_check_timezone)
    _locale = field_validator("locale")(_check_locale)

    name: str | None = Field(default=None, min_length=2, max_length=120)
    brand_name: str | None = Field(default=None, max_length=120)
    timezone: str | None = Field(default=None, max_length=64)
    locale: str | None = Field(default=None, max_length=5)
    brand_color: str | None = Field(default=None, max_length=7, schema_extra={"pattern": r"^#[0-9a-fA-F]{6}$"})
    election_date: date | None = None
    boost_approval_threshold_minor: int | None = Field(default=None, ge=0)


class ConnectionMode(enum.StrEnum):
    SANDBOX = "sandbox"
    FACEBOOK = "facebook"


class ConnectionStatus(enum.StrEnum):
    UNTESTED = "untested"
    OK = "ok"
    TO_RECONNECT = "to_reconnect"  # Facebook answered 190: token expired or revoked
    ERROR = "error"


class FacebookConnection(TerritoryOwned, table=True):
    """How a territory reaches Facebook (or the sandbox). Tokens are Fernet-encrypted."""

    __tablename__ = "facebook_connection"
    __table_args__ = (UniqueConstraint("territory_id"),)

    id: int | None = Field(default=None, primary_key=True)
    mode: ConnectionMode = Field(default=ConnectionMode.SANDBOX, sa_type=str_enum(ConnectionMode))
    base_url: str = Field(max_length=300)
    page_id: str | None = Field(default=None, max_length=40)
    ad_account_id: str | None = Field(default=None, max_length=40)
    app_id: str | None = Field(default=None, max_length=40)
    app_secret_enc: str | None = Field(default=None, max_length=1000)
    access_token_enc: str | None = Field(default=None, max_length=2000)
    page_token_enc: str | None = Field(default=None, max_length=2000)
    status: ConnectionStatus = Field(default=ConnectionStatus.UNTESTED, sa_type=str_enum(ConnectionStatus))
    status_detail: str | None = Field(default=None, max_length=1000)
    checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()


# ----------------------------------------------------------------------------- users and roles


class UserBase(SQLModel):
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=120)
    locale: str = Field(default="fr", max_length=5)


class User(UserBase, table=True):
    """A person who logs in. Elected officials who only receive reports are not users."""

    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str | None = Field(default=None, max_length=255)
    is_active: bool = True
    created_at: datetime = created_at_field()
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    # Flask-Login's user interface (UserMixin's `is_active` would hide the column of that name).
    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False

    def get_id(self) -> str:
        return str(self.id)


class UserCreate(SQLModel):
    email: Email = Field(max_length=254)
    name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=10, max_length=200)
    locale: str = Field(default="fr", max_length=5)


class Membership(TerritoryOwned, table=True):
    """A user's role in one territory; an agency's user has several."""

    __table_args__ = (UniqueConstraint("user_id", "territory_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    role: Role = Field(sa_type=str_enum(Role))
    created_at: datetime = created_at_field()


class Invitation(TerritoryOwned, table=True):
    """An e-mailed, expiring, single-use invitation to join a territory with a role."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, index=True)
    role: Role = Field(sa_type=str_enum(Role))
    token_hash: str = Field(max_length=64, unique=True)
    invited_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    expires_at: datetime = Field(sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()


class InvitationCreate(SQLModel):
    email: Email = Field(max_length=254)
    role: Role


class LoginAttempt(SQLModel, table=True):
    """Failed and successful logins, for throttling (kept in the database: shared by all workers)."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, index=True)
    ip: str | None = Field(default=None, max_length=64)
    success: bool = False
    at: datetime = created_at_field()


class ApiToken(TerritoryOwned, table=True):
    """A personal API token, scoped to one territory and the user's role there; stored hashed."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    name: str = Field(max_length=80)
    token_hash: str = Field(max_length=64, unique=True)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()


class ApiTokenCreate(SQLModel):
    name: str = Field(min_length=1, max_length=80)


class ApiTokenRead(SQLModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


# ----------------------------------------------------------------------------------- audit trail


class AuditEvent(AppendOnly, TerritoryOwned, table=True):
    """One change that matters: who, when, where, what, before and after. Append-only."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    actor_label: str = Field(max_length=254)  # kept even if the user is deleted; "system", "lien externe"
    action: str = Field(max_length=80, index=True)
    object_type: str = Field(max_length=60)
    object_id: str | None = Field(default=None, max_length=60)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    reason: str | None = Field(default=None, max_length=1000)
    at: datetime = created_at_field()
