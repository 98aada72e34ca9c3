"""Everything a run checks before any orchestrator or worker starts.

``open_run`` takes the registry's run lock first (a second run is refused here, before even the ML
stack is imported), then loads the spec (a spec error stops here, exit 2) and checks the champion's
model file (a damaged champion stops here, exit 1). ``check_data`` then creates the run folder
and reads and validates the data (exit 3), while Prefect's server starts (the training workers
are forked before it, see :mod:`churn.run.compose`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from churn.registry import Registry, new_run_id, resolve_home, utcnow
from churn.run.context import RunContext, prepare_run
from churn.run.step_log import timed
from churn.sources.urls import data_location, shown
from churn.spec import Spec
from churn.spec.loader import check_estimators, load_spec_and_text

if TYPE_CHECKING:
    import pandas as pd

    from churn.training.evaluate import Split

log = logging.getLogger("churn.run")


class PreparedRun:
    """A run whose spec, lock, champion and data have all been checked.

    A plain class with slots, not a dataclass: handed to the Prefect flow as an argument, it is
    not stored on Prefect's server (an object it cannot encode is kept as a placeholder), and a
    dataclass would be deep-copied, DataFrame and all, on the way to that placeholder.
    """

    __slots__ = ("_split", "ctx", "frame")

    def __init__(self, ctx: RunContext, frame: pd.DataFrame) -> None:
        self.ctx = ctx
        self.frame = frame
        self._split: Split | None = None

    def split(self) -> Split:
        """The seeded hold-out split of the data, computed once: the candidates may start
        training on it before the run's sequence does (:mod:`churn.run.head_start`)."""
        if self._split is None:
            from churn.run import steps

            self._split = steps.split(self.ctx, self.frame)
        return self._split


@contextmanager
def open_run(
    spec_path: str | Path,
    home: str | Path | None = None,
    *,
    locked: Callable[[Spec], object] = lambda spec: None,
) -> Iterator[RunContext]:
    """Hold the run lock for the block, validate the spec without its estimator checks (no
    scikit-learn yet), call ``locked`` with it (a process running other threads starts the
    training pool's fork server there), make the estimator checks on the spec already
    parsed, and verify the champion's model file. No thread is started here: the caller may
    fork its training workers in the block.

    Nothing here imports the training stack beyond what the spec's param checks need: the
    caller starts Prefect's server next and imports the rest before it forks its workers.

    Raises:
        RegistryError: Another process holds the lock, or the champion's model is damaged.
        SpecError: The spec is invalid (nothing was started or written).
    """
    registry = Registry(resolve_home(home))
    run_id = new_run_id(utcnow())
    with registry.lock(run_id):
        loaded = load_spec_and_text(spec_path, estimator_checks=False)  # a spec error stops here
        locked(loaded[0])
        check_estimators(loaded[0], loaded[1], source=str(spec_path))  # scikit-learn, XGBoost
        ctx = prepare_run(spec_path, registry=registry, run_id=run_id, loaded=loaded)
        registry.verify_champion()  # a hash check: nothing is unpickled
        yield ctx


def check_data(ctx: RunContext) -> PreparedRun:
    """Collect the gate tests, create the run folder (status running), then read and validate
    the data.

    Raises:
        SpecError: A gate test path is missing, a test file does not import, or a test asks for
            an unknown fixture (nothing is written).
        DataContractError: The data breaks the contract (the run is recorded as failed).
    """
    from churn.gates.configured import has_gate_tests
    from churn.run import steps

    if has_gate_tests(ctx.spec):  # exit 2 before anything is written
        from churn.gates.session import check_gate_tests, gate_test_paths

        check_gate_tests(ctx.spec, gate_test_paths(ctx.spec))
    steps.start_run(ctx)
    try:
        frame = timed("load-data", steps.load_data)(ctx)
    except BaseException as exc:
        ctx.registry.mark_incomplete(ctx.run_id, f"{type(exc).__name__}: {exc}")
        raise
    log.info("validated %s: %d rows x %d columns", shown(data_location(ctx.spec)), *frame.shape)
    return PreparedRun(ctx, frame)
