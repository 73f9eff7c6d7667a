"""One scoping mechanism: a territory's session sees and writes only that territory's rows."""

from __future__ import annotations

import pytest
from sqlmodel import select

from accounts.models import AuditEvent
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
