"""Built-in reference data of the sandbox: places, interests, currencies, metrics, wording rules.

The ids and keys here are the sandbox's own (numeric strings shaped like Facebook's); they are *not*
Facebook's real targeting keys. Populations are rounded orders of magnitude, enough to size
audiences plausibly.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)

#: Facebook users reachable per country (rounded).
COUNTRIES: dict[str, dict[str, Any]] = {
    "FR": {"name": "France", "people": 41_000_000},
    "BE": {"name": "Belgique", "people": 8_000_000},
    "CH": {"name": "Suisse", "people": 4_500_000},
    "LU": {"name": "Luxembourg", "people": 450_000},
    "DE": {"name": "Allemagne", "people": 42_000_000},
    "ES": {"name": "Espagne", "people": 30_000_000},
    "IT": {"name": "Italie", "people": 33_000_000},
    "NL": {"name": "Pays-Bas", "people": 11_000_000},
    "PT": {"name": "Portugal", "people": 6_500_000},
    "GB": {"name": "Royaume-Uni", "people": 44_000_000},
    "US": {"name": "États-Unis", "people": 240_000_000},
    "CA": {"name": "Canada", "people": 28_000_000},
}

#: French regions: key → (name, people).
REGIONS: dict[str, tuple[str, int]] = {
    "2401": ("Île-de-France", 9_200_000),
    "2402": ("Auvergne-Rhône-Alpes", 6_000_000),
    "2403": ("Provence-Alpes-Côte d'Azur", 3_800_000),
    "2404": ("Occitanie", 4_400_000),
    "2405": ("Nouvelle-Aquitaine", 4_500_000),
    "2406": ("Bretagne", 2_500_000),
    "2407": ("Hauts-de-France", 4_300_000),
    "2408": ("Grand Est", 4_000_000),
    "2409": ("Normandie", 2_400_000),
    "2410": ("Pays de la Loire", 2_800_000),
    "2411": ("Bourgogne-Franche-Comté", 2_000_000),
    "2412": ("Centre-Val de Loire", 1_900_000),
    "2413": ("Corse", 260_000),
}

# key, name, region key, country, people in the city itself
_CITIES: list[tuple[str, str, str, str, int]] = [
    ("2420001", "Paris", "2401", "FR", 2_100_000),
    ("2420002", "Marseille", "2403", "FR", 870_000),
    ("2420003", "Lyon", "2402", "FR", 520_000),
    ("2420004", "Toulouse", "2404", "FR", 500_000),
    ("2420005", "Nice", "2403", "FR", 340_000),
    ("2420006", "Nantes", "2410", "FR", 320_000),
    ("2420007", "Montpellier", "2404", "FR", 300_000),
    ("2420008", "Strasbourg", "2408", "FR", 290_000),
    ("2420009", "Bordeaux", "2405", "FR", 260_000),
    ("2420010", "Lille", "2407", "FR", 235_000),
    ("2420011", "Rennes", "2406", "FR", 222_000),
    ("2420012", "Reims", "2408", "FR", 180_000),
    ("2420013", "Toulon", "2403", "FR", 180_000),
    ("2420014", "Saint-Étienne", "2402", "FR", 173_000),
    ("2420015", "Le Havre", "2409", "FR", 168_000),
    ("2420016", "Grenoble", "2402", "FR", 158_000),
    ("2420017", "Dijon", "2411", "FR", 159_000),
    ("2420018", "Angers", "2410", "FR", 157_000),
    ("2420019", "Nîmes", "2404", "FR", 148_000),
    ("2420020", "Clermont-Ferrand", "2402", "FR", 147_000),
    ("2420021", "Aix-en-Provence", "2403", "FR", 145_000),
    ("2420022", "Brest", "2406", "FR", 139_000),
    ("2420023", "Tours", "2412", "FR", 136_000),
    ("2420024", "Amiens", "2407", "FR", 133_000),
    ("2420025", "Limoges", "2405", "FR", 131_000),
    ("2420026", "Annecy", "2402", "FR", 130_000),
    ("2420027", "Perpignan", "2404", "FR", 120_000),
    ("2420028", "Metz", "2408", "FR", 117_000),
    ("2420029", "Besançon", "2411", "FR", 117_000),
    ("2420030", "Orléans", "2412", "FR", 116_000),
    ("2420031", "Rouen", "2409", "FR", 114_000),
    ("2420032", "Caen", "2409", "FR", 106_000),
    ("2420033", "Nancy", "2408", "FR", 104_000),
    ("2420034", "La Rochelle", "2405", "FR", 77_000),
    ("2420035", "Avignon", "2403", "FR", 91_000),
    ("2420036", "Valence", "2402", "FR", 64_000),
    ("2420037", "Chambéry", "2402", "FR", 60_000),
    ("2420038", "Pau", "2405", "FR", 76_000),
    ("2420039", "Bayonne", "2405", "FR", 52_000),
    ("2420040", "Biarritz", "2405", "FR", 25_000),
    ("2420041", "Vannes", "2406", "FR", 54_000),
    ("2420042", "Quimper", "2406", "FR", 63_000),
    ("2420043", "Saint-Malo", "2406", "FR", 47_000),
    ("2420044", "Ajaccio", "2413", "FR", 72_000),
    ("2420045", "Valrive", "2405", "FR", 38_000),
    ("2421001", "Bruxelles", "", "BE", 1_200_000),
    ("2421002", "Genève", "", "CH", 200_000),
    ("2421003", "Lausanne", "", "CH", 140_000),
    ("2421004", "Barcelona", "", "ES", 1_600_000),
    ("2421005", "Milano", "", "IT", 1_350_000),
    ("2421006", "München", "", "DE", 1_500_000),
    ("2421007", "London", "", "GB", 8_800_000),
]
CITIES: dict[str, dict[str, Any]] = {
    key: {"key": key, "name": name, "region_id": region, "country_code": country, "people": people}
    for key, name, region, country, people in _CITIES
}

#: Interests: id → (name, topic, audience size). Ids are the sandbox's own.
INTERESTS: dict[str, tuple[str, str, int]] = {
    "6003100000001": ("Tourism", "Travel", 620_000_000),
    "6003100000002": ("Travel", "Travel", 1_100_000_000),
    "6003100000003": ("Hiking", "Sports and outdoors", 210_000_000),
    "6003100000004": ("Beaches", "Travel", 330_000_000),
    "6003100000005": ("Wine", "Food and drink", 260_000_000),
    "6003100000006": ("Gastronomy", "Food and drink", 140_000_000),
    "6003100000007": ("Cycling", "Sports and outdoors", 250_000_000),
    "6003100000008": ("Camping", "Travel", 150_000_000),
    "6003100000009": ("Museums", "Arts and culture", 180_000_000),
    "6003100000010": ("Festivals", "Entertainment", 310_000_000),
    "6003100000011": ("Heritage", "Arts and culture", 90_000_000),
    "6003100000012": ("Entrepreneurship", "Business and industry", 400_000_000),
    "6003100000013": ("Small business", "Business and industry", 520_000_000),
    "6003100000014": ("Startup company", "Business and industry", 120_000_000),
    "6003100000015": ("Investment", "Business and industry", 360_000_000),
    "6003100000016": ("Real estate", "Business and industry", 380_000_000),
    "6003100000017": ("Remote work", "Business and industry", 60_000_000),
    "6003100000018": ("Family", "Family and relationships", 900_000_000),
    "6003100000019": ("Parenting", "Family and relationships", 420_000_000),
    "6003100000020": ("Education", "Education", 600_000_000),
    "6003100000021": ("Gardening", "Hobbies and activities", 230_000_000),
    "6003100000022": ("Nature", "Hobbies and activities", 500_000_000),
    "6003100000023": ("Skiing", "Sports and outdoors", 70_000_000),
    "6003100000024": ("Surfing", "Sports and outdoors", 50_000_000),
    "6003100000025": ("Local food", "Food and drink", 80_000_000),
}

#: Facebook's currency offsets (minor units per major unit) and a rough rate to EUR for CPMs.
CURRENCY_OFFSET = {"EUR": 100, "USD": 100, "GBP": 100, "CHF": 100, "CAD": 100, "JPY": 1, "HUF": 1}
CURRENCY_PER_EUR = {"EUR": 1.0, "USD": 1.1, "GBP": 0.85, "CHF": 0.95, "CAD": 1.5, "JPY": 160.0, "HUF": 390.0}
#: Minimum daily budgets in EUR cents; converted per account currency (``GET /act_x/minimum_budgets``).
MIN_BUDGETS_EUR_CENTS = {
    "min_daily_budget_imp": 100,
    "min_daily_budget_video_views": 100,
    "min_daily_budget_high_freq": 500,
    "min_daily_budget_low_freq": 4000,
}

OBJECTIVES = frozenset(
    {
        "OUTCOME_AWARENESS",
        "OUTCOME_TRAFFIC",
        "OUTCOME_ENGAGEMENT",
        "OUTCOME_LEADS",
        "OUTCOME_SALES",
        "OUTCOME_APP_PROMOTION",
    }
)
LEGACY_OBJECTIVES = frozenset(
    {
        "REACH",
        "POST_ENGAGEMENT",
        "LINK_CLICKS",
        "BRAND_AWARENESS",
        "CONVERSIONS",
        "VIDEO_VIEWS",
        "LEAD_GENERATION",
    }
)
OPTIMIZATION_GOALS = {
    "OUTCOME_AWARENESS": {"REACH", "IMPRESSIONS", "AD_RECALL_LIFT", "THRUPLAY"},
    "OUTCOME_TRAFFIC": {"LINK_CLICKS", "LANDING_PAGE_VIEWS", "REACH", "IMPRESSIONS"},
    "OUTCOME_ENGAGEMENT": {"POST_ENGAGEMENT", "IMPRESSIONS", "REACH", "THRUPLAY", "LINK_CLICKS"},
    "OUTCOME_LEADS": {"LEAD_GENERATION", "LINK_CLICKS", "QUALITY_LEAD"},
    "OUTCOME_SALES": {"OFFSITE_CONVERSIONS", "LINK_CLICKS", "VALUE"},
    "OUTCOME_APP_PROMOTION": {"APP_INSTALLS", "LINK_CLICKS"},
}
BILLING_EVENTS = frozenset({"IMPRESSIONS", "LINK_CLICKS", "THRUPLAY", "POST_ENGAGEMENT"})
SPECIAL_AD_CATEGORIES = frozenset(
    {
        "NONE",
        "HOUSING",
        "EMPLOYMENT",
        "FINANCIAL_PRODUCTS_SERVICES",
        "ISSUES_ELECTIONS_POLITICS",
        "ONLINE_GAMBLING_AND_GAMING",
    }
)
STATUSES = ("ACTIVE", "PAUSED", "DELETED", "ARCHIVED")

#: Metrics removed by Meta in 2024–2026 (facebook-api.md §4.1): asking for one fails the whole call.
REMOVED_METRICS = frozenset(
    {
        "page_engaged_users",
        "page_consumptions",
        "page_consumptions_unique",
        "page_impressions",
        "page_impressions_unique",
        "page_impressions_paid",
        "page_impressions_paid_unique",
        "page_impressions_organic_v2",
        "page_impressions_organic_unique_v2",
        "page_impressions_viral",
        "page_impressions_viral_unique",
        "page_impressions_nonviral",
        "page_impressions_nonviral_unique",
        "page_posts_impressions",
        "page_posts_impressions_unique",
        "page_posts_impressions_paid",
        "page_posts_impressions_paid_unique",
        "page_posts_impressions_organic_unique",
        "page_video_views_unique",
        "page_fans",
        "page_fans_city",
        "page_fans_country",
        "page_fans_locale",
        "page_fan_adds",
        "page_fan_adds_unique",
        "page_fan_removes",
        "page_fan_removes_unique",
        "post_impressions",
        "post_impressions_unique",
        "post_impressions_paid",
        "post_impressions_paid_unique",
        "post_impressions_organic",
        "post_impressions_organic_unique",
        "post_impressions_fan",
        "post_impressions_fan_unique",
        "post_impressions_viral",
        "post_impressions_viral_unique",
        "post_impressions_nonviral",
        "post_impressions_nonviral_unique",
    }
)
PAGE_METRICS = {
    "page_follows": "Page followers",
    "page_daily_follows_unique": "Daily new followers",
    "page_media_view": "Daily Views",
    "page_total_media_view_unique": "Daily Page Viewers",
    "page_post_engagements": "Daily Post Engagements",
}
POST_METRICS = {
    "post_total_media_view_unique": "Lifetime Post Total Viewers",
    "post_media_view": "Lifetime Post Views",
    "post_clicks": "Lifetime Post Clicks",
    "post_reactions_by_type_total": "Lifetime Total post Reactions by Type",
}
BREAKDOWN_METRICS = frozenset({"page_media_view", "post_media_view"})

#: Social-issue / electoral wording that the sandbox's ad review refuses (after accent folding).
SENSITIVE_WORDING = re.compile(
    r"\b(elections?|electora\w*|electeurs?|electrices?|votes?|votez|voter|candidat\w*|candidates?|"
    r"immigration|immigres?|migrants?|referendums?|scrutins?|municipales|legislatives|presidentielles?)\b"
)


def fold(text: str) -> str:
    """Lower-case and strip accents: "Élection" → "election"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def sensitive_terms(text: str) -> list[str]:
    """The social-issue/electoral words found in ``text`` (empty when the text is fine)."""
    return sorted({m.group(0) for m in SENSITIVE_WORDING.finditer(fold(text))})


