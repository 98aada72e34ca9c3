"""``churn monitor``: realized performance over time and drift, as text, JSON or HTML."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from churn.cli.options import HomeOpt, JsonOpt

if TYPE_CHECKING:
    from markupsafe import Markup

    from churn.monitoring.overview import Overview
    from churn.monitoring.realized import RealizedMetrics, RealizedRecord


def realized_table(record: RealizedRecord) -> str:
    """One line per ISO week (all runs), then per run."""
    from churn.monitoring.realized import REALIZED_METRICS

    header = f"{'week':<9} {'run':<24} {'rows':>8} {'churned':>8} {'flagged':>8} " + " ".join(
        f"{name:>9}" for name in REALIZED_METRICS
    )
    rows = [header]
    for entry in (*record.by_week, *record.by_run):
        rows.append(_row(entry))
    if len(rows) == 1:
        rows.append("(no outcome matched a prediction yet)")
    return "\n".join(rows)


def _row(entry: RealizedMetrics) -> str:
    from churn.monitoring.realized import REALIZED_METRICS

    values = " ".join(_number(entry.metric(name)) for name in REALIZED_METRICS)
    return (
        f"{entry.week or 'all':<9} {entry.run_id or 'all':<24} {entry.rows:>8,} "
        f"{entry.churned:>8,} {entry.flagged:>8,} {values}"
    )


def _number(value: float | None) -> str:
    return f"{'-':>9}" if value is None else f"{value:>9.4f}"


def monitor_command(
    home: HomeOpt = None,
    as_json: JsonOpt = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained page here.")
    ] = None,
    api: Annotated[
        str | None,
        typer.Option(
            "--api", help="A running churn API (http://host:port): show its serving drift too."
        ),
    ] = None,
) -> None:
    """Show realized performance per ISO week and per run (from churn outcomes), the drift of
    recent runs' training data against their champion, and a running API's serving drift."""
    import json

    from churn.monitoring.overview import (
        Overview,
        check_api_url,
        html_page,
        recent_training_drift,
        serving_drift,
    )
    from churn.monitoring.realized import read_realized
    from churn.outputs import check_output, check_outside_registry
    from churn.registry import Registry, resolve_home
    from churn.registry.atomic_io import atomic_write

    problem = check_api_url(api) if api is not None else None
    if problem is not None:
        typer.echo(f"churn monitor: {problem}", err=True)
        raise typer.Exit(2)
    registry = Registry(resolve_home(home))
    if html is not None:
        check_output(html, [])
        check_outside_registry(html, registry.home)
    columns, records = serving_drift(api) if api is not None else ([], None)
    overview = Overview(
        read_realized(registry.home), recent_training_drift(registry), columns, records
    )
    if html is not None:
        weeks = overview.realized.by_week if overview.realized is not None else ()
        page = html_page(overview, _chart(weeks) if weeks else None).encode()
        atomic_write(html, lambda handle: handle.write(page))
    if as_json:
        typer.echo(json.dumps(overview.to_dict(), indent=2))
        return
    typer.echo(overview_text(overview))


def overview_text(overview: Overview) -> str:
    """The three sections for people."""
    lines = ["Realized performance (churn outcomes)"]
    if overview.realized is None:
        lines.append("(no outcomes recorded yet)")
    else:
        lines.append(realized_table(overview.realized))
    lines += ["", "Training data against the champion (recent runs)"]
    if not overview.training_drift:
        lines.append("(no run recorded its drift yet)")
    for row in overview.training_drift:
        alerts = f" ({', '.join(row.drift.alerts)})" if row.drift.alerts else ""
        lines.append(f"{row.run_id}: {row.drift.status or 'no profile'}{alerts}")
    if overview.serving_drift:
        lines += ["", f"Serving window ({overview.serving_records or 0:,.0f} records)"]
        for column in overview.serving_drift:
            psi = column.get("psi")
            lines.append(
                f"{column['column']:<24} PSI {'-' if psi is None else f'{psi:.4f}'}  "
                f"{column.get('status') or '-'}"
            )
    return "\n".join(lines)


def _chart(weeks: tuple[RealizedMetrics, ...]) -> Markup:
    """Precision, recall and ROC-AUC per week as an inline PNG."""
    from markupsafe import Markup
    from matplotlib.figure import Figure

    from churn.report.gate_tests import png_data_uri

    figure = Figure(figsize=(7, 3), dpi=100)
    axes = figure.add_subplot()
    labels = [entry.week or "" for entry in weeks]
    for name in ("precision", "recall", "roc_auc"):
        values = [entry.metric(name) for entry in weeks]
        axes.plot(labels, [float("nan") if v is None else v for v in values], "o-", label=name)
    axes.set_ylim(0, 1)
    axes.legend(loc="lower left")
    axes.set_title("Realized performance per ISO week of the score")
    return Markup('<img alt="realized performance per week" src="{}">').format(png_data_uri(figure))
