"""Guardrails before a boost goes to Facebook: electoral and social-issue wording, elected officials,
pre-electoral periods, housing offers, and the EU rules (DSA beneficiary/payor).

Since 6 October 2025 Meta refuses political, electoral and social-issue ads in the EU, and in the six
months before an election a local authority's communication must not turn into campaigning
(facebook-api.md §7). Rayonne therefore *warns* before a boost whose post names an elected official or
uses sensitive wording, and *blocks* boosts during a declared pre-electoral period.

`campaigns.electoral` is the one place that knows elections, elected officials and electoral wording;
this module uses it and adds what it does not cover: social-issue word lists per language (editable per
territory) that Meta's review reacts to, and housing offers (Meta's HOUSING special ad category).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlmodel import Session, select

from accounts.models import Territory
from accounts.services import Actor, audit
from campaigns import electoral
from core.db import utc_now
from sponsored.models import SensitiveWordList
from targets.models import Audience, SpecialAdCategory

logger = logging.getLogger(__name__)

#: The EU member states: ads targeting any of them must carry the DSA beneficiary and payor.
EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
LANGUAGES = ("fr", "en")

#: Default social-issue wording per language (compared without accents, whole words; a trailing ``*``
#: matches any ending). A territory can replace a list with its own. Electoral wording and elected
#: officials are `campaigns.electoral`'s lists.
DEFAULT_SENSITIVE_WORDS: dict[str, list[str]] = {
    "fr": [
        "immigration", "immigré*", "migrant*", "réfugié*", "sans-papiers", "politique du logement", "mal-logement",
        "avortement", "IVG", "laïcité", "retraites", "syndicat*", "grève*", "manifestation*", "réforme*",
        "réchauffement climatique", "transition écologique", "nucléaire", "chasse", "pesticide*", "insécurité",
        "délinquance", "islam*", "religion*", "racisme", "discrimination*",
    ],
    "en": [
        "immigration", "immigrant*", "migrant*", "refugee*", "housing policy", "abortion", "strike*", "union*",
        "climate change", "nuclear", "gun*", "crime", "religion*", "racism", "discrimination",
    ],
}

#: Wording of a housing *offer* (rentals, social housing, plots): Meta's HOUSING special ad category.
HOUSING_PATTERNS: dict[str, list[str]] = {
    "fr": [
        "à louer", "à vendre", "location", "loyer*", "logement* social*", "logement* à", "hlm", "appartement*",
        "maison* à", "terrain* à bâtir", "lot à bâtir", "lots à bâtir", "lotissement*", "parcelle*",
        "t1", "t2", "t3", "t4", "t5", "f2", "f3", "f4", "colocation", "bail", "accession à la propriété",
    ],
    "en": ["for rent", "for sale", "apartment*", "flat to let", "rental*", "social housing", "building plot*"],
}


def fold(text: str) -> str:
    """Lower case without accents (so that "Élection" matches "election")."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _pattern(words: list[str]) -> re.Pattern[str] | None:
    parts = []
    for word in words:
        word = fold(word.strip())
        if not word:
            continue
        stem = re.escape(word.rstrip("*"))
        parts.append(stem + (r"\w*" if word.endswith("*") else ""))
    if not parts:
        return None
    return re.compile(r"(?<!\w)(" + "|".join(parts) + r")(?!\w)")


def find_words(text: str, words: list[str]) -> list[str]:
    """The words of ``words`` found in ``text`` (accent- and case-insensitive), sorted, unique."""
    pattern = _pattern(words)
    if pattern is None:
        return []
    return sorted({m.group(0) for m in pattern.finditer(fold(text))})


# ---------------------------------------------------------------------------- word lists


def sensitive_words(*, session: Session, language: str) -> list[str]:
    """The current territory's social-issue words for ``language`` (its own list, else the default)."""
    own = session.exec(select(SensitiveWordList).where(SensitiveWordList.language == language)).first()
    if own is not None:
        return list(own.words)
    return list(DEFAULT_SENSITIVE_WORDS.get(language, []))


