"""The batched permutation importance gives scikit-learn's numbers with a few model calls."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import subscriptions_frame, subscriptions_spec
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score

from churn.report import permutation
from churn.report.permutation import batched_permutation_importance, roc_auc
from churn.spec import Spec
from churn.training.compile import compile_spec


@pytest.fixture(scope="module")
def fitted() -> tuple[dict[str, Any], pd.DataFrame, np.ndarray]:
    """The subscriptions spec's pipelines (logistic regression, random forest) fitted on 400
    rows; 200 others to shuffle."""
    spec = Spec.model_validate(subscriptions_spec())
    frame = subscriptions_frame(600)
    X, y = frame[spec.feature_columns], frame["churned"].to_numpy()
    pipelines = {name: p.fit(X.iloc[:400], y[:400]) for name, p in compile_spec(spec).items()}
    return pipelines, X.iloc[400:], y[400:]


@pytest.mark.parametrize("name", ["logreg", "trees"])  # decision_function, predict_proba
def test_the_numbers_are_scikit_learns(
    fitted: tuple[dict[str, Any], pd.DataFrame, np.ndarray], name: str
) -> None:
    pipelines, X, y = fitted
    expected = permutation_importance(
        pipelines[name], X, y, scoring="roc_auc", n_repeats=2, random_state=7, n_jobs=1
    )
    found = batched_permutation_importance(pipelines[name], X, y, repeats=2, seed=7)
    np.testing.assert_allclose(found.drops, expected.importances, rtol=0, atol=1e-12)
    np.testing.assert_allclose(found.mean, expected.importances_mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(found.std, expected.importances_std, rtol=0, atol=1e-12)
    assert np.abs(found.drops).max() > 0.01  # the shuffles did change the scores


def test_batches_split_at_the_row_budget_give_the_same_numbers(
    fitted: tuple[dict[str, Any], pd.DataFrame, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    pipelines, X, y = fitted
    whole = batched_permutation_importance(pipelines["logreg"], X, y, repeats=2, seed=3)
    calls: list[int] = []
    model = pipelines["logreg"]

    class Counting:
        def decision_function(self, rows: pd.DataFrame) -> Any:
            calls.append(len(rows))
            return model.decision_function(rows)

    monkeypatch.setattr(permutation, "BATCH_ROWS", 3 * len(X) + 1)  # three copies a call
    split = batched_permutation_importance(Counting(), X, y, repeats=2, seed=3)
    np.testing.assert_array_equal(split.drops, whole.drops)
    copies = X.shape[1] * 2
    assert calls == [len(X)] + [3 * len(X)] * (copies // 3) + [len(X)] * (copies % 3 > 0)


def test_roc_auc_counts_ties_one_half_like_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=300)
    scores = np.round(rng.normal(size=(4, 300)) + y, 1)  # many ties
    expected = [roc_auc_score(y, row) for row in scores]
    np.testing.assert_allclose(roc_auc(y == 1, scores), expected, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="one class"):
        roc_auc(np.ones(5, dtype=bool), scores[:, :5])
