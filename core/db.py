"""Database engine, sessions, column types and the one tenant-scoping mechanism.

**Tenant scoping.** Every table that belongs to a territory inherits `TerritoryOwned`. A session
carries its scope in `session.info`: a territory id, or `ALL` for operator work (CLI, seeds,
scheduled jobs that loop over territories). A `do_orm_execute` hook adds
`territory_id = <scope>` to every ORM SELECT, UPDATE and DELETE that touches a tenant table, and
refuses to run such a query when no scope was set; a `before_flush` hook refuses to write a row of
another territory. Forgetting the filter in a view is therefore not possible: the request's
session is scoped once, when the territory is resolved from the URL (`accounts.tenancy`).
"""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, event, literal_column
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, sessionmaker, with_loader_criteria
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, create_engine

from core import clock
from core.errors import TenantScopeError

logger = logging.getLogger(__name__)

SCOPE_KEY = "rayonne.territory_scope"
ALL = "*"  # scope value for operator sessions that may read every territory


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC (a callable: evaluated per row). See `core.clock`."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(enum_cls: type[enum.Enum], length: int = 40) -> SAEnum:
    """Store an enum as its string value in a VARCHAR (no native type: adding a value needs no migration)."""
    return SAEnum(enum_cls, native_enum=False, create_constraint=False, length=length,
                  values_callable=lambda members: [m.value for m in members], validate_strings=True)


def created_at_field() -> Any:
    """A `created_at` column filled per row with the current UTC time."""
    return Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class TerritoryOwned(SQLModel):
    """Mixin for every row that belongs to one territory (tenant)."""

    territory_id: int = Field(foreign_key="territory.id", index=True, nullable=False)


class AppendOnly:
    """Marker for tables whose rows are never changed nor deleted (audit trail, budget ledger)."""


# ---------------------------------------------------------------------------------------- scope


def set_scope(session: Session, territory_id: int | str) -> None:
    """Bind a session to one territory (or `ALL`). Done once per request or job step."""
    session.info[SCOPE_KEY] = territory_id


def get_scope(session: Session) -> int | str | None:
    return session.info.get(SCOPE_KEY)


@contextmanager
def scoped(session: Session, territory_id: int | str) -> Iterator[Session]:
    """Temporarily change a session's scope (jobs that walk territories one by one)."""
    previous = session.info.get(SCOPE_KEY)
    session.info[SCOPE_KEY] = territory_id
    try:
        yield session
    finally:
        if previous is None:
            session.info.pop(SCOPE_KEY, None)
        else:
            session.info[SCOPE_KEY] = previous


def _touches_tenant_data(state: ORMExecuteState) -> bool:
    return any(issubclass(mapper.class_, TerritoryOwned) for mapper in state.all_mappers)


_tenant_classes: list[type] = []


def tenant_classes() -> list[type]:
    """Every mapped class that belongs to a territory (computed once all models are imported)."""
    if not _tenant_classes:
        _tenant_classes.extend(
            sorted((m.class_ for m in SQLModel._sa_registry.mappers if issubclass(m.class_, TerritoryOwned)),
                   key=lambda cls: cls.__name__)
        )
    return _tenant_classes


@event.listens_for(Session, "do_orm_execute")
def _apply_tenant_scope(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return
    scope = state.session.info.get(SCOPE_KEY)
    if scope == ALL:
        return
    if scope is None:
        if _touches_tenant_data(state):
            raise TenantScopeError("query on tenant data from a session without a territory scope")
        return
    # The criteria apply wherever a tenant entity appears: columns, joins, subqueries.
    state.statement = state.statement.options(*_scope_criteria(scope))


def _territory_column(cls: type) -> Any:
    """The `territory_id` column of a tenant table. SQLAlchemy first calls the criteria's lambda with
    the (unmapped) `TerritoryOwned` mixin itself, to analyse it; SQLModel gives that mixin no column, so a
    stand-in by name answers then. Every mapped subclass answers with its own table's column."""
    table = getattr(cls, "__table__", None)
    return table.c.territory_id if table is not None else literal_column("territory_id")


@functools.lru_cache(maxsize=1024)
def _scope_criteria(scope: int | str) -> tuple[Any, ...]:
    """One territory's criteria, built once and reused by every query of that scope (options are
    immutable): a single criterion on the `TerritoryOwned` mixin, which SQLAlchemy applies to every
    mapped subclass wherever it appears (columns, joins, subqueries, aliases). One option per tenant
    class (37 of them) made every query twice as slow to prepare as a small query takes to run."""
    return (with_loader_criteria(TerritoryOwned, lambda cls: _territory_column(cls) == scope,
                                 include_aliases=True),)


@event.listens_for(Session, "before_flush")
def _refuse_foreign_writes(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AppendOnly) and (obj in session.deleted or session.is_modified(obj)):
            raise TenantScopeError(f"{type(obj).__name__} is append-only: add a correcting line instead")
    scope = session.info.get(SCOPE_KEY)
    if scope == ALL:
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, TerritoryOwned):
            if scope is None:
                raise TenantScopeError(f"write of {type(obj).__name__} from an unscoped session")
            if obj.territory_id != scope:
                raise TenantScopeError(f"write of {type(obj).__name__} of another territory")


# ------------------------------------------------------------------------------ engine, session


def make_engine(url: str) -> Engine:
    """An engine for SQLite (embedded default) or PostgreSQL (production)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def init_app(app: Flask, url: str) -> None:
    import_models()
    engine = make_engine(url)
    app.extensions["rayonne.engine"] = engine
    app.extensions["rayonne.sessionmaker"] = sessionmaker(engine, class_=Session, expire_on_commit=False)
    app.teardown_appcontext(_close_request_session)


def get_engine() -> Engine:
    return current_app.extensions["rayonne.engine"]


def new_session(scope: int | str | None = None) -> Session:
    """A new session from the current app (caller closes it)."""
    session = current_app.extensions["rayonne.sessionmaker"]()
    if scope is not None:
        set_scope(session, scope)
    return session


def get_session() -> Session:
    """The request's session: one per request, rolled back at teardown unless committed."""
    if "db_session" not in g:
        g.db_session = new_session()
    return g.db_session


def _close_request_session(exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


@contextmanager
def session_scope(scope: int | str | None = ALL) -> Iterator[Session]:
    """A session for jobs and CLI commands: commits at the end, rolls back on error."""
    session = new_session(scope)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def import_models() -> None:
    """Import every package's models so that SQLModel.metadata knows all tables."""
    import accounts.models  # noqa: F401
    import campaigns.models  # noqa: F401
    import core.mail  # noqa: F401
    import reports.models  # noqa: F401
    import scheduler.models  # noqa: F401
    import sponsored.models  # noqa: F401
    import targets.models  # noqa: F401
