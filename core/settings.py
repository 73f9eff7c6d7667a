"""One typed Settings object, read from the environment (and an optional `.env` file).

Every setting is listed in `.env.example`. Secrets are `SecretStr` without a usable default:
in development (`RAYONNE_ENV=development`, the default for `make run`) a missing secret is
generated once and kept in `instance/dev-secrets.json`, so that sessions and encrypted
Facebook tokens survive a restart; in any other environment a missing or placeholder secret
stops start-up with a message naming the variable.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

# Values that must never reach production: copied from `.env.example` or from tutorials.
PLACEHOLDERS = {"", "changethis", "change-me", "changeme", "secret", "dev", "placeholder", "xxx"}


class Settings(BaseSettings):
    """Rayonne's configuration. Field names are the environment variable names."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True, env_ignore_empty=True)

    RAYONNE_ENV: Literal["development", "test", "production"] = "development"
    DATABASE_URL: str = f"sqlite:///{INSTANCE / 'rayonne.db'}"
    SECRET_KEY: SecretStr | None = None
    RAYONNE_ENCRYPTION_KEY: SecretStr | None = None

    # E-mail: without SMTP_HOST, messages go to the local outbox (listed in the admin pages).
    SMTP_HOST: str | None = None
    SMTP_PORT: int = Field(587, ge=1, le=65535)
    SMTP_USER: str | None = None
    SMTP_PASSWORD: SecretStr | None = None
    SMTP_STARTTLS: bool = True
    SMTP_TIMEOUT: float = Field(20, gt=0)
    MAIL_FROM: str = "Rayonne <rayonne@localhost>"

    # Facebook: the Graph API base address (the sandbox in the demo and the tests).
    GRAPH_API_BASE_URL: str = "https://graph.facebook.com"
    SANDBOX_HOST: str = "127.0.0.1"
    SANDBOX_PORT: int = Field(8765, ge=0, le=65535)
    SANDBOX_STATE_PATH: str = str(INSTANCE / "sandbox.json")

    DEFAULT_LOCALE: Literal["fr", "en"] = "fr"
    DEFAULT_TIMEZONE: str = "Europe/Paris"
    DEFAULT_CURRENCY: str = "EUR"

    # Public address of the web UI, used in e-mailed links (invitations, approvals).
    BASE_URL: str = "http://127.0.0.1:5000"
    PORT: int = Field(5000, ge=1, le=65535)
    SESSION_COOKIE_SECURE: bool | None = None  # None: secure everywhere but development/test

    LOGIN_MAX_FAILURES: int = Field(5, ge=1)
    LOGIN_LOCK_MINUTES: int = Field(15, ge=1)
    INVITATION_DAYS: int = Field(7, ge=1)

    SCHEDULER_LOCK_SECONDS: int = Field(60, ge=5)

    # Publishing: a post due longer ago than this (scheduler down, connection broken) is marked
    # missed instead of going out late; external approval links expire after this many days.
    PUBLISH_MISSED_AFTER_HOURS: int = Field(6, ge=1)
    APPROVAL_LINK_DAYS: int = Field(7, ge=1)

    @field_validator("DATABASE_URL")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// address")
        return value

    @property
    def is_development(self) -> bool:
        return self.RAYONNE_ENV == "development"

    @property
    def is_production(self) -> bool:
        return self.RAYONNE_ENV == "production"

    def secret_key(self) -> str:
        return _secret_value(self.SECRET_KEY)

    def encryption_key(self) -> str:
        return _secret_value(self.RAYONNE_ENCRYPTION_KEY)

    def check_secrets(self) -> Settings:
        """Fill development secrets, or refuse to start without real ones elsewhere.

        :raise ConfigError: naming the missing or placeholder variable.
        """
        if self.is_development:
            stored = _dev_secrets()
            if _is_placeholder(self.SECRET_KEY):
                self.SECRET_KEY = SecretStr(stored["SECRET_KEY"])
            if _is_placeholder(self.RAYONNE_ENCRYPTION_KEY):
                self.RAYONNE_ENCRYPTION_KEY = SecretStr(stored["RAYONNE_ENCRYPTION_KEY"])
            return self
        for name in ("SECRET_KEY", "RAYONNE_ENCRYPTION_KEY"):
            if _is_placeholder(getattr(self, name)):
                raise ConfigError(
                    f"{name} is missing or a placeholder. Set it in the environment "
                    f"(see .env.example) before starting Rayonne in {self.RAYONNE_ENV} mode."
                )
        if len(self.secret_key()) < 32:
            raise ConfigError("SECRET_KEY is too short: use at least 32 random characters.")
        try:
            Fernet(self.encryption_key().encode())
        except ValueError as exc:
            raise ConfigError(
                "RAYONNE_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes). "
                'Generate one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            ) from exc
        return self


def _secret_value(secret: SecretStr | None) -> str:
    if secret is None:
        raise ConfigError("Secrets were not checked: call Settings.check_secrets() first.")
    return secret.get_secret_value()


def _is_placeholder(secret: SecretStr | None) -> bool:
    return secret is None or secret.get_secret_value().strip().lower() in PLACEHOLDERS


def _dev_secrets() -> dict[str, str]:
    """Development secrets, generated once per checkout and kept out of git under instance/."""
    path = INSTANCE / "dev-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    INSTANCE.mkdir(exist_ok=True)
    values = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "RAYONNE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values
