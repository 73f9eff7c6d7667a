"""Settings come from the environment; production refuses missing or placeholder secrets."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from core.errors import ConfigError
from core.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)


def test_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each setting is read from the environment variable of the same name."""
    monkeypatch.setenv("GRAPH_API_BASE_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("SMTP_PORT", "2525")
    loaded = Settings(_env_file=None)
    assert loaded.GRAPH_API_BASE_URL == "http://127.0.0.1:9999"
    assert loaded.SMTP_PORT == 2525


@pytest.mark.parametrize("missing", ["SECRET_KEY", "RAYONNE_ENCRYPTION_KEY"])
def test_production_refuses_missing_secret(missing: str) -> None:
    """Outside development a missing secret stops start-up, naming the variable."""
    values = {"SECRET_KEY": "s" * 40, "RAYONNE_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    values.pop(missing)
    with pytest.raises(ConfigError, match=missing):
        settings(RAYONNE_ENV="production", **values).check_secrets()


def test_production_refuses_placeholder_secret() -> None:
    """A placeholder copied from .env.example is refused like a missing secret."""
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        settings(RAYONNE_ENV="production", SECRET_KEY="changethis",
                 RAYONNE_ENCRYPTION_KEY=Fernet.generate_key().decode()).check_secrets()


def test_production_refuses_invalid_encryption_key() -> None:
    """An encryption key that is not a Fernet key is refused with the command to make one."""
    with pytest.raises(ConfigError, match="Fernet"):
        settings(RAYONNE_ENV="production", SECRET_KEY="s" * 40, RAYONNE_ENCRYPTION_KEY="not-a-key").check_secrets()


def test_bad_value_is_a_clear_error() -> None:
    """A malformed value names the variable instead of failing later."""
    with pytest.raises(ValidationError, match="SMTP_PORT"):
        settings(SMTP_PORT="not-a-port")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        settings(DATABASE_URL="mysql://nope")


def test_create_app_refuses_to_start_without_secrets() -> None:
    """create_app stops with the variable's name in production when a secret is missing."""
    from app import create_app

    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(settings(RAYONNE_ENV="production", DATABASE_URL="sqlite://"))
