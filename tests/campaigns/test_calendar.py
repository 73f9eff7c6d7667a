"""The calendar: week and month views across tracks, filters in the URL, rescheduling, the iCalendar feed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from icalendar import Calendar
from sqlmodel import select

from accounts.models import AuditEvent, Role
from campaigns.models import PostStatus
from tests.campaigns.builders import make_campaign, make_post, text_of
from tests.conftest import make_territory, make_user

NOW = datetime(2030, 2, 25, 8, 0, tzinfo=UTC)  # a Monday


def _world(session):  # noqa: ANN001, ANN202
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    tram, tracks = make_campaign(session, territory, name="Tramway")
    summer, summer_tracks = make_campaign(session, territory, name="Été", shares={"tourists": 5000})
    posts = {
        "planned": make_post(session, tracks["investors"], "Parc d'activités à 18 minutes",
                             datetime(2030, 2, 26, 9, 0, tzinfo=UTC), PostStatus.SCHEDULED),
        "published": make_post(session, tracks["tourists"], "Balades en tramway", None, PostStatus.PUBLISHED,
                               published_at=datetime(2030, 2, 27, 16, 0, tzinfo=UTC)),
        "failed": make_post(session, tracks["residents"], "Écoles et crèches", datetime(2030, 2, 28, 7, 0, tzinfo=UTC),
                            PostStatus.FAILED, failure_reason="Jeton expiré"),
        "summer": make_post(session, summer_tracks["tourists"], "Plages de la Rive",
                            datetime(2030, 3, 1, 10, 0, tzinfo=UTC), PostStatus.APPROVED),
        "march": make_post(session, tracks["investors"], "Foncier disponible", datetime(2030, 3, 20, 9, 0, tzinfo=UTC)),
    }
    return territory, tram, summer, tracks, posts


def test_week_view_shows_planned_published_and_failed_posts(client, auth, session, clock) -> None:  # noqa: ANN001
    """The week lists every track's posts by day in the territory's time; a failure shows its reason."""
    clock.freeze(NOW)
    _territory, _tram, _summer, _tracks, _posts = _world(session)
    auth.login("admin@valrive.test")
    page = text_of(client.get("/t/valrive/campaigns/calendar?date=2030-02-26"))
    for text in ("Parc d'activités à 18 minutes", "Balades en tramway", "Écoles et crèches", "Plages de la Rive"):
        assert text in page
    assert "Foncier disponible" not in page
    assert "10:00 — Investisseurs" in page  # 09:00 UTC is 10:00 in Paris
    assert "Raison : Jeton expiré" in page and "Publiée" in page and "Échec" in page


def test_filters_and_month_view_live_in_the_url(client, auth, session, clock) -> None:  # noqa: ANN001
    """Campaign and audience filters narrow the view; the month view covers the whole month."""
    clock.freeze(NOW)
    _territory, tram, summer, tracks, _posts = _world(session)
    auth.login("admin@valrive.test")
    only_summer = text_of(client.get(f"/t/valrive/campaigns/calendar?date=2030-02-26&campaign={summer.id}"))
    assert "Plages de la Rive" in only_summer and "Balades en tramway" not in only_summer
    one_track = text_of(client.get(f"/t/valrive/campaigns/calendar?date=2030-02-26&track={tracks['tourists'].id}"))
    assert "Balades en tramway" in one_track and "Plages de la Rive" not in one_track
    investors = tracks["investors"].audience_id
    month = text_of(client.get(f"/t/valrive/campaigns/calendar?view=month&date=2030-03-05&audience={investors}"))
    assert "Foncier disponible" in month and "Parc d'activités" in month and "Balades en tramway" not in month
    assert f"campaign={tram.id}" not in month and f"audience={investors}" in month  # links keep the filters
    assert client.get("/t/valrive/campaigns/calendar?date=demain").status_code == 400


def test_reschedule_in_the_territory_time_zone(client, auth, session, clock) -> None:  # noqa: ANN001
    """A new date typed in Paris time is stored in UTC and audited; a published post keeps its date."""
    clock.freeze(NOW)
    _territory, _tram, _summer, _tracks, posts = _world(session)
    auth.login("admin@valrive.test")
    post = posts["planned"]
    assert "Déplacer" in text_of(client.get(f"/t/valrive/campaigns/posts/{post.id}"))
    response = auth.post(f"/t/valrive/campaigns/posts/{post.id}/reschedule", {"date": "2030-07-01", "time": "10:30"})
    assert response.status_code == 302
    session.refresh(post)
    assert post.planned_at == datetime(2030, 7, 1, 8, 30, tzinfo=UTC) and post.status == PostStatus.SCHEDULED
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "post.reschedule")).one()
    assert event.actor_label == "admin@valrive.test"
    past = auth.post(f"/t/valrive/campaigns/posts/{post.id}/reschedule", {"date": "2030-01-01", "time": "10:00"},
                     follow_redirects=True)
    assert "Choisissez une date et une heure à venir." in text_of(past)
    published = posts["published"]
    refused = auth.post(f"/t/valrive/campaigns/posts/{published.id}/reschedule",
                        {"date": "2030-07-01", "time": "10:30"}, follow_redirects=True)
    assert "garde sa date" in text_of(refused)
    session.refresh(published)
    assert published.planned_at is None


def test_ical_feed_is_secret_and_shows_only_its_territory(client, auth, session, clock) -> None:  # noqa: ANN001
    """The admin gets the address once; it lists this territory's posts only; a wrong or old token is 404."""
    clock.freeze(NOW)
    territory, _tram, _summer, _tracks, _posts = _world(session)
    other = make_territory(session, "autreville")
    _c, other_tracks = make_campaign(session, other, name="Autre", shares={"tourists": 1000})
    make_post(session, other_tracks["tourists"], "SECRET-AUTREVILLE", datetime(2030, 2, 26, 9, 0, tzinfo=UTC))
    auth.login("admin@valrive.test")
    page = text_of(auth.post("/t/valrive/campaigns/calendar/feed", {"action": "regenerate"}))
    url = re.search(r"http://rayonne\.test(/calendar/[\w-]+\.ics)", page).group(1)
    token = url.removeprefix("/calendar/").removesuffix(".ics")
    session.refresh(territory)
    assert territory.calendar_token_hash and token not in territory.calendar_token_hash
    auth.logout()
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    events = Calendar.from_ical(response.data).walk("VEVENT")
    summaries = sorted(str(e["SUMMARY"]) for e in events)
    assert len(events) == 5 and not any("SECRET-AUTREVILLE" in s for s in summaries)
    assert "ÉCHEC — [Nouveaux habitants] Écoles et crèches" in summaries
    assert client.get("/calendar/not-the-token.ics").status_code == 404
    auth.login("admin@valrive.test")
    auth.post("/t/valrive/campaigns/calendar/feed", {"action": "regenerate"})
    assert client.get(url).status_code == 404
    auth.post("/t/valrive/campaigns/calendar/feed", {"action": "revoke"})
    session.refresh(territory)
    assert territory.calendar_token_hash is None
    actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.action.like("calendar.%")))]
    assert actions == ["calendar.token_create", "calendar.token_regenerate", "calendar.token_revoke"]


