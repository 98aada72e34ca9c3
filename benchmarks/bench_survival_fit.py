"""Fit cost of each survival estimator on 100,000 synthetic rows (issue 25, item 2).

The rows: 30 standardised features (a Telco-sized encoded front), whole-month times from 0 to 72
like `tenure`, about half censored, the hazard a function of five features. Each estimator is
fitted once with churn's defaults on one thread; CPU time (user+sys of this process) and wall
time are printed, with the load average, and the hold-out Harrell's C of 20,000 more rows.

    python -m benchmarks.bench_survival_fit [--rows 100000] [--models cox xgb_cox ...]
        [--forest-trees 100] [--boosting-stages 100]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sksurv.metrics import concordance_index_censored  # noqa: E402
from sksurv.util import Surv  # noqa: E402

from churn.survival.estimators import SURVIVAL_MODELS  # noqa: E402

FEATURES = 30
ONE_THREAD: dict[str, dict[str, Any]] = {
    "cox": {},
    "xgb_cox": {"n_jobs": 1, "tree_method": "hist"},
    "xgb_aft": {"n_jobs": 1, "tree_method": "hist"},
    "gradient_boosting_survival": {"random_state": 0},
    "random_survival_forest": {"n_jobs": 1, "random_state": 0, "low_memory": True},
}


def survival_rows(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and a structured outcome with a known log-linear hazard."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, FEATURES))
    log_hazard = X[:, :5] @ np.array([0.8, -0.6, 0.5, 0.4, -0.3]) + 0.3 * X[:, 0] * X[:, 1]
    churn_after = rng.exponential(1 / (0.02 * np.exp(log_hazard)))
    observed_for = rng.uniform(0, 72, size=rows)
    time_ = np.floor(np.minimum(churn_after, observed_for))
    return X, Surv.from_arrays(event=churn_after <= observed_for, time=time_)


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--models", nargs="+", default=sorted(SURVIVAL_MODELS))
    parser.add_argument("--forest-trees", type=int, default=100)
    parser.add_argument("--boosting-stages", type=int, default=100)
    args = parser.parse_args()
    X, y = survival_rows(args.rows, seed=0)
    X_test, y_test = survival_rows(20_000, seed=1)
    print(f"{args.rows} rows, {FEATURES} features, {y['event'].mean():.0%} events")
    for name in args.models:
        params = dict(ONE_THREAD[name])
        if name == "random_survival_forest":
            params["n_estimators"] = args.forest_trees
        if name == "gradient_boosting_survival":
            params["n_estimators"] = args.boosting_stages
        load = os.getloadavg()[0]
        cpu, wall = cpu_seconds(), time.perf_counter()
        model = SURVIVAL_MODELS[name](**params).fit(X, y)
        cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
        c_index = concordance_index_censored(
            y_test["event"], y_test["time"], model.predict(X_test)
        )[0]
        print(
            f"{name:28s} fit CPU {cpu:8.1f} s  wall {wall:8.1f} s  hold-out C {c_index:.3f}"
            f"  (load {load:.1f} -> {os.getloadavg()[0]:.1f}) {params}",
            flush=True,
        )


if __name__ == "__main__":
    main()
