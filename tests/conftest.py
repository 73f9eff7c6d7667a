"""Fixtures: an app on a temporary database (SQLite, or PostgreSQL when TEST_DATABASE_URL is set),
a client, a CLI runner, an `auth` helper, and builders of territories and users.

The schema is created once per test session by running the Alembic migrations (so the migrations
are exercised on both databases); every test then starts from empty tables.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from accounts.models import Membership, Role, Territory, TerritoryCreate, User, UserCreate
from core.db import ALL, get_engine, new_session

PASSWORD = "correct horse battery"


def free_port() -> int:
    """A port the OS says is free right now (for servers that cannot bind port 0 themselves)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_database(base_url: str, worker: str) -> str:
    """A fresh database per test worker, created beside the one TEST_DATABASE_URL names."""
    url = make_url(base_url)
    name = f"{url.database}_{worker}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        return _postgres_database(base, worker_id)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'rayonne-test.db'}"


def make_settings(database_url: str, **overrides: object):  # noqa: ANN201
    from core.settings import Settings

    values = {
        "RAYONNE_ENV": "test",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-" + "x" * 40,
        "RAYONNE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SMTP_HOST": None,
        "BASE_URL": "http://rayonne.test",
        "LOGIN_MAX_FAILURES": 5,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def _compile_catalogs() -> None:
    """Compile the translation catalogs if needed (`make` does it too; plain `pytest` must work)."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in Path(__file__).resolve().parent.parent.glob("translations/*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    from alembic import command

    from app import alembic_config, create_app

    _compile_catalogs()
    application = create_app(make_settings(database_url))
    with application.app_context():
        command.upgrade(alembic_config(database_url), "head")
    yield application
    with application.app_context():
        get_engine().dispose()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        engine = get_engine()
        with engine.begin() as conn:
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.execute(table.delete())
            if engine.dialect.has_table(conn, "apscheduler_jobs"):
                conn.execute(text("DELETE FROM apscheduler_jobs"))


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """An operator session (scope: all territories) for building and checking data.

    No app context stays pushed: test-client requests must each get their own, as in production
    (a pushed context would be reused by every request and share its `g`).
    """
    with app.app_context():
        db = new_session(ALL)
    yield db
    db.rollback()
    db.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # noqa: ANN201
    return app.test_cli_runner()


# ----------------------------------------------------------------------------------------- builders


def make_territory(session: Session, slug: str = "valrive", name: str | None = None, **fields: object) -> Territory:
    from accounts.services import SYSTEM, create_territory
    from targets.services import ensure_builtin_audiences

    data = TerritoryCreate(slug=slug, name=name or slug.capitalize(), **fields)
    territory = create_territory(session=session, data=data, actor=SYSTEM)
    ensure_builtin_audiences(session=session, territory=territory)
    session.commit()
    return territory


def make_user(
    session: Session, email: str, territory: Territory | None = None, role: Role = Role.EDITOR, password: str = PASSWORD
) -> User:
    from accounts.services import create_user, get_user_by_email

    user = get_user_by_email(session=session, email=email) or create_user(
        session=session, data=UserCreate(email=email, name=email.split("@")[0].title(), password=password)
    )
    if territory is not None:
        session.add(Membership(territory_id=territory.id, user_id=user.id, role=role))
    session.commit()
    return user


# --------------------------------------------------------------------------------------------- auth

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """A valid CSRF token for the client's session, read from a page's form."""
    response = client.get(path, follow_redirects=True)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str = PASSWORD):  # noqa: ANN201
        token = csrf_token(self._client, "/login")
        return self._client.post("/login", data={"email": email, "password": password, "csrf_token": token})

    def logout(self):  # noqa: ANN201
        return self._client.post("/logout", data={"csrf_token": csrf_token(self._client, "/?choose=1")})

    def post(self, path: str, data: dict | None = None, **kwargs: object):  # noqa: ANN201
        """POST a form with a valid CSRF token, as the browser would."""
        payload = dict(data or {})
        payload["csrf_token"] = csrf_token(self._client, "/?choose=1")
        return self._client.post(path, data=payload, **kwargs)


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


# ------------------------------------------------------------------------ network, clock, sandbox


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every HTTP request made through `requests` during a test must stay on this machine."""
    from urllib.parse import urlsplit

    import requests

    from facebook.sandbox import is_loopback

    real_send = requests.adapters.HTTPAdapter.send

    def send(self, request, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        host = urlsplit(request.url or "").hostname or ""
        assert is_loopback(host), f"a test tried to reach {host}"
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)


@pytest.fixture
def clock() -> Iterator[object]:
    """Rayonne's clock (`core.clock`), reset to real time after the test."""
    from core import clock as rayonne_clock

    yield rayonne_clock
    rayonne_clock.reset()


@pytest.fixture
def graph_sandbox() -> Iterator[object]:
    """A fresh Graph API sandbox on a free loopback port (in memory, fixed seed)."""
    from facebook import throttle_registry
    from facebook.sandbox import SandboxServer

    throttle_registry.clear()
    with SandboxServer(seed=7) as server:
        yield server
    throttle_registry.clear()


_page_numbers = iter(range(1, 10_000))


def connect_sandbox(app: Flask, session: Session, territory: Territory, sandbox,  # noqa: ANN001
                    followers: int = 20_000) -> dict:
    """Provision a Page and an EUR ad account for `territory` in the sandbox and connect to them."""
    from accounts.connection import ConnectionForm, save_connection
    from accounts.services import SYSTEM
    from core.db import scoped

    n = next(_page_numbers)
    page_id, account_id = f"10450000{n:07d}", f"act_20260000{n:05d}"
    ads_token, page_token = f"ads-token-{territory.slug}-{n}", f"page-token-{territory.slug}-{n}"
    sandbox.control.setup({
        "pages": [{"id": page_id, "name": territory.name, "followers": followers, "page_token": page_token}],
        "ad_accounts": [{"id": account_id, "currency": "EUR", "access_token": ads_token, "pages": [page_id]}],
    })
    with app.app_context(), scoped(session, territory.id):
        save_connection(session=session, territory=territory, actor=SYSTEM, base_url=sandbox.url,
                        data=ConnectionForm(mode="sandbox", page_id=page_id, ad_account_id=account_id,
                                            access_token=ads_token, page_token=page_token))
    session.commit()
    return {"page_id": page_id, "ad_account_id": account_id, "ads_token": ads_token, "page_token": page_token}
