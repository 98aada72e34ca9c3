"""Model behaviour on the embedded Telco data: minimum quality, invariance, direction."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import train_run

from churn.contract import load_dataset
from churn.run.pool import InlineExecutor
from churn.spec import Spec
from churn.spec.loader import load_spec
from churn.training.compile import compile_candidate
from churn.training.evaluate import (
    CandidateResult,
    select_winner,
    split_dataset,
    train_candidate,
)

pytestmark = [pytest.mark.model, pytest.mark.xdist_group("telco")]
"""One xdist worker runs them all, so the Telco training below happens once."""


class RecordingExecutor(InlineExecutor):
    """Trains in this thread, like the default, and keeps each candidate's result."""

    def __init__(self) -> None:
        super().__init__()
        self.results: dict[str, CandidateResult] = {}

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        if isinstance(result := future.result(), CandidateResult):
            self.results[result.name] = result
        return future


@pytest.fixture(scope="module")
def telco_run(
    telco_spec_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], dict[str, CandidateResult]]:
    """One whole run of the default spec in this process (the Telco data trains once for the
    module): its record and every candidate's result. (How long it takes is measured against
    the plain script in ``benchmarks/bench_train.py``, not bounded here.)"""
    pool = RecordingExecutor()
    home = tmp_path_factory.mktemp("telco-home")
    manifest = train_run(telco_spec_path, home=home, pool=pool).as_dict()
    return manifest, pool.results


@pytest.fixture(scope="module")
def telco(
    telco_spec_path: Path, telco_run: tuple[dict[str, Any], dict[str, CandidateResult]]
) -> tuple[Spec, pd.DataFrame, dict[str, CandidateResult]]:
    spec = load_spec(telco_spec_path)
    return spec, load_dataset(spec), telco_run[1]


def test_every_candidate_reaches_the_published_hold_out_band(telco) -> None:
    _, _, results = telco
    aucs = {name: round(result.holdout["roc_auc"], 4) for name, result in results.items()}
    assert all(auc >= 0.83 for auc in aucs.values()), aucs


def test_the_best_cross_validated_candidate_reaches_0_850_without_leakage(telco) -> None:
    spec, _, results = telco
    winner = select_winner(spec, results)
    # published: 0.84-0.85 (top credible 0.8495); above 0.87 on these columns means leakage
    assert 0.850 <= results[winner].cv_mean["roc_auc"] < 0.87, results[winner].cv_mean


def test_the_winner_ranks_leavers_with_a_hold_out_pr_auc_of_0_66(telco) -> None:
    spec, _, results = telco
    winner = results[select_winner(spec, results)]
    assert winner.holdout["pr_auc"] >= 0.66, winner.holdout


def test_at_the_served_threshold_the_winner_finds_three_in_four_leavers_with_f1_0_63(
    telco,
) -> None:
    spec, _, results = telco
    winner = results[select_winner(spec, results)]
    assert winner.threshold_policy.strategy == spec.evaluation.threshold.strategy
    assert winner.holdout["recall"] >= 0.75, winner.holdout
    assert winner.holdout["f1"] >= 0.63, winner.holdout


def test_shuffled_telco_labels_give_a_roc_auc_near_one_half(telco) -> None:
    spec, frame, _ = telco
    shuffled = frame.copy()
    target = spec.data.target.column
    shuffled[target] = np.random.default_rng(0).permutation(frame[target].to_numpy())
    data = split_dataset(spec, shuffled)
    model = spec.candidate("logreg")
    result = train_candidate(spec, "logreg", compile_candidate(spec, model), data)
    assert abs(result.cv_mean["roc_auc"] - 0.5) < 0.03
    assert abs(result.holdout["roc_auc"] - 0.5) < 0.05


def test_a_whole_run_of_the_default_spec_trains_every_candidate(telco, telco_run) -> None:
    manifest, results = telco_run
    assert manifest["status"] == "succeeded"
    assert set(results) == set(manifest["candidates"]) == {m.name for m in telco[0].models}


def test_the_run_records_exactly_what_its_candidates_measured(telco_run) -> None:
    """(Training twice gives the same record: tests/run/test_reproducible.py and
    ``churn reproduce``'s tests check it on every candidate type, at a fraction of the cost.)"""
    manifest, results = telco_run
    for name, result in results.items():
        recorded = manifest["candidates"][name]
        assert recorded["holdout"] == result.holdout
        assert recorded["cv_folds"] == result.cv_scores
        assert recorded["threshold"] == result.threshold


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
