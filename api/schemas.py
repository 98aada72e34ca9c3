"""Response models (request models are generated from the spec: see :mod:`churn.api.records`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from churn.registry.record import RunStatus

ShownRunStatus = Literal[RunStatus, "incomplete", "unknown"]
"""A run's status as the API shows it: the recorded one, or ``incomplete`` for a run that
died half-way (:func:`churn.api.views.run_status`)."""
ServiceStatus = Literal["ok", "degraded", "no_model"]


class Out(BaseModel):
    """Base of every response model."""

    model_config = ConfigDict(frozen=True)


class ErrorDetail(Out):
    """A short error."""

    detail: str = Field(description="What went wrong, in one sentence.")


class ValidationIssue(Out):
    """One problem with the request."""

    loc: list[str | int] = Field(description="Where: body, records, record index, field.")
    msg: str = Field(description="What is wrong (allowed values are named).")
    type: str = Field(description="Error type, e.g. literal_error, missing, extra_forbidden.")
    input: Any = Field(default=None, description="The offending value.")
    ctx: dict[str, Any] | None = Field(default=None, description="Details of the rule.")


class ValidationErrors(Out):
    """The request does not match the schema (422)."""

    detail: list[ValidationIssue]


class Health(Out):
    """Liveness."""

    status: Literal["ok"] = "ok"


class Readiness(Out):
    """Whether a champion is loaded and serving (503 until one is)."""

    ready: bool
    reason: str | None = Field(default=None, description="Why not ready.")
    run_id: str | None = Field(default=None, description="The serving champion's run.")
    model: str | None = Field(default=None, description="Its candidate name.")
    loaded_at: datetime | None = None
    fast_path: bool | None = Field(default=None, description="Whether scoring skips pandas.")
    fast_path_off: str | None = Field(default=None, description="Why the fast path is off.")
    reload_error: str | None = Field(
        default=None, description="The latest failed load; the champion above keeps serving."
    )


class GateTestCounts(Out):
    """How a run's gate tests ended (every candidate tested), and which did not pass."""

    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0
    not_passed: list[str] = Field(
        default_factory=list, description="``candidate: test id`` of each failed or erroring test."
    )


class GateVerdict(Out):
    """The quality gates' verdict on a run, and what it decided."""

    passed: bool | None = Field(default=None, description="Whether every gate passed.")
    action: str | None = Field(default=None, description="promote, reject, keep_champion or hold.")
    run_failed: bool | None = None
    reason: str | None = None
    tests: GateTestCounts | None = Field(
        default=None,
        description="The gate tests' outcomes (left out when the spec has none).",
        exclude_if=lambda value: value is None,
    )


def _survival_only(description: str) -> Any:
    """A field only a survival champion's /app-info has (left out of a classifier's)."""
    return Field(
        default=None,
        description=f"Survival champion: {description}",
        exclude_if=lambda value: value is None,
    )


class AppInfo(Out):
    """The service at a glance."""

    status: ServiceStatus = Field(
        description="ok: a champion serves; degraded: it serves but the latest load failed; "
        "no_model: nothing serves."
    )
    last_run: datetime | None = Field(
        default=None, description="When the latest run ended (or started, while running)."
    )
    pipeline_status: ShownRunStatus | None = Field(
        default=None, description="The latest run's status."
    )
    accuracy: float | None = Field(default=None, description="Champion, hold-out.")
    precision: float | None = Field(default=None, description="Champion, hold-out.")
    recall: float | None = Field(default=None, description="Champion, hold-out.")
    f1: float | None = Field(default=None, description="Champion, hold-out.")
    roc_auc: float | None = Field(default=None, description="Champion, hold-out.")
    model: str | None = Field(default=None, description="The champion's candidate name.")
    model_type: str | None = None
    run_id: str | None = Field(default=None, description="The champion's run (model version).")
    threshold: float | None = Field(default=None, description="P(churn) >= this: will churn.")
    threshold_policy: str | None = Field(
        default=None,
        description="How the threshold was chosen (fixed, tuned, max_profit, min_recall, ...).",
    )
    promoted_at: datetime | None = None
    last_run_id: str | None = None
    last_run_gates: GateVerdict | None = Field(
        default=None, description="The latest run's gate verdict and decision."
    )
    kind: Literal["survival"] | None = _survival_only(
        "survival for a time-to-churn champion (its survival metrics follow; accuracy ... "
        "roc_auc and threshold are null); left out for a classifier, as are the fields below."
    )
    harrell_c: float | None = _survival_only("hold-out Harrell's concordance (higher is better).")
    uno_c: float | None = _survival_only("hold-out Uno's IPCW concordance (higher is better).")
    ibs_ratio: float | None = _survival_only(
        "hold-out integrated Brier score / Kaplan-Meier's (lower is better; below 1 beats "
        "knowing nothing about the customer)."
    )
    td_auc: dict[str, float | None] | None = _survival_only(
        "hold-out time-dependent AUC per horizon (key: the horizon, in unit)."
    )
    horizons: list[float] | None = _survival_only("the horizons /predict answers for.")
    unit: str | None = _survival_only("the unit of horizons and times (month, ...).")


class Champion(Out):
    """The champion serving /predict."""

    run_id: str
    model: str | None = Field(default=None, description="Candidate name.")
    model_type: str | None = None
    model_sha256: str | None = None
    metrics: dict[str, float | None] = Field(description="Hold-out metrics.")
    threshold: float
    promoted_at: datetime | None = None
    action: str | None = Field(default=None, description="promote, force_promote or rollback.")
    reason: str | None = None
    previous: str | None = Field(default=None, description="The champion before it.")
    loaded_at: datetime
    fast_path: bool


