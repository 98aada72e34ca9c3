"""The head start's submissions to worker processes are made beside this process's work."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest

from churn.run import steps
from churn.run.head_start import start_training


class SlowToStart:
    """A pool of worker processes whose first submit waits for its (fork) server."""

    def __init__(self, *, fails: bool = False) -> None:
        self.ready = threading.Event()
        self.fails = fails
        self.calls: list[tuple[str, str]] = []
        self.started = False

    def describe(self) -> dict[str, Any]:
        return {"executor": "processes", "workers": 2}

    def submit(self, fn: Any, /, *args: Any) -> Future[Any]:
        assert self.ready.wait(10), "the test never let the pool start"
        if self.fails:
            raise RuntimeError("the pool is broken")
        self.calls.append((fn.__name__, args[1] if fn is steps.train else ""))
        future: Future[Any] = Future()
        future.set_result(fn.__name__)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.calls.append(("shutdown", ""))


def a_run(split: object) -> Any:
    models = [SimpleNamespace(name="logreg"), SimpleNamespace(name="forest")]
    ctx = SimpleNamespace(spec=SimpleNamespace(models=models), run_id="r", registry=None)
    return SimpleNamespace(ctx=ctx, frame=None, split=lambda: split)


def test_the_fits_are_submitted_in_the_background_and_handed_out_once_made() -> None:
    split = object()
    run = a_run(split)
    pool = SlowToStart()
    head = start_training(run, pool)  # returns although the pool has not started
    assert pool.calls == []
    pool.ready.set()
    started = head.submit(steps.train, run.ctx, "forest", split)
    assert started.result() == "train"
    assert pool.calls == [("train", "logreg"), ("train", "forest")]  # the spec's order
    assert head.submit(steps.train, run.ctx, "forest", split) is not started  # once
    head.shutdown()
    assert pool.calls[-1] == ("shutdown", "")


def test_a_pool_that_refused_the_fits_fails_every_later_submit_not_the_shutdown() -> None:
    split = object()
    run = a_run(split)
    pool = SlowToStart(fails=True)
    head = start_training(run, pool)
    pool.ready.set()
    for _ in range(2):
        with pytest.raises(RuntimeError, match="the pool is broken"):
            head.submit(steps.train, run.ctx, "logreg", split)
    head.shutdown()
    assert pool.calls == [("shutdown", "")]


def test_workers_already_running_get_the_fits_at_once_from_the_calling_thread() -> None:
    """Workers forked from this process wait for no server: no thread is needed to submit."""
    split = object()
    run = a_run(split)
    pool = SlowToStart()
    pool.started = True
    pool.ready.set()
    submitters: list[threading.Thread] = []
    submit = pool.submit

    def recording(fn: Any, /, *args: Any) -> Future[Any]:
        submitters.append(threading.current_thread())
        return submit(fn, *args)

    pool.submit = recording  # type: ignore[method-assign]
    head = start_training(run, pool)
    assert pool.calls == [("train", "logreg"), ("train", "forest")]  # before it returned
    assert submitters == [threading.current_thread()] * 2
    head.shutdown()
