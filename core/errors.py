"""The domain error family. Services raise these; `register_error_handlers` maps them to pages."""

from __future__ import annotations


class ConfigError(RuntimeError):
    """The configuration cannot be used (missing secret, bad value). Stops start-up."""


class DomainError(Exception):
    """A rule of the product refused an action. Its message is shown to the user as is."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    """Input did not validate; `errors` maps each field to its message."""

    status_code = 422

    def __init__(self, errors: dict[str, str], message: str | None = None) -> None:
        super().__init__(message or "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotFound(DomainError):
    """The object does not exist, or not in the current territory (never say which)."""

    status_code = 404


class Forbidden(DomainError):
    """The current user's role does not allow the action."""

    status_code = 403


class Conflict(DomainError):
    """The action conflicts with the current state (duplicate, wrong workflow step)."""

    status_code = 409


class TenantScopeError(RuntimeError):
    """A query for tenant data ran without a territory scope: a programming error, never shown."""
