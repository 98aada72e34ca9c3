"""Survival rows in the prediction log and the serving drift window (issue 25 follow-up,
item 4): P(churn within the longest horizon) as ``churn_probability``, one nullable
``churn_within_<h>`` column per horizon, the classifier's files unchanged."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from survival_factories import (
    survival_champion,
    write_survival_project,
)

from churn.api.app import create_app
from churn.api.settings import Settings
from churn.contract import load_dataset
from churn.monitoring.prediction_log import (
    LOG_SCHEMA,
    PredictionLogFolder,
    log_table,
    read_prediction_log,
)
from churn.monitoring.profile import build_profile, write_profile
from churn.monitoring.scored import ScoredBatch
from churn.registry import Registry
from churn.serving.score_file import ScoringModel, score_file
from churn.spec.loader import load_spec
from churn.survival.outcome import survival_outcome
from churn.training.compile import compile_spec


def classifier_batch(n: int = 2) -> ScoredBatch:
    proba = np.linspace(0.2, 0.8, n)
    return ScoredBatch([f"c{i}" for i in range(n)], "run-c", 1.7e9, proba, proba >= 0.5)


def survival_batch() -> ScoredBatch:
    within = np.array([[0.1, 0.3, 0.6], [0.05, 0.1, 0.2]])
    return ScoredBatch(
        ["s0", "s1"],
        "run-s",
        1.7e9,
        within[:, -1],
        within[:, -1] >= 0.5,
        within=within,
        horizons=("6", "12", "24"),
    )


def test_a_classifier_flush_keeps_the_log_schema_exactly():
    assert log_table([classifier_batch()]).schema == LOG_SCHEMA


def test_survival_rows_add_one_nullable_column_per_horizon(tmp_path):
    table = log_table([classifier_batch(), survival_batch()])
    assert table.schema.names == [*LOG_SCHEMA.names, *(f"churn_within_{h}" for h in (6, 12, 24))]
    assert table["churn_within_24"].to_pylist() == [None, None, 0.6, 0.2]
    assert table["churn_within_6"].to_pylist() == [None, None, 0.1, 0.05]
    assert table["churn_probability"].to_pylist()[2:] == [0.6, 0.2]
    assert table["will_churn"].to_pylist()[2:] == [True, False]
    folder = PredictionLogFolder(tmp_path, max_bytes=10**7)
    folder.write(table, datetime.now(UTC))
    read, skipped = read_prediction_log(tmp_path)
    assert not skipped and read.schema == LOG_SCHEMA and read.num_rows == 4


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("survival_log")
    spec = load_spec(write_survival_project(folder, 240))
    frame = load_dataset(spec)
    pipeline = compile_spec(spec)["cox"].fit(
        frame[spec.feature_columns], survival_outcome(frame, spec.data.target)
    )
    return folder, spec, frame, pipeline


def test_churn_score_records_survival_chunks(project, tmp_path):
    folder, spec, frame, pipeline = project
    batches: list[ScoredBatch] = []
    score_file(
        spec,
        ScoringModel("run-1", pipeline, 0.5),
        folder / "subscriptions.csv",
        tmp_path / "s.csv",
        chunk_rows=100,
        record=batches.append,
    )
    assert [b.rows for b in batches] == [100, 100, 40]
    table = log_table(batches)
    expected = 1.0 - pipeline[-1].predict_survival(
        pipeline[:-1].transform(frame), np.array([6.0, 12.0, 24.0])
    )
    np.testing.assert_allclose(table["churn_within_12"].to_numpy(), expected[:, 1], rtol=1e-9)
    np.testing.assert_allclose(table["churn_probability"].to_numpy(), expected[:, 2], rtol=1e-9)
    assert table["id"].to_pylist() == frame["account_id"].tolist()


def test_predict_logs_survival_rows_and_the_drift_window_counts_them(project, tmp_path):
    folder, spec, frame, pipeline = project
    home = survival_champion(tmp_path / "home", pipeline, folder / "spec.yaml")
    run_id = Registry(home).champion_id()
    scores = 1.0 - pipeline[-1].predict_survival(pipeline[:-1].transform(frame), [24.0])[:, 0]
    write_profile(Registry(home).run_dir(run_id), build_profile(frame, spec, scores, run_id=run_id))
    settings = Settings(
        home=home, spec=folder / "spec.yaml", reload_interval=0, prediction_log_flush_seconds=0.05
    )
    records = frame.drop(columns=["churned", "months_active"]).head(30).to_dict(orient="records")
    with TestClient(create_app(settings)) as client:
        assert client.post("/predict", json={"records": records}).status_code == 200
        deadline = time.monotonic() + 10
        while read_prediction_log(home / "predictions")[0].num_rows < 30:
            assert time.monotonic() < deadline, "the survival rows were not logged"
            time.sleep(0.05)
        while "churn_drift_window_records 30.0" not in client.get("/metrics").text:
            assert time.monotonic() < deadline, "the drift window did not count the rows"
            time.sleep(0.05)
    logged = ds.dataset(home / "predictions", format="parquet", partitioning="hive").to_table()
    assert {"churn_within_6", "churn_within_12", "churn_within_24"} <= set(logged.schema.names)
    np.testing.assert_allclose(
        logged["churn_probability"].to_numpy(), logged["churn_within_24"].to_numpy()
    )
    assert (
        pq.read_schema(next((home / "predictions").rglob("*.parquet")))
        .field("churn_within_6")
        .nullable
    )
