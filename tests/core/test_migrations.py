"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from core.db import get_engine


def test_migrated_schema_matches_models(app_ctx) -> None:  # noqa: ANN001
    """An empty database upgraded to head has exactly the models' tables, columns and indexes."""
    with get_engine().connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True,
                        "include_object": lambda obj, name, type_, *_: not (type_ == "table"
                                                                               and name == "apscheduler_jobs")},
        )
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_migrations_reach_head(app_ctx) -> None:  # noqa: ANN001
    """The database is at the newest revision after `db upgrade`."""
    from alembic.script import ScriptDirectory

    from app import alembic_config

    config = alembic_config(str(get_engine().url.render_as_string(hide_password=False)))
    head = ScriptDirectory.from_config(config).get_current_head()
    with get_engine().connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head
