"""The model half of ``churn drift`` in a forked child, on the second core.

``churn drift`` needs two things that do not depend on each other until the very end: the
batch read and checked against the contract (pyarrow, pandas), and the run's model verified
and scoring a sample. :class:`ModelChild` forks before either starts (after the parent read
the spec without the estimator checks), so the child checks the spec fully and gets the model
ready while the parent reads the data; the parent then sends the sample and gets its scores
back. Every failure of the child (no champion, a bad hash, a model reading a column the spec
lacks) comes back as the same exception a one-process command raises.

The child needs neither scikit-learn nor XGBoost when it can (issue 23, fourth pass): the
estimator parameter checks are left out when the run trained with the very same ``models:``
(:func:`checked_spec`), and an XGBoost model is scored by the compiled form its run's profile
records (:mod:`churn.monitoring.tree_scorer`, bit for bit ``predict_proba``), after the model
file's hash is checked as loading it would (:func:`recorded_scorer`). Otherwise it imports
them, unpickles the model and scores through the serving fast path, as before.

The child ignores Ctrl-C (the parent stops it) and never outlives the parent: it is stopped
when the ``with`` block ends, and the kernel ends it when the parent dies however it dies
(:func:`churn.orphans.parent_death_hook`).

Nothing happens at import time.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from churn.errors import ChurnError, SpecError
from churn.orphans import parent_death_hook

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from churn.monitoring.tree_scorer import TreeScorer
    from churn.registry import Registry
    from churn.spec import Spec

STOP_SECONDS: Final = 5.0
"""How long a stopped child may take to exit before it is killed."""


class ModelChild:
    """A forked process that checks the spec fully, loads and verifies a run's model, and
    scores the sample it is sent.

    Use it as a context manager. Its answers come in order: the spec's verdict, the model's
    run (:meth:`run_id` waits for both), then the scores of the sample (:meth:`send_sample`,
    :meth:`scores`; it may be sent before the batch is checked, see :mod:`churn.batch_drift`).
    :meth:`first_failure` gives the child's earliest failure without raising it, for a caller
    that failed meanwhile and must report the earlier problem first.
    """

    def __init__(self, home: Path, run_id: str | None, spec_file: Path) -> None:
        context = multiprocessing.get_context("fork")
        self._connection, child_end = context.Pipe()
        self._process = context.Process(
            target=_child_main,
            args=(child_end, self._connection, home, run_id, spec_file, parent_death_hook()),
            name="churn-drift-model",
            daemon=True,
        )
        self._process.start()
        child_end.close()
        self._answers: list[tuple[str, Any]] = []

    def __enter__(self) -> ModelChild:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """End the child now (it may still be importing); idempotent."""
        self._connection.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(STOP_SECONDS)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    @property
    def pid(self) -> int | None:
        """The child's process id."""
        return self._process.pid

    @property
    def exitcode(self) -> int | None:
        """The child's exit code; None while it runs."""
        return self._process.exitcode

    def check_spec(self) -> None:
        """Wait for the full spec check (with the estimators' parameters).

        Raises:
            SpecError: Every problem of the spec, as :func:`~churn.spec.load_spec` words them.
        """
        self._answer(0)

    def run_id(self) -> str:
        """The run whose model the child loaded and verified (after :meth:`check_spec`).

        Raises:
            SpecError: The spec is not valid.
            RegistryError: No champion, an unknown run, a run without a model, a bad hash.
        """
        run_id, _ = self._answer(1)
        return str(run_id)

    def compiled(self) -> bool:
        """True when the child scores with the compiled model the run's profile records
        (it then takes the sample's columns as :func:`~churn.monitoring.tree_scorer.
        read_columns` gives them for :meth:`reads`); False when it unpickled the model (it
        then takes the sample's rows as a frame). Waits as :meth:`run_id` does.
        """
        return self.reads() is not None

    def reads(self) -> dict[str, bool] | None:
        """The compiled model's input columns, each True when it is read as float64
        (:attr:`~churn.monitoring.tree_scorer.TreeScorer.reads`); None when the child
        unpickled the model. Waits as :meth:`run_id` does."""
        _, reads = self._answer(1)
        return None if reads is None else dict(reads)

    def spec_failure(self) -> ChurnError | None:
        """What the full spec check found wrong; None when nothing (or the child ended)."""
        return self._failure(0)

    def first_failure(self) -> ChurnError | None:
        """The child's failure to check the spec or load the model; None when both worked
        (or the child ended without saying)."""
        return self._failure(1)

    def _failure(self, upto: int) -> ChurnError | None:
        try:
            self._answer(upto)
        except ChurnError as exc:
            return exc
        except RuntimeError:
            return None
        return None

    def _answer(self, index: int) -> Any:
        """The child's answer number ``index`` (0 the spec, 1 the run), received once."""
        while len(self._answers) <= index:
            if self._answers and self._answers[-1][0] == "error":  # it stopped at that one
                self._answers.append(self._answers[-1])
                continue
            try:
                self._answers.append(("ok", self._receive()))
            except (ChurnError, RuntimeError) as exc:
                self._answers.append(("error", exc))
        kind, value = self._answers[index]
        if kind == "error":
            raise value
        return value

    def send_sample(self, sample: pd.DataFrame | Mapping[str, np.ndarray]) -> None:
        """Have the child score ``sample`` (validated rows of the batch, or their columns when
        :meth:`compiled`) with the spec it checked; call after :meth:`run_id`, then get the
        scores with :meth:`scores`."""
        with contextlib.suppress(OSError):  # a child that failed: :meth:`scores` says why
            self._connection.send(sample)

    def scores(self) -> np.ndarray:
        """P(churn) of every row of the sample sent.

        Raises:
            SpecError: The model reads a column the spec does not declare.
        """
        scores: np.ndarray = self._receive()
        return scores

    def _receive(self) -> Any:
        try:
            kind, value = self._connection.recv()
        except EOFError:
            code = self._process.exitcode
            raise RuntimeError(f"the model process ended without an answer (exit {code})") from None
        if kind == "error":
            raise value
        return value


