"""One Prefect server for every whole-flow test (a fresh one takes 10-25 s to start here).

It is churn's own temporary server, named in ``PREFECT_API_URL`` as a cluster's would be, so
each ``churn run`` under test finds it instead of starting one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flowtools import preserved_logging, reread_prefect_settings

GROUPS = {
    "tests/flows/test_fresh_start.py": "flows-own-server",
    "tests/flows/test_long_lived_server.py": "flows-own-server",
    "tests/flows/test_hard_stops.py": "flows-hard-stops",
}
"""Flow test files that form their own xdist group; the rest share the group ``flows``.

Each group runs on one xdist worker. ``flows-own-server`` starts its own Prefect servers (or
none); ``flows`` and ``flows-hard-stops`` each start the session's server once, on their own
worker, so the two longest chains of whole runs proceed side by side."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put each flow test in its xdist group (see :data:`GROUPS`)."""
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path.startswith("tests/flows/"):
            item.add_marker(pytest.mark.xdist_group(GROUPS.get(path, "flows")))


@pytest.fixture(autouse=True)
def restore_churn_logging() -> Iterator[None]:
    """Each test leaves the loggers as it found them (see :func:`flowtools.preserved_logging`)."""
    with preserved_logging():
        yield


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point Prefect at a throw-away home and a temporary local server for the session: in the
    environment (for ``churn run`` and its subprocesses), and in Prefect's settings too if this
    process has already imported Prefect (see :func:`flowtools.reread_prefect_settings`)."""
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
            patch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
            patch.setenv("DO_NOT_TRACK", "1")
            from churn.flows.server import TemporaryServer
            from churn.settings import load_settings

            server = TemporaryServer()
            server.start()
            try:  # as long as churn run would wait (CHURN_PREFECT_START_TIMEOUT, default 180 s)
                server.wait_ready(load_settings().prefect_start_timeout)
                patch.setenv("PREFECT_API_URL", server.api_url)
                reread_prefect_settings()
                yield
            finally:
                server.stop()
    finally:
        reread_prefect_settings()  # the caller's environment, restored by the patch


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with the subscriptions data, ready for specs."""
    from factories import subscriptions_frame

    subscriptions_frame(600).to_csv(tmp_path / "subscriptions.csv", index=False)
    return tmp_path
