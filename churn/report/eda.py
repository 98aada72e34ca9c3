"""Exploratory plots of the input data, driven by the spec's ``columns`` block.

Files (in ``plots_dir``): ``eda_class_balance.png``, ``eda_numeric_distributions.png``,
``eda_categorical_churn_rate.png``, ``eda_correlation.png``, ``eda_missing_values.png``.
Inputs larger than ``spec.output.eda_max_rows`` are drawn from a seeded random sample of that
many rows; missing values are always counted over every row (counting is cheap).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from churn.report.figures import (
    CHURNED_COLOR,
    GRID_WIDTH,
    STANDARD_SIZE,
    STAYED_COLOR,
    draw_plots,
    grid_shape,
    hide_unused,
    new_figure,
    plain,
    shorten_label,
    style_axes,
)
from churn.report.plotset import PlotSet
from churn.spec import Spec

GRID_COLUMNS = 3
"""Panels per row of the small-multiple grids."""
NUMERIC_PANEL_HEIGHT = 2.6
"""Height in inches of one row of the numeric-distribution grid."""
MAX_LEVELS = 12
"""Categorical levels shown per column; rarer ones are pooled into one bar."""
DISCRETE_MAX_VALUES = 10
"""Numeric columns with at most this many distinct values are drawn as bars, not histograms."""
CORRELATION_SIZE = (8.0, 7.0)
BINS = 30


@dataclass(frozen=True)
class EdaData:
    """The rows the plots are drawn from, and how the spec classifies their columns."""

    frame: pd.DataFrame
    churned: npt.NDArray[np.bool_]
    numeric: list[str]
    categorical: list[str]
    target_label: str
    spec: Spec


def draw_eda(spec: Spec, frame: pd.DataFrame, plots_dir: Path) -> PlotSet:
    """Draw the EDA plots of ``frame`` into ``plots_dir``; one failed plot spares the others."""
    limit = spec.output.eda_max_rows
    sampled = len(frame) > limit
    rows = frame.sample(n=limit, random_state=spec.evaluation.split.seed) if sampled else frame
    data = eda_data(spec, rows)
    missing = {name: int(frame[name].isna().sum()) for name in spec.columns if name in frame}
    paths, errors = draw_plots(
        [
            ("eda_class_balance", lambda: plot_class_balance(data)),
            ("eda_numeric_distributions", lambda: plot_numeric_distributions(data)),
            ("eda_categorical_churn_rate", lambda: plot_categorical_churn_rate(data)),
            ("eda_correlation", lambda: plot_correlation(data)),
            ("eda_missing_values", lambda: plot_missing_values(missing, len(frame))),
        ],
        plots_dir,
    )
    return PlotSet(paths, errors, sampled=sampled, rows_used=len(rows), missing_values=missing)


def eda_data(spec: Spec, frame: pd.DataFrame) -> EdaData:
    """Split the spec's columns (id and target excluded) into numeric and categorical ones."""
    target = spec.data.target
    skip = {spec.data.id, target.column}
    present = [name for name in spec.columns if name in frame.columns and name not in skip]
    churned = np.asarray(frame[target.column].eq(target.positive).fillna(False), dtype=np.bool_)
    return EdaData(
        frame=frame,
        churned=churned,
        numeric=[name for name in present if spec.columns[name].kind == "numeric"],
        categorical=[name for name in present if spec.columns[name].kind == "categorical"],
        target_label=f"{target.column} = {target.positive}",
        spec=spec,
    )


def as_float(series: pd.Series) -> npt.NDArray[np.float64]:
    """Values of a numeric (or bool, or nullable) column as floats with NaN for missing."""
    numbers = pd.to_numeric(series, errors="coerce")
    return np.asarray(numbers.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan))


def plot_class_balance(data: EdaData) -> Figure:
    """Customers who stayed and who churned, with counts and shares."""
    churned = int(data.churned.sum())
    counts = [len(data.churned) - churned, churned]
    figure = new_figure(STANDARD_SIZE)
    ax = figure.subplots()
    labels = ["stayed", f"churned\n({plain(data.target_label)})"]
    bars = ax.bar(labels, counts, color=[STAYED_COLOR, CHURNED_COLOR], width=0.6)
    total = max(sum(counts), 1)
    ax.bar_label(bars, labels=[f"{n:,} ({n / total:.1%})" for n in counts], padding=3)
    ax.set_ylim(0, max(counts) * 1.15 + 1)
    ax.set_ylabel("customers")
    ax.set_title(f"Class balance ({sum(counts):,} customers)")
    style_axes(ax, grid_axis="y")
    return figure


