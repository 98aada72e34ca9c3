"""Gates: TFX/MLflow threshold semantics, the empty-gates policy and the promotion decision."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from churn.registry.record import DecisionRecord, GateReportRecord, GateResultRecord, RunManifest
from churn.spec import ChangeThreshold, GatesSpec, PromotionSpec
from churn.training.gates import decide, evaluate_gates, resolve_direction

NAN = float("nan")


def gates(
    value: list[dict[str, Any]] | None = None,
    change: list[dict[str, Any]] | None = None,
    when_empty: str = "fail",
) -> GatesSpec:
    return GatesSpec.model_validate(
        {"value": value or [], "change": change or [], "when_empty": when_empty}
    )


# --------------------------------------------------------------------------- value thresholds

VALUE_CASES = [
    # (threshold, candidate metrics, verdict, reason fragment)
    (
        {"metric": "roc_auc", "lower": 0.83},
        {"roc_auc": 0.841},
        "pass",
        "roc_auc 0.841 >= lower 0.83",
    ),
    ({"metric": "roc_auc", "lower": 0.83}, {"roc_auc": 0.82}, "fail", "roc_auc 0.82 < lower 0.83"),
    ({"metric": "roc_auc", "lower": 0.83}, {"roc_auc": 0.83}, "pass", ">= lower 0.83"),
    ({"metric": "brier", "upper": 0.16}, {"brier": 0.16}, "pass", "brier 0.16 <= upper 0.16"),
    ({"metric": "brier", "upper": 0.16}, {"brier": 0.1601}, "fail", "brier 0.1601 > upper 0.16"),
    ({"metric": "recall", "lower": 0.5, "upper": 0.9}, {"recall": 0.9}, "pass", "and <= upper 0.9"),
    ({"metric": "recall", "lower": 0.5, "upper": 0.9}, {"recall": 0.95}, "fail", "> upper 0.9"),
    (
        {"metric": "roc_auc", "lower": 0.83},
        {"recall": 0.9},
        "fail",
        "metric 'roc_auc' was not computed",
    ),
    ({"metric": "roc_auc", "lower": 0.83}, {"roc_auc": NAN}, "fail", "metric 'roc_auc' is NaN"),
]
VALUE_IDS = [
    "above-lower-passes",
    "below-lower-fails",
    "exactly-at-lower-passes-inclusive",
    "exactly-at-upper-passes-inclusive",
    "above-upper-fails",
    "at-upper-of-band-passes",
    "above-band-fails",
    "missing-metric-fails",
    "nan-metric-fails",
]


@pytest.mark.parametrize(
    ("threshold", "candidate", "verdict", "reason"), VALUE_CASES, ids=VALUE_IDS
)
def test_value_threshold_is_inclusive_and_fails_on_missing_metrics(
    threshold: dict[str, Any], candidate: dict[str, float], verdict: str, reason: str
) -> None:
    report = evaluate_gates(gates(value=[threshold]), candidate, None)

    (result,) = report.results
    assert (result.kind, result.verdict) == ("value", verdict)
    assert reason in result.reason
    assert report.passed_value is (verdict == "pass")


def test_nan_metric_is_recorded_as_none_so_the_report_is_json_ready() -> None:
    report = evaluate_gates(
        gates(value=[{"metric": "roc_auc", "lower": 0.8}]), {"roc_auc": NAN}, None
    )

    assert report.results[0].value is None
    json.dumps(report.as_dict(), allow_nan=False)


# --------------------------------------------------------------------------- change thresholds

CHANGE_CASES = [
    # (threshold, candidate, champion, verdict, reason fragment)
    (
        {"metric": "roc_auc"},
        {"roc_auc": 0.85},
        None,
        "skipped",
        "skipped: no champion (first run)",
    ),
    (
        {"metric": "roc_auc"},
        {"roc_auc": 0.85},
        {"roc_auc": 0.84},
        "pass",
        ">= min_absolute_change 0",
    ),
    (
        {"metric": "roc_auc"},
        {"roc_auc": 0.83},
        {"roc_auc": 0.84},
        "fail",
        "< min_absolute_change 0",
    ),
    ({"metric": "roc_auc"}, {"roc_auc": 0.84}, {"roc_auc": 0.84}, "pass", "change +0 "),
    (
        {"metric": "roc_auc", "min_absolute_change": 0.01},
        {"roc_auc": 0.845},
        {"roc_auc": 0.84},
        "fail",
        "< min_absolute_change 0.01",
    ),
    (
        {"metric": "roc_auc", "min_absolute_change": -0.005},
        {"roc_auc": 0.836},
        {"roc_auc": 0.841},
        "pass",
        ">= min_absolute_change -0.005",
    ),
    (
        {"metric": "roc_auc", "min_absolute_change": -0.005},
        {"roc_auc": 0.835},
        {"roc_auc": 0.841},
        "fail",
        "< min_absolute_change -0.005",
    ),
    (
        {"metric": "roc_auc", "min_relative_change": 0.01},
        {"roc_auc": 0.81},
        {"roc_auc": 0.80},
        "pass",
        ">= min_relative_change 0.01",
    ),
    (
        {"metric": "roc_auc", "min_relative_change": 0.01},
        {"roc_auc": 0.805},
        {"roc_auc": 0.80},
        "fail",
        "< min_relative_change 0.01",
    ),
    (
        {"metric": "recall", "min_relative_change": 0.1},
        {"recall": 0.3},
        {"recall": 0.0},
        "pass",
        "relative change undefined (champion is 0): judged on min_absolute_change alone",
    ),
    (
        {"metric": "recall", "min_absolute_change": 0.01, "min_relative_change": 0.1},
        {"recall": 0.0},
        {"recall": 0.0},
        "fail",
        "< min_absolute_change 0.01",
    ),
    (
        {"metric": "brier"},
        {"brier": 0.14},
        {"brier": 0.15},
        "pass",
        "brier improvement (lower) +0.01",
    ),
    (
        {"metric": "brier"},
        {"brier": 0.16},
        {"brier": 0.15},
        "fail",
        "brier improvement (lower) -0.01",
    ),
    (
        {"metric": "brier", "min_absolute_change": 0.005, "min_relative_change": 0.05},
        {"brier": 0.18},
        {"brier": 0.20},
        "pass",
        "relative +0.1 >= min_relative_change 0.05",
    ),
    (
        {"metric": "log_loss", "min_relative_change": 0.2},
        {"log_loss": 0.45},
        {"log_loss": 0.5},
        "fail",
        "relative +0.1 < min_relative_change 0.2",
    ),
    (
        {"metric": "roc_auc", "direction": "lower"},
        {"roc_auc": 0.80},
        {"roc_auc": 0.85},
        "pass",
        "improvement (lower)",
    ),
    (
        {"metric": "roc_auc"},
        {"recall": 0.5},
        {"roc_auc": 0.84},
        "fail",
        "metric 'roc_auc' was not computed",
    ),
    ({"metric": "roc_auc"}, {"roc_auc": NAN}, {"roc_auc": 0.84}, "fail", "metric 'roc_auc' is NaN"),
    (
        {"metric": "roc_auc"},
        {"roc_auc": 0.85},
        {"recall": 0.5},
        "fail",
        "champion metric 'roc_auc' was not computed",
    ),
]
CHANGE_IDS = [
    "first-run-no-champion-skipped",
    "improvement-passes",
    "regression-fails",
    "equal-d0-passes-with-min-change-0",
    "too-small-improvement-fails",
    "allowed-regression-at-threshold-passes-despite-float-rounding",
    "regression-past-allowance-fails",
    "relative-improvement-passes",
    "relative-improvement-too-small-fails",
    "zero-baseline-relative-undefined-judged-on-absolute",
    "zero-baseline-still-needs-absolute-change",
    "brier-improving-passes",
    "brier-regressing-fails",
    "brier-relative-uses-flipped-sign",
    "log-loss-relative-too-small-fails",
    "explicit-direction-overrides-metric-default",
    "candidate-missing-metric-fails",
    "candidate-nan-metric-fails",
    "champion-missing-metric-fails",
]


@pytest.mark.parametrize(
    ("threshold", "candidate", "champion", "verdict", "reason"), CHANGE_CASES, ids=CHANGE_IDS
)
def test_change_threshold_compares_with_the_champion(
    threshold: dict[str, Any],
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    verdict: str,
    reason: str,
) -> None:
    report = evaluate_gates(gates(change=[threshold]), candidate, champion)

    (result,) = report.results
    assert (result.kind, result.verdict) == ("change", verdict)
    assert reason in result.reason
    assert report.passed_change is (verdict != "fail")


def test_change_result_records_raw_delta_and_relative_delta() -> None:
    report = evaluate_gates(gates(change=[{"metric": "brier"}]), {"brier": 0.18}, {"brier": 0.20})

    result = report.results[0]
    assert result.direction == "lower"
    assert result.champion == 0.20
    assert result.delta == pytest.approx(-0.02)
    assert result.relative_delta == pytest.approx(-0.1)


def test_zero_baseline_records_no_relative_delta() -> None:
    threshold = {"metric": "recall", "min_relative_change": 0.1}
    report = evaluate_gates(gates(change=[threshold]), {"recall": 0.3}, {"recall": 0.0})

    assert report.results[0].relative_delta is None


@pytest.mark.parametrize(
    ("metric", "expected"),
    [("brier", "lower"), ("log_loss", "lower"), ("roc_auc", "higher"), ("recall", "higher")],
    ids=["brier-lower", "log-loss-lower", "roc-auc-higher", "recall-higher"],
)
def test_direction_defaults_to_the_metrics_own(metric: str, expected: str) -> None:
    assert resolve_direction(ChangeThreshold.model_validate({"metric": metric})) == expected


# --------------------------------------------------------------------------- report


@pytest.mark.parametrize(
    ("when_empty", "passed"), [("fail", False), ("pass", True)], ids=["fail-policy", "pass-policy"]
)
def test_empty_gates_follow_the_when_empty_policy_and_say_so(when_empty: str, passed: bool) -> None:
    report = evaluate_gates(gates(when_empty=when_empty), {"roc_auc": 0.9}, None)

    assert report.empty
    assert report.passed is passed
    assert report.reason == f"no thresholds configured (gates.when_empty: {when_empty})"
    assert report.as_dict()["reason"] == report.reason


def test_report_runs_value_thresholds_before_change_thresholds_in_spec_order() -> None:
    spec = gates(
        value=[{"metric": "roc_auc", "lower": 0.8}, {"metric": "brier", "upper": 0.2}],
        change=[{"metric": "roc_auc"}],
    )
    report = evaluate_gates(spec, {"roc_auc": 0.85, "brier": 0.1}, None)

    assert [(r.kind, r.metric) for r in report.results] == [
        ("value", "roc_auc"),
        ("value", "brier"),
        ("change", "roc_auc"),
    ]
    assert report.passed
    assert report.reason == "all 2 thresholds passed, 1 skipped (no champion)"


def test_report_flags_separate_value_and_change_failures() -> None:
    spec = gates(value=[{"metric": "roc_auc", "lower": 0.8}], change=[{"metric": "roc_auc"}])
    report = evaluate_gates(spec, {"roc_auc": 0.85}, {"roc_auc": 0.9})

    assert (report.passed_value, report.passed_change, report.passed) == (True, False, False)
    assert [r for r in report.results if r.verdict == "fail"] == [report.results[1]]
    assert "roc_auc change -0.05" in report.reason


def test_report_as_dict_is_json_serialisable_with_every_field_of_every_result() -> None:
    spec = gates(value=[{"metric": "roc_auc", "lower": 0.8}], change=[{"metric": "brier"}])
    report = evaluate_gates(spec, {"roc_auc": 0.85, "brier": 0.1}, {"roc_auc": 0.8, "brier": 0.12})

    data = json.loads(json.dumps(report.as_dict(), allow_nan=False))
    assert data["passed"] is True
    assert data["results"][1]["kind"] == "change"
    # run.json has always held all 13 keys of a result, in this order, None where unused
    assert [list(result) for result in data["results"]] == [list(GateResultRecord.model_fields)] * 2
    assert data["results"][0]["champion"] is None


# --------------------------------------------------------------------------- decide

VALUE_OK = gates(value=[{"metric": "roc_auc", "lower": 0.8}], change=[{"metric": "roc_auc"}])
GOOD, BETTER, WORSE, BAD = (
    {"roc_auc": 0.85},
    {"roc_auc": 0.9},
    {"roc_auc": 0.82},
    {"roc_auc": 0.7},
)

DECIDE_CASES = [
    # (gate report, promotion policy, has_champion, action, run_failed, reason fragment)
    (evaluate_gates(VALUE_OK, BAD, None), {}, False, "reject", True, "value gates failed"),
    (evaluate_gates(VALUE_OK, BAD, GOOD), {}, True, "reject", True, "roc_auc 0.7 < lower 0.8"),
    (
        evaluate_gates(VALUE_OK, BAD, None),
        {"first_run": "hold"},
        False,
        "reject",
        True,
        "value gates failed",
    ),
    (
        evaluate_gates(gates(), GOOD, None),
        {},
        False,
        "reject",
        True,
        "no thresholds configured (gates.when_empty: fail)",
    ),
    (
        evaluate_gates(gates(when_empty="pass"), GOOD, None),
        {},
        False,
        "promote",
        False,
        "no thresholds configured (gates.when_empty: pass)",
    ),
    (evaluate_gates(VALUE_OK, GOOD, None), {}, False, "promote", False, "first run, no champion"),
    (
        evaluate_gates(VALUE_OK, GOOD, None),
        {"first_run": "hold"},
        False,
        "hold",
        False,
        "promotion.first_run: hold",
    ),
    (
        evaluate_gates(VALUE_OK, WORSE, GOOD),
        {},
        True,
        "keep_champion",
        False,
        "promotion.on_regression: keep_champion",
    ),
    (
        evaluate_gates(VALUE_OK, WORSE, GOOD),
        {"on_regression": "fail"},
        True,
        "reject",
        True,
        "promotion.on_regression: fail",
    ),
    (evaluate_gates(VALUE_OK, BETTER, GOOD), {}, True, "promote", False, "versus the champion"),
    (
        evaluate_gates(gates(when_empty="pass"), GOOD, GOOD),
        {"on_regression": "fail"},
        True,
        "promote",
        False,
        "no thresholds configured (gates.when_empty: pass)",
    ),
]
DECIDE_IDS = [
    "value-fail-first-run-rejects-and-fails-run",
    "value-fail-with-champion-rejects-and-fails-run",
    "value-fail-beats-first-run-hold",
    "empty-gates-fail-policy-rejects-and-fails-run",
    "empty-gates-pass-policy-promotes-with-reason",
    "first-run-promote-policy-promotes",
    "first-run-hold-policy-holds-without-failing",
    "regression-keep-champion-policy-succeeds",
    "regression-fail-policy-rejects-and-fails-run",
    "all-pass-with-champion-promotes",
    "empty-gates-pass-policy-with-champion-promotes",
]


@pytest.mark.parametrize(
    ("report", "policy", "has_champion", "action", "run_failed", "reason"),
    DECIDE_CASES,
    ids=DECIDE_IDS,
)
def test_decide_covers_every_branch(
    report: GateReportRecord,
    policy: dict[str, str],
    has_champion: bool,
    action: str,
    run_failed: bool,
    reason: str,
) -> None:
    champion = run_record("champion", spec="a" * 64) if has_champion else None
    decision = decide(
        report, PromotionSpec.model_validate(policy), run=run_record("run"), champion=champion
    )

    assert (decision.action, decision.run_failed) == (action, run_failed)
    assert reason in decision.reason


def run_record(
    run_id: str, spec: str = "b" * 64, data: str = "d" * 64, seed: int = 42
) -> RunManifest:
    """A run's record with the inputs decide() compares."""
    return RunManifest(
        run_id=run_id, status="running", spec_sha256=spec, data_sha256=data, seed=seed
    )


