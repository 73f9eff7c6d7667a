"""Rayonne's application factory, its CLI, and `python app.py` (the demo, same as `make run`).

`create_app(settings=None)` builds nothing at import time: every concern is wired by one small
`register_*` function. Production: `gunicorn -w 4 'app:create_app()'` plus one
`flask --app app scheduler run` process (see README).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click
from flask import Flask, g, render_template, request
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from core import db, i18n
from core.errors import ConfigError, DomainError
from core.settings import Settings
from core.web import csrf, login_manager

logger = logging.getLogger("rayonne")


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask application from `settings` (by default, from the environment)."""
    settings = (settings or Settings()).check_secrets()
    app = Flask(__name__, instance_relative_config=True)
    configure(app, settings)
    register_extensions(app, settings)
    register_blueprints(app)
    register_error_handlers(app)
    register_template_context(app)
    register_security_headers(app)
    register_commands(app)
    return app


def configure(app: Flask, settings: Settings) -> None:
    secure_cookies = settings.SESSION_COOKIE_SECURE
    if secure_cookies is None:
        secure_cookies = settings.RAYONNE_ENV == "production"
    app.config.update(
        RAYONNE_SETTINGS=settings,
        SECRET_KEY=settings.secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=secure_cookies,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead: long forms must not expire mid-writing
        # The composer sends one image per track (8 MB at most each) in a single form.
        MAX_CONTENT_LENGTH=40 * 1024 * 1024,
        BABEL_DEFAULT_LOCALE=settings.DEFAULT_LOCALE,
        BABEL_DEFAULT_TIMEZONE="UTC",
        TESTING=settings.RAYONNE_ENV == "test",
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def register_extensions(app: Flask, settings: Settings) -> None:
    db.init_app(app, settings.DATABASE_URL)
    i18n.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    from accounts import tenancy

    tenancy.init_app(app)


@login_manager.user_loader
def _load_user(user_id: str) -> Any:
    from accounts.models import User

    try:
        user = db.get_session().get(User, int(user_id))
    except ValueError:
        return None
    return user if user is not None and user.is_active else None


def register_blueprints(app: Flask) -> None:
    from accounts.api import bp as accounts_api
    from accounts.api import openapi_bp
    from accounts.views import admin_bp
    from accounts.views import bp as accounts_bp
    from campaigns.api import bp as campaigns_api
    from campaigns.api_workflow import bp as workflow_api
    from campaigns.views import bp as campaigns_bp
    from campaigns.views import feed_bp as calendar_feed_bp
    from campaigns.views_workflow import approval_bp  # also adds the workflow pages to campaigns_bp
    from reports.api import bp as reports_api
    from reports.views import bp as reports_bp
    from scheduler.views import bp as scheduler_bp
    from sponsored.api import bp as sponsored_api
    from sponsored.views import bp as sponsored_bp
    from targets.api import bp as targets_api
    from targets.views import bp as targets_bp

    pages = (accounts_bp, admin_bp, targets_bp, campaigns_bp, calendar_feed_bp, approval_bp, sponsored_bp, reports_bp,
             scheduler_bp)
    api = (openapi_bp, accounts_api, targets_api, campaigns_api, workflow_api, sponsored_api, reports_api)
    for blueprint in pages + api:
        app.register_blueprint(blueprint)


def register_error_handlers(app: Flask) -> None:
    def render(code: int, message: str | None = None) -> Any:
        if request.path.startswith("/api/"):
            return {"error": {"status": code, "message": message or _error_title(code)}}, code
        return render_template(f"errors/{code}.html", message=message), code

    for code in (400, 401, 403, 404, 405, 413, 429):
        app.register_error_handler(code, lambda exc, code=code: render(code, getattr(exc, "description", None)
                                                                          if code in (400, 413) else None))

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return render_template(
            "errors/400.html",
            message=_("Le formulaire a expiré ou n'a pas été envoyé depuis Rayonne. Rechargez la page et réessayez."),
        ), 400

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Any:
        db.get_session().rollback()
        code = exc.status_code if exc.status_code in (400, 403, 404, 409, 422, 429) else 400
        if request.path.startswith("/api/"):
            return {"error": {"status": code, "message": exc.message, "field": exc.field,
                              "fields": getattr(exc, "errors", None)}}, code
        template = f"errors/{code}.html" if code in (403, 404) else "errors/400.html"
        return render_template(template, message=exc.message), code

    @app.errorhandler(500)
    def _server_error(exc: Exception) -> Any:
        db.get_session().rollback()
        return render(500)


def _error_title(code: int) -> str:
    return {
        400: _("Requête invalide."), 401: _("Authentification requise."), 403: _("Accès refusé."),
        404: _("Page introuvable."), 405: _("Méthode non autorisée."), 413: _("Fichier trop volumineux."),
        429: _("Trop de requêtes."), 500: _("Erreur interne."),
    }.get(code, _("Erreur."))


def register_template_context(app: Flask) -> None:
    @app.context_processor
    def _context() -> dict[str, Any]:
        from flask_babel import get_locale

        return {"territory": g.get("territory"), "role": g.get("role"), "locale": str(get_locale()),
                "settings": app.config["RAYONNE_SETTINGS"], "connection_badge": _connection_badge()}


def _connection_badge() -> str | None:
    """'sandbox' or 'facebook' for the current territory, shown plainly in the header."""
    territory = g.get("territory")
    if territory is None:
        return None
    from sqlmodel import select

    from accounts.models import FacebookConnection

    connection = db.get_session().exec(select(FacebookConnection)).first()
    return None if connection is None else connection.mode.value


def register_security_headers(app: Flask) -> None:
    demo_checked: dict[str, bool] = {}

    @app.before_request
    def _refuse_demo_accounts_outside_development() -> Any:
        settings: Settings = app.config["RAYONNE_SETTINGS"]
        if settings.RAYONNE_ENV != "production" or demo_checked.get("ok"):
            return None
        from accounts.services import demo_accounts_exist

        if demo_accounts_exist(db.get_session()):
            logger.error("Demo accounts exist in production: run `flask --app app demo purge`.")
            return "Rayonne refuses to serve while the demo accounts exist (flask --app app demo purge).", 503
        demo_checked["ok"] = True
        return None

    @app.after_request
    def _headers(response: Any) -> Any:
        # Everything is served locally: no CDN, no third-party request from any page.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


# ------------------------------------------------------------------------------------------ CLI


def register_commands(app: Flask) -> None:
    from accounts.cli import territory_cli, token_cli, user_cli
    from demo.cli import demo_cli, sandbox_cli
    from reports.cli import report_cli
    from scheduler.cli import jobs_cli, scheduler_cli

    app.cli.add_command(db_cli)
    for group in (demo_cli, sandbox_cli, territory_cli, token_cli, user_cli, report_cli, jobs_cli, scheduler_cli):
        app.cli.add_command(group)


db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


def alembic_config(url: str) -> Any:
    from pathlib import Path

    from alembic.config import Config

    root = Path(__file__).resolve().parent
    config = Config()
    config.set_main_option("script_location", str(root / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from alembic import command
    from flask import current_app

    url = current_app.config["RAYONNE_SETTINGS"].DATABASE_URL
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url.removeprefix("sqlite:///")) or ".", exist_ok=True)
    command.upgrade(alembic_config(url), revision)
    click.echo(f"Database at {revision}.")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--rev-id", default=None, help="Revision id (default: random).")
def db_revision(message: str, rev_id: str | None) -> None:
    """Autogenerate a migration from the models (developers): review it before committing."""
    from alembic import command
    from flask import current_app

    command.revision(alembic_config(current_app.config["RAYONNE_SETTINGS"].DATABASE_URL),
                     message=message, autogenerate=True, rev_id=rev_id)


def main() -> None:
    """`python app.py`: migrate, seed the demo, start the sandbox and the scheduler, serve the UI."""
    from demo.run import run_demo

    try:
        app = create_app()
    except ConfigError as exc:
        sys.exit(f"Configuration error: {exc}")
    run_demo(app)


if __name__ == "__main__":
    main()
