"""The recorder's sinks in a process of their own: the same log rows and drift counts as in
the worker's thread, the counts back in the worker, a dead process replaced."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from factories import subscriptions_frame, subscriptions_spec

from churn.monitoring.prediction_log import read_prediction_log
from churn.monitoring.profile import build_profile, write_profile
from churn.monitoring.recorder import LogPlan, ScoreRecorder
from churn.monitoring.recorder_process import SinkPlan, SinkProcess
from churn.monitoring.scored import ScoredBatch
from churn.monitoring.serving_drift import DriftMirror, ServingDrift
from churn.registry import Registry
from churn.spec.loader import parse_spec
from churn.spec.monitoring import WindowSpec

pytestmark = pytest.mark.xdist_group("recorder_process")  # one fork server per test worker

COLUMNS = ("plan", "region", "monthly_fee", "support_calls", "months_active")
RUN = "run-a"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    spec = parse_spec(yaml.safe_dump(subscriptions_spec()))
    scores = np.random.default_rng(0).uniform(size=300)
    profile = build_profile(subscriptions_frame(600), spec, scores, run_id=RUN)
    run = Registry(tmp_path / "home").run_dir(RUN)
    run.mkdir(parents=True)
    write_profile(run, profile)
    return tmp_path / "home"


def _requests(n: int) -> list[ScoredBatch]:
    """``n`` one-record requests, as /predict records them."""
    frame = subscriptions_frame(n, seed=3)
    frame.loc[::5, "region"] = "atlantis"  # unseen in training
    scores = np.random.default_rng(3).uniform(size=n)
    return [
        ScoredBatch(
            [f"C{i:05d}"],
            RUN,
            1_765_000_000.0 + i / 100,
            scores[i : i + 1],
            scores[i : i + 1] >= 0.5,
            {name: frame[name].iloc[i : i + 1].tolist() for name in COLUMNS},
        )
        for i in range(n)
    ]


def test_the_process_logs_and_counts_what_the_thread_would(home: Path, tmp_path: Path) -> None:
    window = WindowSpec(records=10_000)
    plan = SinkPlan(LogPlan(tmp_path / "log", max_bytes=10**9), home, window)
    counted: list[tuple[str, str, int]] = []
    mirror = DriftMirror()
    handler = SinkProcess(plan, lambda *c: counted.append(c), mirror)
    recorder = ScoreRecorder((), interval=60, count=lambda *c: counted.append(c), handler=handler)
    local = ServingDrift(Registry(home), window)
    batches = _requests(300)
    for part in (batches[:120], batches[120:]):  # two flushes
        for batch in part:
            recorder.record(batch)
        recorder.flush()
        local.consume(list(part))
    recorder.close()
    table, skipped = read_prediction_log(tmp_path / "log")
    assert skipped == []
    assert table["id"].to_pylist() == [b.ids[0] for b in batches]
    assert table["churn_probability"].to_pylist() == [float(b.proba[0]) for b in batches]
    flushes = [(sink, "written", n) for n in (120, 180) for sink in ("prediction_log", "drift")]
    assert counted == flushes
    assert mirror.profile is not None and mirror.profile.run_id == RUN
    got, want = mirror.counts(), local.counts()
    assert got is not None and want is not None and got.rows == want.rows == 300
    for name in COLUMNS:
        assert np.array_equal(got.columns[name].counts, want.columns[name].counts), name
        assert got.columns[name][1:] == want.columns[name][1:], name
    assert np.array_equal(got.scores.counts, want.scores.counts)
    assert handler.pid is not None
    assert not Path(f"/proc/{handler.pid}").exists() or _zombie(handler.pid)


def test_a_killed_process_is_replaced_and_a_broken_log_is_counted(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("the log cannot be written under a file")
    counted: list[tuple[str, str, int]] = []
    handler = SinkProcess(
        SinkPlan(LogPlan(blocker, max_bytes=10**9)), lambda *c: counted.append(c), None
    )
    recorder = ScoreRecorder((), interval=60, handler=handler)
    recorder.record(_requests(1)[0])
    recorder.flush()
    first = handler.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not _zombie(first) and Path(f"/proc/{first}").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    for batch in _requests(4):
        recorder.record(batch)
    recorder.flush()
    recorder.close()
    assert handler.pid not in (None, first)
    assert ("prediction_log", "failed", 4) in counted  # the new process's failed write


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


ABANDONED = """
import sys
from pathlib import Path
import numpy as np
from churn.monitoring.recorder import LogPlan, ScoreRecorder
from churn.monitoring.recorder_process import SinkPlan, SinkProcess
from churn.monitoring.scored import ScoredBatch

handler = SinkProcess(SinkPlan(LogPlan(Path(sys.argv[1]), max_bytes=10**9)), None, None)
recorder = ScoreRecorder((), interval=60, handler=handler).start()
proba = np.array([0.25, 0.75])
recorder.record(ScoredBatch(["A1", "A2"], "run-a", 1_765_000_000.0, proba, proba >= 0.5))
recorder.flush()
print(handler.pid, flush=True)
# exits without closing the recorder, as a worker whose start-up failed
"""


@pytest.mark.slow
def test_a_process_that_never_closes_its_recorder_still_exits_and_leaves_none(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    log = tmp_path / "log"
    done = subprocess.run(
        [sys.executable, "-c", ABANDONED, str(log)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    recorder = int(done.stdout.split()[0])
    deadline = time.monotonic() + 30
    while not _zombie(recorder):
        assert time.monotonic() < deadline, "the recorder process outlived its parent"
        time.sleep(0.05)
    assert read_prediction_log(log)[0]["id"].to_pylist() == ["A1", "A2"]
