"""The candidates' fan-out on 2 Dask workers against the local runner, in one sitting.

One spec's candidates are trained (search, threshold, CV, refit, hold-out: ``churn.run.steps.
train``) on the same split, three ways, round after round:

1. ``local``: churn's local runner, ``churn run``'s default: worker processes forked once the
   training stack is imported (from this process; from a fork server once a Dask client's
   threads run here), ``min(candidates, CPUs)`` of them, one candidate each, its loops one
   after another;
2. ``dask``: a ``LocalCluster`` of 2 worker processes with 1 thread each, through
   :class:`churn.run.cluster.DaskPool`: every candidate a task, its CV folds, threshold folds
   and search trials further tasks (joblib's Dask backend);
3. ``inline``: one candidate after another in this process (one core; the floor of the others).

Start-up (forking the pool / starting the cluster and importing the stack on its workers) is
measured apart from the fan-out. Each way must give the same metrics; the script fails if not.

    python -m benchmarks.bench_dask [SPEC] [--rounds N]

Prints the seconds and ratios, the load average before and after, and writes
benchmarks/results/dask.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from churn.contract import load_dataset_and_hash
from churn.run import steps
from churn.run.context import RunContext, prepare_run
from churn.run.pool import InlineExecutor, start_training_pool
from churn.training.evaluate import CandidateResult

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def fan_out(pool: Executor, ctx: RunContext, data: Any) -> tuple[float, dict[str, Any]]:
    """Seconds to train every candidate in ``pool``, and their metrics."""
    started = time.perf_counter()
    futures = {m.name: pool.submit(steps.train, ctx, m.name, data) for m in ctx.spec.models}
    results: dict[str, CandidateResult] = {name: f.result() for name, f in futures.items()}
    seconds = time.perf_counter() - started
    metrics = {n: {"cv": r.cv_scores, "holdout": r.holdout} for n, r in results.items()}
    return seconds, metrics


def local_pool(candidates: int) -> Callable[[], tuple[Executor, Callable[[], None]]]:
    def start() -> tuple[Executor, Callable[[], None]]:
        pool = start_training_pool(candidates, len(os.sched_getaffinity(0)))
        pool.submit(os.getpid).result()  # the workers run, the stack imported
        return pool, lambda: pool.shutdown(wait=True)

    return start


def dask_pool() -> tuple[Executor, Callable[[], None]]:
    import distributed

    from churn.run.cluster import DaskPool

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    pool = DaskPool(distributed.Client(cluster, set_as_default=False))
    pool.client.run(__import__, "churn.run.steps")  # the workers import the stack once

    def stop() -> None:
        pool.shutdown(wait=True)
        cluster.close()

    return pool, stop


def inline_pool() -> tuple[Executor, Callable[[], None]]:
    return InlineExecutor(), lambda: None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "spec" / "telco.yaml"))
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as home:
        ctx = prepare_run(args.spec, home)
        frame, _ = load_dataset_and_hash(ctx.spec)
        data = steps.split(ctx, frame)
        ways: dict[str, Callable[[], tuple[Executor, Callable[[], None]]]] = {
            "local": local_pool(len(ctx.spec.models)),
            "dask": dask_pool,
            "inline": inline_pool,
        }
        load_before = os.getloadavg()
        times: dict[str, dict[str, list[float]]] = {w: {"start": [], "fan_out": []} for w in ways}
        reference: dict[str, Any] | None = None
        for round_ in range(args.rounds):
            for way, start in ways.items():
                began = time.perf_counter()
                pool, stop = start()
                times[way]["start"].append(time.perf_counter() - began)
                try:
                    seconds, metrics = fan_out(pool, ctx, data)
                finally:
                    stop()
                times[way]["fan_out"].append(seconds)
                print(f"round {round_ + 1} {way}: fan-out {seconds:.1f} s", flush=True)
                reference = reference or metrics
                if metrics != reference:
                    raise SystemExit(f"{way} gave other metrics than the first way")
        load_after = os.getloadavg()

    median = {w: {k: statistics.median(v) for k, v in t.items()} for w, t in times.items()}
    summary = {
        "spec": args.spec,
        "candidates": [m.name for m in ctx.spec.models],
        "cpus": len(os.sched_getaffinity(0)),
        "rounds": args.rounds,
        "load_before": load_before,
        "load_after": load_after,
        "seconds": times,
        "median": median,
        "speedup_dask_over_local": median["local"]["fan_out"] / median["dask"]["fan_out"],
        "speedup_dask_over_inline": median["inline"]["fan_out"] / median["dask"]["fan_out"],
        "same_metrics": True,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dask.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    for way, values in median.items():
        print(f"{way:>6}: start {values['start']:.1f} s, fan-out {values['fan_out']:.1f} s")
    print(
        f"2 Dask workers over the local runner: {summary['speedup_dask_over_local']:.2f}x; "
        f"over one after another: {summary['speedup_dask_over_inline']:.2f}x; same metrics"
    )


if __name__ == "__main__":
    main()
