"""Where the training workers come from: forked from this process once it has imported the
training stack and runs no other thread, else from the fork server; one native thread and a
parent-death signal in each, and a spec error forks nothing."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from command_probe import observe_command
from factories import subscriptions_spec, write_project

from churn.run import pool as training_pool
from churn.run.pool import InlineExecutor, WorkerPool, only_thread, start_training_pool

ROOT = Path(__file__).resolve().parents[2]
NATIVE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

FORKED = """
import ctypes, gc, json, multiprocessing, os, sys
from pathlib import Path

def tasks():
    return len(os.listdir("/proc/self/task"))

def worker_state():
    from threadpoolctl import threadpool_info
    death_signal = ctypes.c_int()
    ctypes.CDLL(None).prctl(2, ctypes.byref(death_signal), 0, 0, 0)  # PR_GET_PDEATHSIG
    return {
        "parent": os.getppid(),
        "death_signal": death_signal.value,
        "native_threads": sorted({pool["num_threads"] for pool in threadpool_info()}),
        "training_stack": "churn.training.evaluate" in sys.modules,
        "frozen_objects": gc.get_freeze_count(),
    }

if __name__ == "__main__":
    import churn.run.steps  # what the spec's checks and the pool import
    from churn.run.pool import start_training_pool
    from churn.spec import load_spec
    before = tasks()
    load_spec(Path(sys.argv[1]))  # the estimator checks of every candidate of the default spec
    seen = {"pid": os.getpid(), "threads_started_by_the_checks": tasks() - before}
    pool = start_training_pool(3, 2)
    seen["started"] = pool.started
    seen["children_before_any_work"] = len(multiprocessing.active_children())
    seen["frozen_here"] = gc.get_freeze_count()
    seen["workers"] = [pool.submit(worker_state).result() for _ in range(4)]
    pool.shutdown()
    seen["children_after_shutdown"] = len(multiprocessing.active_children())
    print(json.dumps(seen))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the pool forks on Linux only")
def test_workers_fork_from_this_process_with_one_native_thread_and_a_parent_death_signal() -> None:
    """A fresh interpreter with the native pools' default sizes, as ``churn run`` in a shell:
    the spec's checks start no native thread (an OpenMP or BLAS pool used before a fork can
    hang the child), the workers are this process's children as soon as the pool opens, each
    limited to one native thread and killed with its parent."""
    environment = {k: v for k, v in os.environ.items() if k not in NATIVE_THREAD_VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", FORKED, str(ROOT / "spec" / "telco.yaml")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,  # a hang only: about 3 s of CPU
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["threads_started_by_the_checks"] == 0
    assert seen["started"] is True
    assert seen["children_before_any_work"] == 2
    assert seen["frozen_here"] == 0  # this process's collections are as before
    assert {worker["parent"] for worker in seen["workers"]} == {seen["pid"]}
    for worker in seen["workers"]:
        assert worker["death_signal"] == 9  # SIGKILL when churn run ends, however it ends
        assert worker["native_threads"] == [1]
        assert worker["training_stack"]  # imported once, before the fork
        assert worker["frozen_objects"] > 100_000  # its collections skip the inherited stack
    assert seen["children_after_shutdown"] == 0


def test_a_process_running_another_thread_gets_its_workers_from_the_fork_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warmed: list[bool] = []

    def warm(*, draws: bool = False) -> Any:
        warmed.append(draws)
        return multiprocessing.get_context("forkserver")  # not started: nothing is submitted

    monkeypatch.setattr(training_pool, "warm_fork_server", warm)
    other = threading.Event()
    thread = threading.Thread(target=other.wait, name="another", daemon=True)
    thread.start()
    try:
        assert not only_thread()
        pool = start_training_pool(3, 2, draws=True)
    finally:
        other.set()
        thread.join()
    assert isinstance(pool, WorkerPool)
    assert (pool.started, warmed) == (False, [True])  # its workers start on the first submit
    pool.shutdown()


def test_one_worker_or_one_candidate_trains_in_the_calling_thread() -> None:
    assert isinstance(start_training_pool(1, 2), InlineExecutor)
    assert isinstance(start_training_pool(3, 1), InlineExecutor)


def test_a_spec_error_forks_nothing_and_starts_no_process(tmp_path: Path) -> None:
    """The estimator checks fail before the workers would fork (two candidates: a run that
    would fork them); observed from inside the command (``command_probe``)."""
    models = [
        {"name": "logreg", "type": "logistic_regression", "params": {"no_such_param": 1}},
        {"name": "forest", "type": "random_forest"},
    ]
    spec = write_project(tmp_path, subscriptions_spec(models=models))
    assert yaml.safe_load(spec.read_text())["models"][0]["params"] == {"no_such_param": 1}
    environment = {**os.environ, "CHURN_TRAIN_WORKERS": "2", "PREFECT_API_URL": ""}
    seen = observe_command(
        ["run", str(spec), "--home", str(tmp_path / "home")],
        environment,
    )
    assert seen.code == 2, seen.message
    assert "no_such_param" in seen.message
    assert "Traceback" not in seen.message
    assert seen.started == []