class RunSummary(Out):
    """One training run."""

    run_id: str
    status: ShownRunStatus
    started_at: datetime | None = None
    ended_at: datetime | None = None
    spec_name: str | None = None
    model: str | None = Field(default=None, description="The winning candidate.")
    model_type: str | None = None
    metrics: dict[str, float | None] = Field(description="The winner's hold-out metrics.")
    threshold: float | None = None
    gates: GateVerdict | None = None
    is_champion: bool = Field(description="Whether this run's model is the champion now.")


class RunList(Out):
    """Runs, newest first."""

    runs: list[RunSummary]
    total: int = Field(description="How many runs the registry holds.")


class RunDetail(RunSummary):
    """One run with its record: candidates, gates, data, versions and artifacts."""

    candidates: dict[str, Any] | None = None
    gate_results: dict[str, Any] | None = Field(default=None, description="Every threshold.")
    champion_scores: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    versions: dict[str, Any] | None = None
    error: str | None = None
    selection_metric: str | None = None
    report: bool = Field(description="Whether GET /runs/{run_id}/report has a report.")
    plots: list[str] = Field(description="Names for GET /runs/{run_id}/plots/{name}.")


class ReasonOut(Out):
    """One column's share in one customer's score (``explain=K``)."""

    column: str = Field(description="The spec column (or derived column) it is about.")
    value: Any = Field(description="The customer's value of that column.")
    contribution: float = Field(description="Its share of the output (explanation_scale).")
    direction: Literal["raises", "lowers", "none"] = Field(description="On the churn risk.")


class Prediction(Out):
    """One customer's score."""

    id: str = Field(description="The customer id sent.")
    churn_probability: float = Field(ge=0, le=1, description="P(churn) from the champion.")
    will_churn: bool = Field(description="churn_probability >= the champion's threshold.")
    model_version: str = Field(description="The champion's run id.")
    base_value: float | None = Field(
        default=None, description="explain only: the output the contributions start from."
    )
    reasons: list[ReasonOut] | None = Field(
        default=None, description="explain only: the top K reasons, largest first."
    )


class PredictResponse(Out):
    """Scores in request order."""

    model_version: str = Field(description="The champion's run id.")
    model: str | None = Field(default=None, description="Its candidate name.")
    threshold: float = Field(description="The decision threshold used.")
    explanation_scale: Literal["log_odds", "probability"] | None = Field(
        default=None, description="explain only: what base_value + contributions add up to."
    )
    predictions: list[Prediction]


SURVIVAL_EXAMPLE: dict[str, Any] = {
    "model_version": "20261206T141500Z-7c1d",
    "model": "xgb_cox",
    "kind": "survival",
    "unit": "month",
    "horizons": [3.0, 6.0, 12.0],
    "predictions": [
        {
            "id": "7590-VHVEG",
            "churn_within": {"3": 0.21, "6": 0.34, "12": 0.52},
            "median_time_to_churn": 11.0,
            "model_version": "20261206T141500Z-7c1d",
        },
        {
            "id": "5575-GNVDE",
            "churn_within": {"3": 0.01, "6": 0.02, "12": 0.04},
            "median_time_to_churn": None,
            "model_version": "20261206T141500Z-7c1d",
        },
    ],
}
"""The OpenAPI example of a survival champion's answer."""


class SurvivalPrediction(Out):
    """One customer's time to churn (a survival champion)."""

    id: str = Field(description="The customer id sent.")
    churn_within: dict[str, float] = Field(
        description="P(churn within h) = 1 - S(h | x) for every declared horizon h (key: h as "
        "the spec writes it, in unit); non-decreasing in h."
    )
    median_time_to_churn: float | None = Field(
        ge=0,
        description="The first time (in unit) where S(t | x) <= 1/2; null when the curve stays "
        "above one half within the training times.",
    )
    model_version: str = Field(description="The champion's run id.")
    base_value: float | None = Field(
        default=None, description="explain only: the risk the contributions start from."
    )
    reasons: list[ReasonOut] | None = Field(
        default=None, description="explain only: the top K reasons on the risk, largest first."
    )


class SurvivalPredictResponse(Out):
    """A survival champion's answers, in request order."""

    model_config = ConfigDict(json_schema_extra={"examples": [SURVIVAL_EXAMPLE]})

    model_version: str = Field(description="The champion's run id.")
    model: str | None = Field(default=None, description="Its candidate name.")
    kind: Literal["survival"] = Field(description="Tells this answer from a classifier's.")
    unit: str = Field(description="The unit of horizons and times (the spec's target unit).")
    horizons: list[float] = Field(description="The spec's horizons, increasing.")
    explanation_scale: Literal["log_hazard", "minus_log_time", "standardised_risk"] | None = Field(
        default=None,
        description="explain only: the risk base_value + contributions add up to (the log "
        "hazard ratio of cox / xgb_cox, minus the log-time location of xgb_aft).",
    )
    predictions: list[SurvivalPrediction]


class PredictAnswer(RootModel[PredictResponse | SurvivalPredictResponse]):
    """/predict's answer: a classifier champion's (``PredictResponse``) or a survival
    champion's (``SurvivalPredictResponse``, ``kind: survival``)."""