def _child_main(
    connection: Connection,
    parent_end: Connection,
    home: Path,
    run: str | None,
    spec_file: Path,
    die_with_parent: Callable[[], None],
) -> None:
    """Check the spec, load the model, then score the one sample the parent sends."""
    die_with_parent()  # even a kill -9 of the parent ends this process at once
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent_end.close()
    try:
        from churn.registry import Registry

        registry = Registry(home)
        spec = checked_spec(spec_file, registry, run)
        connection.send(("ok", None))
        scorer = recorded_scorer(registry, run)
        if scorer is None:
            from churn.serving.score_file import scoring_model

            model = scoring_model(registry, run)
            connection.send(("ok", (model.run_id, None)))
            sample = connection.recv()
            connection.send(("ok", batch_scores(spec, model.pipeline, sample)))
        else:
            connection.send(("ok", (scorer[0], scorer[1].reads)))
            sample = connection.recv()
            connection.send(("ok", compiled_scores(spec, scorer[1], sample)))
    except EOFError:  # the parent stopped listening: nothing to answer
        pass
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        _send_error(connection, exc)
    finally:
        connection.close()
        os._exit(0)


def batch_scores(spec: Spec, pipeline: object, frame: pd.DataFrame) -> np.ndarray:
    """P(churn) of every row of ``frame`` through the serving fast path (the pipeline's own
    ``predict_proba`` when the fast path cannot take the model).

    Raises:
        SpecError: The model reads a column the spec (and so ``frame``) does not have.
    """
    import numpy as np
    from sklearn.pipeline import Pipeline

    from churn.serving.fast_inputs import Unsupported
    from churn.serving.fast_scorer import FastScorer

    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"expected a scikit-learn Pipeline, got {type(pipeline).__name__}")
    reads = [str(name) for name in getattr(pipeline, "feature_names_in_", [])]
    if unknown := [name for name in reads if name not in frame.columns]:
        raise _undeclared(spec, unknown)
    inputs = {name: spec.columns[name] for name in spec.feature_columns}
    try:
        scorer = FastScorer(pipeline, inputs)
    except Unsupported:
        return np.asarray(pipeline.predict_proba(frame)[:, 1], dtype=np.float64)
    if not scorer.fast:
        return scorer.predict_proba_frame(frame)
    columns = {name: frame[name].tolist() for name in scorer.input_columns}
    return scorer.predict_proba(columns, len(frame))


