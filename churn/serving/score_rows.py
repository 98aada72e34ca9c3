"""Scoring into a database table: ``churn score [SOURCE] --as-of DATE --to-table SCHEMA.TABLE``.

The rows come from SOURCE (a CSV or Parquet file, or its URL) or, without one, from the spec's
``data.source`` (a SQL source read at ``as_of``, e.g. the active customers). All of them are
checked against the contract first (the target column may be absent; failures name file lines,
or ids for a database), so a violation writes nothing. They are then scored in chunks by the
verified pipeline and streamed, chunk by chunk, into the table's one transaction
(:mod:`churn.sources.score_table`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from churn.contract import CSV_FIRST_LINE, read_data, validate
from churn.contract.dataset import rows_by_id
from churn.contract.reading import format_of, read_frame_and_hash
from churn.defaults import SCORE_CHUNK_ROWS
from churn.serving.score_file import ScoringModel
from churn.sources.score_table import SCORE_SCHEMA, TableName, scores_database, write_scores
from churn.sources.urls import DataLocation, data_location, shown
from churn.spec import Spec


@dataclass(frozen=True)
class TableSummary:
    """What one ``churn score --to-table`` wrote."""

    table: TableName
    database: str
    rows: int
    churn: int
    run_id: str
    as_of: date
    seconds: float

    def to_text(self) -> str:
        """One line for people."""
        return (
            f"{self.database} {self.table}: {self.rows:,} rows for as_of {self.as_of} scored by "
            f"{self.run_id}, {self.churn:,} will churn; {self.seconds:.2f} s"
        )


def rows_to_score(spec: Spec, source: DataLocation | None, as_of: date) -> pd.DataFrame:
    """The rows of ``source`` (else the spec's source at ``as_of``), checked by the contract
    without the target column.

    Raises:
        DataContractError: Unreadable, empty, or breaking the contract (every failure at once).
        SourceError: The database cannot be read.
    """
    target = spec.data.target.column
    if source is None and spec.sql_source is not None:
        frame, _ = read_frame_and_hash(spec, spec.source_path, as_of=as_of)
        frame = rows_by_id(spec, frame.drop(columns=[target], errors="ignore"))
        label = spec.sql_source.label
        return validate(spec, frame, source=label, with_target=False).reset_index(drop=True)
    path = data_location(spec) if source is None else source
    frame = read_data(spec, path).drop(columns=[target], errors="ignore")
    first_line = CSV_FIRST_LINE if format_of(spec, path) == "csv" else None
    return validate(spec, frame, source=shown(path), first_line=first_line, with_target=False)


def score_batches(
    spec: Spec, model: ScoringModel, frame: pd.DataFrame, as_of: date, *, chunk_rows: int
) -> Iterator[pa.RecordBatch]:
    """The score rows of ``frame``, :data:`~churn.sources.score_table.SCORE_SCHEMA`, a chunk
    at a time (one ``predict_proba`` call each)."""
    scored_at = datetime.now(UTC)
    ids = _ids(spec, frame)
    for start in range(0, len(frame), chunk_rows):
        chunk = frame.iloc[start : start + chunk_rows]
        proba = np.asarray(model.pipeline.predict_proba(chunk)[:, 1], dtype=np.float64)
        rows = len(chunk)
        yield pa.RecordBatch.from_arrays(
            [
                ids[start : start + rows],
                pa.array([model.run_id] * rows, pa.string()),
                pa.array([scored_at] * rows, SCORE_SCHEMA.field("scored_at").type),
                pa.array([as_of] * rows, pa.date32()),
                pa.array(proba, pa.float64()),
                pa.array(proba >= model.threshold, pa.bool_()),
            ],
            schema=SCORE_SCHEMA,
        )


def _ids(spec: Spec, frame: pd.DataFrame) -> pa.Array:
    """The id column as text (the row number, from 1, without one)."""
    if spec.data.id is None:
        return pa.array([str(i) for i in range(1, len(frame) + 1)], pa.string())
    return pa.array(frame[spec.data.id].astype(str).to_numpy(dtype=object), pa.string())


def score_to_table(
    spec: Spec,
    model: ScoringModel,
    source: DataLocation | None,
    table: TableName,
    as_of: date,
    *,
    chunk_rows: int = SCORE_CHUNK_ROWS,
) -> TableSummary:
    """Check, score and write every row; see the module docstring.

    Raises:
        DataContractError: The rows break the contract (nothing is written).
        SourceError: The database cannot be read or written (the table is unchanged).
    """
    started = time.perf_counter()
    url = scores_database(spec)
    frame = rows_to_score(spec, source, as_of)
    churn = 0

    def counted() -> Iterator[pa.RecordBatch]:
        nonlocal churn
        for batch in score_batches(spec, model, frame, as_of, chunk_rows=chunk_rows):
            churn += int(np.count_nonzero(batch.column("will_churn")))
            yield batch

    rows = write_scores(url, table, counted(), run_id=model.run_id, as_of=as_of)
    seconds = time.perf_counter() - started
    return TableSummary(table, url.shown, rows, churn, model.run_id, as_of, seconds)