def save_sensitive_words(
    *, session: Session, territory: Territory, language: str, words: list[str], actor: Actor
) -> SensitiveWordList:
    """Replace the territory's word list for a language, audited. Commits: no."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    cleaned = sorted({w.strip() for w in words if w.strip()}, key=fold)
    row = session.exec(select(SensitiveWordList).where(SensitiveWordList.language == language)).first()
    before = None if row is None else {"words": ", ".join(row.words)}
    if row is None:
        row = SensitiveWordList(territory_id=territory.id, language=language)
    row.words = cleaned
    row.updated_by_label = actor.label
    row.updated_at = utc_now()
    session.add(row)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="compliance.words", obj=row,
          before=before, after={"language": language, "words": ", ".join(cleaned)})
    return row


# ---------------------------------------------------------------------------- the check


@dataclass
class ComplianceResult:
    """What the guardrails found: warnings to acknowledge, and a blocking reason (or ``None``)."""

    warnings: list[str] = field(default_factory=list)
    blocked: str | None = None
    housing_offer: bool = False


def in_pre_electoral_period(*, session: Session, territory: Territory, at: datetime) -> bool:
    """True when ``at`` falls in the territory's pre-electoral period (see `campaigns.electoral`)."""
    return electoral.in_pre_electoral_period(territory, at)


def check_post(
    *, session: Session, territory: Territory, text: str, audience: Audience, at: datetime | None = None
) -> ComplianceResult:
    """Run every guardrail on a post's text for a boost to ``audience``. Calls Facebook: no."""
    at = at or utc_now()
    result = ComplianceResult()
    if in_pre_electoral_period(session=session, territory=territory, at=at):
        result.blocked = _(
            "Période préélectorale : les publications sponsorisées sont suspendues jusqu'à l'élection du "
            "%(day)s (communication institutionnelle uniquement, sans achat d'espace).",
            day=territory.election_date.strftime("%d/%m/%Y") if territory.election_date else "—",
        )
    # Names and electoral wording matter at any date for a boost: Meta refuses political ads in the EU
    # all year round, not only before an election (so `find_reasons`, not the period-bound `check_text`).
    for reason in electoral.find_reasons(session=session, territory=territory, text=text):
        result.warnings.append(_("À vérifier — %(reason)s. Meta refuse les publicités politiques et électorales "
                                 "dans l'Union européenne : l'annonce risque d'être rejetée.", reason=reason))
    found = sorted({w for lang in LANGUAGES for w in find_words(text, sensitive_words(session=session,
                                                                                    language=lang))})
    if found:
        result.warnings.append(_(
            "Vocabulaire de société (%(words)s) : Meta refuse les publicités sur des sujets de société dans "
            "l'Union européenne, l'annonce risque d'être rejetée.", words=", ".join(found)))
    housing = sorted({w for lang in LANGUAGES for w in find_words(text, HOUSING_PATTERNS[lang])})
    if housing:
        result.housing_offer = True
        if audience.special_ad_category != SpecialAdCategory.HOUSING:
            result.warnings.append(_(
                "Le message ressemble à une offre de logement (%(words)s) : elle relève de la catégorie "
                "spéciale « Logement » de Meta (ciblage restreint). Déclarez cette catégorie sur le public "
                "« %(audience)s » ou retirez l'offre du message.", words=", ".join(housing), audience=audience.name))
    if audience.special_ad_category not in (SpecialAdCategory.NONE, None):
        result.warnings.append(_(
            "Catégorie spéciale %(category)s : Meta interdit le ciblage par âge et impose un rayon d'au moins "
            "15 km ; Rayonne adapte le ciblage en conséquence.", category=audience.special_ad_category.value))
    return result


def targets_eu(preset: dict[str, Any]) -> bool:
    """Whether a targeting preset reaches the EU (regions and cities count as EU: Rayonne's territories
    are French; when in doubt the DSA fields are required)."""
    countries = {str(c).upper() for c in preset.get("countries") or []}
    return bool(countries & EU_COUNTRIES) or bool(preset.get("regions")) or bool(preset.get("cities"))
