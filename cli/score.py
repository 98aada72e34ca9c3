"""``churn score [SOURCE] (-o OUT | --to-table SCHEMA.TABLE)``: score customers with the champion.

SOURCE is a CSV or Parquet file or its ``s3://``, ``gs://``, ``az://`` or ``https://`` URL;
without it, the spec's ``data.source`` (a file, a URL, or a SQL source read at ``--as-of``).
``-o`` writes a file; ``--to-table`` writes the scores into a database table.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from churn.cli.bounds import MAX_CHUNK_ROWS, MAX_EXPLAIN
from churn.cli.options import AsOfOpt, refuse_as_of
from churn.defaults import DEFAULT_SPEC, SCORE_CHUNK_ROWS

if TYPE_CHECKING:
    from churn.sources.score_table import TableName
    from churn.spec import Spec


def score_command(
    source: Annotated[
        str | None,
        typer.Argument(
            help="CSV or Parquet file of customers, or its s3://, gs://, az:// or https:// URL "
            "(credentials from the environment) (default: the spec's data.source)."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where to write (.csv or .parquet).")
    ] = None,
    to_table: Annotated[
        str | None,
        typer.Option(
            "--to-table",
            metavar="SCHEMA.TABLE",
            help="Write the scores into this database table (created when missing); the "
            "database is the spec's SQL source's, else $CHURN_DATABASE_URL.",
        ),
    ] = None,
    as_of: AsOfOpt = None,
    run: Annotated[
        str | None, typer.Option("--run", help="Score with this run's model (default: champion).")
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec", help=f"Spec whose contract the file must meet (default: {DEFAULT_SPEC})."
        ),
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
    ] = SCORE_CHUNK_ROWS,
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

    A survival model writes churn_within_<h> (P(churn within h)) for each of the spec's
    horizons and median_time_to_churn (empty where the curve stays above one half) instead.

    The rows are checked against the spec's contract (the target column may be absent); a
    violation names the file lines (or the ids, for a database) and exits with code 3, writing
    nothing. With --to-table the table gets id, run_id, scored_at, as_of, churn_probability
    and will_churn in one transaction; scoring the same as-of with the same run again replaces
    those rows; a database failure exits with code 5 and leaves the table as it was (a file
    spec without CHURN_DATABASE_URL or CHURN_DATABASE_URL_FILE: exit 2, nothing loaded).
    """
    from churn.outputs import check_outside_registry
    from churn.registry import Registry, resolve_home
    from churn.settings import load_settings
    from churn.sources.urls import as_location, data_location, shown
    from churn.spec.loader import load_spec

    if (output is None) == (to_table is None):
        raise typer.BadParameter("give exactly one of -o/--output or --to-table")
    table = _table(to_table) if to_table is not None else None
    spec_file = spec if spec is not None else DEFAULT_SPEC
    loaded = load_spec(spec_file)
    if table is not None:
        _check_table_database(loaded)
    elif source is not None:  # -o: the file of scores has no as_of column
        refuse_as_of(as_of, f"SOURCE {shown(as_location(source))}")
    elif loaded.sql_source is None:
        refuse_as_of(as_of, f"the spec's data.source {shown(data_location(loaded))}")
    from churn.explain.survival import SurvivalUnexplainable  # the model's stack: after usage
    from churn.monitoring.recorder import score_recorder
    from churn.serving.score_file import score_file, scoring_model

    registry = Registry(resolve_home(home))
    model = scoring_model(registry, run)
    location = as_location(source) if source is not None else None
    if table is not None:
        from churn.survival.scoring import is_survival_estimator

        if is_survival_estimator(model.pipeline[-1]):
            raise typer.BadParameter(SURVIVAL_TABLE_REFUSAL, param_hint="--to-table")
        if explain:
            raise typer.BadParameter(
                "reasons are written to a file (-o), not yet to a table", param_hint="--explain"
            )
        from churn.serving.score_rows import score_to_table
        from churn.sources.as_of import as_of_date

        summary = score_to_table(
            loaded, model, location, table, as_of_date(), chunk_rows=chunk_rows
        )
        typer.echo(summary.to_text())
        return
    assert output is not None
    check_outside_registry(output, registry.home)
    if location is None and loaded.sql_source is not None:
        raise typer.BadParameter("scoring a SQL source writes --to-table, not -o")
    recorder = score_recorder(load_settings(), registry.home, spec=loaded)
    try:
        summary_file = score_file(
            loaded,
            model,
            location if location is not None else data_location(loaded),
            output,
            chunk_rows=chunk_rows,
            also_read=[("spec", spec_file)],
            explain=explain,
            record=recorder.record if recorder is not None else None,
        )
    except SurvivalUnexplainable as exc:  # a usage error (exit 2), not a broken registry
        raise typer.BadParameter(str(exc), param_hint="--explain") from None
    finally:
        if recorder is not None:
            recorder.close()  # the prediction log; a broken one is reported, never fatal
    typer.echo(summary_file.to_text())


SURVIVAL_TABLE_REFUSAL = (
    "the champion is a survival model: its scores (risk, churn_within_<h>, "
    "median_time_to_churn) do not fit the score table, whose churn_probability and will_churn "
    "are a classifier's probability at its decision threshold (a survival model has none); "
    "score to a file with -o, or train a classifier for the table"
)
"""Why ``--to-table`` refuses a survival champion (see the README's "Time to churn")."""


def _table(text: str) -> TableName:
    from churn.sources.score_table import table_name

    try:
        return table_name(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--to-table") from None


def _check_table_database(spec: Spec) -> None:
    """A file spec's score table is in the database ``CHURN_DATABASE_URL`` (or ``_FILE``) names:
    without one, ``--to-table`` is a usage error (exit 2) before the model is loaded. A SQL
    spec's URL is its source's, whose problems are the source's (exit 5), as in ``churn run``."""
    from churn.errors import SourceError
    from churn.sources.score_table import scores_database

    if spec.sql_source is not None:
        return
    try:
        scores_database(spec)
    except SourceError as exc:
        raise typer.BadParameter(str(exc), param_hint="--to-table") from None
