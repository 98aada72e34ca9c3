"""A real Prometheus scrapes the API over loopback and can query its metrics."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from apitools import Trained, record

from churn.api.app import create_app
from churn.api.settings import Settings

DEADLINE = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def prometheus_binary() -> str:
    """The prometheus executable; missing is a skip locally and a failure in CI."""
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus is not installed (apt-get install -y prometheus)")
        pytest.skip("prometheus is not installed (apt-get install -y prometheus)")
    return found


@pytest.fixture
def api_url(trained: Trained) -> Iterator[str]:
    """The API served by uvicorn on a free loopback port, in a thread of this process."""
    port = free_port()
    app = create_app(Settings(home=trained.home, spec=trained.spec_path, reload_interval=0))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ends = time.monotonic() + DEADLINE
    while not server.started and time.monotonic() < ends:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def prometheus_url(prometheus_binary: str, api_url: str, tmp_path: Path) -> Iterator[str]:
    """Prometheus scraping the API every second, on another free loopback port."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: churn\n    static_configs:\n"
        f"      - targets: ['{api_url.removeprefix('http://')}']\n"
    )
    process = subprocess.Popen(
        [
            prometheus_binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def query(url: str, promql: str) -> list[dict[str, object]]:
    """The result vector of an instant query, or [] while Prometheus is not up yet."""
    try:
        response = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=2)
    except httpx.HTTPError:
        return []
    if response.status_code != 200:
        return []
    result: list[dict[str, object]] = response.json()["data"]["result"]
    return result


@pytest.mark.prometheus
def test_prometheus_scrapes_the_api_metrics(
    api_url: str, prometheus_url: str, trained: Trained
) -> None:
    predicted = httpx.post(f"{api_url}/predict", json={"records": [record(i) for i in range(5)]})
    assert predicted.status_code == 200
    promql = 'churn_champion_info{job="churn"}'
    ends = time.monotonic() + DEADLINE
    found: list[dict[str, object]] = []
    while not found and time.monotonic() < ends:
        found = query(prometheus_url, promql)
        time.sleep(0.5)
    assert found, f"Prometheus had no {promql} within {DEADLINE} s"
    (series,) = found
    assert series["metric"]["run_id"] == trained.first  # type: ignore[index]
    assert series["value"][1] == "1"  # type: ignore[index]
    scored = query(prometheus_url, 'sum(churn_predictions_total{job="churn"})')
    assert scored and scored[0]["value"][1] == "5"  # type: ignore[index]