def test_a_winner_from_the_champions_own_spec_data_and_seed_is_unchanged() -> None:
    report = evaluate_gates(VALUE_OK, GOOD, GOOD)
    same = decide(report, PromotionSpec(), run=run_record("new"), champion=run_record("old"))

    assert (same.action, same.run_failed) == ("unchanged", False)
    assert "same spec, data and seed as the champion old" in same.reason


@pytest.mark.parametrize(
    "champion",
    [
        run_record("old", spec="c" * 64),
        run_record("old", data="e" * 64),
        run_record("old", seed=7),
        RunManifest(run_id="old", status="succeeded"),  # an old record that recorded no inputs
    ],
    ids=["other-spec", "other-data", "other-seed", "inputs-unrecorded"],
)
def test_a_winner_with_any_input_changed_or_unknown_is_promoted(champion: RunManifest) -> None:
    report = evaluate_gates(VALUE_OK, GOOD, GOOD)
    decision = decide(report, PromotionSpec(), run=run_record("new"), champion=champion)

    assert decision.action == "promote"


def test_unchanged_never_overrides_a_failed_gate() -> None:
    report = evaluate_gates(VALUE_OK, WORSE, GOOD)
    decision = decide(report, PromotionSpec(), run=run_record("new"), champion=run_record("old"))

    assert decision.action == "keep_champion"