def plot_numeric_distributions(data: EdaData) -> Figure | None:
    """One panel per numeric column: its distribution among stayers and churners."""
    if not data.numeric:
        return None
    rows, columns = grid_shape(len(data.numeric), GRID_COLUMNS)
    figure = new_figure((GRID_WIDTH, NUMERIC_PANEL_HEIGHT * rows + 0.4))
    axes = list(figure.subplots(rows, columns, squeeze=False).flat)
    for ax, name in zip(axes, data.numeric, strict=False):
        _numeric_panel(ax, name, as_float(data.frame[name]), data.churned)
    hide_unused(axes, len(data.numeric))
    axes[0].legend(fontsize="small", frameon=False)
    figure.suptitle("Numeric columns: share of customers, stayed vs churned")
    return figure


def _numeric_panel(
    ax: Axes, name: str, values: npt.NDArray[np.float64], churned: npt.NDArray[np.bool_]
) -> None:
    known = ~np.isnan(values)
    missing = int((~known).sum())
    ax.set_title(plain(shorten_label(name, 40)) + (f"  ({missing:,} missing)" if missing else ""))
    style_axes(ax, grid_axis="y")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    groups = [
        ("stayed", values[known & ~churned], STAYED_COLOR),
        ("churned", values[known & churned], CHURNED_COLOR),
    ]
    distinct = np.unique(values[known])
    if distinct.size == 0:
        ax.text(0.5, 0.5, "all missing", ha="center", va="center", transform=ax.transAxes)
        return
    if distinct.size <= DISCRETE_MAX_VALUES:
        positions = np.arange(distinct.size)
        for offset, (label, group, color) in zip((-0.2, 0.2), groups, strict=True):
            shares = [np.mean(group == value) if group.size else 0.0 for value in distinct]
            ax.bar(positions + offset, shares, width=0.4, color=color, label=label, alpha=0.85)
        ax.set_xticks(positions, [f"{value:g}" for value in distinct])
        return
    edges = np.histogram_bin_edges(values[known], bins=BINS)
    for label, group, color in groups:
        if group.size:
            weights = np.full(group.size, 1.0 / group.size)
            ax.hist(  # one filled outline per group: the bars' shape, not 30 patches each
                group,
                bins=edges.tolist(),
                weights=weights,
                histtype="stepfilled",
                color=color,
                alpha=0.55,
                label=label,
            )


def plot_categorical_churn_rate(data: EdaData) -> Figure | None:
    """Churn rate per level of every categorical column, with counts, in at most two panels.

    Each panel lists its columns one under the other (name in bold, then its levels), all
    on one axis each: two axes in all, however many columns, which keeps drawing cheap.
    """
    if not data.categorical:
        return None
    tables = [(name, _level_table(data, name)) for name in data.categorical]
    groups = split_in_two(tables)
    rows = max(sum(len(table) + 1 for _, table in group) for group in groups)
    figure = new_figure((GRID_WIDTH, categorical_height(rows)))
    axes = figure.subplots(1, len(groups), squeeze=False).flat
    overall = float(data.churned.mean()) if data.churned.size else 0.0
    top = max(float(table["mean"].max()) for _, table in tables)
    for ax, group in zip(axes, groups, strict=False):
        _categorical_panel(ax, group, overall, rows=rows, top=top)
    figure.suptitle(f"Churn rate per level (dashed: overall {overall:.1%}; n = customers)")
    return figure


def categorical_height(rows: int) -> float:
    """Height in inches of the churn-rate figure whose taller panel has ``rows`` lines."""
    return 0.9 + 0.22 * rows


def split_in_two(
    tables: list[tuple[str, pd.DataFrame]],
) -> list[list[tuple[str, pd.DataFrame]]]:
    """The tables in order, cut where the two parts' line counts are closest (one part if one)."""
    if len(tables) < 2:
        return [tables]
    sizes = np.cumsum([len(table) + 1 for _, table in tables])
    cut = int(np.argmin(np.abs(sizes[:-1] - (sizes[-1] - sizes[:-1])))) + 1
    return [tables[:cut], tables[cut:]]


def _level_table(data: EdaData, name: str) -> pd.DataFrame:
    """count and churn rate per level; the rarest levels pooled, declared order kept."""
    table = level_counts(data.frame[name], data.churned)
    table = table.sort_values("size", ascending=False, kind="stable")
    if len(table) > MAX_LEVELS:
        kept, rest = table.iloc[: MAX_LEVELS - 1], table.iloc[MAX_LEVELS - 1 :]
        pooled = float((rest["mean"] * rest["size"]).sum() / rest["size"].sum())
        other = pd.DataFrame(
            {"size": [rest["size"].sum()], "mean": [pooled]}, index=[f"({len(rest)} other levels)"]
        )
        return pd.concat([kept, other])
    declared = data.spec.columns[name].values
    if declared is not None:
        order = [str(value) for value in declared if str(value) in table.index]
        table = table.loc[order + [level for level in table.index if level not in order]]
    return table


