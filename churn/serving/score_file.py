"""Scoring a whole file (the nightly list): ``churn score FILE -o OUT``.

The file is read in chunks of ``chunk_rows`` rows (CSV as text, as the contract reads it;
Parquet by record batches), each chunk is checked against the spec's contract without the
target column (a labelled file may keep it; it is ignored) and scored by the verified pipeline
in one ``predict_proba`` call, so a chunk costs what the bare pipeline costs on it. The output
(CSV or Parquet, from its suffix) holds the id, ``churn_probability`` and ``will_churn`` at the
served threshold; it is written to a temporary file and moved into place only when every
chunk passed, so a contract violation leaves no partial output. After a failing chunk the rest
of the file is still checked (not scored), so one error lists the failures of every chunk;
uniqueness of the id is checked within each chunk.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from churn.contract import CSV_FIRST_LINE, validate
from churn.contract.reading import SUFFIXES, text_csv_options
from churn.defaults import SCORE_CHUNK_ROWS
from churn.errors import DataContractError, RegistryError, SpecError
from churn.explain import PipelineExplainer, Unexplainable, reason_table
from churn.explain.survival import SurvivalUnexplainable
from churn.explain.threads import explain_threads
from churn.monitoring.prediction_log import WITHIN
from churn.monitoring.scored import ScoredBatch
from churn.outputs import Inputs, check_output
from churn.registry import Registry
from churn.registry.atomic_io import atomic_write
from churn.serving.threads import serve_single_threaded
from churn.settings import load_settings
from churn.sources.urls import DataLocation, data_location, fetched, is_url, shown, suffix_of
from churn.spec import Spec
from churn.survival.scoring import SurvivalScorer, is_survival_estimator
from churn.training.features import DerivedFeatures

MAX_FAILURES = 20
"""At most this many failure lines (a few per failing chunk) are reported."""


@dataclass(frozen=True)
class ScoringModel:
    """A verified pipeline, its run and the threshold its decisions use."""

    run_id: str
    pipeline: Any
    threshold: float


@dataclass(frozen=True)
class ScoreSummary:
    """What one ``churn score`` wrote, and how fast."""

    output: Path
    rows: int
    churn: int
    run_id: str
    threshold: float
    seconds: float
    scoring_seconds: float

    def to_text(self) -> str:
        """One line for people."""
        return (
            f"{self.output}: {self.rows:,} rows scored by {self.run_id} (threshold "
            f"{self.threshold:.4f}), {self.churn:,} will churn; {self.seconds:.2f} s "
            f"({self.rows / max(self.seconds, 1e-9):,.0f} rows/s, scoring alone "
            f"{self.rows / max(self.scoring_seconds, 1e-9):,.0f} rows/s)"
        )


def scoring_model(registry: Registry, run_id: str | None = None) -> ScoringModel:
    """The champion (or run ``run_id``'s model), hash-verified, scoring on one thread.

    Raises:
        RegistryError: No champion, an unknown run, a run without a model, or a bad hash.
    """
    if run_id is None:
        loaded = registry.load_champion()
        if loaded is None:
            raise RegistryError(f"no champion in {registry.home}: promote a run or pass --run")
        pointer, pipeline = loaded
        run_id, threshold = pointer.run_id, pointer.threshold
    else:
        manifest = registry.record(run_id)
        if manifest.model is None:
            raise RegistryError(f"run {run_id} has no recorded model to score with")
        pipeline = registry.load_model(run_id, manifest.model.sha256, name=manifest.model.name)
        threshold = manifest.threshold
    return ScoringModel(
        run_id, serve_single_threaded(pipeline), float(threshold) if threshold else 0.5
    )


def score_file(
    spec: Spec,
    model: ScoringModel,
    source: DataLocation,
    output: Path,
    *,
    chunk_rows: int = SCORE_CHUNK_ROWS,
    also_read: Inputs = (),
    explain: int = 0,
    record: Callable[[ScoredBatch], None] | None = None,
) -> ScoreSummary:
    """Validate and score ``source`` chunk by chunk into ``output``; see the module docstring.

    Args:
        also_read: Other files the caller read (the spec file), which ``output`` must not be.
        explain: Add each row's top ``explain`` reasons (:func:`churn.explain.reason_table`
            columns) and ``explanation_base``; 0 adds none.

    Raises:
        DataContractError: The file is unreadable or a chunk breaks the contract (the message
            names the file lines); nothing is written.
        OutputError: ``output`` is a folder or special file, or it is ``source``, the spec's
            data source or a file of ``also_read`` (through links too); nothing is written.
    """
    started = time.perf_counter()
    out_format = _format(output, "output")
    _format(source, "input")
    read = [("input", source), ("spec's data source", data_location(spec))]
    check_output(
        output, [(role, Path(path)) for role, path in read if not is_url(path)] + [*also_read]
    )
    totals = {"rows": 0, "churn": 0, "scoring": 0.0}
    survival = survival_scorer(spec, model)
    explainer = _explainer(model) if explain else None
    failures: list[str] = []
    logged: list[ScoredBatch] = []

    def write(handle: IO[bytes]) -> None:
        writer: pq.ParquetWriter | None = None

        def _write_table(table: pd.DataFrame) -> None:
            nonlocal writer
            if out_format == "csv":
                handle.write(table.to_csv(index=False, header=totals["rows"] == 0).encode())
            else:
                arrow = pa.Table.from_pandas(table, preserve_index=False)
                writer = writer or pq.ParquetWriter(handle, arrow.schema)
                writer.write_table(arrow)
            totals["rows"] += len(table)

        for frame, first_line in _chunks(spec, source, chunk_rows):
            frame = frame.drop(columns=[spec.data.target.column], errors="ignore")
            try:
                valid = validate(
                    spec, frame, source=shown(source), first_line=first_line, with_target=False
                )
            except DataContractError as exc:  # go on checking, so every failure is reported
                failures.extend(exc.failures[: MAX_FAILURES - len(failures)])
                continue
            if failures:
                continue
            scoring = time.perf_counter()
            ids = valid[spec.data.id].astype(str).tolist()
            if survival is not None:
                outputs, decisions = _survival_columns(
                    survival, model.pipeline, valid, explainer, explain
                )
                within = np.column_stack([outputs[f"{WITHIN}{h}"] for h in survival.names])
                logged.append(
                    ScoredBatch(
                        ids,
                        model.run_id,
                        time.time(),
                        within[:, -1],
                        decisions,
                        within=within,
                        horizons=survival.names,
                    )
                )
            else:
                if explainer is None:
                    proba = np.asarray(model.pipeline.predict_proba(valid)[:, 1], dtype=np.float64)
                    reasons: dict[str, Any] = {}
                else:
                    proba, reasons = _explained(explainer, valid, explain)
                decisions = proba >= model.threshold
                outputs = {"churn_probability": proba, "will_churn": decisions, **reasons}
                logged.append(ScoredBatch(ids, model.run_id, time.time(), proba, decisions))
            totals["scoring"] += time.perf_counter() - scoring
            key: dict[Any, Any] = {spec.data.id: valid[spec.data.id].to_numpy()}
            _write_table(pd.DataFrame({**key, **outputs}))
            totals["churn"] += int(np.count_nonzero(decisions))
        if writer is not None:
            writer.close()
        if failures:
            raise DataContractError(shown(source), failures)
        if totals["rows"] == 0:
            raise DataContractError(shown(source), ["no rows to score"])

    atomic_write(output, write)
    if record is not None:
        for batch in logged:
            record(batch)
    return ScoreSummary(
        output=output,
        rows=int(totals["rows"]),
        churn=int(totals["churn"]),
        run_id=model.run_id,
        threshold=model.threshold,
        seconds=time.perf_counter() - started,
        scoring_seconds=float(totals["scoring"]),
    )


def survival_scorer(spec: Spec, model: ScoringModel) -> SurvivalScorer | None:
    """A survival model's scorer at the spec's horizons; None for a classifier.

    Raises:
        SpecError: The model is a survival model and the spec has no survival target.
    """
    if not is_survival_estimator(model.pipeline[-1]):
        return None
    target = spec.data.target
    horizons = getattr(target, "horizons", None)
    if not horizons:
        raise SpecError(
            [
                f"{spec.place('data', 'target')}: run {model.run_id}'s model is a survival "
                "model: expected a survival target (kind: survival, with horizons)"
            ]
        )
    return SurvivalScorer(model.pipeline[-1], horizons, str(getattr(target, "unit", "")))


def _survival_columns(
    survival: SurvivalScorer,
    pipeline: Any,
    valid: pd.DataFrame,
    explainer: PipelineExplainer | None = None,
    k: int = 0,
) -> tuple[dict[str, Any], np.ndarray]:
    """``churn_within_<h>`` per horizon and ``median_time_to_churn`` (empty where the curve
    stays above one half) of one validated chunk (with an ``explainer``, its top ``k`` reason
    columns on the model's risk), and which rows count as churn (P(churn within the longest
    horizon) >= 1/2)."""
    if explainer is None:
        encoded, reasons = np.asarray(pipeline[:-1].transform(valid)), {}
    else:
        encoded, derived = _encode(explainer.pipeline, valid)
        reasons = _reason_columns(explainer, encoded, derived, k)
    scores = survival.score(encoded)
    columns: dict[str, Any] = {
        f"{WITHIN}{name}": scores.within[:, j] for j, name in enumerate(survival.names)
    }
    columns["median_time_to_churn"] = np.where(np.isfinite(scores.median), scores.median, np.nan)
    return {**columns, **reasons}, scores.within[:, -1] >= 0.5


def _explainer(model: ScoringModel) -> PipelineExplainer:
    """The model's explainer, or a RegistryError saying why it has none.

    Raises:
        SurvivalUnexplainable: A survival model type without a fast exact explainer (the CLI
            answers it as a usage error: exit code 2).
    """
    try:
        return PipelineExplainer(model.pipeline)
    except SurvivalUnexplainable:
        raise
    except Unexplainable as exc:
        raise RegistryError(f"run {model.run_id}'s model cannot be explained: {exc}") from None


def _encode(pipeline: Any, valid: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """The model's encoded input of a validated chunk, and the chunk with derived columns."""
    first = pipeline.steps[0][1]
    derived = first.transform(valid) if isinstance(first, DerivedFeatures) else valid
    encoded = pipeline.steps[-2][1].transform(derived)
    return np.asarray(encoded, dtype=np.float64), derived


