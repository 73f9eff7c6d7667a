"""Turn the audience form (plain text fields, usable without JavaScript) into the API's data shape.

The form is deliberately simple: countries as "FR, BE", one region, city or interest per line as
"key | name" ("key | name | radius" for a city). The search script only fills these same fields,
so the page works the same with or without it. Field errors from the data model
(`targeting.cities.0.radius`) are mapped back to the field the person typed in (`cities`).
"""

from __future__ import annotations

import re
from decimal import InvalidOperation
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from core.i18n import major_to_minor

DEFAULT_CITY_RADIUS_KM = 25
_LIST_FIELDS = ("regions", "cities", "interests")


def parse_euros(text: str, currency: str = "EUR") -> int:
    """ "1 234,50" -> 123450. :raise ValueError: with a French message for the person who typed it."""
    try:
        value = major_to_minor(text.strip(), currency)
    except (InvalidOperation, ValueError):
        raise ValueError(_("Montant en euros attendu, par exemple 15 ou 1 234,50 (deux décimales au plus).")) from None
    if value < 0:
        raise ValueError(_("Le montant ne peut pas être négatif."))
    return value


def _lines(text: str) -> list[list[str]]:
    rows = []
    for line in (text or "").splitlines():
        if line.strip():
            rows.append([part.strip() for part in line.split("|")])
    return rows


def targeting_to_form(targeting: dict[str, Any]) -> dict[str, str]:
    """A stored preset as the form's text fields."""
    return {
        "countries": ", ".join(targeting.get("countries") or []),
        "regions": "\n".join(f"{r.get('key', '')} | {r.get('name', '')}" for r in targeting.get("regions") or []),
        "cities": "\n".join(f"{c.get('key', '')} | {c.get('name', '')} | {c.get('radius', DEFAULT_CITY_RADIUS_KM)}"
                            for c in targeting.get("cities") or []),
        "age_min": str(targeting.get("age_min") or ""),
        "age_max": str(targeting.get("age_max") or ""),
        "interests": "\n".join(f"{i.get('id', '')} | {i.get('name', '')}" for i in targeting.get("interests") or []),
    }


def audience_to_form(audience: Any) -> dict[str, str]:
    """An audience's values as the form shows them (euros typed, not cents)."""
    values = {
        "name": audience.name, "key": audience.key, "description": audience.description,
        "result_type": audience.result_type.value,
        "result_value": f"{audience.result_value_minor / 100:.2f}".replace(".", ","),
        "value_note": audience.value_note, "special_ad_category": audience.special_ad_category.value,
    }
    values.update(targeting_to_form(audience.targeting or {}))
    return values


def slugify(text: str, max_length: int = 40) -> str:
    """ "Étudiants & talents" -> "etudiants-talents" (keys, slugs)."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:max_length].strip("-")


def audience_payload(form: MultiDict[str, str], *, create: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The form as the data model's input, and the errors found while reading the text fields."""
    errors: dict[str, str] = {}
    payload: dict[str, Any] = {
        "name": form.get("name", ""), "description": form.get("description", ""),
        "result_type": form.get("result_type", ""), "value_note": form.get("value_note", ""),
        "special_ad_category": form.get("special_ad_category", ""),
    }
    if create:
        payload["key"] = form.get("key", "").strip() or slugify(form.get("name", ""))
    try:
        payload["result_value_minor"] = parse_euros(form.get("result_value", "") or "0")
    except ValueError as exc:
        errors["result_value"] = str(exc)

    targeting: dict[str, Any] = {
        "countries": [c for c in re.split(r"[\s,;]+", form.get("countries", "")) if c],
    }
    for name in ("age_min", "age_max"):
        raw = form.get(name, "").strip()
        if raw:
            if raw.isdigit():
                targeting[name] = int(raw)
            else:
                errors[name] = _("Âge en années attendu, entre 13 et 65.")
    regions, cities, interests = [], [], []
    for parts in _lines(form.get("regions", "")):
        regions.append({"key": parts[0], "name": parts[1] if len(parts) > 1 else ""})
    for n, parts in enumerate(_lines(form.get("cities", "")), 1):
        radius: Any = parts[2] if len(parts) > 2 and parts[2] else DEFAULT_CITY_RADIUS_KM
        if isinstance(radius, str):
            cleaned = radius.lower().removesuffix("km").strip()
            if not cleaned.isdigit():
                errors.setdefault("cities", _("Ligne %(n)s : le rayon « %(value)s » doit être un nombre de "
                                              "kilomètres (17 à 80).", n=n, value=radius))
                continue
            radius = int(cleaned)
        cities.append({"key": parts[0], "name": parts[1] if len(parts) > 1 else "", "radius": radius})
    for parts in _lines(form.get("interests", "")):
        interests.append({"id": parts[0], "name": parts[1] if len(parts) > 1 else ""})
    targeting.update(regions=regions, cities=cities, interests=interests)
    payload["targeting"] = targeting
    return payload, errors


def form_errors(errors: dict[str, str]) -> dict[str, str]:
    """Data-model error keys (`targeting.cities.0.radius`) -> the form's field names (`cities`)."""
    out: dict[str, str] = {}
    for key, message in errors.items():
        parts = key.split(".")
        if parts[0] == "targeting" and len(parts) > 1:
            field = parts[1]
            if field in _LIST_FIELDS and len(parts) > 2 and parts[2].isdigit():
                message = _("Ligne %(n)s : %(message)s", n=int(parts[2]) + 1, message=message)
            out.setdefault(field, message)
        elif parts[0] == "result_value_minor":
            out.setdefault("result_value", message)
        else:
            out.setdefault(parts[0], message)
    return out
