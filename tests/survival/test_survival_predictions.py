"""The hold-out predictions table of a survival run (no whole run: a fitted pipeline)."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pandas as pd
import pytest
from survival_factories import write_survival_project

from churn.contract import load_dataset
from churn.registry import Registry
from churn.run.survival_predictions import write_survival_predictions
from churn.spec.loader import load_spec
from churn.survival.predictions import survival_predictions
from churn.survival.scoring import SurvivalScorer
from churn.training.compile import compile_spec
from churn.training.evaluate import CandidateResult, split_dataset


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("survival_predictions")
    spec = load_spec(write_survival_project(folder, 240))
    frame = load_dataset(spec)
    data = split_dataset(spec, frame)
    assert data.outcome_train is not None
    pipeline = compile_spec(spec)["cox"].fit(data.X_train, data.outcome_train)
    return spec, data, pipeline


def test_rows_are_the_holdout_riskiest_first_with_the_served_numbers(fitted):
    spec, data, pipeline = fitted
    target = spec.data.target
    made = survival_predictions(
        pipeline, data.X_test, data.outcome_test, data.ids_test, target.horizons, target.unit
    )
    table = made.table
    assert sorted(table["id"]) == sorted(data.ids_test)
    by_id = table.set_index("id").loc[data.ids_test.to_numpy()]
    np.testing.assert_array_equal(by_id["event"], data.outcome_test["event"].astype(int))
    np.testing.assert_array_equal(by_id["duration"], data.outcome_test["time"])
    encoded = pipeline[:-1].transform(data.X_test)
    scores = SurvivalScorer(pipeline[-1], target.horizons, target.unit).score(encoded)
    np.testing.assert_allclose(by_id["risk"], pipeline[-1].predict(encoded), rtol=1e-12)
    np.testing.assert_allclose(by_id["churn_within_24"], scores.within[:, -1], rtol=1e-12)
    median = np.where(np.isfinite(scores.median), scores.median, np.nan)
    np.testing.assert_array_equal(by_id["median_time_to_churn"], median)
    assert table["risk"].is_monotonic_decreasing
    assert table["risk_decile"].iloc[0] == 1 and table["risk_decile"].iloc[-1] == 10
    assert hashlib.sha256(made.data).hexdigest() == made.sha256
    assert_frame = pd.read_csv(io.BytesIO(made.data))
    assert list(assert_frame.columns) == list(table.columns)


def test_the_record_step_writes_and_hashes_the_file(fitted, tmp_path):
    spec, data, pipeline = fitted
    registry = Registry(tmp_path / "home")
    run_id = "20261206T170000.000000Z-abcdef"
    registry.start_run(run_id)
    winner = CandidateResult("cox", "cox", pipeline, float("nan"), {}, {}, np.empty(0), 0.0)
    record = write_survival_predictions(
        registry, registry.run_dir(run_id), spec.data.target, winner, data
    )
    written = (registry.home / record.path).read_bytes()
    assert record.path == f"runs/{run_id}/predictions.csv"
    assert (record.sha256, record.bytes) == (hashlib.sha256(written).hexdigest(), len(written))
