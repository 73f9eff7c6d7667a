"""Rules for audiences. Functions flush, never commit."""

from __future__ import annotations

import logging
from typing import Any

from flask_babel import LazyString, force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from accounts.models import Territory
from accounts.services import Actor, audit
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import supported_locale
from facebook import FacebookClient
from targets.models import (
    MAX_CITIES,
    MAX_REGIONS,
    Audience,
    AudienceCreate,
    AudienceUpdate,
    ResultType,
    Targeting,
)

logger = logging.getLogger(__name__)

# The three publics every territory competes for, with sensible starting presets that the
# territory then edits: France and neighbouring markets, adult ages, a typical result and value.
BUILTIN_PRESETS: dict[str, dict] = {
    "investors": {
        "name": _l("Investisseurs"),
        "description": _l("Dirigeants, porteurs de projet et développeurs économiques : emplois, foncier, "
                          "filières, accompagnement à l'implantation."),
        "targeting": {"countries": ["FR", "BE", "DE", "CH"], "age_min": 30, "age_max": 64,
                      "interests": [{"id": "6003371567474", "name": "Entrepreneuriat"}]},
        "result_type": ResultType.LANDING_PAGE_VIEW,
        "result_value_minor": 1500,
        "value_note": _l("Valeur de départ : coût moyen d'un contact qualifié par le salon immobilier "
                         "d'entreprise, divisé par le taux de contact des visites de la page implantation "
                         "(à ajuster)."),
    },
    "tourists": {
        "name": _l("Touristes"),
        "description": _l("Visiteurs de courts séjours et de vacances : sites, événements, hébergements."),
        "targeting": {"countries": ["FR", "BE", "NL", "DE"], "age_min": 25, "age_max": 65,
                      "interests": [{"id": "6003430696269", "name": "Voyage"}]},
        "result_type": ResultType.LINK_CLICK,
        "result_value_minor": 200,
        "value_note": _l("Valeur de départ : dépense touristique moyenne par visite de l'office de tourisme "
                         "attribuée à une visite du site web (à ajuster)."),
    },
    "residents": {
        "name": _l("Nouveaux habitants"),
        "description": _l("Familles et actifs qui envisagent de s'installer : écoles, transports, logement, "
                          "qualité de vie."),
        "targeting": {"countries": ["FR"], "age_min": 25, "age_max": 45, "interests": []},
        "result_type": ResultType.LEAD,
        "result_value_minor": 4000,
        "value_note": _l("Valeur de départ : coût d'un contact du guichet d'accueil des nouveaux arrivants "
                         "(à ajuster)."),
    },
}


def ensure_builtin_audiences(*, session: Session, territory: Territory) -> list[Audience]:
    """Create the three built-in audiences if missing (idempotent). Commits: no."""
    existing = {a.key: a for a in session.exec(select(Audience).where(Audience.territory_id == territory.id))}
    created = []
    for key, preset in BUILTIN_PRESETS.items():
        if key in existing:
            continue
        # Names, descriptions and notes are written in the territory's language (then the team's to edit).
        with force_locale(supported_locale(territory.locale)):
            values = {k: str(v) if isinstance(v, LazyString) else v for k, v in preset.items()}
        audience = Audience(territory_id=territory.id, key=key, builtin=True, **values)
        session.add(audience)
        created.append(audience)
    session.flush()
    return created


# --------------------------------------------------------------------------------- targeting rules


def check_targeting(targeting: Targeting) -> dict[str, Any]:
    """Apply the rules a preset must meet to be usable by Facebook; return it as stored (JSON).

    Errors are keyed `targeting.<field>` and worded for the person who typed the preset.
    :raise ValidationFailed: one message per field at fault.
    """
    errors: dict[str, str] = {}
    countries = []
    for code in targeting.countries:
        code = code.strip().upper()
        if len(code) != 2 or not code.isalpha() or not code.isascii():
            errors["targeting.countries"] = _(
                "« %(code)s » n'est pas un code pays : deux lettres ISO 3166, par exemple FR, BE, DE.", code=code)
            break
        if code not in countries:
            countries.append(code)
    if len(targeting.regions) > MAX_REGIONS:
        errors["targeting.regions"] = _("Facebook accepte au plus %(n)s régions.", n=MAX_REGIONS)
    if len(targeting.cities) > MAX_CITIES:
        errors["targeting.cities"] = _("Facebook accepte au plus %(n)s villes.", n=MAX_CITIES)
    if not (countries or targeting.regions or targeting.cities) and "targeting.countries" not in errors:
        errors["targeting.countries"] = _(
            "Indiquez au moins un pays, une région ou une ville : Facebook ne diffuse pas une publicité "
            "sans zone géographique.")
    if targeting.age_min is not None and targeting.age_max is not None and targeting.age_min > targeting.age_max:
        errors["targeting.age_max"] = _("L'âge maximum (%(max)s) doit être supérieur ou égal à l'âge minimum "
                                        "(%(min)s).", max=targeting.age_max, min=targeting.age_min)
    if errors:
        raise ValidationFailed(errors, _("Le ciblage est à corriger."))
    stored = targeting.model_dump(exclude_none=True)
    stored["countries"] = countries
    return stored


