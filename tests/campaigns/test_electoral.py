"""Pre-electoral period: the dates, the names and words that flag a post, the manager's confirmation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from accounts.models import AuditEvent, Role
from accounts.services import Actor
from campaigns import electoral, workflow
from campaigns.models import (
    Campaign,
    ContentTrack,
    ElectedOfficial,
    ElectedOfficialCreate,
    ElectoralTerm,
    Post,
    PostStatus,
)
from core import clock as rayonne_clock
from core.db import scoped
from core.errors import Conflict
from targets.models import Audience
from tests.conftest import make_territory, make_user

MANAGER = Actor(label="manager@valrive.test")


def make_post(session, territory, message: str, status: PostStatus = PostStatus.DRAFT, **fields) -> Post:  # noqa: ANN001, ANN003
    audience = session.exec(select(Audience).where(Audience.territory_id == territory.id,
                                                   Audience.key == "investors")).one()
    campaign = Campaign(territory_id=territory.id, name="Parc des Saules", starts_on=date(2027, 3, 1),
                        ends_on=date(2027, 5, 31))
    session.add(campaign)
    session.flush()
    track = ContentTrack(territory_id=territory.id, campaign_id=campaign.id, audience_id=audience.id)
    session.add(track)
    session.flush()
    post = Post(territory_id=territory.id, track_id=track.id, message=message, status=status, **fields)
    session.add(post)
    session.commit()
    return post


@pytest.fixture
def valrive(session):  # noqa: ANN001, ANN201
    """A territory voting in 30 days, with two elected officials on its list."""
    election = (rayonne_clock.now() + timedelta(days=30)).date()
    territory = make_territory(session, "valrive", "Valrive", election_date=election)
    session.add_all([ElectedOfficial(territory_id=territory.id, name="Claire Dumont", office="Maire"),
                     ElectedOfficial(territory_id=territory.id, name="Paul Verdier", office="Adjoint")])
    session.commit()
    make_user(session, "manager@valrive.test", territory, Role.MANAGER)
    make_user(session, "editor@valrive.test", territory, Role.EDITOR)
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    return territory


# ---------------------------------------------------------------------------------- the period


@pytest.mark.parametrize(("moment", "inside"), [
    (datetime(2031, 8, 31, 21, 59, tzinfo=UTC), False),   # 31 August, 23:59 in Paris
    (datetime(2031, 8, 31, 22, 1, tzinfo=UTC), True),     # 1 September, 00:01 in Paris
    (datetime(2032, 3, 14, 18, 0, tzinfo=UTC), True),     # election day
    (datetime(2032, 3, 15, 8, 0, tzinfo=UTC), False),     # the day after
])
def test_period_starts_on_the_first_day_of_the_sixth_month_before(app_ctx, session, moment, inside) -> None:  # noqa: ANN001
    """For an election on 14 March 2032 the period runs from 1 September 2031 (Paris time) to election day."""
    territory = make_territory(session, "valrive", election_date=date(2032, 3, 14))
    assert electoral.period_of(territory) == (date(2031, 9, 1), date(2032, 3, 14))
    assert electoral.in_pre_electoral_period(territory, moment) is inside


def test_no_election_date_no_period(app_ctx, session) -> None:  # noqa: ANN001
    """Without a declared election nothing is ever flagged."""
    territory = make_territory(session, "valrive")
    assert electoral.in_pre_electoral_period(territory, rayonne_clock.now()) is False
    assert electoral.check_text(session, territory, "Votez Claire Dumont !", rayonne_clock.now()) == []


# -------------------------------------------------------------------------------- the texts


def test_names_are_found_whatever_the_case_and_accents(app_ctx, session, valrive) -> None:  # noqa: ANN001
    """A full name or a title before the surname names the official; a common word does not."""
    now = rayonne_clock.now()
    with scoped(session, valrive.id):
        assert electoral.check_text(session, valrive, "Inauguration avec CLAIRE  DUMONT demain", now) == [
            "nomme un élu : Claire Dumont (Maire)"]
        assert electoral.check_text(session, valrive, "Mme Dumont coupera le ruban", now) == [
            "nomme un élu : Claire Dumont (Maire)"]
        assert electoral.check_text(session, valrive, "Le parc des Dumontais s'agrandit", now) == []
        assert electoral.check_text(session, valrive, "Une forêt de verdiers", now) == []


def test_electoral_wording_in_french_and_english(app_ctx, session, valrive) -> None:  # noqa: ANN001
    """Built-in words are found in either language, accents ignored; votre/voter are not confused."""
    now = rayonne_clock.now()
    with scoped(session, valrive.id):
        assert electoral.check_text(session, valrive, "Votre avis compte", now) == []
        [reason] = electoral.check_text(session, valrive, "Le bilan de mandat : VOTEZ le 14 !", now)
        assert "« bilan de mandat »" in reason and "« votez »" in reason
        [reason] = electoral.check_text(session, valrive, "Before the election, meet us", now)
        assert "« election »" in reason
        assert electoral.check_text(session, valrive, "Reelection campaign", now - timedelta(days=400)) == []


def test_territory_wording_replaces_the_built_in_list(app_ctx, session, valrive) -> None:  # noqa: ANN001
    """A territory's own list is used instead of the built-in one; an empty list brings it back."""
    now = rayonne_clock.now()
    with scoped(session, valrive.id):
        electoral.set_terms(session=session, territory=valrive, text="programme\nplébiscite\n\nprogramme",
                            actor=MANAGER)
        assert electoral.terms(session=session, territory=valrive) == ["plébiscite", "programme"]
        assert electoral.check_text(session, valrive, "Votez !", now) == []
        assert electoral.check_text(session, valrive, "Un PLEBISCITE", now) != []
        electoral.set_terms(session=session, territory=valrive, text="", actor=MANAGER)
        assert electoral.terms(session=session, territory=valrive) == list(electoral.DEFAULT_TERMS)


