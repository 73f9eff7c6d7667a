"""`flask demo seed|purge|run`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlmodel import select

from core.db import session_scope

demo_cli = AppGroup("demo", help="The demo territory.")


@demo_cli.command("seed")
def seed() -> None:
    """Create the demo territory, its users and content (idempotent)."""
    from demo.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo

    with session_scope() as session:
        seed_demo(session)
    click.echo(f"Demo territory 'demo' ready. Logins (password: {DEMO_PASSWORD}):")
    for role, (email, _name) in DEMO_USERS.items():
        click.echo(f"  {role.value:8} {email}")


@demo_cli.command("purge")
def purge() -> None:
    """Delete the demo users (their memberships and tokens), so that production may start."""
    from accounts.models import ApiToken, LoginAttempt, Membership, User
    from accounts.services import DEMO_EMAIL_DOMAIN

    with session_scope() as session:
        users = session.exec(select(User).where(User.email.endswith(DEMO_EMAIL_DOMAIN))).all()
        for user in users:
            for model in (Membership, ApiToken):
                for row in session.exec(select(model).where(model.user_id == user.id)):
                    session.delete(row)
            for row in session.exec(select(LoginAttempt).where(LoginAttempt.email == user.email)):
                session.delete(row)
            user.is_active = False
            user.email = f"deleted-{user.id}@invalid"
            user.password_hash = None
    click.echo(f"{len(users)} demo account(s) removed.")


@demo_cli.command("run")
def run() -> None:
    """Migrate, seed, start the sandbox and the scheduler, serve the UI (what `make run` does)."""
    from demo.run import run_demo

    run_demo(current_app._get_current_object())
