"""``churn drift [DATA]``: a batch against a run's reference profile (exit 6 when it alerts)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from churn.cli.options import AsOfOpt, HomeOpt, JsonOpt, refuse_as_of
from churn.defaults import DEFAULT_SPEC

if TYPE_CHECKING:
    from churn.batch_drift import BatchDrift
    from churn.model_child import ModelChild
    from churn.parquet_prefetch import ParquetPrefetch
    from churn.sources.urls import DataLocation
    from churn.spec import Spec


def drift_command(
    data: Annotated[
        str | None,
        typer.Argument(
            help="CSV or Parquet file of customers, or its s3://, gs://, az:// or https:// URL "
            "(default: the spec's data.source, a SQL source read at --as-of).",
        ),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option("--run", help="Compare with this run's profile (default: the champion)."),
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec", help=f"Spec whose contract and thresholds apply (default: {DEFAULT_SPEC})."
        ),
    ] = None,
    home: HomeOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write a page with reference-vs-current bars here."),
    ] = None,
) -> None:
    """Compare a batch with the champion's (or --run's) reference profile: PSI per column on
    its buckets, JS distance and unseen rate of categories, null-rate change, score PSI.

    Exit codes: 0 nothing alerts (warnings included), 6 a column or the scores alert, 3 the
    batch breaks the contract, 2 spec or usage, 5 database, 1 registry (no champion, a run
    without a profile, a hash that does not match).
    """
    from churn.errors import ChurnError, DriftAlert
    from churn.model_child import ModelChild
    from churn.parquet_prefetch import prefetched_parquet
    from churn.registry import resolve_home
    from churn.sources.urls import as_location, data_location, shown

    registry_home = resolve_home(home)
    spec_file = spec if spec is not None else DEFAULT_SPEC
    loaded = _spec_without_estimators(spec_file)
    location = as_location(data) if data is not None else None
    if location is not None:
        refuse_as_of(as_of, f"DATA {shown(location)}")
    elif loaded.sql_source is None:
        refuse_as_of(as_of, f"the spec's data.source {shown(data_location(loaded))}")
    # the other core checks the models' params and loads and verifies the model meanwhile;
    # a thread decodes a Parquet batch while this one imports what checks and counts it
    with (
        ModelChild(registry_home, run, spec_file) as model,
        prefetched_parquet(loaded, location) as prefetch,
    ):
        try:
            found = _drift(loaded, spec_file, location, html, registry_home, model, prefetch)
        except ChurnError:  # the full spec check's verdict comes first
            earlier = model.spec_failure()
            if earlier is not None:
                raise earlier from None
            raise
    if html is not None:
        from churn.report.drift_page import write_drift_page

        write_drift_page(html, found.result, source=found.source, spec_name=loaded.name)
    if as_json:
        typer.echo(found.result.model_dump_json(indent=2))
    else:
        typer.echo(drift_text(found))
    if found.result.alerts:
        raise DriftAlert(
            f"drift alert: {', '.join(found.result.alerts)} (against run {found.result.run_id})"
        )


def _spec_without_estimators(spec_file: Path) -> Spec:
    """The spec without the checks of the models' parameters (the model process makes
    them); a spec that fails is checked fully, so its message lists every problem.

    Raises:
        SpecError: Every problem of the spec, as :func:`~churn.spec.load_spec` words them.
    """
    from churn.errors import SpecError
    from churn.spec.loader import load_spec

    try:
        return load_spec(spec_file, estimator_checks=False)
    except SpecError:
        load_spec(spec_file)  # raises, naming the parameters' problems too
        raise


def _drift(
    loaded: Spec,
    spec_file: Path | None,
    location: DataLocation | None,
    html: Path | None,
    registry_home: Path,
    model: ModelChild,
    prefetch: ParquetPrefetch | None,
) -> BatchDrift:
    """Check the ``--html`` path, then read, check, score and judge the batch."""
    from churn.batch_drift import drift_of_batch
    from churn.outputs import check_output, check_outside_registry
    from churn.registry import Registry
    from churn.sources.urls import data_location, is_url

    if html is not None:
        read = location if location is not None else data_location(loaded)
        spec_input = ("spec", spec_file if spec_file is not None else DEFAULT_SPEC)
        inputs = [spec_input] + ([] if is_url(read) else [("input", Path(read))])
        check_output(html, inputs)
        check_outside_registry(html, registry_home)
    return drift_of_batch(loaded, Registry(registry_home), location, model, prefetched=prefetch)


def drift_text(found: BatchDrift) -> str:
    """The table for people: one line per column, worst first, then a summary line."""
    result = found.result
    order = {"alert": 0, "warn": 1, "ok": 2}
    columns = sorted(result.columns, key=lambda c: (order[c.status], -(c.psi or 0.0)))
    width = max([len("column"), *(len(c.column) for c in columns)])
    header = f"{'column':<{width}}  {'status':<6}  {'PSI':>7}  {'JS':>6}  {'unseen':>7}  nulls"
    lines = [header, "-" * len(header)]
    for c in columns:
        psi = "-" if c.psi is None else f"{c.psi:.4f}"
        js = "-" if c.js_distance is None else f"{c.js_distance:.4f}"
        unseen = f"{c.unseen_rate:.2%}" if c.kind == "category" else "-"
        nulls = f"{c.null_rate_reference:.1%} -> {c.null_rate_current:.1%}"
        why = f"  ({'; '.join(c.reasons)})" if c.reasons else ""
        lines.append(
            f"{c.column:<{width}}  {c.status:<6}  {psi:>7}  {js:>6}  {unseen:>7}  {nulls}{why}"
        )
    lines.append(
        f"{found.source}: {result.rows:,} rows against run {result.run_id}: {result.status} "
        f"({len(result.alerts)} alert, {len(result.warnings)} warn; scores from "
        f"{found.scored_rows:,} rows; {found.seconds:.2f} s)"
    )
    return "\n".join(lines)