def location_countries(geo: dict[str, Any]) -> set[str]:
    """Every country a ``geo_locations`` spec touches."""
    countries = {str(c).upper() for c in geo.get("countries") or []}
    for city in geo.get("cities") or []:
        key = str(city.get("key")) if isinstance(city, dict) else str(city)
        if key in CITIES:
            countries.add(CITIES[key]["country_code"])
    if geo.get("regions"):
        countries.add("FR")
    for zip_code in geo.get("zips") or []:
        key = str(zip_code.get("key") if isinstance(zip_code, dict) else zip_code)
        countries.add(key.split(":")[0].upper() if ":" in key else "FR")
    return countries


def audience_size(targeting: dict[str, Any]) -> int:
    """People an ad set's targeting can reach: geography × age span × interests."""
    geo = targeting.get("geo_locations") or {}
    people = 0.0
    for code in geo.get("countries") or []:
        people += COUNTRIES.get(str(code).upper(), {"people": 5_000_000})["people"]
    for region in geo.get("regions") or []:
        key = str(region.get("key")) if isinstance(region, dict) else str(region)
        people += REGIONS.get(key, ("", 1_000_000))[1]
    for city in geo.get("cities") or []:
        key = str(city.get("key")) if isinstance(city, dict) else str(city)
        radius = float(city.get("radius", 0) or 0) if isinstance(city, dict) else 0.0
        if isinstance(city, dict) and city.get("distance_unit") == "mile":
            radius *= 1.609
        base = CITIES.get(key, {"people": 50_000})["people"]
        people += base * (1 + radius / 12)  # the surrounding area grows with the radius
    people += 20_000 * len(geo.get("zips") or [])
    if people <= 0:
        people = 1_000_000
    age_min = max(13, int(targeting.get("age_min") or 18))
    age_max = min(65, int(targeting.get("age_max") or 65))
    people *= max(1, age_max - age_min + 1) / 48  # 18–65 is the reference span
    for group in targeting.get("flexible_spec") or []:
        if isinstance(group, dict) and group.get("interests"):
            people *= min(0.6, 0.15 * len(group["interests"]))
    if targeting.get("genders") and len(targeting["genders"]) == 1:
        people *= 0.5
    return max(1000, int(people * 0.8))  # 80 % of those people use Facebook in a month


def cpm_eur(audience: int) -> float:
    """Base CPM in euros: small, precise audiences cost more per thousand impressions."""
    return 2.5 + 12.0 / math.log10(max(audience, 1000))
