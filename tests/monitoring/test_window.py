"""The serving drift window: streaming equals one batch, it slides by records and by seconds,
and the workers' windows add up to the window of all their records."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from factories import subscriptions_frame, subscriptions_spec

from churn.monitoring.profile import build_profile, current_counts
from churn.monitoring.serving_drift import merged_window
from churn.monitoring.window import CategoryCounter, DriftWindow, WindowCounts, merge_windows
from churn.spec.loader import parse_spec
from churn.spec.monitoring import WindowSpec

COLUMNS = ("plan", "region", "monthly_fee", "support_calls", "months_active")


@pytest.fixture(scope="module")
def profile():
    spec = parse_spec(yaml.safe_dump(subscriptions_spec()))
    scores = np.random.default_rng(0).uniform(size=300)
    return build_profile(subscriptions_frame(600), spec, scores, run_id="run-a")


def _flushes(n: int, size: int, seed: int = 1):
    frame = subscriptions_frame(n * size, seed=seed)
    frame.loc[::7, "monthly_fee"] = None  # nulls are counted apart
    frame.loc[::11, "region"] = "atlantis"  # a category never seen in training
    scores = np.random.default_rng(seed).uniform(size=n * size)
    for i in range(n):
        part = frame.iloc[i * size : (i + 1) * size]
        columns = {name: part[name].tolist() for name in COLUMNS}  # as /predict parses them
        yield columns, scores[i * size : (i + 1) * size]


def _equal(a: WindowCounts, b: WindowCounts) -> bool:
    same = a.columns.keys() == b.columns.keys() and a.rows == b.rows
    pairs = [(a.columns[k], b.columns[k]) for k in a.columns] + [(a.scores, b.scores)]
    return same and all(np.array_equal(x.counts, y.counts) and x[1:] == y[1:] for x, y in pairs)


def test_streaming_counts_over_micro_batches_equal_one_batch(profile) -> None:
    window = DriftWindow(profile, WindowSpec(records=10**8))
    flushes = list(_flushes(25, 40))
    for at, (columns, scores) in enumerate(flushes):
        window.add(columns, scores, float(at))
    streamed = window.counts()
    assert streamed.rows == 1000
    for name in COLUMNS:
        values = [v for columns, _ in flushes for v in columns[name]]
        reference = profile.column(name)
        once = current_counts(reference, np.asarray(values, dtype=object))
        got = streamed.columns[name]
        assert np.array_equal(got.counts, once.counts), name
        assert (got.unseen, got.nulls, got.rows) == (once.unseen, once.nulls, once.rows)
    assert streamed.columns["region"].unseen == 91
    assert streamed.columns["monthly_fee"].nulls == 143
    all_scores = np.concatenate([scores for _, scores in flushes])
    assert np.array_equal(streamed.scores.counts, current_counts(profile.scores, all_scores).counts)


def test_a_records_window_keeps_the_last_n_records_in_whole_flushes(profile) -> None:
    window = DriftWindow(profile, WindowSpec(records=100))
    flushes = list(_flushes(10, 30))
    for at, (columns, scores) in enumerate(flushes):
        window.add(columns, scores, float(at))
    expected = DriftWindow(profile, WindowSpec(records=10**8))
    for at, (columns, scores) in enumerate(flushes[-4:]):  # 120 records: >= 100, less one < 100
        expected.add(columns, scores, float(at))
    assert _equal(window.counts(), expected.counts())


def test_a_seconds_window_ages_without_new_records(profile) -> None:
    now = [100.0]
    window = DriftWindow(profile, WindowSpec(seconds=10), clock=lambda: now[0])
    for at, (columns, scores) in zip((91.0, 95.0, 99.0), _flushes(3, 20), strict=True):
        window.add(columns, scores, at)
    assert window.counts().rows == 60
    now[0] = 104.0  # the flush at 91 left the window
    window.slide()
    assert window.counts().rows == 40
    now[0] = 108.0
    window.slide()
    assert window.counts().rows == 20
    now[0] = 200.0
    window.slide()
    empty = window.counts()
    assert empty.rows == 0 and all(not c.counts.any() for c in empty.columns.values())


def test_workers_windows_add_up_to_the_window_of_all_their_records(profile) -> None:
    flushes = list(_flushes(6, 50))
    one, two, both = (DriftWindow(profile, WindowSpec(records=10**8)) for _ in range(3))
    for at, (columns, scores) in enumerate(flushes):
        (one if at % 2 else two).add(columns, scores, float(at))
        both.add(columns, scores, float(at))
    exported = [WindowCounts.from_json(w.counts().to_json()) for w in (one, two)]
    other_run = WindowCounts("run-b", 5, {}, exported[0].scores)
    merged = merge_windows([*exported, other_run], "run-a")
    assert merged is not None and _equal(merged, both.counts())
    assert merge_windows(exported, "run-c") is None


def test_scrape_time_merge_reads_the_living_workers_files_only(profile, tmp_path) -> None:
    flushes = list(_flushes(4, 50))
    one, two, both = (DriftWindow(profile, WindowSpec(records=10**8)) for _ in range(3))
    for at, (columns, scores) in enumerate(flushes):
        (one if at % 2 else two).add(columns, scores, float(at))
        both.add(columns, scores, float(at))
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    files = {os.getpid(): one, os.getppid(): two, ended.pid: both}  # the ended one is skipped
    for pid, window in files.items():
        (tmp_path / f"drift-{pid}.json").write_text(json.dumps(window.counts().to_json()))
    (tmp_path / f"drift-{os.getpid() + 0}x.json").write_text("not a worker's file")
    merged = merged_window(tmp_path, "run-a")
    assert merged is not None and _equal(merged, both.counts())


def test_the_category_counter_equals_current_counts_on_awkward_values(profile) -> None:
    reference = profile.column("region")
    known = list(reference.categories)
    values = [*known, None, float("nan"), np.nan, "atlantis", 7, known[0], None, "", known[-1]]
    counter = CategoryCounter(reference)
    for _ in range(2):  # the second time from what it remembered
        got = counter.count(values)
        once = current_counts(reference, np.asarray(values, dtype=object))
        assert np.array_equal(got.counts, once.counts)
        assert (got.unseen, got.nulls, got.rows) == (once.unseen, once.nulls, once.rows)
    assert (got.unseen, got.nulls) == (3, 4)
    assert counter.count([]).rows == 0


def test_a_stale_or_truncated_workers_file_is_skipped_with_a_warning(
    profile, tmp_path, caplog
) -> None:
    mine = DriftWindow(profile, WindowSpec(records=10**8))
    for at, (columns, scores) in enumerate(_flushes(2, 20)):
        mine.add(columns, scores, float(at))
    (tmp_path / f"drift-{os.getpid()}.json").write_text(json.dumps(mine.counts().to_json()))
    stale = mine.counts().to_json()
    stale["columns"]["monthly_fee"][0] = [1, 2, 3]  # counted on another profile's buckets
    text = json.dumps(stale)
    for damaged in (text, text.replace('"region"', '"regio"'), text[: len(text) // 2]):
        (tmp_path / f"drift-{os.getppid()}.json").write_text(damaged)
        caplog.clear()
        merged = merged_window(tmp_path, "run-a", profile)
        assert merged is not None and _equal(merged, mine.counts())
        (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert f"drift-{os.getppid()}.json" in warning
