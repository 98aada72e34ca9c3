"""``churn outcomes DATA``: join known outcomes with the prediction log; realized performance."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from churn.cli.options import HomeOpt, JsonOpt

if TYPE_CHECKING:
    from churn.monitoring.outcomes import OutcomesSummary


def outcomes_command(
    data: Annotated[
        str,
        typer.Argument(
            help="CSV or Parquet file (or its s3://, gs://, az:// or https:// URL) of outcomes: "
            "the id column, the target column (or churned) and date."
        ),
    ],
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="Spec naming the id and target columns [spec/telco.yaml]."),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Match outcomes with the predictions scored in the horizon before them and record realized
    precision, recall, ROC-AUC and profit per ISO week and per run in the registry.

    An outcome is matched with the customer's latest prediction in the prediction log scored
    at most monitoring.outcome_horizon_days days before its date. Exit codes: 0 recorded,
    3 the outcomes file is unusable (nothing recorded), 1 the registry cannot be written.
    """
    import json

    from churn.monitoring.outcomes import record_outcomes, spec_profit
    from churn.registry import Registry, resolve_home
    from churn.settings import DEFAULT_SPEC, load_settings
    from churn.sources.urls import as_location
    from churn.spec.loader import load_spec

    loaded = load_spec(spec if spec is not None else DEFAULT_SPEC)
    registry = Registry(resolve_home(home))
    settings = load_settings()
    log_folder = settings.prediction_log_dir or registry.home / "predictions"
    with registry.lock():
        summary = record_outcomes(
            loaded,
            registry.home,
            as_location(data),
            log_folder=log_folder,
            horizon_days=loaded.monitoring.outcome_horizon_days,
            profit=spec_profit(loaded),
        )
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        typer.echo(outcomes_text(summary))


def outcomes_text(summary: OutcomesSummary) -> str:
    """The summary and the per-week table for people."""
    from churn.cli.monitor import realized_table

    lines = [
        f"{summary.source}: {summary.outcomes:,} outcomes, {summary.matched:,} matched with a "
        f"prediction within {summary.record.horizon_days} days, {summary.unmatched:,} without "
        f"one; {summary.labelled:,} matched outcomes recorded in all",
        *(f"skipped a damaged log file: {line}" for line in summary.skipped_log_files),
        "",
        realized_table(summary.record),
    ]
    return "\n".join(lines)
