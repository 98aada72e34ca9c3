"""Fixtures of the bad-input matrix: one real registry per session, copied for every case."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import train_run, write_project
from hostile_tools import World, copy_world, spec_text


@pytest.fixture(scope="session")
def trained_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The subscriptions project (with an XGBoost candidate) after one real run, promoted."""
    folder = tmp_path_factory.mktemp("hostile")
    write_project(folder)
    (folder / "spec.yaml").write_text(spec_text())
    manifest = train_run(folder / "spec.yaml", folder / "home")
    assert manifest.status == "succeeded", manifest
    return World(folder, folder / "home", manifest.run_id)


@pytest.fixture
def world(trained_world: World, tmp_path: Path) -> Iterator[World]:
    """A private copy of the world for one case."""
    yield copy_world(trained_world, tmp_path)
