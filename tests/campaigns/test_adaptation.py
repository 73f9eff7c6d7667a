"""Posts adapted for each public versus copied from the website: the figure the dashboard shows."""

from __future__ import annotations

from datetime import UTC, date, datetime

from campaigns.models import PostStatus
from campaigns.services import adaptation_share
from core.db import scoped
from tests.campaigns.builders import make_campaign, make_post
from tests.conftest import make_territory


def test_counts_per_audience_published_in_the_period(session) -> None:  # noqa: ANN001
    """Per audience: adapted and copied posts published in [since, until); other territories never count."""
    territory = make_territory(session, "valrive")
    _c, tracks = make_campaign(session, territory)
    march = datetime(2030, 3, 10, 9, 0, tzinfo=UTC)
    for copied in (True, False, False):
        make_post(session, tracks["tourists"], status=PostStatus.PUBLISHED, published_at=march,
                  copied_from_website=copied)
    make_post(session, tracks["investors"], status=PostStatus.PUBLISHED, published_at=march, copied_from_website=True)
    make_post(session, tracks["investors"], status=PostStatus.PUBLISHED, copied_from_website=True,
              published_at=datetime(2030, 4, 2, tzinfo=UTC))  # after the period
    make_post(session, tracks["residents"], planned_at=march, copied_from_website=True)  # a draft
    other = make_territory(session, "autreville")
    _o, other_tracks = make_campaign(session, other, name="Autre")
    make_post(session, other_tracks["tourists"], status=PostStatus.PUBLISHED, published_at=march)
    with scoped(session, territory.id):
        rows = {r.audience.key: (r.adapted, r.copied) for r in adaptation_share(
            session, date(2030, 3, 1), date(2030, 4, 1))}
        planned = {r.audience.key: (r.adapted, r.copied) for r in adaptation_share(
            session=session, since=date(2030, 3, 1), until=date(2030, 4, 1), published_only=False)}
        tourists = next(r for r in adaptation_share(session, date(2030, 3, 1), date(2030, 4, 1))
                        if r.audience.key == "tourists")
    assert rows == {"investors": (0, 1), "tourists": (2, 1), "residents": (0, 0)}
    assert planned["residents"] == (0, 1)
    assert tourists.copied_share == 1 / 3
