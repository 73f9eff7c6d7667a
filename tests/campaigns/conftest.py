"""Fixtures of the campaigns tests: a temporary folder for uploaded images."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def uploads(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: ANN001
    """Images go to a temporary folder instead of instance/uploads."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "RAYONNE_UPLOAD_DIR", str(folder))
    return folder
