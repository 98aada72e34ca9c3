"""Drift judged on the Telco data: reference samples stay quiet, planted shifts alert by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn.contract import load_dataset
from churn.monitoring.drift import SCORES, bucket_labels, compare_frame
from churn.monitoring.profile import ReferenceProfile, build_profile
from churn.spec.loader import load_spec
from churn.spec.model import Spec
from churn.spec.monitoring import MonitoringSpec

TELCO = Path(__file__).resolve().parents[2] / "spec" / "telco.yaml"
DAY = 2_000
"""Rows of a day's scoring."""


@pytest.fixture(scope="module")
def telco() -> tuple[Spec, pd.DataFrame]:
    spec = load_spec(TELCO)
    return spec, load_dataset(spec)


@pytest.fixture(scope="module")
def profile(telco: tuple[Spec, pd.DataFrame]) -> ReferenceProfile:
    spec, frame = telco
    scores = np.random.default_rng(0).beta(2, 5, size=1_400)
    return build_profile(frame, spec, scores, run_id="reference")


def test_samples_of_the_reference_alert_in_at_most_5_percent_of_tries(
    telco: tuple[Spec, pd.DataFrame], profile: ReferenceProfile
) -> None:
    spec, frame = telco
    rng = np.random.default_rng(23)
    scores = np.random.default_rng(0).beta(2, 5, size=1_400)
    tries = 100
    alerts = 0
    worst = 0.0
    for _ in range(tries):
        rows = rng.integers(0, len(frame), size=DAY)
        sample = frame.iloc[rows]
        drawn = rng.choice(scores, size=DAY)
        result = compare_frame(profile, sample, spec.monitoring, scores=drawn)
        alerts += result.status == "alert"
        worst = max(worst, *(c.psi or 0.0 for c in result.columns))

    assert alerts <= 0.05 * tries
    assert worst < 0.25


def planted(frame: pd.DataFrame, seed: int = 5) -> pd.DataFrame:
    """MonthlyCharges +20 %, two thirds of the other contracts moved to month-to-month,
    TotalCharges half null."""
    rng = np.random.default_rng(seed)
    shifted = frame.sample(n=DAY, random_state=seed).reset_index(drop=True)
    shifted["MonthlyCharges"] = shifted["MonthlyCharges"] * 1.2
    longer = shifted.index[(shifted["Contract"] != "Month-to-month").to_numpy()]
    moved = rng.choice(longer, size=len(longer) * 2 // 3, replace=False)
    shifted.loc[moved, "Contract"] = "Month-to-month"
    shifted.loc[shifted.index[::2], "TotalCharges"] = np.nan
    return shifted


def test_a_planted_shift_alerts_and_names_its_columns(
    telco: tuple[Spec, pd.DataFrame], profile: ReferenceProfile
) -> None:
    spec, frame = telco

    result = compare_frame(profile, planted(frame), spec.monitoring)
    by_name = {column.column: column for column in result.columns}

    assert result.status == "alert"
    assert {"MonthlyCharges", "Contract", "TotalCharges"} <= set(result.alerts)
    assert by_name["MonthlyCharges"].reasons[0].startswith("PSI ")
    assert by_name["Contract"].js_distance is not None and by_name["Contract"].js_distance > 0.1
    assert any("null rate changed by +" in reason for reason in by_name["TotalCharges"].reasons)
    assert by_name["Partner"].status == "ok"


def test_a_value_never_seen_in_training_alerts_for_an_open_column(
    telco: tuple[Spec, pd.DataFrame], profile: ReferenceProfile
) -> None:
    spec, frame = telco
    batch = frame.sample(n=DAY, random_state=1).reset_index(drop=True)
    batch["PaymentMethod"] = batch["PaymentMethod"].astype(object)
    batch.loc[batch.index[:60], "PaymentMethod"] = "Crypto wallet"  # 3 %

    result = compare_frame(profile, batch, spec.monitoring)
    payment = next(c for c in result.columns if c.column == "PaymentMethod")

    assert result.alerts == ["PaymentMethod"]
    assert payment.unseen_rate == pytest.approx(0.03)
    assert payment.labels[-1] == "(unseen)"
    assert payment.current[-1] == pytest.approx(0.03)


def test_thresholds_come_from_the_monitoring_block(
    telco: tuple[Spec, pd.DataFrame], profile: ReferenceProfile
) -> None:
    spec, frame = telco
    batch = frame.sample(n=DAY, random_state=2).reset_index(drop=True)
    batch["MonthlyCharges"] = batch["MonthlyCharges"] * 1.01
    quiet = compare_frame(profile, batch, spec.monitoring)
    strict = MonitoringSpec(columns={"MonthlyCharges": {"psi_warn": 0.001, "psi_alert": 0.002}})

    result = compare_frame(profile, batch, strict)

    assert "MonthlyCharges" not in quiet.alerts
    assert result.alerts == ["MonthlyCharges"]


def test_shifted_scores_alert_as_scores(
    telco: tuple[Spec, pd.DataFrame], profile: ReferenceProfile
) -> None:
    spec, frame = telco
    shifted = np.random.default_rng(3).beta(5, 2, size=DAY)

    result = compare_frame(profile, frame.head(DAY), spec.monitoring, scores=shifted)

    assert result.alerts == [SCORES]
    assert result.columns[-1].kind == "scores"


def test_bucket_labels_name_the_documented_intervals() -> None:
    assert bucket_labels((1.0, 2.5)) == ["<= 1", "(1, 2.5]", "> 2.5"]
    assert bucket_labels(()) == ["all"]
