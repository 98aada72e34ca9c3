"""``churn synth``: any number of rows that obey a spec's contract, seeded, chunk by chunk.

The spec's real data is read and validated, the label model is fitted on it once
(:mod:`churn.synth.label_model`), then chunks of rows (by default
:data:`~churn.defaults.SYNTH_CHUNK_ROWS`) are generated (:mod:`churn.synth.rows`) and written
one at a time (:mod:`churn.synth.writer`), so memory stays at one chunk whatever the size. A
survival spec's rows keep their real event beside their jittered duration, so no label model is
fitted. The same spec, data, seed and chunk size give
the same file byte for byte.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from churn.contract import load_dataset
from churn.defaults import SYNTH_CHUNK_ROWS
from churn.outputs import Inputs, check_output
from churn.spec import Spec
from churn.synth.label_model import fit_label_model
from churn.synth.rows import synth_chunk
from churn.synth.writer import output_format, write_chunks


@dataclass(frozen=True)
class SynthSummary:
    """What one ``churn synth`` wrote."""

    output: Path
    rows: int
    seed: int
    seconds: float

    def to_text(self) -> str:
        """One line for people."""
        return (
            f"{self.output}: {self.rows:,} synthetic rows (seed {self.seed}) in "
            f"{self.seconds:.1f} s"
        )


def synthesize(
    spec: Spec,
    rows: int,
    output: Path,
    *,
    seed: int = 0,
    chunk_rows: int = SYNTH_CHUNK_ROWS,
    also_read: Inputs = (),
) -> SynthSummary:
    """Write ``rows`` synthetic rows obeying ``spec``'s contract into ``output`` (.csv/.parquet).

    Args:
        also_read: Other files the caller read (the spec file), which ``output`` must not be.

    Raises:
        DataContractError: The spec's real data breaks its contract.
        OutputError: The output's suffix or folder is wrong, it is a folder or special file,
            or it is the spec's data source or a file of ``also_read`` (checked before any
            work; nothing is written).
    """
    started = time.perf_counter()
    output_format(output)
    check_output(output, [("spec's data source", spec.source_path), *also_read])
    real = load_dataset(spec)
    # A survival row keeps its own (duration, event) pair: an event redrawn from the features
    # alone would lose its tie to the duration.
    model = None if spec.data.target.kind == "survival" else fit_label_model(spec, real)
    rng = np.random.default_rng(seed)

    def chunks() -> Iterator[pd.DataFrame]:
        for start in range(0, rows, chunk_rows):
            size = min(chunk_rows, rows - start)
            yield synth_chunk(spec, real, model, rng, start=start, rows=size)

    written = write_chunks(output, chunks(), delimiter=spec.data.read.delimiter)
    return SynthSummary(output, written, seed, time.perf_counter() - started)
