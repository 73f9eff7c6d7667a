"""Audiences: investors, tourists, new residents (built in) and a territory's own publics."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import TerritoryOwned, created_at_field, str_enum


class ResultType(enum.StrEnum):
    """The result that counts for an audience (what a paid post should produce)."""

    LINK_CLICK = "link_click"
    LANDING_PAGE_VIEW = "landing_page_view"
    LEAD = "lead"
    ENGAGEMENT = "post_engagement"
    REACH = "reach"


RESULT_LABELS = {
    ResultType.LINK_CLICK: _l("Clic sur le lien"),
    ResultType.LANDING_PAGE_VIEW: _l("Vue de la page de destination"),
    ResultType.LEAD: _l("Contact (prospect)"),
    ResultType.ENGAGEMENT: _l("Interaction avec la publication"),
    ResultType.REACH: _l("Personne touchée"),
}


def result_label(value: ResultType | str | None) -> str:
    """What a result type is called on screen, in CSV and in reports (the reader's language)."""
    try:
        return str(RESULT_LABELS[ResultType(value)])
    except ValueError:
        return "" if value is None else str(value)


class SpecialAdCategory(enum.StrEnum):
    NONE = "NONE"
    HOUSING = "HOUSING"
    EMPLOYMENT = "EMPLOYMENT"
    FINANCIAL_PRODUCTS_SERVICES = "FINANCIAL_PRODUCTS_SERVICES"


BUILTIN_AUDIENCES = ("investors", "tourists", "residents")

# Facebook's limits for a targeting preset (see shared/facebook-api.md, "Targeting spec").
AGE_MIN, AGE_MAX = 13, 65
CITY_RADIUS_KM = (17, 80)  # Marketing API: a city radius is 17 to 80 km (10 to 50 miles)
MAX_CITIES, MAX_REGIONS = 250, 200


class GeoRef(SQLModel):
    """A region (or any keyed location) as the Graph API's location search returns it."""

    key: str = Field(min_length=1, max_length=40)
    name: str = Field(default="", max_length=120)


class CityRef(GeoRef):
    """A city with the radius around it, in kilometres."""

    radius: int = Field(default=25, ge=CITY_RADIUS_KM[0], le=CITY_RADIUS_KM[1])
    distance_unit: Literal["kilometer"] = "kilometer"


class InterestRef(SQLModel):
    id: str = Field(min_length=1, max_length=40)
    name: str = Field(default="", max_length=120)


class Targeting(SQLModel):
    """An audience's Facebook targeting preset, stored as JSON on the audience.

    Cross-field rules (age_min <= age_max, at least one place, list sizes) live in `targets.services`.
    """

    countries: list[str] = Field(default_factory=list)
    regions: list[GeoRef] = Field(default_factory=list)
    cities: list[CityRef] = Field(default_factory=list)
    age_min: int | None = Field(default=None, ge=AGE_MIN, le=AGE_MAX)
    age_max: int | None = Field(default=None, ge=AGE_MIN, le=AGE_MAX)
    interests: list[InterestRef] = Field(default_factory=list)


class AudienceBase(SQLModel):
    name: str = Field(min_length=2, max_length=80)
    description: str = Field(default="", max_length=2000)
    # Facebook targeting preset: {"countries": [...], "regions": [...], "cities": [{key, name, radius}],
    # "age_min": 25, "age_max": 55, "interests": [{id, name}]}
    targeting: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    result_type: ResultType = Field(default=ResultType.LINK_CLICK, sa_type=str_enum(ResultType))
    # What the territory considers one result worth, in minor units, and how it chose that value.
    result_value_minor: int = Field(default=0, ge=0)
    value_note: str = Field(default="", max_length=1000)
    special_ad_category: SpecialAdCategory = Field(default=SpecialAdCategory.NONE, sa_type=str_enum(SpecialAdCategory))


class Audience(AudienceBase, TerritoryOwned, table=True):
    """A public the territory addresses, with its targeting and the value of one result."""

    __table_args__ = (UniqueConstraint("territory_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40)  # "investors", "tourists", "residents" or a custom slug
    builtin: bool = False
    archived: bool = False
    created_at: datetime = created_at_field()


class AudienceCreate(AudienceBase):
    key: str = Field(min_length=2, max_length=40, schema_extra={"pattern": r"^[a-z0-9][a-z0-9-]*$"})
    targeting: Targeting = Field(default_factory=Targeting)  # type: ignore[assignment]


class AudienceUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=2, max_length=80)
    description: str | None = Field(default=None, max_length=2000)
    targeting: Targeting | None = None
    result_type: ResultType | None = None
    result_value_minor: int | None = Field(default=None, ge=0)
    value_note: str | None = Field(default=None, max_length=1000)
    special_ad_category: SpecialAdCategory | None = None


class AudienceRead(AudienceBase):
    id: int
    key: str
    builtin: bool
    archived: bool = False
