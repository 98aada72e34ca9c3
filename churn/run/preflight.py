"""Everything a run checks before any orchestrator or worker starts.

``open_run`` loads the spec (a spec error stops here, exit 2), takes the registry's run lock (a
second run is refused here, in well under a second) and checks the champion's model file (a
damaged champion stops here, exit 1). ``validate`` then creates the run folder and reads and
validates the data (exit 3), which callers overlap with starting Prefect's server and the
workers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from churn.run import steps
from churn.run.steps import RunContext

log = logging.getLogger("churn.run")


@dataclass(frozen=True)
class PreparedRun:
    """A run whose spec, lock, champion and data have all been checked."""

    ctx: RunContext
    frame: pd.DataFrame


@contextmanager
def open_run(spec_path: str | Path, home: str | Path | None = None) -> Iterator[RunContext]:
    """Load the spec, hold the run lock for the block, and verify the champion's model file.

    Raises:
        SpecError: The spec is invalid (nothing was started or written).
        RegistryError: Another process holds the lock, or the champion's model is damaged.
    """
    ctx = steps.prepare_run(spec_path, home)
    with ctx.registry.lock(ctx.run_id):
        ctx.registry.verify_champion()
        yield ctx


def validate(ctx: RunContext) -> PreparedRun:
    """Create the run folder (status running), then read and validate the data.

    Raises:
        DataContractError: The data breaks the contract (the run is recorded as failed).
    """
    steps.start_run(ctx)
    try:
        frame = steps.load_data(ctx)
    except BaseException as exc:
        ctx.registry.mark_incomplete(ctx.run_id, f"{type(exc).__name__}: {exc}")
        raise
    log.info("validated %s: %d rows x %d columns", ctx.spec.source_path, *frame.shape)
    return PreparedRun(ctx, frame)
