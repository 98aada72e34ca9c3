"""Quality gates: value thresholds and change-versus-champion thresholds -> GateReport -> Decision.

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

Everything here is pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from churn.spec import LOWER_IS_BETTER, ChangeThreshold, GatesSpec, PromotionSpec, ValueThreshold

GateKind = Literal["value", "change"]
Verdict = Literal["pass", "fail", "skipped"]
Direction = Literal["higher", "lower"]
Action = Literal["promote", "keep_champion", "hold", "reject", "unchanged"]

_REL_TOL = 1e-9
_ABS_TOL = 1e-12


@dataclass(frozen=True)
class GateResult:
    """The verdict of one threshold, with every number that led to it.

    ``value`` is the candidate's metric (None when it was not computed). For a change threshold,
    ``champion`` is the champion's metric on the same hold-out, ``delta`` is
    ``candidate - champion`` and ``relative_delta`` is ``delta / |champion|`` (both raw, before
    any sign flip for lower-is-better metrics; ``relative_delta`` is None for a zero champion).
    """

    kind: GateKind
    metric: str
    verdict: Verdict
    reason: str
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    direction: Direction | None = None
    min_absolute_change: float | None = None
    min_relative_change: float | None = None
    champion: float | None = None
    delta: float | None = None
    relative_delta: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)


@dataclass(frozen=True)
class GateReport:
    """Every threshold's result, and whether the value and change gates passed.

    ``empty`` means the spec configures no threshold at all; ``when_empty`` is the spec's policy
    for that case and decides ``passed_value``.
    """

    results: tuple[GateResult, ...]
    when_empty: Literal["fail", "pass"] = "fail"

    @property
    def empty(self) -> bool:
        """True when no threshold is configured."""
        return not self.results

    @property
    def passed_value(self) -> bool:
        """True when every value threshold passed (and an empty gate set is allowed to pass)."""
        if self.empty:
            return self.when_empty == "pass"
        return all(r.verdict == "pass" for r in self.results if r.kind == "value")

    @property
    def passed_change(self) -> bool:
        """True when no change threshold failed (skipped ones do not fail)."""
        return not any(r.verdict == "fail" for r in self.results if r.kind == "change")

    @property
    def passed(self) -> bool:
        """True when both the value and the change gates passed."""
        return self.passed_value and self.passed_change

    @property
    def failures(self) -> tuple[GateResult, ...]:
        """The results whose verdict is fail."""
        return tuple(r for r in self.results if r.verdict == "fail")

    @property
    def reason(self) -> str:
        """One sentence summing the report up."""
        if self.empty:
            return f"no thresholds configured (gates.when_empty: {self.when_empty})"
        if self.failures:
            return "; ".join(r.reason for r in self.failures)
        counts = {v: sum(r.verdict == v for r in self.results) for v in ("pass", "skipped")}
        text = f"all {counts['pass']} threshold{'s' if counts['pass'] != 1 else ''} passed"
        if counts["skipped"]:
            text += f", {counts['skipped']} skipped (no champion)"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: flags, reason and one dict per result."""
        return {
            "passed": self.passed,
            "passed_value": self.passed_value,
            "passed_change": self.passed_change,
            "empty": self.empty,
            "when_empty": self.when_empty,
            "reason": self.reason,
            "results": [r.to_dict() for r in self.results],
        }


@dataclass(frozen=True)
class Decision:
    """What happens to the candidate, and whether the run counts as failed (CLI exit 4)."""

    action: Action
    run_failed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)


# --------------------------------------------------------------------------- evaluation


def evaluate_gates(
    gates: GatesSpec,
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
) -> GateReport:
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
    return GateReport(results=tuple(results), when_empty=gates.when_empty)


def _metric(metrics: Mapping[str, float], name: str) -> float | None:
    """The metric as a float, or None when it is absent or NaN."""
    raw = metrics.get(name)
    if raw is None:
        return None
    value = float(raw)
    return None if math.isnan(value) else value


def _missing_reason(metrics: Mapping[str, float], name: str, whose: str) -> str:
    state = "is NaN" if name in metrics else "was not computed"
    return f"{whose}metric {name!r} {state}"


