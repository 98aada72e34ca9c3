"""The typed run record: what ``runs/<run_id>/run.json`` holds, and the one place it is read
and written.

:class:`RunManifest` and its nested records (data, model file, candidates with their threshold
policy, search, calibration and resampling, champion scores, gate results, gate report,
decision) are pydantic models, frozen and closed (``extra="forbid"``).
A manifest is written by :func:`write_manifest` and read by :func:`read_manifest`; everything
else in churn, the API and the CLI takes the model.

Guarantees:

* The JSON on disk keeps the shape of the registry contract (README): a record holds exactly the
  keys that were set, in the order the run sets them, so a record written before this module
  existed reads back to the same JSON. New records add ``record_version`` (:data:`RECORD_VERSION`);
  a record without it (version 0) is read as it is.
* A damaged or foreign run.json raises :class:`RunNotFound` naming the file and the first fields
  that do not fit; so does one that is not a regular file, is larger than 16 MiB, nests deeper
  than the registry's JSON bound (see :mod:`churn.registry.reading`), or whose ``run_id`` is
  not the name of its folder. A record from a newer churn is refused with its version.

Nothing happens at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError, field_serializer

from churn.errors import RegistryError
from churn.gates.subjects import GateTestOutcome
from churn.registry.atomic_io import atomic_write, to_json
from churn.registry.reading import MAX_RECORD_BYTES, parse_json, read_regular

RECORD_VERSION: Final = 1
"""The version of the run record this churn writes; it reads every version up to this one."""

RunStatus = Literal["running", "succeeded", "failed"]
Action = Literal["promote", "keep_champion", "hold", "reject", "unchanged"]
"""What a run's decision does with its winner (the one definition of the vocabulary)."""
ChampionAction = Literal["promote", "force_promote", "rollback"]
"""How a run became the champion (champion.json's ``action``; a ledger line moving it)."""
GateKind = Literal["value", "change"]
Verdict = Literal["pass", "fail", "skipped"]
Direction = Literal["higher", "lower"]
Metrics = dict[str, float | None]
"""Metric values by name; a metric that could not be computed (NaN) is null on disk."""

_MAX_PROBLEMS: Final = 5


class RunNotFound(RegistryError):
    """The run does not exist, or has no readable run.json."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready dict of the fields that were set (the shape written to disk)."""
        return self.model_dump(exclude_unset=True)


class DataRecord(_Record):
    """The validated data set a run trained on."""

    path: str
    rows: int
    columns: int
    positives: int
    kind: Literal["file", "sql"] | None = None
    """``sql`` for a database source (the fields below); absent for a file."""
    url: str | None = None
    """The database URL without its password (``postgresql://user@host:port/db``)."""
    query: str | None = None
    """The query as the spec writes it (``:as_of`` unbound)."""
    table: str | None = None
    """The table read whole (instead of a query)."""
    parameters: dict[str, str] | None = None
    """The values bound to the query (``{"as_of": "2026-12-01"}``)."""


class ComputeRecord(_Record):
    """Where the run's candidates trained: this process, worker processes, or a Dask cluster."""

    executor: Literal["inline", "processes", "dask"]
    workers: int
    scheduler: str | None = None
    """The Dask scheduler's address (``dask`` only)."""


class ModelFileRecord(_Record):
    """The winner's model file; ``sha256`` is what loading and promotion verify."""

    name: str
    path: str
    sha256: str
    bytes: int
    candidate: str | None = None
    type: str | None = None


ParamValue = str | int | float | bool | None
"""An estimator parameter's value, as the spec or a search sets it."""


class ThresholdPolicyRecord(_Record):
    """How a candidate's decision threshold was chosen: the spec's policy and what it chose.

    A classifier's holds ``strategy``, that strategy's one setting (``value``, ``metric``,
    ``recall`` or ``precision``) and ``threshold``; a survival candidate's is empty (``{}``),
    since it has no threshold.
    """

    strategy: str | None = None
    """fixed, tuned, max_profit, min_recall or min_precision (the spec's ``threshold``)."""
    value: float | None = None
    """fixed: the threshold the spec gives."""
    metric: str | None = None
    """tuned: what the threshold maximises."""
    recall: float | None = None
    """min_recall: the smallest acceptable recall."""
    precision: float | None = None
    """min_precision: the smallest acceptable precision."""
    threshold: float | None = None
    """The threshold chosen."""

    @property
    def settings(self) -> dict[str, Any]:
        """The strategy's own settings that were recorded (``{"recall": 0.7}``)."""
        return {k: v for k, v in self.as_dict().items() if k not in ("strategy", "threshold")}


class SearchRowRecord(_Record):
    """One row of a search's table: one parameter setting and its CV score."""

    rank: int
    mean_score: float | None
    std_score: float | None
    fit_seconds: float
    params: dict[str, ParamValue]


class SearchRecord(_Record):
    """A hyper-parameter search: its kind, best parameters and score, and its top rows."""

    method: str
    """random (RandomizedSearchCV) or halving (HalvingRandomSearchCV)."""
    n_iter: int
    cv: int
    best_params: dict[str, ParamValue]
    best_score: float | None
    table: list[SearchRowRecord]
    """The best ``top`` settings, best first."""