def _undeclared(spec: Spec, unknown: list[str]) -> SpecError:
    return SpecError(
        [
            f"{spec.place('columns')}: the model reads {', '.join(map(repr, unknown))}, "
            "which the spec does not declare (was the spec changed since that run? "
            "drift a batch with the run's own spec)"
        ]
    )


def checked_spec(spec_file: Path, registry: Registry, run: str | None) -> Spec:
    """The spec, fully checked; the checks of the models' parameters (which import
    scikit-learn and XGBoost) are left out when they were made already: the run to compare
    with trained with the very same ``models`` (its spec copy, as hashed in its run.json)
    under the scikit-learn and XGBoost versions installed now.

    Raises:
        SpecError: Every problem of the spec, as :func:`~churn.spec.load_spec` words them.
    """
    from churn.spec.loader import check_estimators, load_spec, load_spec_and_text

    try:
        spec, text = load_spec_and_text(spec_file, estimator_checks=False)
    except SpecError:
        load_spec(spec_file)  # raises, naming the search spaces' problems too
        raise
    if not _models_checked_by_run(text, registry, run):
        check_estimators(spec, text, source=str(spec_file))
    return spec


def _models_checked_by_run(text: str, registry: Registry, run: str | None) -> bool:
    """Whether the run to compare with trained with the same ``models`` as the spec ``text``
    (its spec copy, as hashed in its run.json) under the versions installed now; False when
    the registry cannot say (its own problems are reported when the model loads)."""
    import hashlib

    from churn.spec.yaml_lines import load_located

    try:
        if run is None:
            pointer = registry.champion()
            if pointer is None:
                return False
            run = pointer.run_id
        manifest = registry.record(run)
        recorded = manifest.versions or {}
        if recorded.get("scikit-learn") != _installed("scikit-learn"):
            return False
        if "xgboost" in recorded and recorded["xgboost"] != _installed("xgboost"):
            return False
        copy = registry.spec_copy_text(run)
    except ChurnError:
        return False
    if hashlib.sha256(copy.encode("utf-8")).hexdigest() != manifest.spec_sha256:
        return False
    return bool(load_located(text).data["models"] == load_located(copy).data["models"])


def _installed(name: str) -> str | None:
    """The installed version of ``name`` (as a run records it), without importing it."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def recorded_scorer(registry: Registry, run: str | None) -> tuple[str, TreeScorer] | None:
    """The run's id and the compiled form of its model its profile records, after checking
    the model file's hash as loading it would; None when the run's profile has no compiled
    form (an older run, a model :mod:`churn.monitoring.tree_scorer` does not compile) or
    anything is wrong, which loading the pickled model then reports.
    """
    from churn.monitoring.champion import run_profile

    try:
        if run is None:
            pointer = registry.verify_champion_model()
            if pointer is None:
                return None
            run = pointer.run_id
        else:
            model = registry.record(run).model
            if model is None:
                return None
            registry.verify_model(run, model.sha256, name=model.name)
        scorer = run_profile(registry, run).scorer
    except ChurnError:
        return None
    return None if scorer is None else (run, scorer)


def compiled_scores(
    spec: Spec, scorer: TreeScorer, sample: pd.DataFrame | Mapping[str, np.ndarray]
) -> np.ndarray:
    """P(churn) of every row of ``sample`` (validated rows, or their columns as
    :func:`~churn.monitoring.tree_scorer.sample_columns` gives them) through the run's
    compiled model.

    Raises:
        SpecError: The model reads a column the spec (and so ``sample``) does not have.
    """
    from churn.monitoring.tree_scorer import sample_columns

    present = set(sample) if isinstance(sample, Mapping) else set(sample.columns)
    if unknown := [name for name in scorer.inputs if name not in present]:
        raise _undeclared(spec, unknown)
    return scorer.predict(sample if isinstance(sample, Mapping) else sample_columns(sample, scorer))


def _send_error(connection: Connection, exc: BaseException) -> None:
    try:
        connection.send(("error", exc))
    except Exception:  # noqa: BLE001 - an exception that does not pickle: its text does
        with contextlib.suppress(OSError):
            connection.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