def _reason_columns(
    explainer: PipelineExplainer, encoded: np.ndarray, derived: pd.DataFrame, k: int
) -> dict[str, Any]:
    """The top ``k`` reason columns and ``explanation_base`` of encoded rows; the
    contributions use every CPU the process may use (:meth:`~churn.settings.ChurnSettings.cpus`)."""
    with explain_threads(load_settings().cpus()):
        explanation = explainer.explain_encoded(encoded)
    values = [derived[name].to_numpy() for name in explanation.columns]
    table = reason_table(explanation.columns, explanation.contributions, values, k)
    return {**table, "explanation_base": explanation.base}


def _explained(
    explainer: PipelineExplainer, valid: pd.DataFrame, k: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """P(churn) (exactly the pipeline's) and the reason columns of one validated chunk.

    The chunk is encoded once: the final estimator's ``predict_proba`` on the encoded rows is
    what ``Pipeline.predict_proba`` computes (on one thread, as without ``--explain``).
    """
    pipeline = explainer.pipeline
    encoded, derived = _encode(pipeline, valid)
    proba = np.asarray(pipeline.steps[-1][1].predict_proba(encoded)[:, 1], dtype=np.float64)
    return proba, _reason_columns(explainer, encoded, derived, k)


def _format(path: DataLocation, role: str) -> str:
    suffix = suffix_of(path)
    found = SUFFIXES.get(suffix.lower())
    if found is None:
        raise DataContractError(
            shown(path), [f"cannot tell the {role} format from {suffix!r}: use .csv or .parquet"]
        )
    return found


def _chunks(
    spec: Spec, source: DataLocation, rows: int
) -> Iterator[tuple[pd.DataFrame, int | None]]:
    """(raw chunk, file line of its first row; None for Parquet) in file order.

    CSV is read as text with the spec's read options, as the contract reads a training file.
    A URL is fetched once into a temporary file first (:func:`~churn.sources.urls.fetched`).
    """
    if is_url(source):
        with fetched(str(source)) as (handle, _):
            yield from _read_chunks(spec, source, handle, rows)
        return
    source = Path(source)  # a path given as text
    if not source.is_file():
        raise DataContractError(str(source), ["file not found (or not a file)"])
    yield from _read_chunks(spec, source, source, rows)


def _read_chunks(
    spec: Spec, source: DataLocation, data: Path | IO[bytes], rows: int
) -> Iterator[tuple[pd.DataFrame, int | None]]:
    try:
        if _format(source, "input") == "parquet":
            for batch in pq.ParquetFile(data).iter_batches(batch_size=rows):
                yield batch.to_pandas(), None
            return
        reader = pd.read_csv(data, **text_csv_options(spec), chunksize=rows)
        with reader:
            for frame in reader:
                yield frame.reset_index(drop=True), CSV_FIRST_LINE + int(frame.index[0])
    except (OSError, ValueError, UnicodeDecodeError, pa.ArrowException) as exc:
        if isinstance(exc, DataContractError):
            raise
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataContractError(shown(source), [f"cannot read the file: {reason}"]) from None
