"""Columns that leak the duration: strongly tied to how long a customer has stayed.

A survival model must not read the duration, nor a column that is (nearly) a function of it: in
the Telco data ``TotalCharges`` is about ``tenure x MonthlyCharges``, so a model reading it
and ``MonthlyCharges`` knows the tenure. For every candidate column (declared or derived) this
measures, against the duration:

* Spearman's rank correlation (numeric columns);
* R² of a one-feature regression: the mean duration per value (categorical) or per one of
  :data:`DURATION_BINS` quantile bins (numeric), so any monotone or not shape counts;
* for every pair of numeric columns, the R² of their ratio (both ways) and product, since a
  leak often hides in a combination (``TotalCharges / MonthlyCharges`` tracks tenure).

A column is *tied* when ``|rho| >= SPEARMAN_WARN`` or an R² reaches ``R2_WARN``; a tie is an
error when the model reads the column and it (or its combination with another column the model
reads) reaches ``R2_ERROR``: nearly a function of the duration. Weaker ties, and ties of
columns the model does not read, are warnings: evidence for the spec author, who drops the
column or keeps it knowingly.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

DURATION_BINS = 20
SPEARMAN_WARN = 0.7
R2_WARN = 0.5
R2_ERROR = 0.9
MAX_PAIR_COLUMNS = 40
"""Pairs are tried among at most this many numeric columns (the most tied ones first)."""


@dataclass(frozen=True)
class DurationTie:
    """One column tied to the duration, with the evidence."""

    column: str
    feature: bool
    """Whether the model reads the column."""
    spearman: float | None
    """Spearman's rho with the duration (None for a categorical column)."""
    r2: float
    """R² of the duration's mean per value / per quantile bin of the column."""
    via: str | None = None
    """A combination with another column that is tied more strongly, e.g. ``A / B``."""
    via_r2: float | None = None
    via_feature: bool = False
    """Whether the model reads the other column of ``via`` too."""

    @property
    def is_error(self) -> bool:
        """The model reads a column that is nearly a function of the duration."""
        combined = self.via_r2 is not None and self.via_r2 >= R2_ERROR and self.via_feature
        return self.feature and (self.r2 >= R2_ERROR or combined)

    def evidence(self, duration: str) -> str:
        """``Spearman 0.889 with tenure, R² 0.775; TotalCharges / MonthlyCharges: R² 0.996``."""
        parts = [] if self.spearman is None else [f"Spearman {self.spearman:.3f}"]
        parts.append(f"R² {self.r2:.3f} of a one-column regression")
        text = f"{', '.join(parts)} with {duration}"
        if self.via is not None and self.via_r2 is not None:
            text += f"; {self.via} predicts {duration} with R² {self.via_r2:.3f}"
        return text


def duration_ties(
    frame: pd.DataFrame, duration: pd.Series, features: Collection[str]
) -> list[DurationTie]:
    """Every column of ``frame`` tied to ``duration``, most tied first.

    Args:
        frame: The candidate columns (declared and derived; not the duration, event or id).
        duration: The duration, aligned with ``frame``.
        features: The columns the model reads (a tie of one of them may be an error).
    """
    y = duration.to_numpy(dtype=np.float64)
    singles: dict[str, tuple[float | None, float]] = {}
    numeric: list[str] = []
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            singles[column] = (None, group_r2(values.astype("string"), y))
            continue
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        singles[column] = (rank_correlation(x, y), binned_r2(x, y))
        numeric.append(column)
    best_pairs = strongest_combinations(frame, numeric, y, singles)
    ties = []
    for column, (rho, r2) in singles.items():
        via, via_r2, partner = best_pairs.get(column, (None, None, None))
        tied = (rho is not None and abs(rho) >= SPEARMAN_WARN) or r2 >= R2_WARN
        if not tied and (via_r2 is None or via_r2 < R2_WARN):
            continue
        ties.append(
            DurationTie(
                column=column,
                feature=column in features,
                spearman=rho,
                r2=r2,
                via=via,
                via_r2=via_r2,
                via_feature=partner in features,
            )
        )
    return sorted(ties, key=lambda tie: -max(tie.r2, tie.via_r2 or 0.0))


def rank_correlation(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rho on the rows where ``x`` is known; None when it is undefined."""
    known = np.isfinite(x)
    if known.sum() < 3 or np.ptp(x[known]) == 0 or np.ptp(y[known]) == 0:
        return None
    return float(spearmanr(x[known], y[known]).statistic)


def binned_r2(x: np.ndarray, y: np.ndarray) -> float:
    """R² of the duration's mean per quantile bin of ``x`` (missing ``x``: its own bin)."""
    known = np.isfinite(x)
    codes = np.full(len(x), -1, dtype=np.int64)
    if known.any():
        ranks = pd.Series(x[known]).rank(method="first").to_numpy()
        codes[known] = np.minimum(
            (ranks - 1) * DURATION_BINS // known.sum(), DURATION_BINS - 1
        ).astype(np.int64)
    return _r2_of_groups(codes, y)


def group_r2(values: pd.Series, y: np.ndarray) -> float:
    """R² of the duration's mean per value (missing: its own group)."""
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return _r2_of_groups(np.asarray(codes, dtype=np.int64), y)


def _r2_of_groups(codes: np.ndarray, y: np.ndarray) -> float:
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0 or len(y) == 0:
        return 0.0
    _, inverse = np.unique(codes, return_inverse=True)
    sums = np.bincount(inverse, weights=y)
    counts = np.bincount(inverse)
    fitted = (sums / counts)[inverse]
    return max(0.0, 1.0 - float(((y - fitted) ** 2).sum()) / total)


def strongest_combinations(
    frame: pd.DataFrame,
    numeric: list[str],
    y: np.ndarray,
    singles: dict[str, tuple[float | None, float]],
) -> dict[str, tuple[str, float, str]]:
    """Per column, the ratio or product with another numeric column that tracks the duration
    best, when it beats both columns alone: ``column -> (text, R², other column)``; a pair is
    attributed to its more tied column."""
    chosen = sorted(numeric, key=lambda c: -singles[c][1])[:MAX_PAIR_COLUMNS]
    found: dict[str, tuple[str, float, str]] = {}
    for a, b in itertools.combinations(chosen, 2):
        xa = frame[a].to_numpy(dtype=np.float64, na_value=np.nan)
        xb = frame[b].to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            combos = {f"{a} / {b}": xa / xb, f"{b} / {a}": xb / xa, f"{a} x {b}": xa * xb}
        for text, x in combos.items():
            r2 = binned_r2(np.where(np.isfinite(x), x, np.nan), y)
            if r2 < R2_WARN or r2 <= max(singles[a][1], singles[b][1]):
                continue
            # the leak is the more tied column's: MonthlyCharges is innocent of TotalCharges
            column, other = (a, b) if singles[a][1] >= singles[b][1] else (b, a)
            if column not in found or found[column][1] < r2:
                found[column] = (text, r2, other)
    return found
