"""``churn score FILE -o OUT``: score a whole CSV or Parquet file with the champion."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.bounds import MAX_CHUNK_ROWS, MAX_EXPLAIN


def score(
    source: Annotated[Path, typer.Argument(help="CSV or Parquet file of customers to score.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write (.csv or .parquet).")
    ],
    run: Annotated[
        str | None, typer.Option("--run", help="Score with this run's model (default: champion).")
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="Spec whose contract the file must meet [spec/telco.yaml]."),
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Registry folder (default: $CHURN_HOME or ./artifacts)."),
    ] = None,
    chunk_rows: Annotated[
        int,
        typer.Option(
            "--chunk-rows",
            min=1,
            max=MAX_CHUNK_ROWS,
            help="Rows read, checked and scored at once.",
        ),
    ] = 50_000,
    explain: Annotated[
        int,
        typer.Option(
            "--explain",
            min=0,
            max=MAX_EXPLAIN,
            help="Add each row's top K reasons: reason_<i>, reason_<i>_value, "
            "reason_<i>_contribution, and explanation_base (0: none).",
        ),
    ] = 0,
) -> None:
    """Write id, churn_probability and will_churn (at the served threshold) for every row.

    The file is checked against the spec's contract (the target column may be absent); a
    violation names the file lines and exits with code 3, writing nothing.
    """
    from churn.registry import Registry, resolve_home
    from churn.serving.score_file import score_file, scoring_model
    from churn.spec.loader import DEFAULT_SPEC, load_spec

    spec_file = spec if spec is not None else DEFAULT_SPEC
    loaded = load_spec(spec_file)
    model = scoring_model(Registry(resolve_home(home)), run)
    summary = score_file(
        loaded,
        model,
        source,
        output,
        chunk_rows=chunk_rows,
        also_read=[("spec", spec_file)],
        explain=explain,
    )
    typer.echo(summary.to_text())
