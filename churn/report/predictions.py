"""The scored customer list a run writes as ``predictions.csv``, riskiest first."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from churn.spec import Spec
from churn.training.evaluate import CandidateResult, Split

PREDICTION_COLUMNS = (
    "id",
    "churn_probability",
    "will_churn",
    "risk_decile",
    "rank",
    "actual",
    "set",
)
"""Columns of the predictions table, in order."""


def build_predictions(
    spec: Spec, result: CandidateResult, split: Split, frame: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per hold-out customer, or per input row when the spec says ``predictions: all``.

    Columns: ``id`` (the data's ids), ``churn_probability``, ``will_churn`` (probability >= the
    served threshold), ``risk_decile`` (1 = riskiest tenth), ``rank`` (1 = most likely to
    churn; ties keep input order), ``actual`` (0/1 on hold-out rows, empty elsewhere) and
    ``set`` (``holdout``, ``train``, or ``new`` for rows in neither part). Sorted by rank.
    """
    if spec.output.predictions == "all" and frame is not None:
        ids = spec.row_ids(frame).reset_index(drop=True)
        proba = result.pipeline.predict_proba(frame[spec.feature_columns])[:, 1]
        holdout = ids.isin(split.ids_test).to_numpy()
        actual_by_id = pd.Series(np.asarray(split.y_test), index=split.ids_test.to_numpy())
        actual = ids.map(actual_by_id).astype("Int64").array
        part = np.where(holdout, "holdout", np.where(ids.isin(split.ids_train), "train", "new"))
    else:
        ids = split.ids_test.reset_index(drop=True)
        proba = np.asarray(result.test_proba)
        actual = pd.array(np.asarray(split.y_test, dtype=np.int64), dtype="Int64")
        part = np.full(len(ids), "holdout")
    probability = np.clip(np.asarray(proba, dtype=np.float64), 0.0, 1.0)
    ranks = rank_descending(probability)
    table = pd.DataFrame(
        {
            "id": ids.to_numpy(),
            "churn_probability": probability,
            "will_churn": probability >= result.threshold,
            "risk_decile": risk_deciles(ranks),
            "rank": ranks,
            "actual": actual,
            "set": part,
        }
    )
    return table.sort_values("rank", kind="stable").reset_index(drop=True)


def rank_descending(probability: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """1 for the highest probability, n for the lowest; ties keep their input order."""
    order = np.argsort(-probability, kind="stable")
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def risk_deciles(ranks: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Equal-count tenths of the ranking, 1 = riskiest: ``pd.qcut`` of the (unique) ranks.

    Cutting ranks rather than probabilities keeps tied probabilities from collapsing bins;
    fewer than ten rows use the same rule (deciles then skip numbers).
    """
    if len(ranks) >= 10:
        return np.asarray(pd.qcut(ranks, 10, labels=False), dtype=np.int64) + 1
    return np.asarray((ranks - 1) * 10 // len(ranks), dtype=np.int64) + 1
