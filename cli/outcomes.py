"""``churn outcomes DATA``: join known outcomes with the prediction log; realized performance."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from churn.cli.options import AsOfOpt, HomeOpt, JsonOpt, refuse_as_of
from churn.defaults import DEFAULT_SPEC

if TYPE_CHECKING:
    from churn.monitoring.outcomes import OutcomesSummary
    from churn.sources.sql import SqlRead


def outcomes_command(
    data: Annotated[
        str | None,
        typer.Argument(
            help="CSV or Parquet file (or its s3://, gs://, az:// or https:// URL) of outcomes: "
            "the id column, the target column (or churned) and date (or give --query/--table)."
        ),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(
            "--query",
            help="Read the outcomes from the database instead: a SELECT (:as_of is --as-of, "
            "bound as a parameter).",
        ),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option("--table", metavar="SCHEMA.TABLE", help="Or a whole table of outcomes."),
    ] = None,
    url_env: Annotated[
        str | None,
        typer.Option(
            "--url-env", help="Environment variable holding the database URL [CHURN_DATABASE_URL]."
        ),
    ] = None,
    url_file: Annotated[
        str | None,
        typer.Option("--url-file", help="A file holding the database URL, instead of --url-env."),
    ] = None,
    as_of: AsOfOpt = None,
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec", help=f"Spec naming the id and target columns (default: {DEFAULT_SPEC})."
        ),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Match outcomes with the predictions scored in the horizon before them and record realized
    precision, recall, ROC-AUC and profit per ISO week and per run in the registry.

    An outcome is matched with the customer's latest prediction in the prediction log (and in
    the table CHURN_PREDICTION_LOG_TABLE names, where `churn score --to-table` may also write)
    scored at most monitoring.outcome_horizon_days days before its date. Exit codes: 0
    recorded, 2 usage (--query or --table without a database URL), 3 the outcomes are
    unusable, 5 a database cannot be read (nothing recorded), 1 the registry cannot be written.
    """
    import json

    from churn.monitoring.outcomes import record_outcomes, spec_profit
    from churn.monitoring.prediction_table import prediction_table_target
    from churn.registry import Registry, resolve_home
    from churn.settings import load_settings
    from churn.sources.urls import as_location, shown
    from churn.spec.loader import load_spec

    if (data is None) == (query is None and table is None):
        _usage("give DATA, or --query or --table")
    if data is not None:
        refuse_as_of(as_of, f"DATA {shown(as_location(data))}")
    source = as_location(data) if data is not None else _sql_read(query, table, url_env, url_file)
    loaded = load_spec(spec if spec is not None else DEFAULT_SPEC)
    registry = Registry(resolve_home(home))
    settings = load_settings()
    log_folder = settings.prediction_log_dir or registry.home / "predictions"
    log_table = prediction_table_target(settings, loaded)
    with registry.lock():
        summary = record_outcomes(
            loaded,
            registry.home,
            source,
            log_folder=log_folder,
            horizon_days=loaded.monitoring.outcome_horizon_days,
            profit=spec_profit(loaded),
            log_table=log_table,
        )
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        typer.echo(outcomes_text(summary))


def _usage(problem: str) -> NoReturn:
    typer.echo(f"churn outcomes: {problem}", err=True)
    raise typer.Exit(2)


def _sql_read(
    query: str | None, table: str | None, url_env: str | None, url_file: str | None
) -> SqlRead:
    """The read of ``--query`` or ``--table`` at ``--as-of``, as a spec's SQL source."""
    from pydantic import ValidationError

    from churn.errors import SourceError
    from churn.sources.as_of import as_of_date
    from churn.sources.sql import plan_source_read
    from churn.spec.sources import SqlSource

    try:
        source = SqlSource(kind="sql", query=query, table=table, url_env=url_env,
                           url_file=url_file)  # fmt: skip
    except ValidationError as exc:
        problems = "; ".join(
            f"{'--' + '-'.join(map(str, e['loc'])).replace('_', '-') + ': ' if e['loc'] else ''}"
            f"{_worded(e)}"
            for e in exc.errors()
        )
        _usage(problems)
    where = "--query" if query is not None else "--table"
    origin = "--url-file" if url_file is not None else f"${source.url_variable}"
    try:
        return plan_source_read(source, as_of_date(), where, origin)
    except SourceError as exc:  # no URL, or not a PostgreSQL one: nothing was connected to
        _usage(f"{where} needs a database URL: {exc} (see --url-env and --url-file)")


def outcomes_text(summary: OutcomesSummary) -> str:
    """The summary and the per-week table for people."""
    from churn.cli.monitor import realized_table

    repeated = f" ({summary.repeated:,} repeated rows counted once)" if summary.repeated else ""
    early = summary.before_first_score
    before = f" ({early:,} dated before the customer's first score)" if early else ""
    lines = [
        f"{summary.source}: {summary.outcomes:,} outcomes{repeated}, {summary.matched:,} matched "
        f"with a prediction within {summary.record.horizon_days} days, {summary.unmatched:,} "
        f"without one{before}; {summary.labelled:,} matched outcomes recorded in all",
        *(f"skipped a damaged log file: {line}" for line in summary.skipped_log_files),
        "",
        realized_table(summary.record),
    ]
    return "\n".join(lines)


def _worded(error: Any) -> str:
    """A pydantic error on ``--table``/``--url-env`` in words, not its regular expression."""
    if error["type"] == "string_pattern_mismatch":
        return (
            f"expected a name of letters, digits and _ (a table: NAME or SCHEMA.NAME), "
            f"got {error['input']!r}"
        )
    return str(error["msg"])
