"""Validate form and JSON input with the SQLModel/pydantic data models, with messages in French.

Views call `validate(Model, data)`; a failure raises `ValidationFailed` whose `errors` map each
field to a translated message, shown beside the field. The same models validate the JSON API.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from pydantic import AfterValidator, BaseModel, ValidationError

from core.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def _normalise_email(value: str) -> str:
    # test_environment=True accepts the reserved `.test` domain used by the demo accounts.
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError("email: invalid address") from exc


Email = Annotated[str, AfterValidator(_normalise_email)]


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("Ce champ est obligatoire.")
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return _("Ce champ est obligatoire.")
        return _("Au moins %(n)s caractères.", n=ctx.get("min_length"))
    if kind == "string_too_long":
        return _("Au plus %(n)s caractères.", n=ctx.get("max_length"))
    if kind == "value_error":
        msg = str(error.get("msg", "")).lower()
        if "email" in msg:
            return _("Adresse e-mail invalide.")
        if "time zone" in msg:
            return _("Fuseau horaire inconnu (exemple : Europe/Paris).")
        if "locale" in msg:
            return _("Langue : fr ou en.")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Nombre entier attendu.")
    if kind in ("float_parsing", "decimal_parsing"):
        return _("Nombre attendu.")
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return _("Date attendue (AAAA-MM-JJ).")
    if kind in ("datetime_parsing", "datetime_from_date_parsing", "datetime_type"):
        return _("Date et heure attendues.")
    if kind == "greater_than_equal":
        return _("Doit être supérieur ou égal à %(n)s.", n=ctx.get("ge"))
    if kind == "greater_than":
        return _("Doit être supérieur à %(n)s.", n=ctx.get("gt"))
    if kind == "less_than_equal":
        return _("Doit être inférieur ou égal à %(n)s.", n=ctx.get("le"))
    if kind == "enum":
        return _("Choisissez une des valeurs proposées.")
    if kind == "string_pattern_mismatch":
        return _("Format invalide.")
    if kind == "bool_parsing":
        return _("Oui ou non attendu.")
    return _("Valeur invalide.")


def validate(model: type[M], data: dict[str, Any]) -> M:
    """Validate `data` with `model`. :raise ValidationFailed: with one message per field."""
    cleaned = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    try:
        return model.model_validate(cleaned)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "__all__"
            errors.setdefault(field, _message(error))
        raise ValidationFailed(errors, _("Certains champs sont à corriger.")) from None
