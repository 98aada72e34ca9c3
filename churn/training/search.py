"""Hyper-parameter search of one candidate on the training part (scikit-learn's searchers).

The search cross-validates inside the rows it is given (the training part only); the best
parameters are then set on the candidate, which is thresholded, cross-validated and fitted as
any other. Its CV metrics are therefore slightly optimistic (the folds helped choose the
parameters); the hold-out stays untouched.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.experimental import enable_halving_search_cv  # noqa: F401 - enables the import below
from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline

from churn.registry.record import SearchRecord, SearchRowRecord
from churn.spec import ModelSpec, SearchSpec
from churn.spec.candidates import ChoiceSpace, FloatSpace, IntSpace
from churn.training.models import estimator_prefix
from churn.training.parallel import loop_jobs


def distribution(space: ChoiceSpace | IntSpace | FloatSpace) -> Any:
    """The spec's space as something ``RandomizedSearchCV`` samples from."""
    if isinstance(space, ChoiceSpace):
        return list(space.values)
    if isinstance(space, IntSpace):
        return stats.randint(space.low, space.high + 1)
    if space.log:
        return stats.loguniform(space.low, space.high)
    return stats.uniform(space.low, space.high - space.low)


def searched(
    pipeline: Pipeline,
    model: ModelSpec,
    *,
    X: pd.DataFrame,
    y: np.ndarray,
    cv: Any,
    scoring: Any,
    seed: int,
) -> tuple[Pipeline, dict[str, Any], SearchRecord]:
    """Run ``model``'s search; the pipeline with the best parameters set, those parameters
    (spec names) and the search's record."""
    assert model.search is not None  # callers check
    prefix = estimator_prefix(model)
    best, record = run_search(
        pipeline, model.search, prefix=prefix, X=X, y=y, cv=cv, scoring=scoring, seed=seed
    )
    best_set = pipeline.set_params(**{f"{prefix}{key}": value for key, value in best.items()})
    return best_set, best, record


def run_search(
    pipeline: Pipeline,
    search: SearchSpec,
    *,
    prefix: str,
    X: pd.DataFrame,
    y: np.ndarray,
    cv: Any,
    scoring: Any,
    seed: int,
) -> tuple[dict[str, Any], SearchRecord]:
    """Search ``pipeline`` on ``(X, y)``; return the best parameters (spec names) and a record."""
    space = {f"{prefix}{name}": distribution(value) for name, value in search.space.items()}
    common: dict[str, Any] = {
        "scoring": scoring,
        "cv": cv,
        "random_state": seed,
        "refit": False,
        "n_jobs": loop_jobs(),
        "error_score": "raise",
    }
    searcher: RandomizedSearchCV | HalvingRandomSearchCV
    if search.method == "halving":
        searcher = HalvingRandomSearchCV(
            pipeline, space, n_candidates=search.n_iter, factor=search.factor, **common
        )
    else:
        searcher = RandomizedSearchCV(pipeline, space, n_iter=search.n_iter, **common)
    searcher.fit(X, y)
    best = {name.removeprefix(prefix): _plain(v) for name, v in searcher.best_params_.items()}
    record = SearchRecord(
        method=search.method,
        n_iter=search.n_iter,
        cv=search.cv,
        best_params=best,
        best_score=float(searcher.best_score_),
        table=search_table(searcher.cv_results_, prefix, search.top),
    )
    return best, record


def search_table(results: dict[str, Any], prefix: str, top: int) -> list[SearchRowRecord]:
    """The best ``top`` rows of ``cv_results_``: rank, mean and std score, fit time, params."""
    frame = pd.DataFrame(results)
    if "iter" in frame:  # halving: only the last round's scores compare (most resources)
        frame = frame[frame["iter"] == frame["iter"].max()].copy()
        frame["rank_test_score"] = frame["mean_test_score"].rank(ascending=False, method="min")
    frame = frame.sort_values(["rank_test_score", "mean_test_score"], ascending=[True, False])
    rows = []
    for _, row in frame.head(top).iterrows():
        rows.append(
            SearchRowRecord(
                rank=int(row["rank_test_score"]),
                mean_score=float(row["mean_test_score"]),
                std_score=float(row["std_test_score"]),
                fit_seconds=round(float(row["mean_fit_time"]), 3),
                params={k.removeprefix(prefix): _plain(v) for k, v in row["params"].items()},
            )
        )
    return rows


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars (JSON-ready, and what the spec would have said)."""
    return value.item() if isinstance(value, np.generic) else value
