"""`churn serve --workers 2`: two real worker processes, metrics added up, none outlives serve."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from apitools import Trained, descendants, record, wait_until_ready
from prometheus_client.multiprocess import MultiProcessCollector

from churn.api.workers import default_workers
from churn.registry import Registry
from churn.settings import SettingsError

pytestmark = pytest.mark.slow

STARTUP_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(p) for p in (task / "children").read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status waits to be read


@pytest.fixture
def served(
    trained: Trained, home: Path, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    """`churn serve --workers 2` on a free port, with its metrics folder under tmp_path."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")  # emptied when serve starts
    port = _free_port()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "CHURN_RELOAD_INTERVAL": "0.5",
        "CHURN_RECORDER_PROCESS": "true",  # every worker's recorder process must end too
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    command = [
        sys.executable,
        "-m",
        "churn.cli.app",
        "serve",
        "--workers",
        "2",
        "--port",
        str(port),
    ]
    command += ["--home", str(home), "--spec", str(trained.spec_path)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    workers: set[int] = set()
    try:
        ends = time.monotonic() + STARTUP_SECONDS
        wait_until_ready(process, url, STARTUP_SECONDS)
        while len(list(metrics_dir.glob("counter_*.db"))) < 2:  # both workers have loaded
            assert time.monotonic() < ends, "the second worker did not start"
            time.sleep(0.3)
        workers = _children(process.pid)
        yield process, url, metrics_dir
    finally:
        process.terminate()
        process.wait(timeout=30)
        for pid in workers:  # only if the test failed: none may be left behind
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _predictions_by_worker(metrics_dir: Path, sent: int) -> dict[str, float]:
    """/predict requests counted in each worker's own file, once all ``sent`` are counted.

    A request is counted just after its answer was sent, so the last ones may need a moment.
    """
    ends = time.monotonic() + 10
    while sum((counts := _counted(metrics_dir)).values()) < sent and time.monotonic() < ends:
        time.sleep(0.05)
    return counts


def _counted(metrics_dir: Path) -> dict[str, float]:
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        total = 0.0
        for metric in MultiProcessCollector.merge([str(path)], accumulate=False):
            for sample in metric.samples:
                if (
                    sample.name == "churn_api_requests_total"
                    and sample.labels["route"] == "/predict"
                ):
                    total += sample.value
        counts[path.stem.removeprefix("counter_")] = total
    return counts


def _champion_by_worker(metrics_dir: Path) -> dict[str, dict[str, float]]:
    """churn_champion_info by run id, in each worker's own file."""
    found: dict[str, dict[str, float]] = {}
    for path in metrics_dir.glob("gauge_livemax_*.db"):
        for metric in MultiProcessCollector.merge([str(path)], accumulate=False):
            for sample in metric.samples:
                if sample.name == "churn_champion_info":
                    pid = path.stem.rsplit("_", 1)[1]
                    found.setdefault(pid, {})[sample.labels["run_id"]] = sample.value
    return found


def test_two_workers_add_up_metrics_reload_the_champion_and_end_with_serve(
    served, trained: Trained, home: Path
) -> None:
    process, url, metrics_dir = served
    assert not (metrics_dir / "counter_1.db").exists()
    sent = 0
    while sent < 600:  # fresh connections, so both workers accept some
        for i in range(20):
            httpx.post(f"{url}/predict", json={"records": [record(sent + i)]}).raise_for_status()
        sent += 20
        by_worker = _predictions_by_worker(metrics_dir, sent)
        if len([n for n in by_worker.values() if n > 0]) == 2:
            break
    assert len([n for n in by_worker.values() if n > 0]) == 2, by_worker
    assert sum(by_worker.values()) == sent
    exposed = httpx.get(f"{url}/metrics").text
    line = 'churn_api_requests_total{method="POST",route="/predict",status="200"}'
    assert f"{line} {float(sent)}" in exposed
    assert "churn_model_ready 1.0" in exposed

    registry = Registry(home)
    with registry.lock():
        registry.rollback(reason="each worker reloads", to=trained.second)
    ends = time.monotonic() + 60
    while (served := _champion_by_worker(metrics_dir)) != {
        pid: {trained.first: 0.0, trained.second: 1.0} for pid in served
    } or len(served) < 2:
        assert time.monotonic() < ends, f"not every worker reloaded: {served}"
        time.sleep(0.2)
    assert f'run_id="{trained.second}"}} 1.0' in httpx.get(f"{url}/metrics").text

    below = descendants(process.pid)  # workers, fork servers, recorder processes
    assert len(below) >= 6, below  # each worker's fork server and recorder process
    assert len(list(metrics_dir.glob("drift-*.json"))) == 2  # one window per recorder process
    process.kill()  # no chance to stop its workers itself
    process.wait(timeout=10)
    ends = time.monotonic() + 30
    while any(_alive(pid) for pid in below) and time.monotonic() < ends:
        time.sleep(0.2)
    assert not [pid for pid in below if _alive(pid)]
    assert not list(metrics_dir.glob("drift-*.json"))  # each recorder removed its window
    # each worker ended cleanly (SIGTERM from PR_SET_PDEATHSIG) and removed its live gauges
    assert not list(metrics_dir.glob("gauge_live*.db"))
    assert len(list(metrics_dir.glob("counter_*.db"))) == 2  # counts of ended workers stay


def test_the_default_worker_count_follows_the_cgroup_cpu_quota(tmp_path, monkeypatch) -> None:
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    monkeypatch.setenv("CHURN_CGROUP_ROOT", str(tmp_path))
    monkeypatch.delenv("CHURN_API_WORKERS", raising=False)
    monkeypatch.setenv("CHURN_WORKERS", "3")  # the training pool's older name, not the API's
    assert default_workers() == 1
    monkeypatch.setenv("CHURN_API_WORKERS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("CHURN_API_WORKERS", "two")
    with pytest.raises(SettingsError, match="CHURN_API_WORKERS='two': input should be a valid"):
        default_workers()


def test_a_start_removes_the_metric_folders_of_killed_serves(tmp_path, monkeypatch) -> None:
    from churn.api import workers

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    orphan = tmp_path / f"churn-metrics-{dead}-abc"
    live = tmp_path / f"churn-metrics-{os.getpid()}-def"
    for folder in (orphan, live):
        folder.mkdir()
        (folder / "counter_1.db").write_bytes(b"x")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setattr(workers.tempfile, "tempdir", str(tmp_path))
    fresh, owned = workers._metrics_folder()
    assert owned and fresh.parent == tmp_path and not list(fresh.iterdir())
    assert not orphan.exists()
    assert live.exists()
