"""One scoping mechanism: a territory's session sees and writes only that territory's rows."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, update
from sqlalchemy.orm import aliased
from sqlmodel import select

from accounts.models import AuditEvent
from campaigns.models import Campaign, ContentTrack
from core.db import new_session, set_scope
from core.errors import TenantScopeError
from targets.models import Audience
from tests.conftest import make_territory


def test_scoped_session_sees_only_its_territory(session, app_ctx) -> None:  # noqa: ANN001
    """Queries of a scoped session are filtered to its territory, even by primary key or join."""
    a = make_territory(session, "alpha")
    b = make_territory(session, "beta")
    other_id = session.exec(select(Audience.id).where(Audience.territory_id == b.id)).first()
    scoped_session = new_session(a.id)
    try:
        audiences = scoped_session.exec(select(Audience)).all()
        assert audiences and {x.territory_id for x in audiences} == {a.id}
        assert scoped_session.get(Audience, other_id) is None
    finally:
        scoped_session.close()


def test_scope_reaches_joins_subqueries_aliases_and_bulk_updates(session, app_ctx) -> None:  # noqa: ANN001
    """Every tenant table a statement touches is filtered: joined, in a subquery, aliased, or updated in bulk;
    and one session moved from one territory to another sees only the one it is in (no cached criteria)."""
    a = make_territory(session, "alpha")
    b = make_territory(session, "beta")
    for territory in (a, b):
        campaign = Campaign(territory_id=territory.id, name=f"Campagne {territory.slug}",
                            starts_on=date(2027, 1, 4), ends_on=date(2027, 2, 28))
        session.add(campaign)
        session.flush()
        audience = session.exec(select(Audience).where(Audience.territory_id == territory.id)).first()
        session.add(ContentTrack(territory_id=territory.id, campaign_id=campaign.id, audience_id=audience.id))
    session.commit()
    scoped_session = new_session(a.id)
    try:
        joined = scoped_session.exec(select(Campaign.name, Audience.territory_id)
                                     .join(ContentTrack, ContentTrack.campaign_id == Campaign.id)
                                     .join(Audience, Audience.id == ContentTrack.audience_id)).all()
        assert joined == [("Campagne alpha", a.id)]
        # A join on the shared audience key alone would pair alpha's campaign with beta's audience too.
        by_key = scoped_session.exec(select(Audience.territory_id).join(
            ContentTrack, ContentTrack.audience_id != -1).where(Audience.key == "tourists").distinct()).all()
        assert by_key == [a.id]
        inner = select(ContentTrack.campaign_id).scalar_subquery()
        assert scoped_session.exec(select(func.count()).select_from(Campaign).where(Campaign.id.in_(inner))).one() == 1
        other = aliased(Campaign)
        assert scoped_session.exec(select(func.count()).select_from(other)).one() == 1
        scoped_session.exec(update(Campaign).values(theme="mis à jour"))
        scoped_session.commit()
        set_scope(scoped_session, b.id)
        assert [c.name for c in scoped_session.exec(select(Campaign)).all()] == ["Campagne beta"]
        assert scoped_session.exec(select(Campaign.theme)).one() in (None, "")
    finally:
        scoped_session.close()
    session.expire_all()
    themes = {c.name: c.theme for c in session.exec(select(Campaign)).all()}
    assert themes["Campagne alpha"] == "mis à jour" and themes["Campagne beta"] != "mis à jour"


def test_unscoped_query_on_tenant_data_is_refused(session, app_ctx) -> None:  # noqa: ANN001
    """A session without a scope cannot read tenant tables: forgetting the scope fails loudly."""
    make_territory(session, "alpha")
    bare = new_session()
    try:
        with pytest.raises(TenantScopeError):
            bare.exec(select(Audience)).all()
    finally:
        bare.close()


def test_write_to_another_territory_is_refused(session, app_ctx) -> None:  # noqa: ANN001
    """A scoped session cannot insert or change a row of another territory."""
    a = make_territory(session, "alpha")
    b = make_territory(session, "beta")
    scoped_session = new_session(a.id)
    try:
        scoped_session.add(Audience(territory_id=b.id, key="intrus", name="Intrus"))
        with pytest.raises(TenantScopeError):
            scoped_session.flush()
    finally:
        scoped_session.rollback()
        scoped_session.close()


def test_audit_events_are_append_only(session, app_ctx) -> None:  # noqa: ANN001
    """An audit event can be neither edited nor deleted."""
    a = make_territory(session, "alpha")
    set_scope(session, a.id)
    event = session.exec(select(AuditEvent)).first()
    event.action = "rewritten"
    with pytest.raises(TenantScopeError, match="append-only"):
        session.flush()
    session.rollback()
    session.delete(session.exec(select(AuditEvent)).first())
    with pytest.raises(TenantScopeError, match="append-only"):
        session.flush()
