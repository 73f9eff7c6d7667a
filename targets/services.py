"""Rules for audiences. Functions flush, never commit."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlmodel import Session, select

from accounts.models import Territory
from accounts.services import Actor, audit
from core.errors import Conflict
from targets.models import Audience, AudienceCreate, ResultType

# The three publics every territory competes for, with sensible starting presets that the
# territory then edits: France and neighbouring markets, adult ages, a typical result and value.
BUILTIN_PRESETS: dict[str, dict] = {
    "investors": {
        "name": "Investisseurs",
        "description": "Dirigeants, porteurs de projet et développeurs économiques : emplois, foncier, "
        "filières, accompagnement à l'implantation.",
        "targeting": {"countries": ["FR", "BE", "DE", "CH"], "age_min": 30, "age_max": 64,
                      "interests": [{"id": "6003371567474", "name": "Entrepreneuriat"}]},
        "result_type": ResultType.LANDING_PAGE_VIEW,
        "result_value_minor": 1500,
        "value_note": "Valeur de départ : coût moyen d'un contact qualifié par le salon immobilier d'entreprise, "
        "divisé par le taux de contact des visites de la page implantation (à ajuster).",
    },
    "tourists": {
        "name": "Touristes",
        "description": "Visiteurs de courts séjours et de vacances : sites, événements, hébergements.",
        "targeting": {"countries": ["FR", "BE", "NL", "DE"], "age_min": 25, "age_max": 65,
                      "interests": [{"id": "6003430696269", "name": "Voyage"}]},
        "result_type": ResultType.LINK_CLICK,
        "result_value_minor": 200,
        "value_note": "Valeur de départ : dépense touristique moyenne par visite de l'office de tourisme "
        "attribuée à une visite du site web (à ajuster).",
    },
    "residents": {
        "name": "Nouveaux habitants",
        "description": "Familles et actifs qui envisagent de s'installer : écoles, transports, logement, "
        "qualité de vie.",
        "targeting": {"countries": ["FR"], "age_min": 25, "age_max": 45, "interests": []},
        "result_type": ResultType.LEAD,
        "result_value_minor": 4000,
        "value_note": "Valeur de départ : coût d'un contact du guichet d'accueil des nouveaux arrivants (à ajuster).",
    },
}


def ensure_builtin_audiences(*, session: Session, territory: Territory) -> list[Audience]:
    """Create the three built-in audiences if missing (idempotent). Commits: no."""
    existing = {a.key: a for a in session.exec(select(Audience).where(Audience.territory_id == territory.id))}
    created = []
    for key, preset in BUILTIN_PRESETS.items():
        if key in existing:
            continue
        audience = Audience(territory_id=territory.id, key=key, builtin=True, **preset)
        session.add(audience)
        created.append(audience)
    session.flush()
    return created


def create_audience(*, session: Session, territory: Territory, data: AudienceCreate, actor: Actor) -> Audience:
    """Add a territory's own audience. Commits: no. :raise Conflict: if the key exists."""
    if session.exec(select(Audience).where(Audience.key == data.key)).first():
        raise Conflict(_("Un public porte déjà cet identifiant."), field="key")
    audience = Audience.model_validate(data, update={"territory_id": territory.id})
    session.add(audience)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="audience.create", obj=audience,
          after={"key": audience.key, "name": audience.name})
    return audience


def list_audiences(*, session: Session) -> list[Audience]:
    return list(session.exec(select(Audience).where(Audience.archived.is_(False)).order_by(Audience.id)))
