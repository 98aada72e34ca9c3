"""What the recorder costs a serving worker's event loop: its sinks in the worker's thread or in
a recorder process (``CHURN_RECORDER_PROCESS``), against no recorder.

A wall-clock p99 of a shared machine says little about the worker's own tail, so this measures
it directly, in one process shaped like a worker: an asyncio loop records one Telco record per
request (``--rate`` requests/s, as one of two workers at 1,000 requests/s) into the recorder
with the real sinks (the prediction log's Parquet files and the drift window on a Telco
profile), while a probe on the same loop sleeps 1 ms at a time and measures how late it wakes:
the loop's lag, which is the longest the GIL or the loop was held by something else. Modes
alternate (``--rounds``) so a change in the machine's load falls on each. Per mode: the lag's
p99 and maximum, the worst second's, the worker's CPU per flush (less the mode without a
recorder), the recorder thread's CPU in each flush in the worker (median and largest: what it
holds the GIL for, whatever the machine's load), the recorder process's CPU per flush, and the
garbage collector's longest pause.

    python -m benchmarks.bench_recorder [--seconds 8] [--rounds 2] [--rate 500]

Writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from churn.api.heap import serving_heap  # noqa: E402
from churn.contract import load_dataset  # noqa: E402
from churn.monitoring.profile import build_profile, write_profile  # noqa: E402
from churn.monitoring.recorder_process import SinkProcess, serving_recorder  # noqa: E402
from churn.monitoring.scored import ScoredBatch  # noqa: E402
from churn.registry import Registry  # noqa: E402
from churn.settings import ChurnSettings  # noqa: E402
from churn.spec.loader import load_spec  # noqa: E402

SPEC = ROOT / "spec" / "telco.yaml"
RESULTS = ROOT / "benchmarks" / "results"
RUN = "bench-run"
MODES = ("off", "thread", "process")


def _cpu(pid: int) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / tick


def prepare(scratch: Path) -> tuple[Path, Any, list[ScoredBatch]]:
    """A registry home holding a Telco profile, the spec, and one request per Telco row."""
    spec = load_spec(SPEC)
    frame = load_dataset(spec)
    scores = np.random.default_rng(0).uniform(size=len(frame))
    home = scratch / "home"
    run = Registry(home).run_dir(RUN)
    run.mkdir(parents=True)
    write_profile(run, build_profile(frame, spec, scores, run_id=RUN))
    features = list(spec.feature_columns)
    values = {name: frame[name].tolist() for name in features}
    ids = frame[spec.data.id].astype(str).tolist()
    requests = []
    for i in range(len(frame)):
        proba = scores[i : i + 1]
        columns = {name: [values[name][i]] for name in features}
        requests.append(ScoredBatch([ids[i]], RUN, 0.0, proba, proba >= 0.5, columns))
    return home, spec, requests


async def _serve(recorder: Any, requests: list[ScoredBatch], rate: float, seconds: float):
    """Record ``rate`` requests a second for ``seconds`` while probing the loop's lag."""
    lags: list[tuple[float, float]] = []
    ends = time.monotonic() + seconds

    async def probe() -> None:
        while (now := time.monotonic()) < ends:
            await asyncio.sleep(0.001)
            lags.append((now, time.monotonic() - now - 0.001))

    async def produce() -> None:
        sent, start = 0, time.monotonic()
        while time.monotonic() < ends:
            due = int((time.monotonic() - start) * rate)
            for _ in range(due - sent):
                base = requests[sent % len(requests)]
                batch = ScoredBatch(
                    base.ids, RUN, time.time(), base.proba, base.decisions, base.columns
                )
                if recorder is not None:
                    recorder.record(batch)
                sent += 1
            await asyncio.sleep(0.002)

    await asyncio.gather(probe(), produce())
    return lags


def one(mode: str, home: Path, spec: Any, requests: list[ScoredBatch], args, scratch: Path):
    """One mode's run: lag, CPU per flush in the worker and in the recorder process, GC."""
    settings = ChurnSettings(prediction_log_dir=scratch / f"log-{mode}-{time.time_ns()}")
    recorder = None
    if mode != "off":
        recorder, _ = serving_recorder(
            settings, home, spec, drift=True, shared=None, count=None, process=mode == "process"
        )
        assert recorder is not None
        recorder.start()
    pauses: list[float] = []
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            pauses.append(time.perf_counter() - started.pop())

    flush_cpu: list[float] = []  # the recorder thread's CPU in each flush (it holds the GIL)
    if recorder is not None:
        flush = recorder.flush

        def timed() -> int:
            started = time.thread_time()
            try:
                return flush()
            finally:
                flush_cpu.append(time.thread_time() - started)

        recorder.flush = timed  # type: ignore[method-assign]
    handler = recorder.handler if recorder is not None else None
    child = handler.pid if isinstance(handler, SinkProcess) else None
    with serving_heap():
        gc.callbacks.append(on_gc)
        worker_before = time.process_time()
        child_before = _cpu(child) if child else 0.0
        lags = asyncio.run(_serve(recorder, requests, args.rate, args.seconds))
        worker_cpu = time.process_time() - worker_before
        child_cpu = (_cpu(child) - child_before) if child else 0.0
        gc.callbacks.remove(on_gc)
    if recorder is not None:
        recorder.close()
    values = np.array([lag for _, lag in lags]) * 1000
    seconds = np.array([at for at, _ in lags])
    worst = [
        float(values[(seconds >= s) & (seconds < s + 1)].max(initial=0.0))
        for s in np.arange(seconds.min(), seconds.max(), 1.0)
    ]
    flushes = args.seconds / settings.prediction_log_flush_seconds
    return {
        "mode": mode,
        "lag_p99_ms": float(np.percentile(values, 99)),
        "lag_p999_ms": float(np.percentile(values, 99.9)),
        "lag_max_ms": float(values.max()),
        "worst_second_median_ms": float(np.median(worst)),
        "worker_cpu_ms_per_s": 1000 * worker_cpu / args.seconds,
        "worker_flush_cpu_ms_median": 1000 * float(np.median(flush_cpu)) if flush_cpu else 0.0,
        "worker_flush_cpu_ms_max": 1000 * max(flush_cpu, default=0.0),
        "recorder_process_cpu_ms_per_flush": 1000 * child_cpu / flushes,
        "gc_pause_max_ms": 1000 * max(pauses, default=0.0),
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", type=float, default=500.0, help="requests (records) a second")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-recorder-") as name:
        scratch = Path(name)
        home, spec, requests = prepare(scratch)
        runs = []
        for _ in range(args.rounds):
            for mode in MODES:
                result = one(mode, home, spec, requests, args, scratch)
                runs.append(result)
                print(json.dumps(result), flush=True)
    summary = {}
    for mode in MODES:
        mine = [r for r in runs if r["mode"] == mode]
        summary[mode] = {key: float(np.median([r[key] for r in mine])) for key in mine[0] if
                         key != "mode"}  # fmt: skip
    off = summary["off"]["worker_cpu_ms_per_s"]
    for mode in ("thread", "process"):
        summary[mode]["worker_cpu_ms_per_flush_over_off"] = (
            summary[mode]["worker_cpu_ms_per_s"] - off
        )
    print(json.dumps(summary, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = RESULTS / f"bench_recorder_{stamp}.json"
    out.write_text(json.dumps({"args": vars(args), "runs": runs, "summary": summary}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