# ------------------------------------------------------------------------------- the workflow


def test_flagged_post_needs_the_managers_explicit_confirmation(client, auth, session, valrive) -> None:  # noqa: ANN001
    """Submitting flags the post; approving without the checkbox is refused, with it the post is approved."""
    post = make_post(session, valrive, "Claire Dumont inaugure le parc d'activités des Saules.")
    auth.login("editor@valrive.test")
    auth.post(f"/t/valrive/campaigns/posts/{post.id}/submit")
    session.expire_all()
    post = session.get(Post, post.id)
    assert post.status == PostStatus.IN_REVIEW and "nomme un élu : Claire Dumont" in post.electoral_flag
    auth.logout()
    auth.login("manager@valrive.test")
    page = client.get(f"/t/valrive/campaigns/posts/{post.id}").get_data(as_text=True)
    assert "Période pré-électorale" in page and 'name="confirm_electoral"' in page
    page = auth.post(f"/t/valrive/campaigns/posts/{post.id}/approve", follow_redirects=True).get_data(as_text=True)
    assert "Cochez la confirmation" in page
    session.expire_all()
    assert session.get(Post, post.id).status == PostStatus.IN_REVIEW
    auth.post(f"/t/valrive/campaigns/posts/{post.id}/approve", {"confirm_electoral": "1"})
    session.expire_all()
    post = session.get(Post, post.id)
    assert post.status == PostStatus.APPROVED and post.electoral_confirmed_by == "manager@valrive.test"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "post.approve")).one()
    assert event.after["electoral_confirmed"] is True


def test_flag_shows_in_the_review_list(client, auth, session, valrive) -> None:  # noqa: ANN001
    """Flagged posts come first in the review list with the flag visible; others have none."""
    make_post(session, valrive, "Nouveau parking relais", status=PostStatus.IN_REVIEW)
    flagged = make_post(session, valrive, "Votez pour le budget participatif", status=PostStatus.IN_REVIEW)
    with scoped(session, valrive.id):
        electoral.refresh_flags(session=session, territory=valrive)
    session.commit()
    auth.login("manager@valrive.test")
    page = client.get("/t/valrive/campaigns/review").get_data(as_text=True)
    assert page.count("flag-electoral") == 1 and "Période pré-électorale" in page
    assert page.index("Votez pour le budget") < page.index("Nouveau parking relais")
    assert f"/posts/{flagged.id}" in page