def _value_result(threshold: ValueThreshold, candidate: Mapping[str, float]) -> GateResult:
    name, lower, upper = threshold.metric, threshold.lower, threshold.upper
    value = _metric(candidate, name)
    common: dict[str, Any] = {"kind": "value", "metric": name, "lower": lower, "upper": upper}
    if value is None:
        return GateResult(**common, verdict="fail", reason=_missing_reason(candidate, name, ""))
    if lower is not None and value < lower:
        return GateResult(
            **common, value=value, verdict="fail", reason=f"{name} {value:.6g} < lower {lower:g}"
        )
    if upper is not None and value > upper:
        return GateResult(
            **common, value=value, verdict="fail", reason=f"{name} {value:.6g} > upper {upper:g}"
        )
    bounds = [f"{name} {value:.6g}"]
    if lower is not None:
        bounds.append(f">= lower {lower:g}")
    if upper is not None:
        bounds.append(f"{'and ' if lower is not None else ''}<= upper {upper:g}")
    return GateResult(**common, value=value, verdict="pass", reason=" ".join(bounds))


def resolve_direction(threshold: ChangeThreshold) -> Direction:
    """The threshold's direction, or the metric's own (lower for brier and log_loss)."""
    if threshold.direction is not None:
        return threshold.direction
    return "lower" if threshold.metric in LOWER_IS_BETTER else "higher"


def _at_least(x: float, bound: float) -> bool:
    """x >= bound, forgiving the last-bit rounding of a subtraction."""
    return x >= bound or math.isclose(x, bound, rel_tol=_REL_TOL, abs_tol=_ABS_TOL)


def _change_result(
    threshold: ChangeThreshold,
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
) -> GateResult:
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
        return GateResult(
            **common, value=value, verdict="skipped", reason="skipped: no champion (first run)"
        )
    if value is None:
        return GateResult(**common, verdict="fail", reason=_missing_reason(candidate, name, ""))
    base = _metric(champion, name)
    if base is None:
        reason = _missing_reason(champion, name, "champion ")
        return GateResult(**common, value=value, verdict="fail", reason=reason)
    return _judge_change(threshold, direction, value, base, common)


def _judge_change(
    threshold: ChangeThreshold,
    direction: Direction,
    value: float,
    base: float,
    common: dict[str, Any],
) -> GateResult:
    delta = value - base
    relative = delta / abs(base) if base != 0 else None
    numbers: dict[str, Any] = {"value": value, "champion": base, "delta": delta}
    numbers["relative_delta"] = relative
    if math.isnan(delta):
        reason = f"{threshold.metric} change is undefined ({value} vs champion {base})"
        return GateResult(**common, **numbers, verdict="fail", reason=reason)
    sign = 1.0 if direction == "higher" else -1.0
    gain, what = sign * delta, ("change" if direction == "higher" else "improvement (lower)")
    head = f"{threshold.metric} {what} {gain:+.6g} (candidate {value:.6g}, champion {base:.6g})"
    min_abs = threshold.min_absolute_change
    if not _at_least(gain, min_abs):
        reason = f"{head} < min_absolute_change {min_abs:g}"
        return GateResult(**common, **numbers, verdict="fail", reason=reason)
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
            return GateResult(**common, **numbers, verdict="fail", reason=reason)
        parts.append(f"relative {rel_gain:+.6g} >= min_relative_change {min_rel:g}")
    return GateResult(**common, **numbers, verdict="pass", reason="; ".join(parts))


# --------------------------------------------------------------------------- decision


def decide(report: GateReport, promotion: PromotionSpec, *, has_champion: bool) -> Decision:
    """Turn a gate report and the promotion policy into an action.

    Rules, in order: failed value gates (or no thresholds under ``when_empty: fail``) reject the
    candidate and fail the run; with no champion, ``first_run`` promotes or holds; failed change
    gates keep the champion (``on_regression: keep_champion``) or reject and fail the run
    (``on_regression: fail``); otherwise the candidate is promoted.

    Args:
        report: The gate report of the winning candidate.
        promotion: The spec's promotion policy.
        has_champion: Whether a champion exists.

    Returns:
        The action, whether the run failed, and a reason sentence.
    """
    if not report.passed_value:
        return Decision("reject", True, f"value gates failed: {report.reason}")
    if not has_champion:
        if promotion.first_run == "hold":
            return Decision(
                "hold",
                False,
                f"first run held for `churn promote` (promotion.first_run: hold); {report.reason}",
            )
        return Decision("promote", False, f"first run, no champion: {report.reason}")
    if not report.passed_change:
        if promotion.on_regression == "keep_champion":
            return Decision(
                "keep_champion",
                False,
                f"champion kept (promotion.on_regression: keep_champion): {report.reason}",
            )
        return Decision(
            "reject", True, f"change gates failed (promotion.on_regression: fail): {report.reason}"
        )
    return Decision("promote", False, f"passed the gates versus the champion: {report.reason}")
