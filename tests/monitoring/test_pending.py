"""What waits for the recorder's flush: gathered column by column, the same records, values,
times and order as recorded, and no per-request object left for the garbage collector."""

from __future__ import annotations

import gc
from typing import Any

import numpy as np

from churn.monitoring.pending import GATHER_MAX_ROWS, PendingRecords
from churn.monitoring.prediction_log import log_table
from churn.monitoring.scored import ScoredBatch
from churn.monitoring.window import concatenated


def _request(i: int, run_id: str = "run-a", rows: int = 1) -> ScoredBatch:
    """A served request's batch: its own dict of one list per column, as /predict parses it."""
    proba = np.full(rows, (i % 10) / 10)
    columns: dict[str, list[Any]] = {
        "tenure": [i + r for r in range(rows)],
        "Contract": [None if i % 7 == 0 else f"c{i % 3}" for _ in range(rows)],
    }
    ids = [f"C{i}-{r}" for r in range(rows)]
    return ScoredBatch(ids, run_id, 1_765_000_000.0 + i / 1000, proba, proba >= 0.5, columns)


def test_a_flush_holds_the_recorded_records_values_times_and_order() -> None:
    recorded = [_request(i) for i in range(5)]
    recorded += [_request(5, run_id="run-b", rows=3), _request(6, run_id="run-a")]
    recorded.append(_request(7, rows=GATHER_MAX_ROWS + 1))  # a churn score chunk: kept whole
    recorded.append(_request(8))
    pending = PendingRecords()
    for batch in recorded:
        pending.add(batch)
    flushed = pending.batches()
    assert pending.rows == sum(batch.rows for batch in recorded)
    assert [b.run_id for b in flushed] == ["run-a", "run-b", "run-a", "run-a", "run-a"]
    assert flushed[3] is recorded[7]
    assert log_table(flushed).equals(log_table(recorded))  # ids, runs, times, scores, decisions
    for name in ("tenure", "Contract"):
        assert concatenated([b.columns or {} for b in flushed], name) == concatenated(
            [b.columns or {} for b in recorded], name
        )
    assert flushed[0].scored_at == recorded[4].scored_at  # the latest of the segment


def test_batches_without_columns_or_of_other_columns_start_their_own_segment() -> None:
    plain = ScoredBatch(["A"], "run-a", 1.0, np.array([0.2]), np.array([False]))
    pending = PendingRecords()
    other = ScoredBatch(["B"], "run-a", 2.0, np.array([0.7]), np.array([True]), {"tenure": [3]})
    for batch in (_request(1), plain, plain, _request(2), other, _request(3)):
        pending.add(batch)
    flushed = pending.batches()
    assert [b.columns is None for b in flushed] == [False, True, False, False, False]
    assert [b.rows for b in flushed] == [1, 2, 1, 1, 1]
    assert flushed[3].columns == {"tenure": [3]}
    assert PendingRecords().empty and not pending.empty


def test_waiting_requests_leave_no_objects_for_the_collector() -> None:
    pending = PendingRecords()
    pending.add(_request(0))  # the segment's own lists
    gc.collect()
    before = len(gc.get_objects())
    for i in range(1, 2001):
        pending.add(_request(i))
    gc.collect()
    grown = len(gc.get_objects()) - before
    assert grown < 20, grown  # was about 5 per request (batch, its dict, ids, two column lists)
    assert pending.rows == 2001