def level_counts(column: pd.Series, churned: npt.NDArray[np.bool_]) -> pd.DataFrame:
    """Rows (``size``) and churn rate (``mean``) per level of ``column``, levels in order of
    first appearance: a level is a value's text (values that print alike are one level), and
    missing values are the level ``(missing)``. Counted with numpy, not a pandas group-by."""
    if column.dtype == object:  # 2 and 2.0 are one value, but not one text
        column = column.map(str, na_action="ignore")
    codes, uniques = pd.factorize(column)
    texts = np.array([*map(str, uniques), "(missing)"], dtype=object)
    merged, levels = pd.factorize(texts)
    per_row = merged[np.where(codes < 0, len(uniques), codes)]
    present, first = np.unique(per_row, return_index=True)
    order = present[np.argsort(first, kind="stable")]
    size = np.bincount(per_row, minlength=len(levels))[order]
    churn = np.bincount(per_row, weights=churned, minlength=len(levels))[order]
    index = pd.Index(levels[order], name="level", dtype=object)
    return pd.DataFrame({"size": size, "mean": churn / size}, index=index)


def _categorical_panel(
    ax: Axes, group: list[tuple[str, pd.DataFrame]], overall: float, *, rows: int, top: float
) -> None:
    """One axis: per column a bold name line, then one bar per level."""
    ticks: list[str] = []
    bold: list[bool] = []
    bar_rows: list[int] = []
    labels: list[str] = []
    rates: list[float] = []
    for name, table in group:
        ticks.append(plain(shorten_label(name, 30)))
        bold.append(True)
        for level, size, rate in zip(table.index, table["size"], table["mean"], strict=True):
            bar_rows.append(len(ticks))
            ticks.append("  " + plain(shorten_label(str(level), 26)))
            bold.append(False)
            rates.append(float(rate))
            labels.append(f"{rate:.0%}  n={int(size):,}")
    bars = ax.barh(bar_rows, rates, color=CHURNED_COLOR, height=0.7)
    ax.bar_label(bars, labels=labels, padding=3, fontsize="small")
    ax.set_yticks(range(len(ticks)), ticks)
    for label, strong in zip(ax.get_yticklabels(), bold, strict=True):
        if strong:
            label.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.axvline(overall, color="#555555", linestyle="--", linewidth=1, zorder=1)
    ax.set_xlim(0, min(1.0, top) * 1.45 + 0.05)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    style_axes(ax, grid_axis="x")


def plot_correlation(data: EdaData) -> Figure | None:
    """Pearson correlation of the numeric columns and the target (as 0/1)."""
    if not data.numeric:
        return None
    values = {name: as_float(data.frame[name]) for name in data.numeric}
    values[data.target_label] = data.churned.astype(np.float64)
    matrix = pd.DataFrame(values).corr()
    labels = [plain(shorten_label(str(name), 24)) for name in matrix.columns]
    figure = new_figure(CORRELATION_SIZE)
    ax = figure.subplots()
    colors = colormaps["RdBu_r"].with_extremes(bad="#eeeeee")
    image = ax.imshow(np.ma.masked_invalid(matrix.to_numpy()), cmap=colors, vmin=-1, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    if len(labels) <= 15:
        for (row, col), value in np.ndenumerate(matrix.to_numpy()):
            text = "" if np.isnan(value) else f"{value:.2f}"
            color = "white" if abs(value) > 0.6 else "black"
            ax.text(col, row, text, ha="center", va="center", fontsize="small", color=color)
    figure.colorbar(image, ax=ax, shrink=0.8, label="Pearson r")
    ax.set_title("Correlation of numeric columns and the target")
    return figure


def plot_missing_values(missing: dict[str, int], rows: int) -> Figure:
    """Share of missing values per column (columns without any are only counted)."""
    gaps = {name: count for name, count in missing.items() if count}
    figure = new_figure((STANDARD_SIZE[0], 1.4 + 0.32 * max(len(gaps), 2)))
    ax = figure.subplots()
    if not gaps:
        ax.text(
            0.5,
            0.5,
            f"No missing values in any of the {len(missing)} columns ({rows:,} rows)",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        ax.set_title("Missing values")
        return figure
    names = list(gaps)
    shares = [gaps[name] / max(rows, 1) for name in names]
    bars = ax.barh(range(len(names)), shares, color="#8172b3", height=0.6)
    ax.bar_label(bars, labels=[f"{gaps[name]:,}" for name in names], padding=3)
    ax.set_yticks(range(len(names)), [plain(shorten_label(name, 30)) for name in names])
    ax.invert_yaxis()
    ax.set_xlim(0, max(shares) * 1.3)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(f"share of all {rows:,} rows (label: count)")
    others = len(missing) - len(gaps)
    ax.set_title(f"Missing values ({others} other columns have none)")
    style_axes(ax, grid_axis="x")
    return figure