class CalibrationRecord(_Record):
    """Probability calibration: method, folds, hold-out Brier score before and after."""

    method: str
    """sigmoid or isotonic."""
    cv: int
    brier_before: float | None
    brier_after: float | None


class ResampleRecord(_Record):
    """Resampling inside the training folds (SMOTE, SMOTENC, random under-sampling)."""

    sampling_strategy: float | Literal["auto"]
    k_neighbors: int | None = None
    """smote and smotenc only."""
    type: str
    """smote, smotenc or random_under."""


class CandidateRecord(_Record):
    """One candidate's threshold and metrics (CV on the training part, and hold-out)."""

    name: str
    type: str
    threshold: float | None
    """The decision threshold; null for a survival candidate, which has none."""
    cv_mean: Metrics
    cv_std: Metrics
    cv_folds: dict[str, list[float | None]]
    holdout: Metrics
    fit_seconds: float
    params: dict[str, ParamValue] | None = None
    """The estimator parameters the candidate was fitted with (a search's best, if any)."""
    threshold_policy: ThresholdPolicyRecord | None = None
    """How the threshold was chosen (absent in records from before threshold policies)."""
    search: SearchRecord | None = None
    calibration: CalibrationRecord | None = None
    resample: ResampleRecord | None = None
    members: list[str] | None = None
    """The candidates an ensemble is built from."""


class SurvivalRecord(_Record):
    """A survival run's target (issue 25): what its metrics and served curves are about."""

    duration: str
    """The duration column (never a feature)."""
    event: str
    """The event column; ``event_value`` means churned, anything else censored."""
    event_value: str | int | float | bool
    unit: str
    """The duration's unit (day, week, month, year)."""
    horizons: list[float]
    """P(churn within h) is served, and td_auc_<h> / calibration_error_<h> measured, at each."""


class ChampionScoresRecord(_Record):
    """The champion re-scored on this run's hold-out (``error`` when it could not be)."""

    run_id: str
    metrics: Metrics | None
    error: str | None = None


class GateResultRecord(_Record):
    """The verdict of one threshold, with the numbers that led to it.

    Built by :func:`churn.training.gates.evaluate_gates` with every field set. ``value`` is the
    candidate's metric (None when it was not computed). For a change threshold, ``champion`` is
    the champion's metric on the same hold-out, ``delta`` is ``candidate - champion`` and
    ``relative_delta`` is ``delta / |champion|`` (both raw, before any sign flip for
    lower-is-better metrics; ``relative_delta`` is None for a zero champion).
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

    def threshold_text(self) -> str:
        """The threshold in words: ``[0.7000, inf]``, or ``d >= -0.0100 (higher is better)``.

        The one wording of a gate, used by the CLI summary and the HTML report.
        """
        if self.kind == "value":
            lower = "-inf" if self.lower is None else _number(self.lower)
            upper = "inf" if self.upper is None else _number(self.upper)
            return f"[{lower}, {upper}]"
        text = f"d >= {_number(self.min_absolute_change)}"
        if self.min_relative_change is not None:
            text += f", d/c >= {_number(self.min_relative_change)}"
        return f"{text} ({self.direction or 'higher'} is better)"


class GateReportRecord(_Record):
    """Every threshold's result and whether the value and change gates passed.

    Built by :func:`churn.training.gates.evaluate_gates`, which derives the flags and the reason
    from the results; ``empty`` means no threshold is configured and ``when_empty`` (the spec's
    policy for that case) then decides ``passed_value``.
    """

    passed: bool
    passed_value: bool
    passed_change: bool
    empty: bool
    when_empty: Literal["fail", "pass"]
    reason: str
    results: list[GateResultRecord]
    tests: list[GateTestOutcome] = []
    """Every gate test's outcome (``gates.tests``, declared slices); absent without gate tests."""


class DecisionRecord(_Record):
    """What happened to the winner, and whether the run counts as failed (exit code 4).

    Built by :func:`churn.training.gates.decide`.
    """

    action: Action
    run_failed: bool
    reason: str


class FileRecord(_Record):
    """A file of the run folder (``path`` from the home) and the hash its readers verify."""

    path: str
    sha256: str
    bytes: int


class TrainingDriftRecord(_Record):
    """This run's training data against the champion's reference profile (issue 23).

    ``status`` is None when the champion has no profile (``note`` says why); ``psi`` holds
    each profiled column's PSI (null when the data has no rows for it).
    """

    champion: str
    status: Literal["ok", "warn", "alert"] | None
    alerts: list[str] = []
    warnings: list[str] = []
    psi: dict[str, float | None] = {}
    note: str | None = None


