"""The compiled XGBoost pipeline scores exactly as ``predict_proba`` does, or is not made."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from churn.contract import load_dataset
from churn.errors import RegistryError
from churn.monitoring.profile import (
    ReferenceProfile,
    build_profile,
    read_profile,
    write_profile,
)
from churn.monitoring.tree_scorer import (
    SCORER_TOLERANCE,
    TreeScorer,
    compile_scorer,
    sample_columns,
    scores_agree,
)
from churn.spec import Spec
from churn.spec.loader import load_spec
from churn.training.compile import compile_candidate
from churn.training.evaluate import split_dataset

TELCO = "spec/telco.yaml"


@cache
def telco() -> tuple[Spec, Pipeline, pd.DataFrame]:
    """spec/telco.yaml's xgb candidate (fewer, deeper trees: a quicker fit) on the Telco
    training rows, and the hold-out rows."""
    spec = load_spec(TELCO)
    candidate = next(model for model in spec.models if model.type == "xgboost")
    candidate = candidate.model_copy(
        update={"params": {**candidate.params, "n_estimators": 30, "max_depth": 4}}
    )
    data = split_dataset(spec, load_dataset(spec))
    pipeline = compile_candidate(spec, candidate).fit(data.X_train, data.y_train)
    return spec, pipeline, data.X_test


def hostile(rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The rows with what a batch may bring that training did not: missing numbers, a zero
    tenure (the ratio's NaN), tenures outside the bins, unseen and missing categories."""
    frame = rows.copy()
    rng = np.random.default_rng(seed)
    picked = rng.random(len(frame))
    frame.loc[picked < 0.1, "TotalCharges"] = np.nan
    frame.loc[(picked >= 0.1) & (picked < 0.2), "tenure"] = 0
    frame.loc[(picked >= 0.2) & (picked < 0.25), "tenure"] = 5000
    frame["PaymentMethod"] = frame["PaymentMethod"].astype(object)
    frame.loc[(picked >= 0.25) & (picked < 0.35), "PaymentMethod"] = "Crypto"
    frame.loc[(picked >= 0.35) & (picked < 0.4), "PaymentMethod"] = np.nan
    frame.loc[picked >= 0.9, "MonthlyCharges"] = frame["MonthlyCharges"] * 1e6
    return frame


def scores(pipeline: Pipeline, rows: pd.DataFrame) -> np.ndarray:
    return np.asarray(pipeline.predict_proba(rows)[:, 1], dtype=np.float64)


def test_the_compiled_telco_model_gives_predict_probas_scores_bit_for_bit() -> None:
    _, pipeline, rows = telco()
    scorer = compile_scorer(pipeline, rows)
    assert scorer is not None

    for batch in (rows, hostile(rows, seed=1), hostile(rows, seed=2).iloc[:1]):
        got = scorer.predict(sample_columns(batch, scorer))
        np.testing.assert_array_equal(got, scores(pipeline, batch))


@cache
def compiled_profile() -> ReferenceProfile:
    """The Telco hold-out's profile with the compiled model (built once)."""
    spec, pipeline, rows = telco()
    return build_profile(rows, spec, scores(pipeline, rows), run_id="r", model=pipeline)


def test_the_compiled_model_survives_the_profile_file() -> None:
    _, pipeline, rows = telco()
    profile = compiled_profile()
    assert profile.scorer is not None

    again = ReferenceProfile.model_validate_json(profile.model_dump_json())

    assert again == profile
    assert again.scorer is not None
    batch = hostile(rows, seed=3)
    got = again.scorer.predict(sample_columns(batch, again.scorer))
    np.testing.assert_array_equal(got, scores(pipeline, batch))


def test_a_reader_that_does_not_score_reads_the_profile_without_its_model(
    tmp_path: Path,
) -> None:
    profile = compiled_profile()
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    written = write_profile(run_dir, profile)
    digest = hashlib.sha256(written.read_bytes()).hexdigest()

    counts_only = read_profile(run_dir, sha256=digest, with_scorer=False)

    assert counts_only == profile.model_copy(update={"scorer": None})
    assert read_profile(run_dir, sha256=digest) == profile
    with pytest.raises(RegistryError, match="does not hash"):
        read_profile(run_dir, sha256="0" * 64, with_scorer=False)


def test_an_old_profile_without_a_compiled_model_still_reads() -> None:
    spec, pipeline, rows = telco()
    profile = build_profile(rows, spec, scores(pipeline, rows), run_id="r")
    raw = profile.model_dump(mode="json")
    del raw["scorer"]

    assert ReferenceProfile.model_validate(raw).scorer is None


@pytest.mark.slow  # three more fits
@pytest.mark.parametrize(
    "change",
    [
        {"model__n_estimators": 3, "model__num_parallel_tree": 2},  # several trees per round
        {"model__objective": "binary:logitraw"},
        {"features__categories__0_one_hot__handle_unknown": "error"},
    ],
)
def test_a_model_it_does_not_reproduce_is_not_compiled(change: dict[str, Any]) -> None:
    _, pipeline, rows = telco()
    other = clone(pipeline).set_params(**change)
    spec = load_spec(TELCO)
    data = split_dataset(spec, load_dataset(spec))
    other.fit(data.X_train, data.y_train)

    assert compile_scorer(other, rows) is None


def test_scores_that_differ_from_predict_proba_are_refused() -> None:
    _, pipeline, rows = telco()
    scorer = compile_scorer(pipeline, rows)
    assert isinstance(scorer, TreeScorer)

    class Shifted:
        """The same pipeline answering a little off."""

        feature_names_in_ = pipeline.feature_names_in_

        def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
            proba: np.ndarray = pipeline.predict_proba(frame) + 2 * SCORER_TOLERANCE
            return proba

    assert scores_agree(scorer, pipeline, rows)
    assert not scores_agree(scorer, Shifted(), rows)
