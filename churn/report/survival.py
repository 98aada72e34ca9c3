"""The report's survival section: the survival metrics per candidate, curves and calibration.

For a time-to-churn run (issue 25, item 6): a table of every candidate's hold-out (and CV)
concordance, Brier scores and per-horizon AUC and calibration error from ``run.json``; the
winner's predicted survival curves by risk decile against each decile's Kaplan-Meier curve (one
figure); and its calibration at each horizon, predicted P(churn by h) against the Kaplan-Meier
observed churn by h per risk decile (a figure and a table). The figures are drawn in memory and
embedded as PNG data URIs, like the gate-tests section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from markupsafe import Markup
from matplotlib.figure import Figure

from churn.registry.record import RunManifest
from churn.report.figures import WIDE_SIZE, new_figure, plain, style_axes
from churn.report.formatting import number
from churn.report.gate_tests import png_data_uri
from churn.report.templating import render_template
from churn.survival.metrics import calibration_groups, kaplan_meier_at
from churn.survival.names import horizon_label

FIXED_METRICS = ("harrell_c", "uno_c", "ibs", "ibs_km", "ibs_ratio")
"""The table's columns before the per-horizon ones."""
CURVE_POINTS = 60
"""Times at which the curves are drawn (from 0 to the hold-out's last observed time)."""


@dataclass(frozen=True)
class SurvivalHoldout:
    """The winner's hold-out predictions the section draws (rows in hold-out order)."""

    y_test: np.ndarray
    """The hold-out outcome (``SURVIVAL_DTYPE``)."""
    risk: np.ndarray
    """The winner's risk score per row (higher churns sooner)."""
    times: np.ndarray
    """Increasing times of ``survival``'s columns."""
    survival: np.ndarray
    """S(t | x), shape (rows, len(times))."""
    horizons: tuple[float, ...]
    unit: str


def survival_holdout(
    pipeline: Any, X_test: Any, y_test: np.ndarray, horizons: tuple[float, ...], unit: str
) -> SurvivalHoldout:
    """The section's inputs from the fitted winner and the hold-out rows (encoded once)."""
    encoded = pipeline[:-1].transform(X_test)
    estimator = pipeline[-1]
    last = float(y_test["time"].max()) if len(y_test) else 1.0
    grid = np.linspace(0.0, last, CURVE_POINTS)
    times = np.unique(np.concatenate([grid, np.asarray(horizons, dtype=np.float64)]))
    return SurvivalHoldout(
        y_test=y_test,
        risk=np.asarray(estimator.predict(encoded), dtype=np.float64),
        times=times,
        survival=np.asarray(estimator.predict_survival(encoded, times), dtype=np.float64),
        horizons=tuple(float(h) for h in horizons),
        unit=unit,
    )


def survival_section(manifest: RunManifest, holdout: SurvivalHoldout | None) -> Markup:
    """The section's HTML: the metrics table, the curves by decile and the calibration."""
    horizons = holdout.horizons if holdout is not None else _horizons_of(manifest)
    headers, rows = metrics_table(manifest, horizons)
    figures: list[dict[str, Any]] = []
    calibration: list[dict[str, Any]] = []
    if holdout is not None and len(holdout.y_test):
        figures = [
            _embedded(
                lambda: draw_curves_by_decile(holdout),
                "Predicted survival (solid) against Kaplan-Meier (steps) per risk decile of "
                "the winner on the hold-out; decile 10 is the riskiest.",
            ),
            _embedded(
                lambda: draw_calibration(holdout),
                "Calibration per horizon: mean predicted P(churn by h) against the Kaplan-Meier "
                "observed churn by h, per decile of predicted risk (diagonal: perfect).",
            ),
        ]
        calibration = calibration_rows(holdout)
    return render_template(
        "survival.html.j2",
        headers=headers,
        rows=rows,
        figures=figures,
        calibration=calibration,
        unit=holdout.unit if holdout is not None else "",
    )


