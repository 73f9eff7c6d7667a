"""`flask territory create` and `flask user create`: set-up without the UI (first admin, scripts)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from accounts import services
from accounts.models import Role, TerritoryCreate, UserCreate
from accounts.services import SYSTEM
from core.db import session_scope
from core.errors import DomainError, ValidationFailed
from core.forms import validate

territory_cli = AppGroup("territory", help="Territories (workspaces).")
user_cli = AppGroup("user", help="Users and their roles.")


def _fail(exc: DomainError) -> None:
    if isinstance(exc, ValidationFailed):
        details = "; ".join(f"{field}: {message}" for field, message in exc.errors.items())
        raise click.UsageError(details)
    raise click.UsageError(exc.message)


@territory_cli.command("create")
@click.option("--slug", required=True, help="Short identifier used in URLs, e.g. valrive.")
@click.option("--name", required=True)
@click.option("--kind", default="commune", type=click.Choice(["commune", "intercommunalite", "departement",
                                                                 "region", "office"]))
def create_territory(slug: str, name: str, kind: str) -> None:
    """Create a territory with its three built-in audiences."""
    from targets.services import ensure_builtin_audiences

    try:
        with session_scope() as session:
            data = validate(TerritoryCreate, {"slug": slug, "name": name, "kind": kind})
            territory = services.create_territory(session=session, data=data, actor=SYSTEM)
            ensure_builtin_audiences(session=session, territory=territory)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Territory {slug} created.")


@user_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--territory", "slug", required=True, help="Territory slug.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="admin", show_default=True)
def create_user(email: str, name: str, password: str, slug: str, role: str) -> None:
    """Create a user (or reuse an existing one) and give them a role in a territory."""
    from sqlmodel import select

    from accounts.models import Territory

    try:
        with session_scope() as session:
            territory = session.exec(select(Territory).where(Territory.slug == slug)).first()
            if territory is None:
                raise click.UsageError(f"No territory with slug {slug!r}.")
            data = validate(UserCreate, {"email": email, "name": name, "password": password})
            user = services.get_user_by_email(session=session, email=data.email) or services.create_user(
                session=session, data=data)
            services.set_membership(session=session, territory=territory, user=user, role=Role(role), actor=SYSTEM)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"{email} is {role} of {slug}.")


token_cli = AppGroup("token", help="Personal API tokens.")


@token_cli.command("create")
@click.option("--user", "email", required=True, help="The token's owner (e-mail).")
@click.option("--territory", "slug", required=True, help="The territory the token opens.")
@click.option("--name", default="cli", show_default=True)
def create_token(email: str, slug: str, name: str) -> None:
    """Create an API token for a member of a territory; prints it once."""
    from sqlmodel import select

    from accounts.models import Membership, Territory

    with session_scope() as session:
        territory = session.exec(select(Territory).where(Territory.slug == slug)).first()
        user = services.get_user_by_email(session=session, email=email)
        if territory is None or user is None:
            raise click.UsageError("Unknown territory or user.")
        if session.exec(select(Membership).where(Membership.user_id == user.id,
                                                 Membership.territory_id == territory.id)).first() is None:
            raise click.UsageError(f"{email} is not a member of {slug}.")
        _token, clear = services.create_api_token(session=session, territory=territory, user=user, name=name)
    click.echo(clear)
