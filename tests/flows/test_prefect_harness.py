"""The session's Prefect harness: every Prefect client in the test process talks to the
session's server, whatever ``PREFECT_HOME`` the caller exported and whenever Prefect was
first imported on this worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flowtools import reread_prefect_settings


def test_prefect_settings_imported_early_follow_the_environment_once_reread(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prefect.settings import get_current_settings

    try:
        monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "callers-home"))
        monkeypatch.delenv("PREFECT_API_URL", raising=False)
        reread_prefect_settings()  # as if Prefect were first imported now, by an earlier test
        monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "session-home"))
        monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
        stale = get_current_settings()
        assert (stale.home, stale.api.url) == (tmp_path / "callers-home", None)

        reread_prefect_settings()

        current = get_current_settings()
        assert (current.home, current.api.url) == (
            tmp_path / "session-home",
            "http://127.0.0.1:9/api",
        )
    finally:
        monkeypatch.undo()
        reread_prefect_settings()


@pytest.mark.usefixtures("prefect_server")
def test_a_client_in_the_test_process_reads_the_sessions_server() -> None:
    from prefect import get_client
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    assert settings.api.url == os.environ["PREFECT_API_URL"]
    assert settings.home == Path(os.environ["PREFECT_HOME"])
    with get_client(sync_client=True) as client:
        assert str(client.api_url).rstrip("/") == os.environ["PREFECT_API_URL"]
        assert client.api_healthcheck() is None
