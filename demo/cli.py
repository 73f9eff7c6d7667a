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


@demo_cli.command("history")
@click.option("--days", type=int, default=365, show_default=True)
def history(days: int) -> None:
    """Give the demo territory a year of history through the sandbox (idempotent; before `sandbox run`)."""
    from demo.history import history_for_demo

    with session_scope() as session:
        click.echo(history_for_demo(session, days=days))


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


sandbox_cli = AppGroup("sandbox", help="The local Graph API sandbox (demo and tests; loopback only).")


@sandbox_cli.command("run")
@click.option("--port", type=int, default=None, help="Port (default: SANDBOX_PORT).")
@click.option("--host", default=None, help="Loopback address (default: SANDBOX_HOST).")
def sandbox_run(port: int | None, host: str | None) -> None:
    """Serve the sandbox, provisioned with the demo Page and ad account; state kept in SANDBOX_STATE_PATH."""
    from facebook.sandbox import default_demo_setup, is_loopback, run_sandbox

    settings = current_app.config["RAYONNE_SETTINGS"]
    if settings.is_production:
        raise click.UsageError("The sandbox never runs in production mode.")
    host = host or settings.SANDBOX_HOST
    if not is_loopback(host):
        raise click.BadParameter("the sandbox only listens on loopback (127.0.0.1, ::1, localhost)",
                                 param_hint="--host")
    port = settings.SANDBOX_PORT if port is None else port
    click.echo(f"Graph API sandbox on http://{host}:{port}/ (state: {settings.SANDBOX_STATE_PATH})")
    run_sandbox(host, port, settings.SANDBOX_STATE_PATH, setup=default_demo_setup())


@sandbox_cli.command("advance")
@click.option("--days", type=float, default=0)
@click.option("--hours", type=float, default=0)
@click.option("--url", default=None, help="Sandbox address (default: from the settings).")
def sandbox_advance(days: float, hours: float, url: str | None) -> None:
    """Move the sandbox's clock forward; delivery is simulated across the skipped time."""
    from facebook.sandbox import SandboxControl, SandboxControlError

    if days < 0 or hours < 0 or days + hours == 0:
        raise click.BadParameter("give a positive --days or --hours (the clock only moves forward)")
    settings = current_app.config["RAYONNE_SETTINGS"]
    control = SandboxControl(url or f"http://{settings.SANDBOX_HOST}:{settings.SANDBOX_PORT}")
    try:
        click.echo(f"Sandbox clock: {control.advance(days=days, hours=hours)}")
    except (SandboxControlError, OSError) as exc:
        raise click.ClickException(f"Cannot reach the sandbox: {exc}") from exc
    finally:
        control.close()
