"""`kill -9` of a serving process under load loses at most the last flush of its log, and
leaves no process behind: with the recorder in a thread (the default) and in a recorder
process (`CHURN_RECORDER_PROCESS=true`: it writes what it received, then ends)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from apitools import Trained, descendants, ended, free_port, record, wait_until_ready

from churn.monitoring.prediction_log import read_prediction_log

pytestmark = pytest.mark.slow

FLUSH_SECONDS = 1.0
WRITE_ALLOWANCE = 0.5
"""A flush's own write on a busy machine: records older than flush + this must be logged."""


@pytest.mark.parametrize("recorder_process", [False, True], ids=["thread", "process"])
def test_kill_9_under_load_loses_at_most_the_last_flush(
    trained: Trained, home: Path, tmp_path: Path, recorder_process: bool
) -> None:
    port, log = free_port(), tmp_path / "log"
    env = {
        **os.environ,
        "CHURN_PREDICTION_LOG_DIR": str(log),
        "CHURN_PREDICTION_LOG_FLUSH_SECONDS": str(FLUSH_SECONDS),
        "CHURN_RECORDER_PROCESS": str(recorder_process).lower(),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    command = [sys.executable, "-m", "churn.cli.app", "serve", "--workers", "1"]
    command += ["--port", str(port), "--home", str(home), "--spec", str(trained.spec_path)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    answered: dict[str, float] = {}
    sent: set[str] = set()
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(base_url=url, timeout=5) as client:
            for n in range(1_000_000):
                if stop.is_set():
                    return
                records = [record(i, account_id=f"W{worker}-{n}-{i}") for i in range(4)]
                sent.update(r["account_id"] for r in records)
                try:
                    response = client.post("/predict", json={"records": records})
                except httpx.TransportError:
                    return  # the server was killed
                if response.status_code == 200:
                    now = time.monotonic()
                    answered.update({p["id"]: now for p in response.json()["predictions"]})

    try:
        wait_until_ready(process, url)
        threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(4 * FLUSH_SECONDS)
        below = descendants(process.pid)  # in process mode, the fork server and the recorder
        killed_at = time.monotonic()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        deadline = time.monotonic() + 30  # the recorder writes what it received, then ends
        while not all(ended(pid) for pid in below):
            assert time.monotonic() < deadline, "a process outlived the killed server"
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    if recorder_process:
        assert len(below) >= 2, below  # the recorder ran in a process of its own (fork server)
    assert process.stderr is not None
    assert '"POST /predict' not in process.stderr.read().decode()  # no access log by default
    table, skipped = read_prediction_log(log)
    logged = set(table["id"].to_pylist())
    assert skipped == []  # no torn file: each flush is renamed into place whole
    assert len(answered) > 100, "too little load to say anything"
    assert logged <= sent
    cutoff = killed_at - FLUSH_SECONDS - WRITE_ALLOWANCE
    lost_old = [i for i, at in answered.items() if at < cutoff and i not in logged]
    assert lost_old == [], f"{len(lost_old)} records answered before the last flush were lost"
    lost = len(set(answered) - logged)
    recent = sum(1 for at in answered.values() if at >= cutoff)
    assert lost <= recent
    print(f"answered {len(answered)}, logged {len(logged)}, lost {lost} (last {recent} at risk)")
