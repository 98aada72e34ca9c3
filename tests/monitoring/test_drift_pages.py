"""The report's training-drift section and the `churn drift --html` page, from plain records."""

from __future__ import annotations

import numpy as np

from churn.monitoring.drift import compare_counts
from churn.monitoring.profile import CategoryProfile, CurrentCounts, ReferenceProfile, ScoreProfile
from churn.registry import as_manifest
from churn.report.drift_page import drift_page
from churn.report.drift_section import training_drift_section
from churn.spec.monitoring import MonitoringSpec

EVIL = "<script>alert(1)</script>"


def test_the_report_section_lists_columns_by_psi_and_names_the_alerts() -> None:
    drift = {
        "champion": "r0",
        "status": "alert",
        "alerts": ["MonthlyCharges"],
        "psi": {"tenure": 0.01, "MonthlyCharges": 0.4, EVIL: None},
    }
    manifest = as_manifest({"run_id": "r1", "status": "succeeded", "training_drift": drift})

    html = str(training_drift_section(manifest))

    assert "champion r0" in html and "alerts: MonthlyCharges" in html
    assert html.index("MonthlyCharges") < html.index("tenure")
    assert EVIL not in html and "&lt;script&gt;" in html


def test_without_a_champion_the_section_says_so() -> None:
    manifest = as_manifest({"run_id": "r1", "status": "succeeded"})

    assert "No champion yet" in str(training_drift_section(manifest))


def test_the_page_draws_bars_for_drifted_columns_only_and_escapes_names() -> None:
    profile = ReferenceProfile(
        run_id="r0",
        bins=10,
        columns=(
            CategoryProfile(column=EVIL, categories=("a", "b"), counts=(50, 50), nulls=0, rows=100),
            CategoryProfile(column="quiet", categories=("x",), counts=(10,), nulls=0, rows=10),
        ),
        scores=ScoreProfile(edges=(0.5,), counts=(5, 5), rows=10),
    )
    counts = {
        EVIL: CurrentCounts(np.array([90, 10]), unseen=0, nulls=0, rows=100),
        "quiet": CurrentCounts(np.array([10]), unseen=0, nulls=0, rows=10),
    }
    result = compare_counts(profile, counts, MonitoringSpec())

    page = drift_page(result, source="batch.csv", spec_name="telco")

    assert result.alerts == [EVIL]
    assert page.count("<svg") == 1 and page.count("<rect") == 6  # 3 buckets x 2 bars
    assert EVIL not in page and "<script" not in page
    assert "reference 50.0%" in page and "current 90.0%" in page