def metrics_table(
    manifest: RunManifest, horizons: tuple[float, ...]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Column names and one row per candidate: hold-out value and CV mean of each metric."""
    names = [*FIXED_METRICS]
    names += [f"td_auc_{horizon_label(h)}" for h in horizons]
    names += [f"calibration_error_{horizon_label(h)}" for h in horizons]
    rows = []
    for name, entry in (manifest.candidates or {}).items():
        cells = []
        for metric in names:
            mean = entry.cv_mean.get(metric)
            cells.append(
                {
                    "holdout": number(entry.holdout.get(metric), 3),
                    "cv": None if mean is None else f"CV {number(mean, 3)}",
                }
            )
        rows.append(
            {"name": name, "type": entry.type, "winner": name == manifest.winner, "cells": cells}
        )
    return names, rows


def decile_curves(holdout: SurvivalHoldout) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per risk decile (lowest first): the mean predicted curve and the Kaplan-Meier curve,
    both on ``holdout.times``."""
    return [
        (holdout.survival[rows].mean(axis=0), kaplan_meier_at(holdout.y_test[rows], holdout.times))
        for rows in calibration_groups(holdout.risk)
    ]


def calibration_points(holdout: SurvivalHoldout, horizon: float) -> list[tuple[float, float, int]]:
    """Per decile of predicted P(churn by ``horizon``): (mean predicted, Kaplan-Meier
    observed, rows). Censored rows count as 'still here' until censored, never as churned."""
    at = int(np.searchsorted(holdout.times, horizon))
    predicted = 1.0 - holdout.survival[:, at]
    grid = np.array([horizon], dtype=np.float64)
    return [
        (
            float(predicted[rows].mean()),
            1.0 - float(kaplan_meier_at(holdout.y_test[rows], grid)[0]),
            len(rows),
        )
        for rows in calibration_groups(predicted)
    ]


def calibration_rows(holdout: SurvivalHoldout) -> list[dict[str, Any]]:
    """The calibration table: one row per horizon and decile."""
    return [
        {
            "horizon": horizon_label(horizon),
            "decile": decile,
            "rows": f"{count:,}",
            "predicted": number(predicted, 3),
            "observed": number(observed, 3),
        }
        for horizon in holdout.horizons
        for decile, (predicted, observed, count) in enumerate(
            calibration_points(holdout, horizon), start=1
        )
    ]


def draw_curves_by_decile(holdout: SurvivalHoldout) -> Figure:
    """Mean predicted S(t) per risk decile (lines) against each decile's Kaplan-Meier (steps)."""
    figure = new_figure((9.0, 5.5))
    ax = figure.add_subplot()
    curves = decile_curves(holdout)
    colormap = matplotlib.colormaps["viridis"]
    for index, (predicted, observed) in enumerate(curves):
        color = colormap(index / max(len(curves) - 1, 1))
        ax.plot(holdout.times, predicted, color=color, linewidth=1.8, label=f"decile {index + 1}")
        ax.step(holdout.times, observed, where="post", color=color, linewidth=1.0, alpha=0.8)
    for horizon in holdout.horizons:
        ax.axvline(horizon, color="#999999", linewidth=0.8, linestyle=":")
    ax.set_xlabel(plain(f"time ({holdout.unit})"))
    ax.set_ylabel("P(still a customer)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Survival by risk decile: predicted (lines) vs Kaplan-Meier (steps)", fontsize=10)
    ax.legend(fontsize=7, ncols=2, loc="lower left")
    style_axes(ax)
    return figure


def draw_calibration(holdout: SurvivalHoldout) -> Figure:
    """One panel per horizon: predicted against observed P(churn by h) per risk decile."""
    count = len(holdout.horizons)
    figure = new_figure((max(WIDE_SIZE[0] * count / 3, 4.5), 4.2))
    axes = figure.subplots(1, count, squeeze=False)[0]
    for ax, horizon in zip(axes, holdout.horizons, strict=True):
        points = calibration_points(holdout, horizon)
        predicted = [p for p, _, _ in points]
        observed = [o for _, o, _ in points]
        top = max([*predicted, *observed, 0.05]) * 1.05
        ax.plot([0, top], [0, top], color="#999999", linewidth=0.8, linestyle="--")
        ax.plot(predicted, observed, "o-", color="#c44e52", markersize=5)
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_title(plain(f"churn within {horizon_label(horizon)} {holdout.unit}s"), fontsize=10)
        ax.set_xlabel("predicted P(churn)")
        ax.set_ylabel("Kaplan-Meier observed")
        style_axes(ax)
    return figure


def _embedded(draw: Any, caption: str) -> dict[str, Any]:
    try:
        return {"caption": caption, "source": png_data_uri(draw()), "error": None}
    except Exception as exc:  # noqa: BLE001 - one broken plot must not cost the section
        return {"caption": caption, "source": None, "error": f"{type(exc).__name__}: {exc}"}


def _horizons_of(manifest: RunManifest) -> tuple[float, ...]:
    """The horizons named by the winner's td_auc_<h> metrics (when no hold-out is at hand)."""
    entry = (manifest.candidates or {}).get(manifest.winner or "")
    found: Mapping[str, Any] = entry.holdout if entry is not None else {}
    return tuple(
        sorted(float(name.removeprefix("td_auc_")) for name in found if name.startswith("td_auc_"))
    )
