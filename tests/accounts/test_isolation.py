"""Isolation matrix: no territory ever sees or changes another's data, whatever the route or role.

The routes come from the application's URL map, so a new route joins the matrix by itself; a route
with an id argument this file does not know fails `test_every_id_argument_is_known` until its
argument is added to ID_ARGS, and a route outside `/t/<territory>/` must be listed as public.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from flask import Flask, url_for
from sqlmodel import SQLModel, select

from accounts.models import Membership, Role, Territory
from campaigns.models import Campaign, ContentTrack, ElectedOfficial, Post
from core.db import tenant_classes
from core.mail import MailMessage
from reports.models import Report, ReportRecipient, ReportStatus
from scheduler.models import JobRun
from sponsored.models import Boost, BoostStatus
from targets.models import Audience
from tests.conftest import AuthActions, make_territory, make_user

PUBLIC_ENDPOINTS = {
    "static", "accounts.login", "accounts.logout", "accounts.home", "accounts.set_locale",
    "accounts.accept_invitation", "openapi.openapi",
    "calendar_feed.feed",  # secret-token iCalendar feed, tested in tests/campaigns/test_calendar.py
    "approval.link",  # signed single-use approval link, tested in tests/campaigns/test_approvals.py
}
MARKER = "SECRET-ALPHA"


@dataclass
class World:
    alpha: Territory
    beta: Territory
    ids: dict[str, int]


# Each id argument a route may take, and the object of territory Alpha that fills it.
ID_ARGS = {
    "membership_id": "membership",
    "message_id": "mail",
    "campaign_id": "campaign",
    "track_id": "track",
    "post_id": "post",
    "audience_id": "audience",
    "run_id": "run",
    "token_id": "token",
    "report_id": "report",
    "official_id": "official",
    "recipient_id": "recipient",
    "filename": "upload",  # an image name of Alpha: the media route looks only in the URL territory's folder
    "boost_id": "boost",
}


@pytest.fixture
def world(session) -> World:  # noqa: ANN001
    alpha = make_territory(session, "alpha", f"{MARKER} Territory")
    beta = make_territory(session, "beta", "Beta")
    admin_a = make_user(session, "admin@alpha.test", alpha, Role.ADMIN)
    for role in Role:
        make_user(session, f"{role.value}@beta.test", beta, role)
    audience = session.exec(select(Audience).where(Audience.territory_id == alpha.id)).first()
    audience.name = f"{MARKER} audience"
    campaign = Campaign(territory_id=alpha.id, name=f"{MARKER} campaign", starts_on=date(2027, 3, 1),
                        ends_on=date(2027, 5, 31), approved_budget_minor=100000)
    session.add(campaign)
    session.flush()
    track = ContentTrack(territory_id=alpha.id, campaign_id=campaign.id, audience_id=audience.id,
                         budget_share_bp=5000)
    session.add(track)
    session.flush()
    post = Post(territory_id=alpha.id, track_id=track.id, message=f"{MARKER} post")
    mail = MailMessage(territory_id=alpha.id, to_addr="x@alpha.test", subject=f"{MARKER} mail", raw=b"x")
    session.add_all([post, mail])
    session.flush()
    membership = session.exec(select(Membership).where(Membership.user_id == admin_a.id)).one()
    run = JobRun(job_id="core.retry_mail", outcome="ok")
    session.add(run)
    report = Report(territory_id=alpha.id, iso_week="2026-W47", period_start=date(2026, 11, 16),
                    period_end=date(2026, 11, 22), status=ReportStatus.READY, pdf=f"%PDF {MARKER}".encode())
    recipient = ReportRecipient(territory_id=alpha.id, name=f"{MARKER} recipient", email="elu@alpha.test")
    official = ElectedOfficial(territory_id=alpha.id, name=f"{MARKER} official", office="Maire")
    session.add_all([report, recipient, official])
    session.flush()
    boost = Boost(territory_id=alpha.id, post_id=post.id, track_id=track.id, campaign_id=campaign.id,
                  budget_minor=5000, starts_at=datetime(2027, 3, 2, tzinfo=UTC),
                  ends_at=datetime(2027, 3, 9, tzinfo=UTC), status=BoostStatus.PENDING_APPROVAL,
                  status_reason=f"{MARKER} boost")
    session.add(boost)
    from accounts.services import create_api_token

    token, _clear = create_api_token(session=session, territory=alpha, user=admin_a, name=f"{MARKER} token")
    session.commit()
    ids = {"membership": membership.id, "mail": mail.id, "campaign": campaign.id, "track": track.id,
           "post": post.id, "audience": audience.id, "run": run.id, "token": token.id,
           "report": report.id, "recipient": recipient.id, "official": official.id,
           "upload": "0123456789abcdef0123456789abcdef.jpg", "boost": boost.id}
    return World(alpha=alpha, beta=beta, ids=ids)


class Visitor:
    """A Beta member: cookie session for pages, an API token for /api/ routes."""

    def __init__(self, app: Flask, client, session, role: Role) -> None:  # noqa: ANN001
        from accounts.services import create_api_token, get_user_by_email

        self.client = client
        self.auth = AuthActions(client)
        self.auth.login(f"{role.value}@beta.test")
        beta = session.exec(select(Territory).where(Territory.slug == "beta")).one()
        user = get_user_by_email(session=session, email=f"{role.value}@beta.test")
        _token, clear = create_api_token(session=session, territory=beta, user=user, name="matrix")
        session.commit()
        self.headers = {"Authorization": f"Bearer {clear}"}

    def call(self, method: str, url: str, form: dict | None = None):  # noqa: ANN201
        if url.startswith("/api/"):
            return self.client.open(url, method=method, headers=self.headers, json=form or {})
        if method == "GET":
            return self.client.get(url)
        return self.auth.post(url, form or {})


def tenant_rules(app: Flask) -> list:
    return [rule for rule in app.url_map.iter_rules() if "territory" in rule.arguments]


def snapshot(session, territory_id: int) -> list[str]:  # noqa: ANN001
    """Every row of a territory, as text: equal snapshots mean nothing changed."""
    session.expire_all()
    rows = []
    for cls in tenant_classes():
        for row in session.exec(select(cls).where(cls.territory_id == territory_id)):
            rows.append(f"{cls.__name__}:{sorted(SQLModel.model_dump(row).items())}")
    return sorted(rows)


def build(app: Flask, rule, territory: str, ids: dict[str, int]) -> str:  # noqa: ANN001
    values = {"territory": territory}
    for arg in rule.arguments - {"territory"}:
        values[arg] = ids[ID_ARGS[arg]]
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def test_every_route_is_tenant_scoped_or_declared_public(app: Flask) -> None:
    """A route outside /t/<territory>/ must be declared public here on purpose."""
    stray = [rule.rule for rule in app.url_map.iter_rules()
             if "territory" not in rule.arguments and rule.endpoint not in PUBLIC_ENDPOINTS]
    assert stray == []


def test_every_id_argument_is_known(app: Flask) -> None:
    """Every id a tenant route takes has an object of the other territory to try in the matrix."""
    unknown = {arg for rule in tenant_rules(app) for arg in rule.arguments - {"territory"} if arg not in ID_ARGS}
    assert unknown == set(), f"add these arguments to ID_ARGS: {unknown}"


@pytest.mark.parametrize("role", list(Role))
def test_other_territory_routes_answer_404_without_data(app, client, session, world, role) -> None:  # noqa: ANN001
    """Members of Beta, whatever their role, get 404 on every Alpha route and read nothing of Alpha."""
    visitor = Visitor(app, client, session, role)
    before = snapshot(session, world.alpha.id)
    failures = []
    for rule in tenant_rules(app):
        url = build(app, rule, "alpha", world.ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = visitor.call(method, url, {"role": "admin", "name": "x"})
            body = response.get_data(as_text=True)
            if response.status_code != 404 or MARKER in body:
                failures.append(f"{method} {url}: {response.status_code}")
    assert failures == []
    assert snapshot(session, world.alpha.id) == before


@pytest.mark.parametrize("role", list(Role))
def test_foreign_ids_in_own_territory_are_not_found(app, client, session, world, role) -> None:  # noqa: ANN001
    """Inside Beta, an id of an Alpha object is 404 (or 403 for the role), never Alpha's data."""
    visitor = Visitor(app, client, session, role)
    before = snapshot(session, world.alpha.id)
    failures = []
    for rule in tenant_rules(app):
        if not rule.arguments - {"territory"}:
            continue
        url = build(app, rule, "beta", world.ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = visitor.call(method, url, {"role": "admin", "name": "x"})
            body = response.get_data(as_text=True)
            if response.status_code not in (403, 404) or MARKER in body:
                failures.append(f"{method} {url}: {response.status_code}")
    assert failures == []
    assert snapshot(session, world.alpha.id) == before


@pytest.mark.parametrize("role", list(Role))
def test_roles_are_enforced_on_every_route(app, client, session, world, role) -> None:  # noqa: ANN001
    """In its own territory, a role below a route's required role gets 403, on every route."""
    visitor = Visitor(app, client, session, role)
    failures = []
    for rule in tenant_rules(app):
        view = app.view_functions[rule.endpoint]
        needed = getattr(view, "required_role", None)
        if needed is None:
            failures.append(f"{rule.endpoint} declares no required role")
            continue
        if role.allows(needed):
            continue
        url = build(app, rule, "beta", world.ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = visitor.call(method, url)
            if response.status_code != 403:
                failures.append(f"{method} {url} as {role.value}: {response.status_code}")
    assert failures == []
