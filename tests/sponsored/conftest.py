"""Fixtures for the sponsored-post tests: a territory connected to a fresh sandbox, clocks in step."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.db import scoped
from tests.sponsored.builders import World, build_world, client


@pytest.fixture
def world(app, session, graph_sandbox, clock) -> World:  # noqa: ANN001
    """Valrive, connected to the sandbox: 1 000 € approved, 400 € allocated to the tourists track."""
    return build_world(app, session, graph_sandbox)


@pytest.fixture
def fb(app, session, world):  # noqa: ANN001, ANN201
    return client(app, session, world.territory)


@pytest.fixture
def ctx(app, session, world) -> Iterator[None]:  # noqa: ANN001
    """An app context and the session scoped to the world's territory (for calling services)."""
    with app.app_context(), scoped(session, world.territory.id):
        yield