def test_ical_feed_speaks_the_territorys_language(client, auth, session, clock) -> None:  # noqa: ANN001
    """The feed's states and labels are in the territory's language, whatever language the calendar app asks for."""
    clock.freeze(NOW)
    territory, _tram, _summer, _tracks, _posts = _world(session)
    territory.locale = "en"
    session.add(territory)
    session.commit()
    auth.login("admin@valrive.test")
    page = text_of(auth.post("/t/valrive/campaigns/calendar/feed", {"action": "regenerate"}))
    url = re.search(r"http://rayonne\.test(/calendar/[\w-]+\.ics)", page).group(1)
    auth.logout()
    response = client.get(url, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    events = {str(e["SUMMARY"]): str(e["DESCRIPTION"]) for e in Calendar.from_ical(response.data).walk("VEVENT")}
    failed = events["FAILED — [Nouveaux habitants] Écoles et crèches"]
    assert "Campaign: Tramway" in failed and "Status: failed" in failed
    assert "Reason for the failure: Jeton expiré" in failed
    assert "Status: scheduled" in events["[Investisseurs] Parc d'activités à 18 minutes"]
    text = response.data.decode().replace("\r\n ", "")  # unfolded
    for french in ("ÉCHEC", "Campagne :", "État :", "Raison de l", "programmée"):
        assert french not in text
