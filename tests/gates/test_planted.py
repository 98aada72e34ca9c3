"""Planted failures: the default spec's gate tests pass on an honest model and fail, naming
column, segment, value and bound, on a model trained to break each expectation."""

from __future__ import annotations

import numpy as np
import pytest
from telco_models import Telco, gate_module, spec_variant

from churn.gates.declarative import test_declared_slices as declared_slices
from churn.gates.expectations import DirectionFailed, InvarianceFailed, SliceFailed
from churn.gates.subjects import GateModel, SliceEvidence, collecting
from churn.training.metrics import compute_metrics

pytestmark = [pytest.mark.model, pytest.mark.xdist_group("gates-telco")]

SEED = 0


def test_default_gate_tests_pass_on_an_honest_model(
    telco: Telco, champion: GateModel, telco_spec_path
) -> None:
    fairness, behaviour = gate_module("test_fairness"), gate_module("test_behaviour")
    holdout = telco.holdout()
    assert "gender" not in holdout.X  # dropped by the spec: the helper adds it per value
    fairness.test_gender_does_not_move_the_risk(telco.spec, champion, holdout)
    behaviour.test_longer_contract_never_raises_the_risk(telco.spec, champion, holdout)
    with collecting() as evidence:
        fairness.test_senior_citizen_selection_rate_is_reported(champion, holdout)
        declared_slices(telco.spec, champion, champion, holdout)
    rates = [item for item in evidence if item.metric == "selection_rate"]
    assert [item.segment for item in rates] == ["0", "1"]
    assert all(item.passed is None and item.bound is None for item in rates)  # reported only
    gated = [item for item in evidence if item.metric != "selection_rate"]
    assert {(item.column, item.metric) for item in gated} == {
        ("Contract", "recall"),
        ("Contract", "roc_auc"),
        ("InternetService", "roc_auc"),
    }
    assert all(item.passed for item in gated)


def test_gender_kept_with_weight_fails_invariance(telco: Telco, telco_spec_path) -> None:
    keeps_gender = spec_variant(telco_spec_path, keep_gender=True)
    X = telco.split.X_train
    y = telco.split.y_train.copy()
    stayers = np.flatnonzero((X["gender"] == "Female").to_numpy() & (y == 0))
    y[np.random.default_rng(SEED).choice(stayers, size=len(stayers) // 3, replace=False)] = 1
    model = telco.fit("keeps-gender", spec=keeps_gender, y=y)
    gate = gate_module("test_fairness").test_gender_does_not_move_the_risk
    with pytest.raises(InvarianceFailed) as failed:
        gate(keeps_gender, model, telco.holdout(keeps_gender))
    message = str(failed.value)
    assert "gender = 'Female' -> 'Male'" in message or "gender = 'Male' -> 'Female'" in message
    assert "of 1,409 rows move by more than 0.01" in message
    assert "bound at most 0.0% of rows move by more than 0.01" in message


def test_inverted_contract_relation_fails_direction(telco: Telco) -> None:
    X = telco.split.X_train.copy()
    flipped = {"Month-to-month": "Two year", "Two year": "Month-to-month"}
    X["Contract"] = (
        X["Contract"].map(lambda level: flipped.get(level, level)).astype(X["Contract"].dtype)
    )
    model = telco.fit("inverted", X=X)
    gate = gate_module("test_behaviour").test_longer_contract_never_raises_the_risk
    with pytest.raises(DirectionFailed) as failed:
        gate(telco.spec, model, telco.holdout())
    message = str(failed.value)
    assert "Contract = 'One year' -> 'Two year': P(churn) rose by more than 0.01" in message
    assert "bound risk decreasing: at most 0.0% of rows against it" in message


def test_segment_with_shuffled_labels_fails_slice_change_while_global_auc_passes(
    telco: Telco, champion: GateModel
) -> None:
    X, y = telco.split.X_train, telco.split.y_train.copy()
    segment = np.flatnonzero((X["Contract"] == "One year").to_numpy())
    y[segment] = np.random.default_rng(SEED).permutation(y[segment])
    model = telco.fit("one-year-shuffled", candidate="forest", y=y)
    holdout = telco.holdout()
    overall = compute_metrics(["roc_auc"], holdout.y, model.probability(holdout.X), 0.5)
    roc_auc_gate = next(g for g in telco.spec.gates.value if g.metric == "roc_auc")
    assert roc_auc_gate.lower is not None
    assert overall["roc_auc"] >= roc_auc_gate.lower  # the global threshold still passes
    with collecting() as evidence, pytest.raises(SliceFailed) as failed:
        declared_slices(telco.spec, model, champion, holdout)
    message = str(failed.value)
    assert "1 of 3 declared slices failed" in message
    assert "Contract = 'One year': roc_auc" in message
    assert "regressed: champion" in message
    one_year = _one(evidence, "Contract", "One year")
    assert one_year.passed is False
    assert one_year.champion is not None and one_year.high is not None
    assert one_year.champion > one_year.high
    assert one_year.value is not None and one_year.value < one_year.champion
    assert one_year.bound == f"champion {one_year.champion:.4f} <= interval high + 0"
    assert one_year.bound in message


def _one(evidence: list[SliceEvidence], column: str, segment: str) -> SliceEvidence:
    (found,) = [
        item
        for item in evidence
        if item.column == column and item.segment == segment and item.metric == "roc_auc"
    ]
    return found
