"""A survival run's record (issue 25 follow-up, items 1 and 2): the hold-out predictions.csv
hashed in run.json and checked by ``churn reproduce``, and no "nan" in what a person reads.

One whole run (a ridge Cox model on 300 synthetic subscriptions, ~13 s here under load) serves
the tests marked slow; tests/survival/test_survival_predictions.py unit-tests the table.
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import pandas as pd
import pytest
import yaml
from factories import train_run
from survival_factories import survival_frame, survival_spec

from churn.cli.reproduce import reproduce_run
from churn.cli.summary import champion_text, run_text, runs_text
from churn.contract import load_dataset
from churn.registry import Registry
from churn.spec.loader import load_spec
from churn.survival.names import survival_summary
from churn.survival.outcome import survival_outcome

COLUMNS = [
    "id",
    "duration",
    "event",
    "risk",
    "churn_within_6",
    "churn_within_12",
    "churn_within_24",
    "median_time_to_churn",
    "risk_decile",
    "rank",
    "set",
]


@pytest.fixture(scope="module")
def survival_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("survival_record")
    spec = survival_spec(models=[{"name": "cox", "type": "cox"}])
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    survival_frame(300).to_csv(folder / "subscriptions.csv", index=False)
    handler, logger = _Collect(), logging.getLogger("churn.run")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        manifest = train_run(folder / "spec.yaml", folder / "home")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return folder, manifest, Registry(folder / "home"), handler.lines


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.slow
def test_predictions_are_the_holdout_with_outcome_risk_and_curves(survival_run):
    folder, manifest, registry, _ = survival_run
    assert manifest.predictions is not None
    path = registry.home / manifest.predictions.path
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest.predictions.sha256
    assert manifest.predictions.bytes == len(data)
    table = pd.read_csv(path)
    assert list(table.columns) == COLUMNS
    assert len(table) == 75  # test_size 0.25 of 300 rows
    spec = load_spec(folder / "spec.yaml")
    frame = load_dataset(spec).set_index("account_id").loc[table["id"]]
    outcome = survival_outcome(frame, spec.data.target)
    np.testing.assert_array_equal(table["event"], outcome["event"].astype(int))
    np.testing.assert_allclose(table["duration"], outcome["time"])
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert table["risk"].is_monotonic_decreasing
    within = table[["churn_within_6", "churn_within_12", "churn_within_24"]].to_numpy()
    assert np.all(np.diff(within, axis=1) >= 0) and np.all((within >= 0) & (within <= 1))
    model = registry.load_model(manifest.run_id, manifest.model.sha256, name=manifest.model.name)
    features = frame.reset_index()[spec.feature_columns]
    np.testing.assert_allclose(table["risk"], model.predict(features), rtol=1e-9)
    assert set(table["set"]) == {"holdout"}


@pytest.mark.slow
def test_the_run_log_and_summaries_show_survival_metrics_not_nan(survival_run):
    _, manifest, registry, lines = survival_run
    trained = [line for line in lines if line.startswith("cox: CV harrell_c")]
    assert len(trained) == 1, lines
    assert "Harrell's C" in trained[0] and "IBS ratio" in trained[0]
    assert "threshold" not in trained[0] and "nan" not in trained[0].lower()
    record = registry.record(manifest.run_id)
    texts = [run_text(record), runs_text([record]), champion_text(registry.champion())]
    for text in texts:
        assert "nan" not in text.lower().replace("nano", ""), text
    assert "threshold" not in run_text(record).split("gates")[0]


def test_survival_summary_says_na_for_an_undefined_metric():
    summary = survival_summary({"harrell_c": 0.81234, "uno_c": float("nan")})
    assert summary == "Harrell's C 0.8123, Uno's C n/a, IBS ratio n/a"


@pytest.mark.slow
def test_reproduce_checks_the_predictions(survival_run):
    _, manifest, registry, _ = survival_run
    found = reproduce_run(registry, manifest.run_id)
    assert found.matches, found.to_text()
    path = registry.home / manifest.predictions.path
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(b"holdout", b"holdouT", 1))
        tampered = reproduce_run(registry, manifest.run_id)
    finally:
        path.write_bytes(original)
    assert not tampered.matches
    assert any("predictions.csv: changed since the run" in p for p in tampered.problems)
