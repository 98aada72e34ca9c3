"""API fixtures: a registry trained once per session, copied by tests that change it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from apitools import TestClient, Trained, train_run
from factories import subscriptions_spec, write_project

from churn.api.app import create_app
from churn.api.settings import Settings
from churn.registry import Registry

SECOND_MODELS = [
    {
        "name": "forest",
        "type": "random_forest",
        "params": {"n_estimators": 25, "max_depth": 3, "n_jobs": 1},
    },
]


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Two runs of the subscriptions project (logreg/trees, then a small forest)."""
    folder = tmp_path_factory.mktemp("project")
    spec_path = write_project(folder)
    home = folder / "home"
    first = train_run(spec_path, home).run_id
    other = tmp_path_factory.mktemp("project2")
    second = train_run(write_project(other, subscriptions_spec(models=SECOND_MODELS)), home)
    registry = Registry(home)
    if registry.champion().run_id != first:  # type: ignore[union-attr]
        with registry.lock():
            registry.rollback(reason="tests start from the first run", to=first)
    return Trained(spec_path, home, first, second.run_id)


@pytest.fixture
def make_client(trained: Trained) -> Iterator[Callable[..., TestClient]]:
    """Build a started TestClient; ``home`` defaults to the shared (read-only) registry."""
    clients: list[TestClient] = []

    def make(home: Path | None = None, **settings: Any) -> TestClient:
        settings.setdefault("reload_interval", 0)
        # sinks in the recorder's thread: the recorder process (the default) is tested where
        # its results are (test_api_prediction_log, test_api_drift, tests/monitoring)
        settings.setdefault("recorder_process", False)
        settings.setdefault("spec", trained.spec_path)
        app = create_app(Settings(home=home or trained.home, **settings))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A client of the shared registry (champion: the first run)."""
    return make_client()


@pytest.fixture
def home(trained: Trained, tmp_path: Path) -> Path:
    """A private copy of the trained registry."""
    return trained.copy_home(tmp_path)
