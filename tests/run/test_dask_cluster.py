"""Training on a Dask cluster: every candidate, its CV folds and its search trials run on the
workers of a real ``LocalCluster`` (worker processes), with the local runner's metrics."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed
import joblib
import numpy as np
import pandas as pd
import pytest
from factories import subscriptions_spec, train_run, write_project

from churn.registry import Registry
from churn.run.cluster import DaskPool
from churn.serving import load_serving_model
from churn.spec import load_spec

# One cluster for the module: both tests on one xdist worker, and none skipped (dev has dask).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dask-cluster")]

MODELS = [
    {
        "name": "logreg",
        "type": "logistic_regression",
        "search": {"n_iter": 3, "cv": 2, "space": {"C": {"type": "float", "low": 0.05,
                                                         "high": 5, "log": True}}},
    },
    {"name": "trees", "type": "random_forest",
     "params": {"n_estimators": 20, "max_depth": 4, "n_jobs": 1}},
    {"name": "xgb", "type": "xgboost", "params": {"n_estimators": 30, "max_depth": 3}},
]  # fmt: skip


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two worker processes with one thread each; closed, and their processes gone, after."""
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as local:
        with distributed.Client(local) as client:
            pids = list(client.run(os.getpid).values())
        yield local
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in pids), "a Dask worker outlived its cluster"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def metrics_without_times(run_dir: Path) -> dict[str, Any]:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for candidate in metrics["candidates"].values():
        candidate.pop("fit_seconds")
        for row in (candidate["search"] or {}).get("table", []):
            row.pop("fit_seconds")
    return metrics


def trained_both_ways(
    cluster: Any, tmp_path: Path, models: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """The spec with ``models`` run by the local runner, then on the cluster: both manifests
    and the tasks the cluster ran."""
    spec = write_project(tmp_path, subscriptions_spec(models=models), rows=400)
    local = train_run(spec, tmp_path / "local").as_dict()
    pool = DaskPool(distributed.Client(cluster, set_as_default=False))
    try:
        with distributed.get_task_stream(client=pool.client) as stream:
            dask = train_run(spec, tmp_path / "dask", pool=pool).as_dict()
    finally:
        pool.shutdown(wait=True)
    return local, dask, stream.data


def test_every_candidate_trains_on_the_workers_with_the_local_runners_metrics(
    cluster, tmp_path: Path
) -> None:
    local, dask, tasks = trained_both_ways(cluster, tmp_path, MODELS)

    local_metrics = metrics_without_times(tmp_path / "local" / "runs" / local["run_id"])
    dask_metrics = metrics_without_times(tmp_path / "dask" / "runs" / dask["run_id"])
    assert dask_metrics == local_metrics  # CV folds, hold-out, thresholds, search tables
    assert local["compute"] == {"executor": "inline", "workers": 1}
    assert dask["compute"] == {
        "executor": "dask", "workers": 2, "scheduler": cluster.scheduler_address
    }  # fmt: skip
    # The same model: identical probabilities (its pickle's bytes may differ: objects that
    # came back from a worker are no longer shared, so pickle's memo writes them twice).
    rows = pd.read_csv(tmp_path / "subscriptions.csv")
    models = [
        joblib.load(tmp_path / home / run["model"]["path"])
        for home, run in (("local", local), ("dask", dask))
    ]
    assert np.array_equal(*(model.predict_proba(rows) for model in models))

    trained = [t for t in tasks if t["key"].startswith("train-")]
    assert len(trained) == len(MODELS)
    # The candidates fanned out: their CV folds and search trials ran as joblib batches on
    # both workers, beside (not inside) the candidates' own tasks; nothing else did (joblib's
    # own Dask backend would also ship every ColumnTransformer's transformers as tasks).
    fanned = [t for t in tasks if not t["key"].startswith("train-")]
    assert len(fanned) >= len(MODELS) * 2
    assert len({t["worker"] for t in fanned}) == 2
    # CV folds are churn's one fit per fold (training/folds.py), search trials scikit-learn's.
    assert all(
        t["key"].startswith(("batch_of__fit_fold_", "batch_of__fit_and_score_")) for t in fanned
    )


DISTRIBUTED_XGB = [
    {"name": "xgb", "type": "xgboost", "distributed": True,
     "params": {"n_estimators": 30, "max_depth": 3}},
]  # fmt: skip


def test_a_distributed_xgboost_candidate_fits_on_every_worker_and_serves(
    cluster, tmp_path: Path
) -> None:
    local, dask, tasks = trained_both_ways(cluster, tmp_path, DISTRIBUTED_XGB)

    # xgboost.dask trains each fit (3 CV folds, then the final one) as one task per worker
    # holding a block of rows (its map_worker_partitions submits them as `fn`).
    training = [t["worker"] for t in tasks if str(t["key"]).startswith("fn-")]
    assert sorted(Counter(training).values()) == [4, 4]
    assert not [t for t in tasks if str(t["key"]).startswith("batch_of_")]
    for metric, value in local["candidates"]["xgb"]["holdout"].items():
        assert dask["candidates"]["xgb"]["holdout"][metric] == pytest.approx(value, abs=0.02)

    # The champion is an ordinary pickled pipeline: it loads, and the fast path serves it.
    spec = tmp_path / "spec.yaml"
    served = load_serving_model(Registry(tmp_path / "dask"), feature_specs(spec))
    assert served is not None and served.scorer.fast
    rows = pd.read_csv(tmp_path / "subscriptions.csv")
    assert np.array_equal(
        served.scorer.predict_proba_frame(rows), served.pipeline.predict_proba(rows)[:, 1]
    )


def feature_specs(spec_path: Path) -> dict[str, Any]:
    spec = load_spec(spec_path)
    return {name: spec.columns[name] for name in spec.feature_columns}
