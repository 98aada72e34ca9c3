"""Model behaviour on the embedded Telco data: minimum quality, invariance, direction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn.contract import load_dataset
from churn.spec import Spec
from churn.spec.loader import load_spec
from churn.training.evaluate import CandidateResult, evaluate_candidates, select_winner

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def telco(telco_spec_path: Path) -> tuple[Spec, pd.DataFrame, dict[str, CandidateResult]]:
    spec = load_spec(telco_spec_path)
    frame = load_dataset(spec)
    return spec, frame, evaluate_candidates(spec, frame)


def test_every_candidate_reaches_the_published_hold_out_band(telco) -> None:
    _, _, results = telco
    aucs = {name: round(result.holdout["roc_auc"], 4) for name, result in results.items()}
    assert all(auc >= 0.83 for auc in aucs.values()), aucs


def test_the_best_cross_validated_candidate_reaches_0_84(telco) -> None:
    spec, _, results = telco
    winner = select_winner(spec, results)
    assert results[winner].cv_mean["roc_auc"] >= 0.84, results[winner].cv_mean


def test_training_twice_gives_identical_metrics(telco) -> None:
    spec, frame, results = telco
    again = evaluate_candidates(spec, frame)
    for name, result in results.items():
        assert again[name].holdout == result.holdout
        assert again[name].cv_scores == result.cv_scores
        assert again[name].threshold == result.threshold


def winner_proba(telco, rows: pd.DataFrame) -> np.ndarray:
    spec, _, results = telco
    pipeline = results[select_winner(spec, results)].pipeline
    return pipeline.predict_proba(rows)[:, 1]  # every column: the pipeline picks its own


def test_the_customer_id_and_dropped_gender_do_not_change_a_score(telco) -> None:
    _, frame, _ = telco
    rows = frame.head(200).copy()
    changed = rows.copy()
    changed["customerID"] = [f"X{i}" for i in range(len(rows))]
    changed["gender"] = np.where(rows["gender"] == "Male", "Female", "Male")
    assert np.array_equal(winner_proba(telco, rows), winner_proba(telco, changed))


def test_a_two_year_contract_lowers_churn_risk_against_month_to_month(telco) -> None:
    _, frame, _ = telco
    rows = frame[frame["Contract"] == "Month-to-month"].head(300).copy()
    longer = rows.copy()
    longer["Contract"] = "Two year"
    assert np.mean(winner_proba(telco, longer) < winner_proba(telco, rows)) > 0.9
