"""``churn score`` and ``churn synth`` with a survival spec (issue 25, items 5 and 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from factories import subscriptions_spec
from survival_factories import survival_frame, survival_spec

from churn.contract import load_dataset
from churn.errors import SpecError
from churn.serving.score_file import ScoringModel, score_file
from churn.spec.loader import load_spec
from churn.survival.metrics import kaplan_meier_at
from churn.survival.outcome import survival_outcome
from churn.synth.generate import synthesize
from churn.training.compile import compile_spec

HORIZONS = np.array([6.0, 12.0, 24.0])


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("survival_project")
    (folder / "spec.yaml").write_text(yaml.safe_dump(survival_spec(), sort_keys=False))
    survival_frame(500).to_csv(folder / "subscriptions.csv", index=False)
    spec = load_spec(folder / "spec.yaml")
    return folder, spec, load_dataset(spec)


def test_score_writes_churn_within_each_horizon_and_the_median(project):
    folder, spec, frame = project
    pipeline = compile_spec(spec)["cox"].fit(frame, survival_outcome(frame, spec.data.target))
    summary = score_file(
        spec, ScoringModel("run-1", pipeline, 0.5), folder / "subscriptions.csv", folder / "s.csv"
    )
    scored = pd.read_csv(folder / "s.csv")
    columns = ["churn_within_6", "churn_within_12", "churn_within_24"]
    assert list(scored.columns) == ["account_id", *columns, "median_time_to_churn"]
    assert scored["account_id"].tolist() == frame["account_id"].tolist()
    encoded = pipeline[:-1].transform(frame)
    expected = 1.0 - pipeline[-1].predict_survival(encoded, HORIZONS)
    np.testing.assert_allclose(scored[columns].to_numpy(), expected, rtol=1e-6, atol=1e-9)
    median = pipeline[-1].predict_median(encoded)
    np.testing.assert_allclose(
        scored["median_time_to_churn"].to_numpy(), np.where(np.isfinite(median), median, np.nan)
    )
    assert summary.rows == len(frame)
    assert summary.churn == int(np.count_nonzero(expected[:, -1] >= 0.5))


def test_a_survival_model_with_a_classifier_spec_is_a_spec_error(project, tmp_path):
    folder, spec, frame = project
    pipeline = compile_spec(spec)["cox"].fit(frame, survival_outcome(frame, spec.data.target))
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(subscriptions_spec(), sort_keys=False))
    classifier = load_spec(tmp_path / "spec.yaml")
    with pytest.raises(SpecError, match=r"data\.target: run run-1's model is a survival model"):
        score_file(
            classifier,
            ScoringModel("run-1", pipeline, 0.5),
            folder / "subscriptions.csv",
            tmp_path / "out.csv",
        )
    assert not (tmp_path / "out.csv").exists()


def test_synthetic_survival_rows_keep_the_real_curve(project):
    folder, spec, frame = project
    synthesize(spec, 3000, folder / "synthetic.csv", seed=1)
    synthetic = pd.read_csv(folder / "synthetic.csv")
    assert len(synthetic) == 3000
    assert set(synthetic["churned"]) <= {"yes", "no"}
    assert synthetic["months_active"].between(0, 60).all()
    real_y = survival_outcome(frame, spec.data.target)
    synthetic_y = np.empty(len(synthetic), dtype=real_y.dtype)
    synthetic_y["event"] = synthetic["churned"] == "yes"
    synthetic_y["time"] = synthetic["months_active"]
    np.testing.assert_allclose(
        kaplan_meier_at(synthetic_y, HORIZONS), kaplan_meier_at(real_y, HORIZONS), atol=0.05
    )
