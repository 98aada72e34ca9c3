"""One temporary Prefect server for every whole-flow test (it takes 10-18 s to start)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point Prefect at a throw-away home and a temporary local server for the session."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
        patch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        patch.setenv("DO_NOT_TRACK", "1")
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=90):
            yield


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with the subscriptions data, ready for specs."""
    from factories import subscriptions_frame

    subscriptions_frame(600).to_csv(tmp_path / "subscriptions.csv", index=False)
    return tmp_path
