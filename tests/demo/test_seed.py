"""The demo territory: one user per role, idempotent seeding, refused in production."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlmodel import func, select

from accounts.models import Membership, Role, Territory, User
from core.db import get_engine, tenant_classes
from demo.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo
from tests.conftest import AuthActions


def _counts(session) -> dict[str, int]:  # noqa: ANN001
    return {cls.__name__: session.exec(select(func.count()).select_from(cls)).one() for cls in tenant_classes()}


def test_seed_is_idempotent_and_gives_every_role(app, session) -> None:  # noqa: ANN001
    """Seeding twice changes nothing, and each role's demo account can log in with the demo password."""
    with app.app_context():
        seed_demo(session)
    session.commit()
    first = _counts(session)
    with app.app_context():
        seed_demo(session)
    session.commit()
    assert _counts(session) == first
    territory = session.exec(select(Territory).where(Territory.slug == "demo")).one()
    for role, (email, _name) in DEMO_USERS.items():
        user = session.exec(select(User).where(User.email == email)).one()
        membership = session.exec(select(Membership).where(Membership.user_id == user.id,
                                                          Membership.territory_id == territory.id)).one()
        assert Role(membership.role) == role
    assert first["Audience"] >= 6 and first["Campaign"] == 1 and first["Post"] == 3


def test_demo_accounts_log_in(app, client, session) -> None:  # noqa: ANN001
    """The printed demo login works."""
    with app.app_context():
        seed_demo(session)
    session.commit()
    response = AuthActions(client).login("manager@demo.rayonne.test", DEMO_PASSWORD)
    assert response.status_code == 302


def test_production_refuses_to_serve_with_demo_accounts(app, database_url, session) -> None:  # noqa: ANN001
    """Outside development Rayonne answers 503 while the well-known demo accounts exist."""
    from app import create_app
    from tests.conftest import make_settings

    with app.app_context():
        seed_demo(session)
    session.commit()
    prod = create_app(make_settings(database_url, RAYONNE_ENV="production", SECRET_KEY="p" * 40,
                                    RAYONNE_ENCRYPTION_KEY=Fernet.generate_key().decode()))
    try:
        response = prod.test_client().get("/login")
        assert response.status_code == 503
        assert "demo purge" in response.get_data(as_text=True)
        result = prod.test_cli_runner().invoke(args=["demo", "purge"])
        assert result.exit_code == 0, result.output
        assert prod.test_client().get("/login").status_code == 200
    finally:
        with prod.app_context():
            get_engine().dispose()
