"""Candidates start training as soon as the data is valid, before the orchestrator is ready.

``churn run`` validates the data while Prefect's API starts (a temporary server creates its
database first) and this process imports Prefect. Nothing the fits need waits for either: the
seeded split is a pure function of the spec and the data, and each candidate's fit runs in the
training pool. :func:`start_training` submits every candidate's fit to the pool at once; the
sequence's ``split`` step then returns that same split and each ``train-NAME`` step waits for
the fit already running (its ``step`` log line gives the wait, the candidate's ``fit_seconds``
the fit). The fits, their inputs and so their numbers are exactly those the steps would start.

Workers forked from this process already run (:func:`churn.run.pool.start_training_pool`):
the submissions are made at once. Workers from a fork server may not yet: the first ``submit``
asks the fork server for them and waits until it has imported the training and plotting stack,
so those submissions are made in a background thread, and this process imports Prefect
meanwhile instead of waiting with a core idle.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from churn.run import report_steps, steps
from churn.run.pool import works_here
from churn.run.preflight import PreparedRun


class HeadStart(Executor):
    """A training pool whose candidates' fits were submitted before the run's sequence began.

    :meth:`submit` of :func:`churn.run.steps.train` on the run's own split returns the fit
    already started for that candidate (once); any other call goes to the pool, after the head
    start's own submissions (:meth:`submit_in_background`) are made.
    """

    def __init__(
        self,
        pool: Executor,
        started: dict[str, Future[Any]],
        split: object,
        eda: tuple[tuple[Any, Any, str | None], Future[Any]] | None = None,
    ) -> None:
        self.pool = pool
        self._started = started
        self._split = split
        self._eda = eda
        self._submitting: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._waiting = threading.Lock()

    def submit_in_background(self, submissions: Callable[[HeadStart], None]) -> None:
        """Call ``submissions(self)`` in a thread (it fills the started fits and EDA); every
        later :meth:`submit` and :meth:`shutdown` waits for it first, and every ``submit``
        raises what it raised (the pool could not take the head start's fits)."""

        def run() -> None:
            try:
                submissions(self)
            except BaseException as exc:  # noqa: BLE001 - raised again by the next submit
                self._failure = exc

        self._submitting = threading.Thread(target=run, name="churn-head-start", daemon=True)
        self._submitting.start()

    def _submitted(self) -> None:
        """Wait for the background submissions; raise what they raised."""
        with self._waiting:  # step threads submit at once
            if self._submitting is not None:
                self._submitting.join()
                self._submitting = None
        if self._failure is not None:
            raise self._failure

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """The started fit for ``steps.train(ctx, name, split)``, the started EDA drawing for
        ``report_steps.eda_plots(ctx, frame, data_sha256)``; else ``pool.submit``."""
        self._submitted()
        if fn is steps.train and len(args) == 3 and not kwargs and args[2] is self._split:
            started = self._started.pop(args[1], None)
            if started is not None:
                return started
        if fn is report_steps.eda_plots and self._eda is not None and not kwargs:
            (ctx, frame, data_sha256), future = self._eda
            same = len(args) == 3 and args[0] is ctx and args[1] is frame
            if same and args[2] == data_sha256:
                self._eda = None
                return future
        return self.pool.submit(fn, *args, **kwargs)

    def describe(self) -> dict[str, Any] | None:
        """The pool's description for ``run.json`` (see :func:`churn.run.pool.describe_pool`)."""
        describe = getattr(self.pool, "describe", None)
        return describe() if callable(describe) else None

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut the pool down (fits not yet running are cancelled when asked), once the
        head start's submissions are made (an error of theirs is the run's to report)."""
        with contextlib.suppress(Exception):  # shutting down, after another failure
            self._submitted()
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def start_training(run: PreparedRun, pool: Executor, *, eda: bool = False) -> HeadStart:
    """Split ``run``'s data (once, see :meth:`PreparedRun.split`) and submit every
    candidate's fit to ``pool``, in the spec's order; with ``eda`` (a run that writes its
    report) and worker processes here, the EDA plots after them, so the first worker free
    draws them while this process imports Prefect (the ``eda`` step then waits for them).
    With worker processes here that are not running yet (a fork server's) the submissions are
    made in a background thread (see the module's docstring); otherwise now, in this thread.

    Raises:
        Exception: The split failed (the run is marked failed/incomplete first).
    """
    try:
        split = run.split()
    except BaseException as exc:
        run.ctx.registry.mark_incomplete(run.ctx.run_id, f"{type(exc).__name__}: {exc}")
        raise
    here = works_here(pool)
    eda_inputs = (run.ctx, run.frame, report_steps.eda_data_hash(run.ctx)) if eda and here else None

    def submissions(head: HeadStart) -> None:
        for model in run.ctx.spec.models:
            head._started[model.name] = pool.submit(steps.train, run.ctx, model.name, split)
        if eda_inputs is not None:
            head._eda = (eda_inputs, pool.submit(report_steps.eda_plots, *eda_inputs))

    head = HeadStart(pool, {}, split)
    if here and not getattr(pool, "started", False):
        head.submit_in_background(submissions)
    else:
        submissions(head)
    return head
