"""Quality gates: value and change-versus-champion thresholds -> gate report -> decision.

Semantics follow TFX Evaluator / MLflow model validation:

* A value threshold passes iff ``lower <= value <= upper`` (inclusive; an unset bound is
  infinite).
* A change threshold compares the candidate with the champion re-scored on the *same* hold-out
  (the caller does the re-scoring): ``d = candidate - champion``. For a higher-is-better metric
  it passes iff ``d >= min_absolute_change`` and, when ``min_relative_change`` is set,
  ``d / |champion| >= min_relative_change``. For a lower-is-better metric (``direction:
  lower``, the default for brier and log_loss) the sign of ``d`` is flipped first, so a
  threshold always reads "improvement of at least ...".
* With a zero champion value the relative change is undefined; the threshold is then judged on
  the absolute change alone and the reason says so.
* A change that equals its threshold up to the rounding of the subtraction passes
  (``0.836 - 0.841`` is ``-0.0050000000000000044`` in binary floating point, yet it *is*
  "at most 0.005 worse"). Value thresholds compare exactly.
* A metric that was not computed (absent or NaN) fails its threshold. With no champion, change
  thresholds are skipped and recorded as skipped. With no thresholds at all, the spec's
  ``gates.when_empty`` policy decides and the report says so.

Everything here is pure: no I/O, no clock, no randomness. The results are the registry's own
records (:mod:`churn.registry.record`): what is judged here is exactly what run.json holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, Literal

from churn.registry.record import (
    Action,
    DecisionRecord,
    Direction,
    GateReportRecord,
    GateResultRecord,
    RunManifest,
)
from churn.spec import ChangeThreshold, GatesSpec, PromotionSpec, ValueThreshold
from churn.spec.survival import lower_is_better

_REL_TOL = 1e-9
_ABS_TOL = 1e-12
_UNSET_NUMBERS: Final = {
    name: None for name, field in GateResultRecord.model_fields.items() if not field.is_required()
}
"""Every optional field of a gate result, so a result records all of them (as run.json always
has)."""


# --------------------------------------------------------------------------- evaluation


def evaluate_gates(
    gates: GatesSpec,
    candidate: Mapping[str, float | None],
    champion: Mapping[str, float | None] | None,
) -> GateReportRecord:
    """Judge the candidate's hold-out metrics against the spec's thresholds.

    Args:
        gates: The spec's gates block.
        candidate: The candidate's hold-out metrics by name.
        champion: The champion's metrics on the same hold-out, or None when there is no champion.

    Returns:
        One result per threshold, value thresholds first, in spec order.
    """
    results = [_value_result(t, candidate) for t in gates.value]
    results += [_change_result(t, candidate, champion) for t in gates.change]
    return _report(results, gates.when_empty)


def _report(
    results: list[GateResultRecord], when_empty: Literal["fail", "pass"]
) -> GateReportRecord:
    """The report of ``results``: value gates pass when every value threshold passed (or, with
    no threshold at all, when ``when_empty`` is pass); change gates when none failed (skipped
    ones do not fail)."""
    empty = not results
    if empty:
        passed_value = when_empty == "pass"
    else:
        passed_value = all(r.verdict == "pass" for r in results if r.kind == "value")
    passed_change = not any(r.verdict == "fail" for r in results if r.kind == "change")
    return GateReportRecord(
        passed=passed_value and passed_change,
        passed_value=passed_value,
        passed_change=passed_change,
        empty=empty,
        when_empty=when_empty,
        reason=_report_reason(results, when_empty),
        results=results,
    )


def _report_reason(results: list[GateResultRecord], when_empty: str) -> str:
    """One sentence summing the results up."""
    if not results:
        return f"no thresholds configured (gates.when_empty: {when_empty})"
    failed = [r.reason for r in results if r.verdict == "fail"]
    if failed:
        return "; ".join(failed)
    counts = {v: sum(r.verdict == v for r in results) for v in ("pass", "skipped")}
    text = f"all {counts['pass']} threshold{'s' if counts['pass'] != 1 else ''} passed"
    if counts["skipped"]:
        text += f", {counts['skipped']} skipped (no champion)"
    return text


def _result(**fields: Any) -> GateResultRecord:
    """A gate result with every field set (None where ``fields`` says nothing)."""
    return GateResultRecord(**{**_UNSET_NUMBERS, **fields})


def _metric(metrics: Mapping[str, float | None], name: str) -> float | None:
    """The metric as a float, or None when it is absent or NaN."""
    raw = metrics.get(name)
    if raw is None:
        return None
    value = float(raw)
    return None if math.isnan(value) else value


def _missing_reason(metrics: Mapping[str, float | None], name: str, whose: str) -> str:
    state = "is NaN" if name in metrics else "was not computed"
    return f"{whose}metric {name!r} {state}"


def _value_result(
    threshold: ValueThreshold, candidate: Mapping[str, float | None]
) -> GateResultRecord:
    name, lower, upper = threshold.metric, threshold.lower, threshold.upper
    value = _metric(candidate, name)
    common: dict[str, Any] = {"kind": "value", "metric": name, "lower": lower, "upper": upper}
    if value is None:
        return _result(**common, verdict="fail", reason=_missing_reason(candidate, name, ""))
    if lower is not None and value < lower:
        return _result(
            **common, value=value, verdict="fail", reason=f"{name} {value:.6g} < lower {lower:g}"
        )
    if upper is not None and value > upper:
        return _result(
            **common, value=value, verdict="fail", reason=f"{name} {value:.6g} > upper {upper:g}"
        )
    bounds = [f"{name} {value:.6g}"]
    if lower is not None:
        bounds.append(f">= lower {lower:g}")
    if upper is not None:
        bounds.append(f"{'and ' if lower is not None else ''}<= upper {upper:g}")
    return _result(**common, value=value, verdict="pass", reason=" ".join(bounds))


def resolve_direction(threshold: ChangeThreshold) -> Direction:
    """The threshold's direction, or the metric's own (lower for brier and log_loss)."""
    if threshold.direction is not None:
        return threshold.direction
    return "lower" if lower_is_better(threshold.metric) else "higher"


def _at_least(x: float, bound: float) -> bool:
    """x >= bound, forgiving the last-bit rounding of a subtraction."""
    return x >= bound or math.isclose(x, bound, rel_tol=_REL_TOL, abs_tol=_ABS_TOL)


def _change_result(
    threshold: ChangeThreshold,
    candidate: Mapping[str, float | None],
    champion: Mapping[str, float | None] | None,
) -> GateResultRecord:
    name, direction = threshold.metric, resolve_direction(threshold)
    common: dict[str, Any] = {
        "kind": "change",
        "metric": name,
        "direction": direction,
        "min_absolute_change": threshold.min_absolute_change,
        "min_relative_change": threshold.min_relative_change,
    }
    value = _metric(candidate, name)
    if champion is None:
        return _result(
            **common, value=value, verdict="skipped", reason="skipped: no champion (first run)"
        )
    if value is None:
        return _result(**common, verdict="fail", reason=_missing_reason(candidate, name, ""))
    base = _metric(champion, name)
    if base is None:
        reason = _missing_reason(champion, name, "champion ")
        return _result(**common, value=value, verdict="fail", reason=reason)
    return _judge_change(threshold, direction, value, base, common)


def _judge_change(
    threshold: ChangeThreshold,
    direction: Direction,
    value: float,
    base: float,
    common: dict[str, Any],
) -> GateResultRecord:
    delta = value - base
    relative = delta / abs(base) if base != 0 else None
    numbers: dict[str, Any] = {"value": value, "champion": base, "delta": delta}
    numbers["relative_delta"] = relative
    if math.isnan(delta):
        reason = f"{threshold.metric} change is undefined ({value} vs champion {base})"
        return _result(**common, **numbers, verdict="fail", reason=reason)
    sign = 1.0 if direction == "higher" else -1.0
    gain, what = sign * delta, ("change" if direction == "higher" else "improvement (lower)")
    head = f"{threshold.metric} {what} {gain:+.6g} (candidate {value:.6g}, champion {base:.6g})"
    min_abs = threshold.min_absolute_change
    if not _at_least(gain, min_abs):
        reason = f"{head} < min_absolute_change {min_abs:g}"
        return _result(**common, **numbers, verdict="fail", reason=reason)
    parts = [f"{head} >= min_absolute_change {min_abs:g}"]
    min_rel = threshold.min_relative_change
    if min_rel is not None and relative is None:
        parts.append(
            "relative change undefined (champion is 0): judged on min_absolute_change alone"
        )
    elif min_rel is not None and relative is not None:
        rel_gain = sign * relative
        if not _at_least(rel_gain, min_rel):
            reason = f"{head}; relative {rel_gain:+.6g} < min_relative_change {min_rel:g}"
            return _result(**common, **numbers, verdict="fail", reason=reason)
        parts.append(f"relative {rel_gain:+.6g} >= min_relative_change {min_rel:g}")
    return _result(**common, **numbers, verdict="pass", reason="; ".join(parts))


# --------------------------------------------------------------------------- decision


def decide(
    report: GateReportRecord,
    promotion: PromotionSpec,
    *,
    run: RunManifest,
    champion: RunManifest | None,
) -> DecisionRecord:
    """Turn a gate report and the promotion policy into an action.

    Rules, in order: failed value gates (or no thresholds under ``when_empty: fail``) reject the
    candidate and fail the run; with no champion, ``first_run`` promotes or holds; failed change
    gates keep the champion (``on_regression: keep_champion``) or reject and fail the run
    (``on_regression: fail``); a candidate trained from the champion's own inputs (the same
    spec, data and seed, each recorded in both runs) is ``unchanged`` and the champion stays;
    otherwise the candidate is promoted.

    Args:
        report: The gate report of the winning candidate.
        promotion: The spec's promotion policy.
        run: The record of the run being decided (its spec and data hashes and its seed).
        champion: The champion's run record, or None when there is no champion.

    Returns:
        The action, whether the run failed, and a reason sentence.
    """
    if not report.passed_value:
        return _decision("reject", True, f"value gates failed: {report.reason}")
    if champion is None:
        if promotion.first_run == "hold":
            return _decision(
                "hold",
                False,
                f"first run held for `churn promote` (promotion.first_run: hold); {report.reason}",
            )
        return _decision("promote", False, f"first run, no champion: {report.reason}")
    if not report.passed_change:
        if promotion.on_regression == "keep_champion":
            return _decision(
                "keep_champion",
                False,
                f"champion kept (promotion.on_regression: keep_champion): {report.reason}",
            )
        return _decision(
            "reject", True, f"change gates failed (promotion.on_regression: fail): {report.reason}"
        )
    if _same_inputs(run, champion):
        return _decision(
            "unchanged",
            False,
            f"same spec, data and seed as the champion {champion.run_id}: "
            "the champion stays in service",
        )
    return _decision("promote", False, f"passed the gates versus the champion: {report.reason}")


def _same_inputs(run: RunManifest, champion: RunManifest) -> bool:
    """Whether both runs recorded the same spec, data and seed (an unrecorded one differs)."""
    pairs = (
        (run.spec_sha256, champion.spec_sha256),
        (run.data_sha256, champion.data_sha256),
        (run.seed, champion.seed),
    )
    return all(theirs is not None and ours == theirs for ours, theirs in pairs)


def _decision(action: Action, run_failed: bool, reason: str) -> DecisionRecord:
    return DecisionRecord(action=action, run_failed=run_failed, reason=reason)