# -------------------------------------------------------------------------------------- audiences


def list_audiences(*, session: Session, include_archived: bool = False) -> list[Audience]:
    """The territory's audiences, built-in first, then in creation order."""
    query = select(Audience).order_by(Audience.builtin.desc(), Audience.id)
    if not include_archived:
        query = query.where(Audience.archived.is_(False))
    return list(session.exec(query))


def get_audience(*, session: Session, audience_id: int) -> Audience:
    """:raise NotFound: if the audience is not in the session's territory."""
    audience = session.get(Audience, audience_id)
    if audience is None:
        raise NotFound(_("Public introuvable."))
    return audience


def _snapshot(audience: Audience) -> dict[str, Any]:
    return {"name": audience.name, "description": audience.description, "targeting": audience.targeting,
            "result_type": audience.result_type.value, "result_value_minor": audience.result_value_minor,
            "value_note": audience.value_note, "special_ad_category": audience.special_ad_category.value,
            "archived": audience.archived}


def create_audience(*, session: Session, territory: Territory, data: AudienceCreate, actor: Actor) -> Audience:
    """Add a territory's own audience, audited. Commits: no.

    :raise Conflict: if the key exists (archived audiences included).
    :raise ValidationFailed: if the targeting preset breaks a rule.
    """
    targeting = check_targeting(data.targeting)
    if session.exec(select(Audience).where(Audience.key == data.key)).first():
        raise Conflict(_("Un public porte déjà cet identifiant."), field="key")
    audience = Audience.model_validate(data.model_dump(exclude={"targeting"}),
                                       update={"territory_id": territory.id, "targeting": targeting, "builtin": False})
    session.add(audience)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="audience.create", obj=audience,
          after={"key": audience.key, **_snapshot(audience)})
    return audience


def update_audience(*, session: Session, territory: Territory, audience: Audience, data: AudienceUpdate,
                    actor: Actor) -> Audience:
    """Change an audience (built-in ones too), audited with before and after. Commits: no.

    :raise ValidationFailed: if the targeting preset breaks a rule.
    """
    changes = data.model_dump(exclude_unset=True, exclude={"targeting"})
    if data.targeting is not None:
        changes["targeting"] = check_targeting(data.targeting)
    before = _snapshot(audience)
    audience.sqlmodel_update(changes)
    session.add(audience)
    session.flush()
    after = _snapshot(audience)
    changed = {k: v for k, v in after.items() if before[k] != v}
    if changed:
        audit(session=session, territory_id=territory.id, actor=actor, action="audience.update", obj=audience,
              before={k: before[k] for k in changed}, after=changed)
    return audience


def archive_audience(*, session: Session, territory: Territory, audience: Audience, actor: Actor) -> Audience:
    """Archive a custom audience: it leaves the lists, its history stays. Commits: no.

    :raise Conflict: for a built-in audience (they can be edited, never removed).
    """
    if audience.builtin:
        raise Conflict(_("Les publics intégrés (investisseurs, touristes, nouveaux habitants) ne peuvent pas "
                         "être supprimés ; modifiez plutôt leur ciblage."))
    return _set_archived(session=session, territory=territory, audience=audience, archived=True, actor=actor)


def restore_audience(*, session: Session, territory: Territory, audience: Audience, actor: Actor) -> Audience:
    """Bring an archived audience back into the lists. Commits: no."""
    return _set_archived(session=session, territory=territory, audience=audience, archived=False, actor=actor)


def _set_archived(*, session: Session, territory: Territory, audience: Audience, archived: bool,
                  actor: Actor) -> Audience:
    if audience.archived == archived:
        return audience
    audience.archived = archived
    session.add(audience)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor,
          action="audience.archive" if archived else "audience.restore", obj=audience,
          before={"archived": not archived}, after={"archived": archived})
    return audience


# ------------------------------------------------------------------------- Graph API search


SEARCH_KINDS = ("interest", "country", "region", "city")


def search_targeting(*, client: FacebookClient, kind: str, q: str, limit: int = 15) -> list[dict[str, Any]]:
    """Interests or places matching `q`, as `{"id", "name", "detail"}` rows. Calls Facebook: read.

    :raise ValueError: for an unknown kind. Facebook errors propagate (the caller explains them).
    """
    if kind not in SEARCH_KINDS:
        raise ValueError(f"unknown search kind {kind!r}")
    q = q.strip()[:100]
    if len(q) < 2:
        return []
    if kind == "interest":
        rows = client.search_interests(q, limit=limit)
        return [{"id": str(r.get("id")), "name": r.get("name", ""), "detail": " › ".join(r.get("path") or [])}
                for r in rows if r.get("id")]
    rows = client.search_locations(q, (kind,), limit=limit)
    out = []
    for r in rows:
        if r.get("type", kind) != kind or not r.get("key"):
            continue
        detail = ", ".join(str(v) for v in (r.get("region"), r.get("country_name") or r.get("country_code")) if v)
        out.append({"id": str(r["key"]), "name": r.get("name", ""), "detail": detail})
    return out