def test_decision_as_dict_is_plain_json() -> None:
    decision = DecisionRecord(action="hold", run_failed=False, reason="why")

    assert json.loads(json.dumps(decision.as_dict())) == {
        "action": "hold",
        "run_failed": False,
        "reason": "why",
    }


# --------------------------------------------------------------------------- properties

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(v=finite, w=finite)
def test_a_point_band_passes_exactly_its_own_value(v: float, w: float) -> None:
    spec = gates(value=[{"metric": "roc_auc", "lower": v, "upper": v}])

    assert evaluate_gates(spec, {"roc_auc": v}, None).passed
    assert evaluate_gates(spec, {"roc_auc": w}, None).passed is (w == v)


@given(
    a=unit,
    b=unit,
    margin=st.floats(min_value=1e-6, max_value=0.5),
    direction=st.sampled_from(["higher", "lower"]),
)
def test_swapping_candidate_and_champion_turns_a_strict_pass_into_a_fail(
    a: float, b: float, margin: float, direction: str
) -> None:
    spec = gates(
        change=[{"metric": "roc_auc", "direction": direction, "min_absolute_change": margin}]
    )
    assume(evaluate_gates(spec, {"roc_auc": a}, {"roc_auc": b}).passed)

    assert not evaluate_gates(spec, {"roc_auc": b}, {"roc_auc": a}).passed


