"""``churn synth --rows N -o FILE``: synthetic rows that obey the spec's contract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churn.cli.bounds import MAX_CHUNK_ROWS, MAX_SYNTH_ROWS
from churn.defaults import DEFAULT_SPEC, SYNTH_CHUNK_ROWS


def synth(
    rows: Annotated[
        int, typer.Option("--rows", min=1, max=MAX_SYNTH_ROWS, help="How many rows to write.")
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write (.csv or .parquet).")
    ],
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec", help=f"Spec whose contract and data to follow (default: {DEFAULT_SPEC})."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Same seed, same file.")] = 0,
    chunk_rows: Annotated[
        int,
        typer.Option(
            "--chunk-rows", min=1, max=MAX_CHUNK_ROWS, help="Rows generated and written at once."
        ),
    ] = SYNTH_CHUNK_ROWS,
) -> None:
    """Write rows drawn from the spec's real data, varied, with labels from a fitted model.

    Whole real rows are drawn with replacement; numbers are varied within the contract's
    bounds, ids are new and unique, and the label is drawn from a logistic regression fitted on
    the real data (the spec's own features), so models trained on the output find real signal.
    """
    from churn.spec.loader import load_spec
    from churn.synth import synthesize

    spec_file = spec if spec is not None else DEFAULT_SPEC
    loaded = load_spec(spec_file)
    summary = synthesize(
        loaded, rows, output, seed=seed, chunk_rows=chunk_rows, also_read=[("spec", spec_file)]
    )
    typer.echo(summary.to_text())
