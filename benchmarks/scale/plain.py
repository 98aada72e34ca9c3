"""The fits of ``benchmarks/scale/spec.yaml`` as a user would write them by hand.

pandas reads the file (no contract), then per candidate, one after the other: 3-fold CV at
the fixed threshold, a refit on the training part and the hold-out scores; the same split,
features, estimators and parameters as ``churn run`` on that spec (keep the two in step).
No orchestrator, registry, plots or report. Two forms, as a user would write it:

- ``defaults``: the libraries' defaults. XGBoost's ``n_jobs`` unset (one thread per core for
  its tree building), ``cross_validate`` one fold after another;
- ``folds``: the folds in parallel (``cross_validate(n_jobs=-1)``: one joblib worker process per
  core), each fit on one thread (XGBoost ``n_jobs=1``), so the cores are not shared twice.

    python -m benchmarks.scale.plain DATA_FILE [--form defaults|folds]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import (
    FixedThresholdClassifier,
    StratifiedKFold,
    cross_validate,
    train_test_split,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from xgboost import XGBClassifier

SEED = 42
THRESHOLD = 0.35
AMOUNTS = ["tenure", "MonthlyCharges", "TotalCharges"]
FLAGS = ["SeniorCitizen"]
CATEGORIES = [
    "Partner", "Dependents", "PhoneService", "MultipleLines", "InternetService",
    "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
    "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod",
]  # fmt: skip
SCORERS = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "roc_auc": "roc_auc",
    "pr_auc": "average_precision",
    "brier": "neg_brier_score",
}


FORMS = ("defaults", "folds")


def candidates(form: str) -> dict[str, Any]:
    """The spec's two candidates with churn's defaults for them; XGBoost's threads by ``form``."""
    threads = {"n_jobs": 1} if form == "folds" else {}
    return {
        "logreg": LogisticRegression(C=0.5, max_iter=1000, random_state=SEED),
        "xgb": XGBClassifier(
            n_estimators=200,
            learning_rate=0.1,
            max_depth=4,
            eval_metric="logloss",
            tree_method="hist",
            random_state=SEED,
            **threads,
        ),
    }


def features() -> ColumnTransformer:
    """The spec's feature groups."""
    amounts = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    one_hot = OneHotEncoder(handle_unknown="ignore", drop="if_binary", sparse_output=False)
    return ColumnTransformer(
        [
            ("amounts", amounts, AMOUNTS),
            ("flags", "passthrough", FLAGS),
            ("cats", one_hot, CATEGORIES),
        ],
        remainder="drop",
    )


def holdout_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """The spec's metrics from one ``predict_proba`` of the hold-out."""
    predicted = (proba >= THRESHOLD).astype(np.int64)
    return {
        "accuracy": accuracy_score(y, predicted),
        "precision": precision_score(y, predicted, zero_division=0),
        "recall": recall_score(y, predicted),
        "f1": f1_score(y, predicted),
        "roc_auc": roc_auc_score(y, proba),
        "pr_auc": average_precision_score(y, proba),
        "brier": brier_score_loss(y, proba),
    }


def read(path: Path) -> pd.DataFrame:
    """The file as pandas reads it by default."""
    if path.suffix == ".csv":
        return pd.read_csv(path, na_values=[" "])
    return pd.read_parquet(path)


def main(path: Path, form: str) -> None:
    """Fit and score both candidates; print the winner and the seconds per stage."""
    started = time.perf_counter()
    frame = read(path)
    y = (frame["Churn"] == "Yes").to_numpy(dtype=np.int64)
    X = frame[AMOUNTS + FLAGS + CATEGORIES]
    train, test = train_test_split(
        np.arange(len(frame)), test_size=0.2, random_state=SEED, stratify=y
    )
    X_train, X_test, y_train, y_test = X.iloc[train], X.iloc[test], y[train], y[test]
    print(f"read+split {time.perf_counter() - started:.2f} s", flush=True)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=SEED)
    results = {}
    for name, estimator in candidates(form).items():
        begun = time.perf_counter()
        pipeline = Pipeline([("features", features()), ("model", estimator)])
        fixed = FixedThresholdClassifier(
            pipeline, threshold=THRESHOLD, response_method="predict_proba"
        )
        cv = cross_validate(
            fixed,
            X_train,
            y_train,
            cv=folds,
            scoring=SCORERS,
            n_jobs=-1 if form == "folds" else None,
        )
        fitted = clone(fixed).fit(X_train, y_train)
        proba = fitted.predict_proba(X_test)[:, 1]
        holdout = holdout_metrics(y_test, proba)
        results[name] = float(np.mean(cv["test_roc_auc"]))
        print(
            f"{name}: CV roc_auc {results[name]:.4f}, hold-out {holdout['roc_auc']:.4f}, "
            f"{time.perf_counter() - begun:.2f} s",
            flush=True,
        )
    winner = max(results, key=results.__getitem__)
    print(f"winner: {winner}; total {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale.plain")
    parser.add_argument("data", type=Path)
    parser.add_argument("--form", choices=FORMS, default="defaults")
    args = parser.parse_args()
    main(args.data, args.form)
