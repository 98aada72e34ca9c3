"""``churn drift --html OUT``: one self-contained page of a batch's drift.

A table of every column (status, PSI, JS distance, unseen and null rates, reasons) and, for
each column that warns or alerts, reference-vs-current bars per bucket drawn as inline SVG (no
plotting library, no script, nothing fetched). Rendered by the report's autoescaping Jinja2
environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from churn.monitoring.drift import ColumnDrift, DriftResult
from churn.registry.atomic_io import atomic_write
from churn.report.templating import render_template

BAR_WIDTH: Final = 14
"""Pixels per bar; a bucket holds two (reference, current) and a gap."""
PLOT_HEIGHT: Final = 160


@dataclass(frozen=True)
class Bar:
    """One bar of a plot, in SVG units."""

    x: float
    y: float
    height: float
    kind: str
    title: str


@dataclass(frozen=True)
class Plot:
    """The reference-vs-current bars of one drifted column."""

    column: ColumnDrift
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]


def drift_page(result: DriftResult, *, source: str, spec_name: str) -> str:
    """The page as text."""
    rows = [_row(column) for column in result.columns]
    plots = [_plot(column) for column in result.columns if column.status != "ok"]
    return str(
        render_template(
            "drift_page.html.j2",
            result=result,
            source=source,
            spec_name=spec_name,
            rows=rows,
            plots=plots,
        )
    )


def write_drift_page(path: Path, result: DriftResult, *, source: str, spec_name: str) -> Path:
    """Write the page to ``path`` atomically."""
    data = drift_page(result, source=source, spec_name=spec_name).encode("utf-8")
    return atomic_write(path, lambda handle: handle.write(data))


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _row(column: ColumnDrift) -> dict[str, str]:
    return {
        "column": column.column,
        "kind": column.kind,
        "status": column.status,
        "psi": _number(column.psi),
        "js": _number(column.js_distance),
        "unseen": f"{column.unseen_rate:.2%}" if column.kind == "category" else "-",
        "nulls": f"{column.null_rate_reference:.2%} -> {column.null_rate_current:.2%}",
        "reasons": "; ".join(column.reasons),
    }


def _plot(column: ColumnDrift) -> Plot:
    top = max([*column.reference, *column.current, 1e-12])
    bars = []
    labels = []
    step = 3 * BAR_WIDTH
    for index, label in enumerate(column.labels):
        left = index * step + BAR_WIDTH / 2
        for offset, (kind, share) in enumerate(
            (("reference", column.reference[index]), ("current", column.current[index]))
        ):
            height = PLOT_HEIGHT * share / top
            bars.append(
                Bar(
                    x=left + offset * BAR_WIDTH,
                    y=PLOT_HEIGHT - height,
                    height=height,
                    kind=kind,
                    title=f"{label}: {kind} {share:.1%}",
                )
            )
        labels.append((left + BAR_WIDTH, label))
    return Plot(
        column=column,
        width=len(column.labels) * step + BAR_WIDTH,
        height=PLOT_HEIGHT,
        bars=bars,
        labels=labels,
    )
