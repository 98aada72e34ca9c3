"""`churn run` against a plain script that trains the same candidates on the same data.

Both run in this one process, one after the other, so the ratio is fair on a busy machine.
The overhead is split into its parts: the temporary Prefect server's start, the per-flow cost
(task bookkeeping and the heartbeat thread's wait on exit), the plots and report, and I/O.

    python -m benchmarks.bench_train [SPEC]

Prints a table and writes benchmarks/results/train.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _timed(label: str, timings: dict[str, float], func: Any, *args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    value = func(*args, **kwargs)
    timings[label] = time.perf_counter() - started
    return value


def plain_script(spec_path: str, timings: dict[str, float]) -> None:
    """The baseline: read, validate, train and score every candidate; nothing else."""
    from churn.contract import load_dataset
    from churn.spec.loader import load_spec
    from churn.training.evaluate import evaluate_candidates, select_winner

    spec = load_spec(spec_path)
    frame = _timed("plain: read + validate", timings, load_dataset, spec)
    results = _timed("plain: train + score (sequential)", timings, evaluate_candidates, spec, frame)
    select_winner(spec, results)


def report_parts(spec_path: str, timings: dict[str, float]) -> None:
    """Time the plots, the report and the registry writes on their own."""
    from churn import report
    from churn import run as run_steps
    from churn.training.evaluate import evaluate_candidates, split_dataset

    with tempfile.TemporaryDirectory() as home:
        ctx = run_steps.prepare_run(spec_path, home)
        run_steps.start_run(ctx)
        frame = run_steps.load_data(ctx)
        data = split_dataset(ctx.spec, frame)
        results = evaluate_candidates(ctx.spec, frame)
        winner = run_steps.select(ctx, results)
        gates, decision = run_steps.judge(ctx, results[winner], None)
        plots = ctx.run_dir / "plots"
        eda = _timed("parts: EDA plots", timings, report.draw_eda, ctx.spec, frame, plots)
        evaluation = _timed(
            "parts: evaluation plots",
            timings,
            report.draw_evaluation,
            ctx.spec,
            data,
            results,
            winner,
            plots,
        )
        manifest = _timed(
            "parts: record (metrics, model, manifest)",
            timings,
            run_steps.record,
            ctx,
            results,
            winner,
            None,
            gates,
            decision,
        )
        predictions = report.build_predictions(ctx.spec, results[winner], data, frame)
        _timed(
            "parts: report.html",
            timings,
            report.write_report,
            ctx.run_dir,
            manifest,
            spec_text=ctx.spec_text,
            predictions=predictions,
            eda=eda,
            evaluation=evaluation,
            top_at_risk=ctx.spec.output.top_at_risk,
        )


def flow_runs(spec_path: str, timings: dict[str, float]) -> None:
    """Start Prefect's temporary server, then two `churn run` flows and an empty flow on it."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from prefect import flow

    from churn.errors import GateFailure
    from flows.runtime import prefect_api
    from flows.train import train_flow

    @flow(name="empty")
    def empty() -> None:
        return None

    started = time.perf_counter()
    with prefect_api(), tempfile.TemporaryDirectory() as home:
        timings["flow: Prefect temporary server start"] = time.perf_counter() - started
        for label in ("flow: churn run #1", "flow: churn run #2"):
            try:
                _timed(label, timings, train_flow, spec_path, home)
            except GateFailure:
                timings[label + " [gates failed]"] = timings.pop(label, 0.0)
        _timed("flow: an empty flow (per-flow cost incl. heartbeat wait)", timings, empty)


def main(argv: list[str]) -> None:
    """Run every measurement and print the table."""
    spec_path = argv[0] if argv else "spec/telco.yaml"
    timings: dict[str, float] = {}
    plain_script(spec_path, timings)
    flow_runs(spec_path, timings)
    report_parts(spec_path, timings)
    plain = timings["plain: read + validate"] + timings["plain: train + score (sequential)"]
    warm = timings.get("flow: churn run #2", float("nan"))
    cold = timings.get("flow: churn run #1", float("nan")) + timings.get(
        "flow: Prefect temporary server start", float("nan")
    )
    summary: dict[str, Any] = {
        "spec": spec_path,
        "cpus": os.cpu_count(),
        "seconds": {k: round(v, 3) for k, v in timings.items()},
        "plain_script_seconds": round(plain, 3),
        "ratio_warm_run_to_plain": round(warm / plain, 3),
        "ratio_cold_run_to_plain": round(cold / plain, 3),
    }
    width = max(len(k) for k in timings)
    for key, value in timings.items():
        print(f"{key:<{width}}  {value:7.2f} s")
    print(f"{'plain script total':<{width}}  {plain:7.2f} s")
    print(
        f"ratio churn run / plain: warm {summary['ratio_warm_run_to_plain']:.2f}x, "
        f"cold {summary['ratio_cold_run_to_plain']:.2f}x"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "train.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
