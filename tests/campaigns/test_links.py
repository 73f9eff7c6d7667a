"""UTM tagging of links: one pure function shared by organic posts and boosts."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from campaigns.models import Campaign
from campaigns.services import tag_link, untag_link


def test_tags_are_added_and_other_parameters_kept() -> None:
    """Existing parameters and the fragment stay; utm_source, medium, campaign and content are set."""
    url = tag_link("https://www.valrive.fr/tram?lang=fr&page=2#horaires", campaign="printemps-2030",
                   audience_key="tourists", medium="organic")
    parts = urlsplit(url)
    assert parts.fragment == "horaires" and parts.path == "/tram"
    assert parse_qsl(parts.query) == [("lang", "fr"), ("page", "2"), ("utm_source", "facebook"),
                                      ("utm_medium", "organic"), ("utm_campaign", "printemps-2030"),
                                      ("utm_content", "tourists")]


def test_existing_utm_parameters_are_replaced_and_tagging_twice_changes_nothing() -> None:
    """A link already tagged (by hand or by Rayonne) ends with exactly one set of Rayonne's tags."""
    once = tag_link("https://valrive.fr/?utm_source=newsletter&utm_term=x&id=7", campaign="c",
                    audience_key="investors", medium="paid")
    assert tag_link(once, campaign="c", audience_key="investors", medium="paid") == once
    query = dict(parse_qsl(urlsplit(once).query))
    assert query == {"id": "7", "utm_source": "facebook", "utm_medium": "paid", "utm_campaign": "c",
                     "utm_content": "investors"}
    assert untag_link(once) == "https://valrive.fr/?id=7"


def test_campaign_object_gives_its_slug_and_mediums_are_checked() -> None:
    """A campaign passes its slug (or its name, slugified); a medium other than organic or paid is a bug."""
    campaign = Campaign(territory_id=1, name="Été à Valrive", starts_on="2030-06-01", ends_on="2030-08-31")
    assert "utm_campaign=ete-a-valrive" in tag_link("https://v.fr", campaign=campaign, audience_key="x")
    with pytest.raises(ValueError):
        tag_link("https://v.fr", campaign="c", audience_key="x", medium="email")