@given(
    a=finite,
    b=finite,
    min_abs=st.floats(min_value=-1.0, max_value=1.0),
    min_rel=st.none() | st.floats(min_value=-1.0, max_value=1.0),
)
def test_lower_is_better_equals_higher_is_better_on_negated_values(
    a: float, b: float, min_abs: float, min_rel: float | None
) -> None:
    def verdict(direction: str, candidate: float, champion: float) -> str:
        threshold = {
            "metric": "roc_auc",
            "direction": direction,
            "min_absolute_change": min_abs,
            "min_relative_change": min_rel,
        }
        report = evaluate_gates(
            gates(change=[threshold]), {"roc_auc": candidate}, {"roc_auc": champion}
        )
        return report.results[0].verdict

    assert verdict("lower", a, b) == verdict("higher", -a, -b)


@given(value=finite, lower=st.none() | finite, upper=st.none() | finite)
def test_value_verdict_matches_the_inclusive_interval(
    value: float, lower: float | None, upper: float | None
) -> None:
    assume(lower is not None or upper is not None)
    assume(lower is None or upper is None or lower <= upper)
    spec = gates(value=[{"metric": "f1", "lower": lower, "upper": upper}])

    inside = (lower is None or lower <= value) and (upper is None or value <= upper)
    assert evaluate_gates(spec, {"f1": value}, None).passed is inside
