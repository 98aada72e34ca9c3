"""The expectation helpers on a small synthetic table: verdicts, messages, evidence."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from factories import subscriptions_frame, subscriptions_spec

from churn.gates.expectations import (
    DirectionFailed,
    ExpectationFailed,
    InvarianceFailed,
    SelectionRateFailed,
    SliceFailed,
    expect_direction,
    expect_invariance,
    selection_rate_ratio,
    slice_change,
    slice_metrics,
)
from churn.gates.subjects import GateModel, LabelledRows, collecting
from churn.spec import Spec
from churn.training.compile import compile_spec


@pytest.fixture(scope="module")
def rows() -> LabelledRows:
    frame = subscriptions_frame(600, seed=1)
    X = frame.drop(columns=["account_id", "churned"])
    X["plan"] = X["plan"].astype(pd.CategoricalDtype(["basic", "pro", "enterprise"]))
    return LabelledRows(X, frame["churned"].to_numpy(dtype=np.int64))


@pytest.fixture(scope="module")
def model(rows: LabelledRows) -> GateModel:
    spec = Spec.model_validate(subscriptions_spec())
    pipeline = compile_spec(spec)["logreg"].fit(rows.X, rows.y)
    return GateModel("logreg", pipeline, threshold=0.5)


def test_invariance_passes_for_a_column_the_model_does_not_read(
    model: GateModel, rows: LabelledRows
) -> None:
    assert expect_invariance(model, rows, "colour", ["red", "blue"]) == 0.0


def test_invariance_fails_for_a_column_with_weight_and_says_where(
    model: GateModel, rows: LabelledRows
) -> None:
    with pytest.raises(InvarianceFailed) as failed:
        expect_invariance(model, rows, "plan", tolerance=0.001, max_share=0.5)
    [finding] = failed.value.findings
    assert finding.column == "plan"
    levels = "'(basic|pro|enterprise)'"
    assert re.fullmatch(f"{levels} -> {levels}", finding.segment)
    assert finding.found.endswith(")") and "of 600 rows move by more than 0.001" in finding.found
    assert finding.bound == "at most 50.0% of rows move by more than 0.001"
    assert isinstance(failed.value, AssertionError)  # pytest: a failed expectation, not an error
    assert str(finding) in str(failed.value)


def test_invariance_arguments_are_checked(model: GateModel, rows: LabelledRows) -> None:
    with pytest.raises(ValueError, match="at least two values"):
        expect_invariance(model, rows, "plan", ["pro"])
    with pytest.raises(ValueError, match="'gold' is not a level of 'plan'"):
        expect_invariance(model, rows, "plan", ["pro", "gold"])
    with pytest.raises(ValueError, match="give its values"):
        expect_invariance(model, rows, "colour")


def test_direction_by_shift_holds_one_way_and_fails_the_other(
    model: GateModel, rows: LabelledRows
) -> None:
    assert expect_direction(model, rows, "support_calls", risk="increasing", shift=1) == 0.0
    with pytest.raises(DirectionFailed) as failed:
        expect_direction(model, rows, "support_calls", risk="decreasing", shift=1)
    [finding] = failed.value.findings
    assert finding.segment == "its value -> its value + 1"
    assert finding.found.startswith("P(churn) rose by more than 0 on 100.0% of 600 rows")
    assert finding.bound == "risk decreasing: at most 0.0% of rows against it"
    with pytest.raises(ValueError, match="either values"):
        expect_direction(model, rows, "support_calls", risk="increasing")


def test_slices_gate_big_segments_and_only_report_small_ones(
    model: GateModel, rows: LabelledRows
) -> None:
    with collecting() as evidence, pytest.raises(SliceFailed) as failed:
        slice_metrics(model, rows, "plan", "accuracy", lower=0.99, min_rows=150)
    sizes = dict(
        zip(rows.X["plan"].value_counts().index, rows.X["plan"].value_counts(), strict=True)
    )
    assert [item.segment for item in evidence] == ["basic", "pro", "enterprise"]
    for item in evidence:
        assert item.rows == sizes[item.segment]
        assert item.bound == ">= 0.99"
        assert item.passed is (None if item.rows < 150 else False)
    message = str(failed.value)
    assert message.startswith("accuracy per segment of plan:")
    assert "plan = 'basic': accuracy 0." in message and "(below 0.99); bound >= 0.99" in message
    assert "enterprise" not in message  # too few rows: reported, not gated


def test_bins_rows_outside_them_and_segments_asked_for(
    model: GateModel, rows: LabelledRows
) -> None:
    sizes = rows.X["plan"].value_counts().to_dict()
    evidence = slice_metrics(model, rows, "months_active", "roc_auc", bins=[0, 12, 36])
    assert [item.segment for item in evidence] == ["(0, 12]", "(12, 36]", "<none>"]
    assert sum(item.rows for item in evidence) == len(rows)
    assert all(item.passed is None and item.bound is None for item in evidence)
    only = slice_metrics(
        model, rows, "months_active", "roc_auc", bins=[0, 12, 36], segments=["(0, 12]"]
    )
    assert [item.segment for item in only] == ["(0, 12]"]
    asked = slice_metrics(model, rows, "plan", "recall", lower=0.0, segments=["pro", "gold"])
    assert [(item.segment, item.rows) for item in asked] == [("pro", sizes["pro"]), ("gold", 0)]
    assert (asked[1].value, asked[1].passed) == (None, None)  # asked for, absent: reported


def test_slice_change_without_a_champion_reports_and_against_itself_passes(
    model: GateModel, rows: LabelledRows
) -> None:
    alone = slice_change(model, None, rows, "region", "roc_auc")
    assert all(item.champion is None and item.passed is None for item in alone)
    itself = slice_change(model, model, rows, "region", "roc_auc")
    assert all(item.passed and item.champion == item.value for item in itself)


def test_selection_rate_ratio_is_the_lowest_over_the_highest_rate(
    model: GateModel, rows: LabelledRows
) -> None:
    flagged = pd.Series(model.decide(rows.X)).groupby(rows.X["plan"].to_numpy()).mean()
    expected = flagged.min() / flagged.max()
    with collecting() as evidence:
        ratio = selection_rate_ratio(model, rows, "plan", min_ratio=None)
    assert ratio == pytest.approx(expected)
    assert {item.segment: item.value for item in evidence} == pytest.approx(flagged.to_dict())
    assert all(item.metric == "selection_rate" and item.passed is None for item in evidence)
    with pytest.raises(SelectionRateFailed) as failed:
        selection_rate_ratio(model, rows, "plan", min_ratio=expected + 0.01)
    [finding] = failed.value.findings
    assert finding.segment == repr(flagged.idxmin())
    assert f"ratio {expected:.3f} to {flagged.idxmax()!r}" in finding.found
    assert finding.bound.startswith(f">= {expected + 0.01:g} x {flagged.max():.3f}")


def test_evidence_is_recorded_only_inside_a_gate_run(model: GateModel, rows: LabelledRows) -> None:
    slice_metrics(model, rows, "region", "recall")  # outside collecting(): nothing to collect
    with collecting() as evidence:
        slice_metrics(model, rows, "region", "recall")
    assert len(evidence) == 4
    assert issubclass(SliceFailed, ExpectationFailed)
