"""A survival run's hold-out predictions, the ``predictions.csv`` its record step writes.

One row per hold-out customer, riskiest first: ``id``; the observed ``duration`` and ``event``
(1 = the stay ended in churn, 0 = censored); the model's ``risk`` (its ``predict``: higher
churns sooner); ``churn_within_<h>`` = P(churn within h) for every declared horizon;
``median_time_to_churn`` (empty where the curve stays above one half); ``risk_decile``
(1 = riskiest tenth: ``ceil(10 rank / rows)``), ``rank`` (1 = highest risk; ties keep input
order) and ``set`` (``holdout``). The numbers are the served scorer's
(:class:`~churn.survival.scoring.SurvivalScorer`), so they equal ``churn score``'s on the
same rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from churn.survival.scoring import SurvivalScorer

FILE_NAME = "predictions.csv"


@dataclass(frozen=True)
class SurvivalPredictions:
    """The table and the exact bytes written (what run.json's sha256 is of)."""

    table: pd.DataFrame
    data: bytes

    @property
    def sha256(self) -> str:
        """The sha256 of :attr:`data`."""
        return hashlib.sha256(self.data).hexdigest()


def survival_predictions(
    pipeline: Any,
    X: pd.DataFrame,
    outcome: np.ndarray,
    ids: pd.Series,
    horizons: Sequence[float],
    unit: str,
) -> SurvivalPredictions:
    """The hold-out predictions of a fitted survival ``pipeline``; see the module docstring.

    Args:
        X: The hold-out feature rows; ``outcome`` their (event, time) pairs, ``ids`` their ids.
    """
    scorer = SurvivalScorer(pipeline[-1], horizons, unit)
    encoded = np.asarray(pipeline[:-1].transform(X), dtype=np.float64)
    scores = scorer.score(encoded)
    risk = np.asarray(scorer.risk(encoded), dtype=np.float64)
    ranks = np.asarray(rankdata(-risk, method="ordinal"), dtype=np.int64)
    within = {f"churn_within_{name}": scores.within[:, j] for j, name in enumerate(scorer.names)}
    table = pd.DataFrame(
        {
            "id": ids.to_numpy(),
            "duration": np.asarray(outcome["time"], dtype=np.float64),
            "event": np.asarray(outcome["event"], dtype=np.int64),
            "risk": risk,
            **within,
            "median_time_to_churn": np.where(np.isfinite(scores.median), scores.median, np.nan),
            "risk_decile": np.ceil(ranks * 10 / max(len(ranks), 1)).astype(np.int64),
            "rank": ranks,
            "set": np.full(len(risk), "holdout"),
        }
    )
    table = table.sort_values("rank", kind="stable").reset_index(drop=True)
    return SurvivalPredictions(table, table.to_csv(index=False).encode("utf-8"))
