"""The prediction log: batches flushed off the caller's thread into Parquet files, bounded,
and a broken folder that never reaches the caller."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from churn.monitoring.prediction_log import (
    LOG_SCHEMA,
    PredictionLogFolder,
    log_files,
    log_sink,
    log_table,
    read_prediction_log,
)
from churn.monitoring.recorder import ScoreRecorder, score_recorder
from churn.monitoring.scored import ScoredBatch, Sink
from churn.settings import ChurnSettings


def _batch(start: int, n: int, run_id: str = "run-a", at: float = 1_765_000_000.0) -> ScoredBatch:
    proba = np.linspace(0, 1, n)
    ids = [f"C{i:05d}" for i in range(start, start + n)]
    return ScoredBatch(ids, run_id, at, proba, proba >= 0.5)


def test_recorded_batches_come_back_from_the_log_in_order(tmp_path: Path) -> None:
    folder = PredictionLogFolder(tmp_path / "log", max_bytes=10**9)
    counted: list[tuple[str, str, int]] = []
    recorder = ScoreRecorder([log_sink(folder)], interval=60, count=lambda *c: counted.append(c))
    recorder.record(_batch(0, 3))
    recorder.record(_batch(3, 4, run_id="run-b", at=1_765_000_001.5))
    recorder.close()  # never started: flushes on this thread
    table, skipped = read_prediction_log(tmp_path / "log")
    assert skipped == []
    assert table.schema == LOG_SCHEMA
    assert table["id"].to_pylist() == [f"C{i:05d}" for i in range(7)]
    assert table["run_id"].to_pylist() == ["run-a"] * 3 + ["run-b"] * 4
    assert table["will_churn"].to_pylist() == [False, True, True, False, False, True, True]
    times = table["scored_at"].to_pylist()
    assert times[0] == datetime.fromtimestamp(1_765_000_000, UTC)
    assert times[-1] == datetime.fromtimestamp(1_765_000_001.5, UTC)
    assert counted == [("prediction_log", "written", 7)]
    (path,) = log_files(tmp_path / "log")
    assert path.parent.name.startswith("date=") and path.suffix == ".parquet"


def test_the_thread_flushes_every_interval_without_being_asked(tmp_path: Path) -> None:
    seen: list[int] = []
    recorder = ScoreRecorder(
        [Sink("count", lambda batches: seen.append(sum(b.rows for b in batches)))], interval=0.05
    ).start()
    try:
        recorder.record(_batch(0, 5))
        for _ in range(200):
            if seen:
                break
            recorder._wake.wait(0.01)
        assert seen == [5]
    finally:
        recorder.close()


def test_rotation_keeps_the_folder_under_its_bound_and_removes_the_oldest(tmp_path: Path) -> None:
    table = log_table([_batch(0, 2000)])
    probe = PredictionLogFolder(tmp_path / "probe", max_bytes=10**9)
    size = probe.write(table, datetime.now(UTC)).stat().st_size
    folder = PredictionLogFolder(tmp_path / "log", max_bytes=size * 5 + size // 2)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    written = [folder.write(table, start + timedelta(hours=12 * i)) for i in range(12)]
    folder.rotate()
    kept = log_files(tmp_path / "log")
    assert kept == written[-5:]
    assert sum(path.stat().st_size for path in kept) <= folder.max_bytes
    assert not (tmp_path / "log" / "date=2026-12-01").exists()  # emptied days go too


def test_a_broken_log_is_counted_and_logged_once_and_never_raises(tmp_path, caplog) -> None:
    blocker = tmp_path / "log"
    blocker.write_text("a file where the log's folder should be")
    counted: list[tuple[str, str, int]] = []
    folder = PredictionLogFolder(blocker, max_bytes=10**9)
    recorder = ScoreRecorder([log_sink(folder)], count=lambda *c: counted.append(c))
    with caplog.at_level(logging.ERROR, logger="churn.monitoring.recorder"):
        for i in range(3):
            recorder.record(_batch(i * 10, 10))
            assert recorder.flush() == 10
    assert counted == [("prediction_log", "failed", 10)] * 3
    assert len(caplog.records) == 1
    assert "prediction_log: 10 records not recorded" in caplog.records[0].getMessage()


def test_too_many_waiting_records_are_dropped_and_counted(tmp_path: Path) -> None:
    counted: list[tuple[str, str, int]] = []
    recorder = ScoreRecorder(
        [Sink("sink", lambda batches: None)], max_pending=10, count=lambda *c: counted.append(c)
    )
    recorder.record(_batch(0, 8))
    recorder.record(_batch(8, 8))
    assert recorder.flush() == 8
    assert counted == [("sink", "dropped", 8), ("sink", "written", 8)]


def test_a_damaged_file_is_named_and_skipped(tmp_path: Path) -> None:
    folder = PredictionLogFolder(tmp_path, max_bytes=10**9)
    folder.write(log_table([_batch(0, 3)]), datetime.now(UTC))
    bad = tmp_path / "date=2026-12-06" / "000000.000000-1-0.parquet"
    bad.parent.mkdir(exist_ok=True)
    bad.write_bytes(b"not parquet")
    table, skipped = read_prediction_log(tmp_path)
    assert table.num_rows == 3
    assert len(skipped) == 1 and str(bad) in skipped[0]


def test_the_settings_place_the_log_in_the_home_or_turn_it_off(tmp_path: Path) -> None:
    assert ChurnSettings().prediction_log_folder(tmp_path) == tmp_path / "predictions"
    assert ChurnSettings(prediction_log=False).prediction_log_folder(tmp_path) is None
    assert score_recorder(ChurnSettings(prediction_log=False), tmp_path) is None
    assert isinstance(log_table([_batch(0, 1)]), pa.Table)


def test_a_log_write_does_not_search_the_day_s_folder(tmp_path: Path, monkeypatch) -> None:
    import churn.registry.atomic_io as atomic_io

    searched: list[Path] = []
    monkeypatch.setattr(atomic_io, "remove_stale_temps", searched.append)
    folder = PredictionLogFolder(tmp_path / "log", max_bytes=10**9)
    when = datetime(2026, 12, 6, 12, tzinfo=UTC)
    first = folder.write(log_table([_batch(0, 3)]), when)
    second = folder.write(log_table([_batch(3, 2)]), when)  # same second: its own name
    assert first != second and searched == []  # a glob of a day's 86,400 files: 0.1 s of CPU
    assert read_prediction_log(tmp_path / "log")[0].num_rows == 5
    atomic_io.atomic_write(tmp_path / "other.json", lambda handle: handle.write(b"{}"))
    assert searched == [tmp_path / "other.json"]  # any other file is still searched for