class RunManifest(_Record):
    """``run.json``: one run's ids, times, status, hashes, versions, metrics, gates and decision.

    Fields are declared in the order a run sets them, which is the order of the keys on disk.
    Every field but ``run_id`` and ``status`` may be absent: a run that died early has few.
    """

    record_version: int = 0
    run_id: str
    status: RunStatus
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    pid: int | None = None
    host: str | None = None
    churn_version: str | None = None
    python: str | None = None
    spec_name: str | None = None
    spec_path: str | None = None
    spec_sha256: str | None = None
    seed: int | None = None
    versions: dict[str, str] | None = None
    selection_metric: str | None = None
    champion_before: str | None = None
    data_sha256: str | None = None
    data: DataRecord | None = None
    compute: ComputeRecord | None = None
    model: ModelFileRecord | None = None
    candidates: dict[str, CandidateRecord] | None = None
    winner: str | None = None
    metrics: Metrics | None = None
    threshold: float | None = None
    survival: SurvivalRecord | None = None
    """Survival runs only (absent for classifiers, so their run.json is unchanged)."""
    predictions: FileRecord | None = None
    """Survival runs only: the hold-out ``predictions.csv`` the record step wrote (a
    classifier's is the report step's, not recorded here)."""
    champion_scores: ChampionScoresRecord | None = None
    profile: FileRecord | None = None
    """``profile.json``: the reference profile drift is measured against (issue 23)."""
    training_drift: TrainingDriftRecord | None = None
    gates: GateReportRecord | None = None
    decision: DecisionRecord | None = None
    champion_after: str | None = None
    incomplete: bool | None = None
    error: str | None = None

    @field_serializer("started_at", "ended_at")
    def _iso(self, value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    @property
    def run_failed(self) -> bool:
        """Whether the run's decision fails the run (gates not met)."""
        return self.decision is not None and self.decision.run_failed

    @property
    def candidate(self) -> str | None:
        """The winning candidate's name (from ``winner``, else the model file record)."""
        return self.winner or (self.model.candidate if self.model else None)

    def updated(self, **fields: Any) -> RunManifest:
        """A validated copy with top-level ``fields`` replaced (or added).

        Raises:
            RegistryError: A field is unknown or its value does not fit.
        """
        merged = {**self.as_dict(), **{k: _plain(v) for k, v in fields.items()}}
        return as_manifest(merged, source=f"run {self.run_id}")


def as_manifest(value: Mapping[str, Any], *, source: str = "run record") -> RunManifest:
    """``value`` validated as a :class:`RunManifest`.

    Raises:
        RegistryError: The mapping is not a run record; the message names ``source`` and fields.
    """
    try:
        return RunManifest.model_validate(value)
    except ValidationError as exc:
        raise RegistryError(f"{source}: not a run record: {validation_problems(exc)}") from None


def read_manifest(path: Path, run_id: str) -> RunManifest:
    """Read and validate one run's run.json.

    Raises:
        RunNotFound: The file is missing, not a regular file, too large, not JSON (or nested
            too deep), not a run record (the message names the file and the fields), a record
            of another run than ``run_id``, or written by a newer churn.
    """
    try:
        raw = read_regular(path, what=f"run {run_id}:", limit=MAX_RECORD_BYTES)
    except FileNotFoundError:
        raise RunNotFound(f"run {run_id} not found (no {path})") from None
    except RegistryError as exc:
        raise RunNotFound(str(exc)) from None
    try:
        data = parse_json(raw, source=str(path))
    except RegistryError as exc:
        raise RunNotFound(f"run {run_id}: unreadable {exc}") from None
    if not isinstance(data, dict):
        raise RunNotFound(f"run {run_id}: {path} is not a JSON object")
    version = data.get("record_version", 0)
    if isinstance(version, int) and version > RECORD_VERSION:
        raise RunNotFound(
            f"run {run_id}: {path} has record_version {version}; this churn reads versions up "
            f"to {RECORD_VERSION}: upgrade churn to read it"
        )
    try:
        manifest = RunManifest.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise RunNotFound(f"run {run_id}: {path} is not a run record: {problems}") from None
    if manifest.run_id != run_id:
        raise RunNotFound(
            f"run {run_id}: {path} says run_id {manifest.run_id!r:.80}, not the name of its "
            "folder; a run.json belongs in the folder of its own run"
        )
    return manifest


def write_manifest(path: Path, manifest: RunManifest) -> Path:
    """Write run.json atomically (indented; NaN and infinities become null)."""
    text = to_json(manifest.as_dict(), indent=2) + "\n"

    def write(handle: IO[bytes]) -> None:
        handle.write(text.encode("utf-8"))

    return atomic_write(path, write)


def _plain(value: Any) -> Any:
    """Nested records as dicts, so a merged record is validated as a whole."""
    if isinstance(value, _Record):
        return value.as_dict()
    return value


def validation_problems(exc: ValidationError) -> str:
    """The first fields of a validation error in words: ``gates.results[1].verdict: ...``."""
    errors = exc.errors(include_url=False)
    words = [
        f"{_field(e['loc'])}: {e['msg']}"
        + ("" if e["type"] == "missing" else f" (got {e.get('input')!r:.60})")
        for e in errors
    ]
    more = len(words) - _MAX_PROBLEMS
    return "; ".join(words[:_MAX_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")


def _field(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(record)"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
