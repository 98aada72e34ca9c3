"""A Prefect server kept running for a working session is found and used by later runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from churn.flows.runtime import prefect_api
from churn.flows.server import healthy, long_lived_url
from churn.settings import load_settings

pytestmark = pytest.mark.flow


@pytest.mark.slow  # its own Prefect server from a fresh home: 15 s
def test_churn_prefect_server_serves_the_api_and_ui_until_interrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "churn.cli", "prefect-server", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 240
        while not healthy(url) and time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            time.sleep(0.5)
        assert healthy(url), "churn prefect-server did not answer"
        monkeypatch.setenv("CHURN_PREFECT_LOCAL_URL", url)
        assert long_lived_url() == url
        said: list[str] = []
        with prefect_api(said.append, load_settings()) as ready:
            assert ready() == {"PREFECT_API_URL": url}
        assert said == []  # nothing started, nothing to wait for
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
