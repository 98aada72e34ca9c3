"""Plots about the models rather than their curves: feature importance and the CV spread."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped, unused-ignore]

from churn.report.figures import (
    STANDARD_SIZE,
    WIDE_SIZE,
    WINNER_COLOR,
    color_of,
    new_figure,
    plain,
    shorten_label,
    style_axes,
)
from churn.report.permutation import batched_permutation_importance
from churn.report.sampling import stratified_sample
from churn.spec import LOWER_IS_BETTER, Spec
from churn.training.evaluate import CandidateResult, Split

IMPORTANCE_REPEATS = 5
"""Shuffles per column in the permutation importance, when the shuffle budget allows."""
IMPORTANCE_MIN_REPEATS = 2
IMPORTANCE_MAX_SHUFFLES = 60
"""Budget of shuffled copies of the rows (columns x shuffles per column): all of them are scored
in batches (:mod:`churn.report.permutation`), so it bounds the rows scored, and so the cost."""
IMPORTANCE_MAX_FEATURES = 25
"""Features shown, most important first."""


def importance_repeats(columns: int) -> int:
    """Shuffles per column: 5, fewer for many columns (shuffle budget), never below 2."""
    return max(
        IMPORTANCE_MIN_REPEATS, min(IMPORTANCE_REPEATS, IMPORTANCE_MAX_SHUFFLES // max(columns, 1))
    )


def importance_table(spec: Spec, split: Split, result: CandidateResult) -> pd.DataFrame:
    """Permutation importance (drop in hold-out ROC AUC) per input column of the winner.

    Shuffles each original column (not the encoded features), so it reads the same for every
    model type. Columns ``mean`` and ``std``, indexed by column name, most important first;
    ``attrs["repeats"]`` and ``attrs["rows"]`` say how much work it did.

    OpenMP is held to one thread for the calling thread only (libgomp keeps the setting per
    thread): it runs beside other work in a worker process, and on a small machine
    where XGBoost's and scikit-learn's OpenMP runtimes are both loaded, a threaded
    HistGradientBoosting predict can take seconds instead of milliseconds.
    """
    X, y = importance_rows(spec, split)
    with threadpool_limits(limits=1, user_api="openmp"):
        scores = batched_permutation_importance(
            result.pipeline,
            X,
            y,
            repeats=importance_repeats(X.shape[1]),
            seed=spec.evaluation.split.seed,
        )
    table = pd.DataFrame(
        {"mean": scores.mean, "std": scores.std},
        index=pd.Index([str(column) for column in X.columns], name="column"),
    )
    table = table.sort_values("mean", ascending=False, kind="stable")
    table.attrs.update(repeats=importance_repeats(X.shape[1]), rows=len(X))
    return table


def importance_rows(spec: Spec, split: Split) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
    """The hold-out rows the importance shuffles: a seeded stratified sample of at most
    ``output.importance_max_rows``."""
    X, y = split.X_test, np.asarray(split.y_test)
    keep = stratified_sample(y, spec.output.importance_max_rows, seed=spec.evaluation.split.seed)
    return (X, y) if keep is None else (X.iloc[keep], y[keep])


def plot_feature_importance(
    spec: Spec, split: Split, result: CandidateResult, computed: pd.DataFrame | None = None
) -> Figure:
    """Horizontal bars of the winner's permutation importance, with the shuffle spread
    (``computed``: its :func:`importance_table`, when it was computed elsewhere)."""
    full = importance_table(spec, split, result) if computed is None else computed
    table = full.head(IMPORTANCE_MAX_FEATURES)
    figure = new_figure((WIDE_SIZE[0], 1.3 + 0.3 * len(table)))
    ax = figure.subplots()
    positions = np.arange(len(table))
    ax.barh(
        positions,
        table["mean"],
        xerr=table["std"],
        color=WINNER_COLOR,
        alpha=0.85,
        height=0.65,
        error_kw={"ecolor": "#333333", "capsize": 2, "linewidth": 1},
    )
    ax.set_yticks(positions, [plain(shorten_label(name, 32)) for name in table.index])
    ax.invert_yaxis()
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_xlabel(
        f"drop in hold-out ROC AUC when the column is shuffled (mean ± std of "
        f"{full.attrs['repeats']} shuffles, {full.attrs['rows']:,} hold-out rows)"
    )
    ax.set_title(plain(f"{result.name}: permutation importance of the input columns"))
    style_axes(ax, grid_axis="x")
    return figure


def plot_model_comparison(spec: Spec, results: dict[str, CandidateResult], winner: str) -> Figure:
    """Per candidate, the selection metric on every CV fold (box and points), hold-out marked."""
    metric = spec.evaluation.selection_metric
    names = list(results)
    folds = [np.asarray(results[name].cv_scores[metric], dtype=np.float64) for name in names]
    figure = new_figure(STANDARD_SIZE)
    ax = figure.subplots()
    positions = np.arange(1, len(names) + 1)
    ax.boxplot(
        folds,
        positions=positions,
        widths=0.5,
        showfliers=False,
        medianprops={"color": "#333333"},
        boxprops={"color": "#888888"},
        whiskerprops={"color": "#888888"},
        capprops={"color": "#888888"},
    )
    jitter = np.random.default_rng(spec.evaluation.split.seed)
    for index, (position, values) in enumerate(zip(positions, folds, strict=True)):
        color = WINNER_COLOR if names[index] == winner else color_of(index)
        offsets = jitter.uniform(-0.12, 0.12, size=values.size)
        ax.scatter(
            position + offsets,
            values,
            color=color,
            s=22,
            zorder=3,
            alpha=0.8,
            label="CV folds" if index == 0 else None,
        )
        holdout = results[names[index]].holdout.get(metric)
        if holdout is not None:
            ax.scatter(
                [position + 0.32],
                [holdout],
                marker="D",
                color="black",
                s=36,
                zorder=4,
                label="hold-out" if index == 0 else None,
            )
    labels = [
        plain(shorten_label(name, 18)) + ("\n(winner)" if name == winner else "") for name in names
    ]
    ax.set_xticks(positions, labels)
    for tick, name in zip(ax.get_xticklabels(), names, strict=True):
        if name == winner:
            tick.set_fontweight("bold")
            tick.set_color(WINNER_COLOR)
    better = "lower" if metric in LOWER_IS_BETTER else "higher"
    ax.set_ylabel(f"{metric} ({better} is better)")
    ax.legend(loc="best", fontsize="small")
    ax.set_title(f"{metric} per CV fold ({spec.evaluation.cv_folds} folds) and on the hold-out")
    style_axes(ax, grid_axis="y")
    return figure