def test_post_outside_the_period_is_not_flagged(app_ctx, session, valrive) -> None:  # noqa: ANN001
    """A post planned after the election day carries no flag, even if it names an official."""
    post = make_post(session, valrive, "Paul Verdier présente le bilan de mandat",
                     planned_at=rayonne_clock.now() + timedelta(days=60))
    with scoped(session, valrive.id):
        workflow.submit(session=session, territory=valrive, post=post, actor=MANAGER, role=Role.EDITOR)
        assert post.electoral_flag is None
        workflow.approve(session=session, territory=valrive, post=post, actor=MANAGER, role=Role.MANAGER)
        assert post.status == PostStatus.APPROVED and post.electoral_confirmed_by is None


def test_rescheduling_into_the_period_needs_a_new_review(app_ctx, session, valrive) -> None:  # noqa: ANN001
    """An approved post moved into the period, and flagged there, must go back through review."""
    post = make_post(session, valrive, "M. Verdier ouvre la halle", status=PostStatus.APPROVED,
                     planned_at=rayonne_clock.now() + timedelta(days=60))
    with scoped(session, valrive.id), pytest.raises(Conflict) as caught:
        workflow.schedule(session=session, territory=valrive, post=post, actor=MANAGER, role=Role.EDITOR,
                          planned_at=rayonne_clock.now() + timedelta(days=2))
    assert "soumettez-la à nouveau" in caught.value.message


def test_admin_manages_the_list_of_officials(client, auth, session, valrive) -> None:  # noqa: ANN001
    """Admins add and remove officials (audited, open posts re-flagged); other roles may not."""
    post = make_post(session, valrive, "Jeanne Martin visite la pépinière d'entreprises", status=PostStatus.IN_REVIEW)
    auth.login("manager@valrive.test")
    assert client.get("/t/valrive/campaigns/electoral").status_code == 403
    auth.logout()
    auth.login("admin@valrive.test")
    page = client.get("/t/valrive/campaigns/electoral").get_data(as_text=True)
    assert "Claire Dumont" in page and "Paul Verdier" in page and "bilan de mandat" in page
    auth.post("/t/valrive/campaigns/electoral/officials", {"name": "Jeanne Martin", "office": "Conseillère"})
    session.expire_all()
    assert "Jeanne Martin" in session.get(Post, post.id).electoral_flag
    official = session.exec(select(ElectedOfficial).where(ElectedOfficial.name == "Jeanne Martin")).one()
    duplicate = auth.post("/t/valrive/campaigns/electoral/officials", {"name": "jeanne MARTIN"})
    assert duplicate.status_code == 422 and "déjà dans la liste" in duplicate.get_data(as_text=True)
    auth.post(f"/t/valrive/campaigns/electoral/officials/{official.id}/remove")
    session.expire_all()
    assert session.get(Post, post.id).electoral_flag is None
    actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.action.like("electoral.%")))]
    assert actions == ["electoral.official_add", "electoral.official_remove"]


def test_admin_edits_the_wording(client, auth, session, valrive) -> None:  # noqa: ANN001
    """The wording is edited one term per line; a one-letter term is refused beside the field."""
    auth.login("admin@valrive.test")
    bad = auth.post("/t/valrive/campaigns/electoral/terms", {"terms": "élection\nx"})
    assert bad.status_code == 422 and "de 2 à 80 caractères" in bad.get_data(as_text=True)
    auth.post("/t/valrive/campaigns/electoral/terms", {"terms": "élection\nréunion publique"})
    assert sorted(t.term for t in session.exec(select(ElectoralTerm))) == ["réunion publique", "élection"]


def test_officials_input_is_validated(app_ctx) -> None:  # noqa: ANN001
    """A name needs at least two characters."""
    from core.errors import ValidationFailed
    from core.forms import validate

    with pytest.raises(ValidationFailed):
        validate(ElectedOfficialCreate, {"name": "X"})
