"""The leakage check: columns tied to the duration are found, with the evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from survival_factories import survival_frame, survival_spec

from churn.check import CheckSummary, duration_leakage
from churn.errors import SpecError
from churn.spec.loader import load_spec
from churn.survival.leakage import R2_ERROR, binned_r2, duration_ties, group_r2

ROOT = Path(__file__).resolve().parents[2]


def test_a_product_of_the_duration_is_found_through_its_ratio_and_blamed_alone() -> None:
    frame = survival_frame(800, seed=3)
    candidates = frame[["plan", "monthly_fee", "support_calls", "total_spend"]]
    ties = duration_ties(candidates, frame["months_active"], features={"monthly_fee"})
    assert [tie.column for tie in ties] == ["total_spend"]  # monthly_fee is only its partner
    (tie,) = ties
    assert tie.via == "total_spend / monthly_fee" and tie.via_r2 is not None
    assert tie.via_r2 > 0.95 and not tie.feature and not tie.is_error
    assert "total_spend / monthly_fee predicts months_active with R²" in tie.evidence(
        "months_active"
    )
    read = duration_ties(candidates, frame["months_active"], {"monthly_fee", "total_spend"})
    assert read[0].is_error


def test_independent_columns_are_not_tied() -> None:
    rng = np.random.default_rng(0)
    duration = pd.Series(rng.exponential(20, size=2000))
    noise = pd.DataFrame(
        {
            "a": rng.normal(size=2000),
            "b": rng.uniform(1, 2, size=2000),
            "c": rng.choice(["x", "y"], 2000),
        }
    )
    assert duration_ties(noise, duration, {"a", "b", "c"}) == []


def test_the_one_column_regressions_measure_any_shape() -> None:
    x = np.linspace(-3, 3, 1000)
    y = x**2  # no rank correlation, but the duration is a function of x
    assert binned_r2(x, y) > R2_ERROR
    assert group_r2(pd.Series(np.where(x > 0, "late", "early")), np.sign(x)) == pytest.approx(1.0)
    assert binned_r2(np.full(10, np.nan), np.arange(10.0)) == 0.0


def test_churn_check_warns_about_telco_total_charges_and_fails_when_the_model_reads_it() -> None:
    spec = load_spec(ROOT / "spec" / "telco_survival.yaml")
    frame = pd.read_csv(ROOT / "data" / "telco_churn.csv", na_values=[" "])
    (warning,) = duration_leakage(spec, frame)
    assert warning.startswith(
        "'TotalCharges' (not a feature) is tied to the duration: Spearman 0.8"
    )
    assert "TotalCharges / MonthlyCharges predicts tenure with R² 0.99" in warning


def test_a_feature_that_nearly_determines_the_duration_is_a_spec_error(tmp_path: Path) -> None:
    raw = survival_spec()
    raw["features"]["groups"][0]["columns"].append("total_spend")
    raw["features"]["drop"] = []
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    spec = load_spec(tmp_path / "spec.yaml")
    with pytest.raises(SpecError) as info:
        duration_leakage(spec, survival_frame(600))
    (problem,) = info.value.problems
    assert problem.startswith(f"{tmp_path / 'spec.yaml'}:")  # names the line
    assert "columns.total_spend: the model reads 'total_spend'" in problem
    assert "total_spend / monthly_fee predicts months_active" in problem


def test_check_shows_the_ties_as_warnings_in_text_and_json() -> None:
    summary = CheckSummary(
        spec_path="s.yaml",
        spec_name="s",
        data_path="d.csv",
        rows=10,
        columns=3,
        positives=2,
        candidates={"cox": "features -> CoxSurvival"},
        leakage=("'x' (not a feature) is tied to the duration: R² 0.800",),
    )
    assert "warning    'x' (not a feature) is tied" in summary.to_text()
    assert summary.to_dict()["leakage"] == ["'x' (not a feature) is tied to the duration: R² 0.800"]
    assert "leakage" not in CheckSummary(**{**summary.__dict__, "leakage": ()}).to_dict()
